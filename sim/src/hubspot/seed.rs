//! The `"hubspot"` section of a seed file (shape in the module doc).

use super::data::Data;
use super::WINDOW;
use crate::harness::RateWindow;
use crate::seed::{section, Contacts};
use serde::Deserialize;
use serde_json::Value;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SeedContact {
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    phone: Option<String>,
    #[serde(default)]
    engagements: u64,
}

/// Seed from the `"hubspot"` section of a seed file.
pub(crate) fn seed_json(data: &mut Data, seed: &Value) -> Result<(), String> {
    let seed: Contacts<SeedContact> = section("hubspot", seed)?;
    if let Some(size) = seed.page_size {
        data.page_size = Some(size.max(1));
    }
    if let Some(limit) = seed.rate_limit_per_10s {
        data.rate_limit = Some(RateWindow::from_first_call(limit, WINDOW));
    }
    for (i, c) in seed.contacts.iter().enumerate() {
        data.add_contact(c.email.as_deref(), c.phone.as_deref(), c.engagements)
            .ok_or_else(|| format!("hubspot: contact {i}: another contact has that address"))?;
    }
    Ok(())
}
