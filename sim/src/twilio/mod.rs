//! The twilio part of the simulator: Twilio's REST API 2010-04-01 as the twilio connector uses
//! it (calls, recordings, transcriptions, messages and their media), at Twilio's own paths under
//! `/2010-04-01/Accounts/{AC}`. Messages and media, with their refusals, are in `messages.rs`.
//!
//! - Auth: HTTP Basic, `Sim::TWILIO_ACCOUNT_SID` with `Sim::TWILIO_AUTH_TOKEN`, or the API key
//!   `Sim::TWILIO_API_KEY_SID` with `Sim::TWILIO_API_KEY_SECRET`; anything else answers 401
//!   (error 20003). A path naming another account answers 404 (error 20404).
//! - `GET Calls.json?To=&From=&ParentCallSid=` (exact match; a child leg lists its
//!   `parent_call_sid`, and a two-leg call's recordings are attached to the parent leg only:
//!   <https://www.twilio.com/docs/voice/api/recording-resource>, Recording `call_sid`), `GET Recordings.json?CallSid=&IncludeSoftDeleted=`,
//!   `GET Recordings/{RE}/Transcriptions.json`; `DELETE Calls/{CA}.json` (400, error 20009, while
//!   the call is in progress), `DELETE Recordings/{RE}.json` (a soft delete: the recording is then
//!   listed only under `IncludeSoftDeleted=true`, with `status: deleted`),
//!   `DELETE Transcriptions/{TR}.json` and `DELETE Recordings/{RE}/Transcriptions/{TR}.json`.
//!   Deleting a recording leaves its transcriptions, and deleting a call leaves its recordings.
//! - Lists are paged as Twilio pages them: `PageSize` (capped at the simulator's page size, 5
//!   unless `Sim::twilio().set_page_size` says otherwise) and a `next_page_uri` holding a
//!   `PageToken` cursor, relative to the API root as Twilio answers; the spec says `format: uri`,
//!   so `Sim::twilio().set_absolute_page_uris(true)` makes them absolute for a spec-checking proxy.
//! - Errors are Twilio's JSON (`code`, `message`, `more_info`, `status`). A 429 (error 20429)
//!   carries no `Retry-After`, as Twilio's do, unless an injected `Fault::Throttle` gives one;
//!   `Sim::twilio().set_rate_limit` answers 429 past a number of calls per window.
//!
//! Seed (the `"twilio"` section of a seed file); each call gets `recordings` recordings (default
//! 1), each with `transcriptions` transcriptions (default 0), and stays in progress for
//! `in_progress_seconds` (default 0); each message is `delivered` with `media` media (default 0):
//!
//! ```json
//! { "page_size": 5,
//!   "calls": [{ "from": "+14155550100", "to": "+33612345678", "recordings": 2, "transcriptions": 1 }],
//!   "messages": [{ "from": "+33612345678", "to": "+14155550100", "body": "hello", "media": 1 }] }
//! ```

mod answer;
mod data;
mod endpoints;
mod index;
#[cfg(test)]
mod index_tests;
mod messages;
mod routes;
mod seed;
#[cfg(test)]
mod tests;

pub(crate) use data::Data;
pub(crate) use routes::router;
pub(crate) use seed::seed_json;

use crate::harness::{RateWindow, Vendor};
use data::{parse_message_sid, parse_sid, sid};
use std::sync::MutexGuard;
use std::time::{Duration, Instant};

pub(crate) const SYSTEM: &str = "twilio";
pub(crate) const ACCOUNT_SID: &str = "AC0123456789abcdef0123456789abcdef";
pub(crate) const AUTH_TOKEN: &str = "sim-token";
pub(crate) const API_KEY_SID: &str = "SKfedcba9876543210fedcba9876543210";
pub(crate) const API_KEY_SECRET: &str = "sim-key-secret";
const DEFAULT_PAGE_SIZE: usize = 5;

/// What the simulated twilio holds about one phone number (calls and messages to or from it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Holdings {
    /// Messages not deleted.
    pub messages: u64,
    /// Messages whose body is not redacted (not empty).
    pub message_bodies: u64,
    /// Media of those messages.
    pub media: u64,
    /// Call records not deleted.
    pub calls: u64,
    /// Recordings not deleted.
    pub recordings: u64,
    /// Soft-deleted recordings (still listed under `IncludeSoftDeleted=true`).
    pub deleted_recordings: u64,
    pub transcriptions: u64,
}

/// The simulated Twilio account, seen and changed directly by tests (`Sim::twilio`).
pub struct Twilio<'a>(pub(crate) &'a Vendor<Data>);

impl Twilio<'_> {
    /// `transcriptions` transcriptions; returns the call's sid.
    pub fn add_call(&self, from: &str, to: &str, recordings: usize, transcriptions: usize) -> String {
        sid("CA", self.data().add_call(from, to, recordings, transcriptions))
    }

    /// A child leg of the call `parent` (from the number that called, to the number `<Dial>`
    /// reached), listed with `parent_call_sid`; returns its sid. Recordings of a two-leg call
    /// stay on the parent: Twilio's Recording `call_sid` "will always refer to the parent leg of
    /// a two-leg call" (<https://www.twilio.com/docs/voice/api/recording-resource>), and a child
    /// leg's `parent_call_sid` is "the SID that identifies the call that created this leg"
    /// (<https://www.twilio.com/docs/voice/api/call-resource>).
    pub fn add_child_leg(&self, parent: &str, from: &str, to: &str) -> Option<String> {
        let mut data = self.data();
        let parent = parse_sid("CA", parent).filter(|p| data.calls.contains_key(p))?;
        Some(sid("CA", data.add_child_leg(parent, from, to)))
    }

    /// A message from `from` to `to` with `body` and `media` media files, `delivered`, created
    /// at the simulator's default date; returns its sid (`MM` with media, else `SM`).
    pub fn add_message(&self, from: &str, to: &str, body: &str, media: usize) -> String {
        let mut data = self.data();
        let seq = data.add_message(from, to, body, media);
        sid(if media > 0 { "MM" } else { "SM" }, seq)
    }

    /// A message's status, e.g. `sending` (in flight: not deletable or redactable yet) or
    /// `delivered`.
    pub fn set_message_status(&self, message_sid: &str, status: &str) {
        let mut data = self.data();
        if let Some(message) = parse_message_sid(message_sid).and_then(|seq| data.messages.get_mut(&seq)) {
            message.status = status.to_string();
        }
    }

    /// When a call (`CA…`) or a message (`SM…`, `MM…`) was created (its `date_created`).
    pub fn set_created(&self, sid: &str, at: chrono::DateTime<chrono::Utc>) {
        let mut data = self.data();
        if let Some(call) = parse_sid("CA", sid).and_then(|seq| data.calls.get_mut(&seq)) {
            call.created = at;
        } else if let Some(message) = parse_message_sid(sid).and_then(|seq| data.messages.get_mut(&seq)) {
            message.created = at;
        }
    }

    /// The call stays in progress for `duration` from now: deleting it answers error 20009.
    pub fn keep_in_progress(&self, call_sid: &str, duration: Duration) {
        let mut data = self.data();
        if let Some(call) = parse_sid("CA", call_sid).and_then(|seq| data.calls.get_mut(&seq)) {
            call.in_progress_until = Some(Instant::now() + duration);
        }
    }

    /// What twilio holds about calls to or from `phone`.
    pub fn holdings(&self, phone: &str) -> Holdings {
        self.data().holdings(phone)
    }

    /// The most records one page lists, whatever `PageSize` asks for.
    pub fn set_page_size(&self, size: usize) {
        self.data().page_size = size.max(1);
    }

    /// Answer 429 (error 20429, no `Retry-After`) past `calls` calls per `window`; `None` lifts it.
    pub fn set_rate_limit(&self, limit: Option<(u32, Duration)>) {
        self.data().rate_limit = limit.map(|(calls, window)| RateWindow::from_first_call(calls, window));
    }

    /// Page URIs as absolute URLs (the spec's `format: uri`) instead of Twilio's relative ones.
    pub fn set_absolute_page_uris(&self, absolute: bool) {
        self.data().absolute_page_uris = absolute;
    }

    fn data(&self) -> MutexGuard<'_, Data> {
        self.0.data()
    }
}
