//! Intercom (REST API 2.14) as the simulator plays it: contacts, their conversations, search with
//! cursor pagination, redaction of conversation parts, deletion, and 10-second rate-limit windows.
//!
//! Paths (under `/intercom`, or at the root of a port with `Sim::serve_vendor_at_root`):
//! `GET /me`, `POST /contacts/search`, `GET|DELETE /contacts/{id}`,
//! `GET /contacts/find_by_external_id/{external_id}`, `POST /conversations/search`,
//! `GET /conversations/{id}`, `POST /conversations/redact`.
//!
//! - Every call needs `Authorization: Bearer sim-token` (401 otherwise) and
//!   `Intercom-Version: 2.14` (400 otherwise: the simulator insists on the version the connector
//!   targets, where Intercom would fall back to the workspace's default).
//! - Searches take `{"query": filter, "pagination": {"per_page", "starting_after"}}`; a filter is
//!   `{"field", "operator", "value"}` or `{"operator": "AND"|"OR", "value": [filters]}`. Contacts
//!   search on `id`, `email` (case-insensitive), `external_id`, `phone`, `name`, `role`;
//!   conversations on `id` and `contact_ids`. A page holds at most the page size (3 unless set),
//!   so pagination is always exercised.
//! - A deleted contact disappears from the API at once but is kept, marked deleted (Intercom
//!   hard-deletes it 7 days later), so tests can see what an erasure left behind.
//! - With a rate limit set, every answer carries `X-RateLimit-Limit`, `X-RateLimit-Remaining` and
//!   `X-RateLimit-Reset` (Unix seconds, end of the window); a call over the limit gets 429
//!   `rate_limit_exceeded`. An injected `Fault::Throttle` answers the same 429, with
//!   `X-RateLimit-Reset` only when it has a `retry_after`.
//!
//! Seed (the `"intercom"` section of a seed file); every key is optional:
//!
//! ```json
//! { "page_size": 3, "rate_limit_per_10s": 100,
//!   "contacts": [ { "role": "user", "email": "ana@example.com", "external_id": "u_123",
//!                   "phone": "+33612345678", "name": "Ana", "conversations": 2, "replies": 1 } ] }
//! ```
//!
//! Each seeded conversation is started by the contact (its source), then holds `replies` more
//! messages from the contact, one teammate reply and a teammate's close (a part without body).
//! Tests add and inspect data with the handle `Sim::intercom()` (below).

mod answer;
mod data;
mod index;
#[cfg(test)]
mod index_tests;
mod query;
mod routes;
mod seed;

pub(crate) use data::Data;
pub(crate) use routes::router;
pub(crate) use seed::seed_json;

use crate::harness::Vendor;
use data::{Contact, Window};
use std::sync::MutexGuard;

pub(crate) const SYSTEM: &str = "intercom";
const TOKEN: &str = "sim-token";
const VERSION: &str = "2.14";
const DEFAULT_PAGE_SIZE: usize = 3;
const WINDOW_SECS: u64 = 10;
const ADMIN_ID: &str = "991267459";
const REDACTED_BODY: &str = "<p><i>This message was deleted</i></p>";

/// The simulated Intercom workspace, seen and changed directly by tests (`Sim::intercom`).
pub struct Intercom<'a>(pub(crate) &'a Vendor<Data>);

impl Intercom<'_> {
    /// The access token the simulated workspace accepts.
    pub fn token(&self) -> &'static str {
        TOKEN
    }

    /// Add a contact (`role` is `user` or `lead`); returns its id.
    pub fn add_contact(&self, role: &str, email: Option<&str>, external_id: Option<&str>) -> String {
        self.data().add_contact(role, email, external_id)
    }

    /// Add a conversation started by the first contact, in which every contact wrote `replies`
    /// more messages and a teammate replied and closed it; returns its id.
    pub fn add_conversation(&self, contact_ids: &[&str], replies: usize) -> String {
        self.data().add_conversation(contact_ids, replies).to_string()
    }

    /// An Intercom Phone call on a conversation (by its first contact), with a recording and a
    /// transcript or not; returns its id, or `None` if the conversation does not exist.
    pub fn add_call(&self, conversation_id: &str, recording: bool, transcript: bool) -> Option<String> {
        let conversation = conversation_id.parse().ok()?;
        self.data().add_call(conversation, recording, transcript).map(|id| id.to_string())
    }

    /// Messages the contact wrote that are not redacted (sources and parts, in any conversation).
    pub fn unredacted_parts(&self, contact_id: &str) -> u64 {
        self.data().unredacted_by(contact_id)
    }

    /// A conversation's source then parts, as (author type, redacted).
    pub fn parts(&self, conversation_id: &str) -> Vec<(String, bool)> {
        let data = self.data();
        let Some(conversation) = conversation_id.parse().ok().and_then(|id: u64| data.conversations.get(&id)) else {
            return Vec::new();
        };
        std::iter::once(&conversation.source)
            .chain(&conversation.parts)
            .map(|m| (m.author_type.clone(), m.redacted))
            .collect()
    }

    /// Whether the contact was deleted; `None` if it never existed.
    pub fn contact_deleted(&self, contact_id: &str) -> Option<bool> {
        self.data().contacts.get(contact_id).map(|c| c.deleted)
    }

    /// Contacts known by any of `identifiers` (e-mail, case-insensitive; external id; id) that
    /// still hold data: not deleted, or with messages they wrote left unredacted.
    pub fn remaining(&self, identifiers: &[&str]) -> u64 {
        let data = self.data();
        let known = |c: &Contact| {
            identifiers.iter().any(|i| {
                c.email.as_deref().is_some_and(|e| e.eq_ignore_ascii_case(i))
                    || c.external_id.as_deref() == Some(*i)
                    || c.id == *i
            })
        };
        data.contacts.values().filter(|c| known(c) && (!c.deleted || data.unredacted_by(&c.id) > 0)).count() as u64
    }

    /// The most results one page of a search holds (3 unless set).
    pub fn set_page_size(&self, size: usize) {
        self.data().page_size = Some(size.max(1));
    }

    pub fn page_size(&self) -> usize {
        self.data().page_size()
    }

    /// Allow `per_window` calls per 10-second window (`None`: no limit).
    pub fn set_rate_limit(&self, per_window: Option<u32>) {
        self.data().rate_limit = per_window.map(|limit| Window { limit, start: 0, used: 0 });
    }

    fn data(&self) -> MutexGuard<'_, Data> {
        self.0.data()
    }
}
