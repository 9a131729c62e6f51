//! Mailchimp (Marketing API 3.0) as the simulator plays it: audiences and their members, the
//! permanent deletion of a member, member search, and batch operations that run in the
//! background.
//!
//! Paths (under `/mailchimp`, or at the root of a port with `Sim::serve_vendor_at_root`), each
//! relative to `https://<dc>.api.mailchimp.com/3.0`: `GET /ping`, `GET /lists?count=&offset=`,
//! `GET /lists/{list_id}/members/{subscriber_hash}`, `POST /lists/{list_id}/members`,
//! `POST /lists/{list_id}/members/{subscriber_hash}/actions/delete-permanent`,
//! `GET /search-members?query=&list_id=`, `POST /batches`, `GET /batches/{batch_id}`; and
//! `GET /batch-results/{batch_id}`, the simulator's stand-in for a batch's `response_body_url`.
//!
//! - Auth: HTTP Basic with any user name and `Sim::MAILCHIMP_API_KEY` as password, or
//!   `Authorization: Bearer` with `Sim::MAILCHIMP_OAUTH_TOKEN`; else 401 (API Key Missing /
//!   API Key Invalid).
//! - A member is known by its subscriber hash, the MD5 of its lower-cased address
//!   (`mailchimp::subscriber_hash`); a permanently deleted member is gone (404) and cannot be
//!   added again.
//! - Errors are Mailchimp's problem documents (`type`, `title`, `status`, `detail`,
//!   `instance`): 400 Invalid Resource / Member Exists / Forgotten Email Not Subscribed, 401, 404
//!   Resource Not Found, 405 Method Not Allowed, 429 Too Many Requests past 10 requests in
//!   progress at once, 500 for an injected fault. No `Retry-After` on a 429, unless an injected
//!   `Fault::Throttle` has one.
//! - `GET /lists` pages by `count` (default 10, at most 1000) and `offset`; `email=` keeps the
//!   audiences that hold the address.
//! - A batch moves one status per `GET /batches/{id}` (`batch.rs`).
//!
//! Seed (the `"mailchimp"` section of a seed file); each member is added to every list named in
//! its `lists` (list names, created as needed), with `notes` notes:
//!
//! ```json
//! { "members": [ { "email": "ana@example.com", "lists": ["Newsletter", "Customers"], "notes": 1 } ] }
//! ```

mod answer;
mod api;
mod batch;
mod data;
#[cfg(test)]
mod http_tests;
mod routes;
mod seed;
#[cfg(test)]
mod tests;

pub use data::subscriber_hash;
pub(crate) use data::Data;
pub(crate) use routes::router;
pub(crate) use seed::seed_json;

use crate::harness::Vendor;
use std::sync::MutexGuard;

pub(crate) const SYSTEM: &str = "mailchimp";
/// An API key in Mailchimp's form: 32 hex digits, a dash, the data center.
pub(crate) const API_KEY: &str = "0123456789abcdef0123456789abcdef-us21";
pub(crate) const OAUTH_TOKEN: &str = "sim-mailchimp-oauth-token";
/// The most audiences one page of `GET /lists` holds: `count` "Default is 10. Maximum is 1000"
/// (<https://mailchimp.com/developer/marketing/api/lists/get-lists-info/>).
const MAX_PAGE: usize = 1000;
/// "The Marketing API has a limit of 10 concurrent connections for your API key"
/// (<https://mailchimp.com/developer/marketing/guides/run-async-requests-batch-endpoint/>).
const MAX_CONNECTIONS: usize = 10;

/// The simulated Mailchimp account, seen and changed directly by tests (`Sim::mailchimp`).
pub struct Mailchimp<'a>(pub(crate) &'a Vendor<Data>);

impl Mailchimp<'_> {
    /// A new audience (list); returns its id.
    pub fn add_list(&self, name: &str) -> String {
        self.data().add_list(name)
    }

    /// Subscribe `email` to the list, with `notes` notes about it; returns its subscriber hash, or
    /// `None` when the list is unknown, the address is already a member, or it was permanently
    /// deleted from the list (Mailchimp refuses to re-import it).
    pub fn add_member(&self, list_id: &str, email: &str, notes: u64) -> Option<String> {
        self.data().add_member(list_id, email, notes).ok()
    }

    /// Whether the list holds a member known by `key` (subscriber hash or address).
    pub fn has_member(&self, list_id: &str, key: &str) -> bool {
        self.data().member(list_id, key).is_some()
    }

    /// Whether the address was permanently deleted from the list.
    pub fn forgotten(&self, list_id: &str, email: &str) -> bool {
        self.data().lists.get(list_id).is_some_and(|l| l.forgotten.contains(&subscriber_hash(email)))
    }

    /// What the account still holds about any of `identifiers` (e-mail addresses, any case): in
    /// each list, the member and each note about it.
    pub fn remaining(&self, identifiers: &[&str]) -> u64 {
        let hashes: Vec<String> = identifiers.iter().map(|i| subscriber_hash(i)).collect();
        let data = self.data();
        data.lists
            .values()
            .flat_map(|l| l.members.iter())
            .filter(|(hash, _)| hashes.contains(hash))
            .map(|(_, member)| 1 + member.notes)
            .sum()
    }

    /// The batch's status (`pending` ... `finished`), `None` if there is no such batch.
    pub fn batch_status(&self, batch_id: &str) -> Option<&'static str> {
        self.data().batches.get(batch_id).map(|b| batch::STATUSES[b.stage])
    }

    /// The most audiences one page of `GET /lists` holds (1000).
    pub fn max_page(&self) -> usize {
        MAX_PAGE
    }

    fn data(&self) -> MutexGuard<'_, Data> {
        self.0.data()
    }
}
