//! The `"mailchimp"` section of a seed file (shape in the module doc).

use super::data::Data;
use crate::seed::section;
use serde::Deserialize;
use serde_json::Value;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Seed {
    #[serde(default)]
    members: Vec<SeedMember>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SeedMember {
    email: String,
    lists: Vec<String>,
    #[serde(default)]
    notes: u64,
}

/// Seed from the `"mailchimp"` section of a seed file.
pub(crate) fn seed_json(data: &mut Data, seed: &Value) -> Result<(), String> {
    let seed: Seed = section("mailchimp", seed)?;
    for member in seed.members {
        for name in &member.lists {
            let existing = data.lists.values().find(|l| l.name == *name).map(|l| l.id.clone());
            let list = existing.unwrap_or_else(|| data.add_list(name));
            data.add_member(&list, &member.email, member.notes)
                .map_err(|why| format!("mailchimp: a member of {name}: {why}"))?;
        }
    }
    Ok(())
}
