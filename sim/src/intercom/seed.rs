//! The `"intercom"` section of a seed file (shape in the module doc).

use super::data::{Data, Window};
use crate::seed::{section, Contacts};
use serde::Deserialize;
use serde_json::Value;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SeedContact {
    #[serde(default = "user")]
    role: String,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    external_id: Option<String>,
    #[serde(default)]
    phone: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    conversations: usize,
    #[serde(default)]
    replies: usize,
}

fn user() -> String {
    "user".into()
}

/// Seed from the `"intercom"` section of a seed file (shape in the module doc).
pub(crate) fn seed_json(data: &mut Data, seed: &Value) -> Result<(), String> {
    let seed: Contacts<SeedContact> = section("intercom", seed)?;
    if seed.page_size.is_some() {
        data.page_size = seed.page_size;
    }
    if let Some(limit) = seed.rate_limit_per_10s {
        data.rate_limit = Some(Window { limit, start: 0, used: 0 });
    }
    for c in seed.contacts {
        if !matches!(c.role.as_str(), "user" | "lead") {
            return Err("intercom: a contact's role is user or lead".into());
        }
        let id = data.add_contact(&c.role, c.email.as_deref(), c.external_id.as_deref());
        let contact = data.contacts.get_mut(&id).expect("just added");
        contact.phone = c.phone;
        contact.name = c.name;
        data.reindex_contact(&id);
        for _ in 0..c.conversations {
            data.add_conversation(&[&id], c.replies);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_seed_builds_contacts_and_their_conversations() {
        let mut data = Data::default();
        let seed = json!({ "page_size": 2, "rate_limit_per_10s": 100, "contacts": [
            { "email": "ana@example.com", "external_id": "u_1", "conversations": 2, "replies": 1 },
            { "role": "lead", "phone": "+33612345678" } ] });
        seed_json(&mut data, &seed).unwrap();
        assert_eq!((data.contacts.len(), data.conversations.len(), data.page_size()), (2, 2, 2));
        let ana = data.contacts.values().next().unwrap();
        assert_eq!(data.unredacted_by(&ana.id), 4, "a source and a reply in each conversation");
        assert!(seed_json(&mut data, &json!({ "contacts": [{ "role": "admin" }] })).is_err());
        assert!(seed_json(&mut data, &json!({ "users": [] })).is_err());
    }
}
