//! What the vendors' seed sections share: reading a section as the vendor's own type (which
//! refuses unknown keys), with refusals that name the vendor, and the shape of a section of
//! contacts listed in pages under a rate limit.

use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::Value;

/// `seed`, the `vendor` section of a seed file, as `T`; a refusal starts with the vendor's name.
pub(crate) fn section<T: DeserializeOwned>(vendor: &str, seed: &Value) -> Result<T, String> {
    T::deserialize(seed).map_err(|e| format!("{vendor}: {e}"))
}

/// A section of contacts `C`, with the page size of listings and a limit of calls per ten
/// seconds (HubSpot's and Intercom's).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Contacts<C> {
    #[serde(default)]
    pub(crate) page_size: Option<usize>,
    #[serde(default)]
    pub(crate) rate_limit_per_10s: Option<u32>,
    #[serde(default = "Vec::new")]
    pub(crate) contacts: Vec<C>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_section_is_read_as_its_type_and_a_refusal_names_the_vendor() {
        let read: Contacts<Value> = section("crm", &json!({ "page_size": 2, "contacts": [{}] })).unwrap();
        assert_eq!((read.page_size, read.rate_limit_per_10s, read.contacts.len()), (Some(2), None, 1));
        let refused = section::<Contacts<Value>>("crm", &json!({ "users": [] })).err().unwrap();
        assert!(refused.starts_with("crm: unknown field `users`"), "{refused}");
    }
}
