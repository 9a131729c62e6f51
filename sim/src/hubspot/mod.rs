//! HubSpot (CRM API v3, contacts) as the simulator plays it: contact search, retrieval, and the
//! GDPR deletion that removes a contact with its associated activity and blocklists its address.
//!
//! Paths (under `/hubspot`, or at the root of a port with `Sim::serve_vendor_at_root`), relative
//! to `https://api.hubapi.com`: `GET /crm/v3/objects/contacts?limit=&after=`,
//! `GET /crm/v3/objects/contacts/{contactId}[?idProperty=email]`,
//! `POST /crm/v3/objects/contacts/search`, `POST /crm/v3/objects/contacts/gdpr-delete`.
//!
//! - Auth: `Authorization: Bearer` with the private app token `Sim::HUBSPOT_TOKEN`; else 401
//!   (category `INVALID_AUTHENTICATION`).
//! - Search (`api.rs`): filter groups with `EQ`, `NEQ`, `IN`, `NOT_IN`, `HAS_PROPERTY`,
//!   `NOT_HAS_PROPERTY`, `CONTAINS_TOKEN` on `email`, `phone`, `firstname`, `lastname`,
//!   `hs_object_id`; values compare without regard to case (HubSpot's search guide, as far as
//!   we could read it, does not say; e-mail addresses are compared case-insensitively, so a
//!   caller must apply its own exact-match rule); cursor paging by `paging.next.after`; HubSpot's
//!   limits refused with 400 (more than 5 groups, 6 filters a group, 18 in all; `limit` over
//!   200; paging past 10,000 results). A page holds at most the simulator's page size (3 unless
//!   `Sim::hubspot().set_page_size` says otherwise), so paging is exercised.
//! - Errors are HubSpot's JSON (`status: "error"`, `message`, `correlationId`, `category`); 404
//!   `OBJECT_NOT_FOUND`, 400 `VALIDATION_ERROR`. With a rate limit set
//!   (`Sim::hubspot().set_rate_limit`), every answer carries `X-HubSpot-RateLimit-Max`,
//!   `-Remaining` and `-Interval-Milliseconds` (10000), and a call over the limit gets 429
//!   (`policyName: TEN_SECONDLY_ROLLING`) without `Retry-After`; an injected `Fault::Throttle`
//!   answers the same 429, with `Retry-After` only when it has a hint.
//!
//! Seed (the `"hubspot"` section of a seed file); every key is optional:
//!
//! ```json
//! { "page_size": 3, "rate_limit_per_10s": 100,
//!   "contacts": [ { "email": "ana@example.com", "phone": "+33612345678", "engagements": 2 } ] }
//! ```

mod answer;
mod api;
mod data;
#[cfg(test)]
mod http_tests;
mod routes;
mod seed;
#[cfg(test)]
mod tests;

pub(crate) use data::Data;
pub(crate) use routes::router;
pub(crate) use seed::seed_json;

use crate::harness::{RateWindow, Vendor};
use std::sync::MutexGuard;
use std::time::Duration;

pub(crate) const SYSTEM: &str = "hubspot";
/// A private app access token, in HubSpot's `pat-<region>-...` form.
pub(crate) const TOKEN: &str = "pat-na1-00000000-0000-0000-0000-000000005140";
const DEFAULT_PAGE_SIZE: usize = 3;
/// The window of HubSpot's burst limit: "Per 10 Seconds"
/// (<https://developers.hubspot.com/docs/developer-tooling/platform/usage-guidelines>).
const WINDOW: Duration = Duration::from_secs(10);

/// The simulated HubSpot account, seen and changed directly by tests (`Sim::hubspot`).
pub struct Hubspot<'a>(pub(crate) &'a Vendor<Data>);

impl Hubspot<'_> {
    /// A new contact with `engagements` associated engagements; returns its id, or `None` if
    /// another contact has that address (HubSpot keeps a contact's e-mail unique).
    pub fn add_contact(&self, email: Option<&str>, phone: Option<&str>, engagements: u64) -> Option<String> {
        self.data().add_contact(email, phone, engagements).map(|id| id.to_string())
    }

    /// Whether the contact exists.
    pub fn has_contact(&self, id: &str) -> bool {
        id.parse().is_ok_and(|id: u64| self.data().contacts.contains_key(&id))
    }

    /// Whether a GDPR deletion blocklisted the address (any case).
    pub fn blocklisted(&self, email: &str) -> bool {
        self.data().blocklist.contains(&email.to_lowercase())
    }

    /// What the account still holds about any of `identifiers` (an address, any case; a phone
    /// number; a contact id): each such contact and each engagement associated with it.
    pub fn remaining(&self, identifiers: &[&str]) -> u64 {
        let data = self.data();
        let known = |c: &data::Contact| {
            identifiers.iter().any(|i| {
                c.email.as_deref().is_some_and(|e| e.eq_ignore_ascii_case(i))
                    || c.phone.as_deref() == Some(*i)
                    || c.id.to_string() == *i
            })
        };
        data.contacts.values().filter(|c| known(c)).map(|c| 1 + c.engagements).sum()
    }

    /// The most results one page holds (3 unless set).
    pub fn set_page_size(&self, size: usize) {
        self.data().page_size = Some(size.max(1));
    }

    pub fn page_size(&self) -> usize {
        self.data().page_size()
    }

    /// Allow `per_window` calls per 10 seconds (`None`: no limit, and no rate-limit headers).
    pub fn set_rate_limit(&self, per_window: Option<u32>) {
        self.data().rate_limit = per_window.map(|limit| RateWindow::from_first_call(limit, WINDOW));
    }

    fn data(&self) -> MutexGuard<'_, Data> {
        self.0.data()
    }
}
