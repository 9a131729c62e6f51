//! Zendesk Support (API v2) as the simulator plays it: users, tickets with comments, CCs and
//! followers, bulk ticket deletion as background jobs, comment redaction, soft and permanent user
//! deletion, with Zendesk's own paths, JSON shapes and offset pagination.
//!
//! Paths (under `/zendesk`, or at the root of a port with `Sim::serve_vendor_at_root`):
//! `GET /api/v2/users/me`, `GET /api/v2/users/search?query=|external_id=`,
//! `GET|DELETE /api/v2/users/{id}`, `GET /api/v2/users/{id}/identities`,
//! `GET /api/v2/users/{id}/tickets/requested`, `GET /api/v2/search?query=`,
//! `GET /api/v2/search/count?query=`, `GET /api/v2/search/export?query=&filter[type]=ticket`,
//! `GET /api/v2/users/{id}/tickets/ccd`, `GET /api/v2/users/{id}/compliance_deletion_statuses`,
//! `DELETE /api/v2/deleted_users/{id}`, `DELETE /api/v2/tickets/destroy_many?ids=`,
//! `PUT /api/v2/tickets/{id}`, `GET /api/v2/tickets/{id}/comments`,
//! `PUT /api/v2/comment_redactions/{comment_id}`, `DELETE /api/v2/deleted_tickets/destroy_many?ids=`,
//! `GET /api/v2/deleted_tickets`, `GET /api/v2/job_statuses/{id}`.
//! Help Center (`help_center.rs`): `GET /api/v2/help_center/users/{id}/comments`,
//! `GET /api/v2/community/users/{id}/posts|comments`,
//! `DELETE /api/v2/help_center[/{locale}]/articles/{article_id}/comments/{id}`,
//! `DELETE /api/v2/community/posts/{id}`, `DELETE /api/v2/community/posts/{post_id}/comments/{id}`.
//! Talk (`talk.rs`): `DELETE /api/v2/channels/voice/calls/{call_id}/recordings`.
//!
//! - Credentials: Basic `{Sim::ZENDESK_EMAIL}/token:{Sim::ZENDESK_TOKEN}` or Bearer
//!   `Sim::ZENDESK_OAUTH_TOKEN`; anything else is 401 `{"error": "Couldn't authenticate you"}`.
//! - Listings page with `page` and `per_page`; a page holds at most the page size (5 unless set)
//!   and `next_page` is a full URL (or null), so pagination is always exercised.
//! - Search is fuzzy, as Zendesk's is: `email:ann@x.io` also finds `joann@x.io`; an unquoted `*`
//!   is a wildcard; a quoted value (`email:"a\"b@x.io"`, with `\"` and `\\` escapes) is a literal.
//!   Terms are ANDed. Soft-deleted users are not found; `GET /users/{id}` still shows them
//!   (`"active": false`). `email:` also matches a user's secondary e-mail identities
//!   (`Sim::zendesk().secondary_email`), which only `GET /users/{id}/identities` shows.
//! - Tickets are `closed` unless set otherwise. Zendesk refuses to change a closed ticket (422
//!   `RecordInvalid`) except its tags, subject and priority; comment redaction still works on it.
//! - An archived ticket (`Sim::zendesk().archive`, closed) is absent from the user's
//!   `tickets/requested` and `tickets/ccd` and from `deleted_tickets`; ticket search
//!   (`type:ticket requester:{id}` or `cc:{id}`) finds it.
//! - Search (`search.rs`): `GET /search` answers at most 1,000 results a query (a page past them
//!   is 422) with the real `count`; `GET /search/export` pages with a cursor (`links.next` while
//!   `meta.has_more`), needs `filter[type]=ticket` and no `type:` in the query (400), and allows
//!   100 calls a minute (429 with `Retry-After` beyond).
//! - `destroy_many` (at most 100 ids) answers a `job_status` that is `queued`, then `working`,
//!   then `completed` (or `failed` with `Sim::zendesk().fail_jobs`) after the job delay (200 ms
//!   unless set); the tickets change only when the job completes. Deleted tickets must be purged
//!   by `deleted_tickets/destroy_many`; deleted users by `DELETE /deleted_users/{id}`, at most
//!   700 per 10 minutes (429 with `Retry-After` beyond).
//! - A bulk job with an id it cannot act on (not live for `destroy_many`, not soft-deleted for
//!   `deleted_tickets/destroy_many`) still does the others and completes, that id's result
//!   failing with `RecordNotFound` (in `destroy_many` results): "If one ticket fails to be deleted, the endpoint still
//!   attempts to delete the others" (Zendesk Support API, Delete Multiple Tickets Permanently,
//!   `../shared/vendor-specs/zendesk-support-oas.yaml`). A purge job's `results` are one
//!   `{"success": false}` when any ticket failed, as Zendesk documents for permanent ticket
//!   deletion (`Sim::zendesk().fail_purge` makes a ticket fail). A permanently deleted user answers 404
//!   to `GET /users/{id}`; its `compliance_deletion_statuses` keep the deletion request.
//! - An end user who is the requester of a ticket that is not closed cannot be deleted (422).
//! - A redaction's `html_body` must be the comment's own with `<redact>` tags (and `redact`
//!   attributes) added (422 otherwise); the tagged text becomes `▇`.
//! - With an account rate limit set, answers carry `X-Rate-Limit`, `X-Rate-Limit-Remaining` and
//!   `ratelimit-reset`; a call over the limit gets 429 with `Retry-After` (seconds). An injected
//!   `Fault::Throttle` answers the same 429, with `Retry-After` only when it has a `retry_after`.
//!
//! Seed (the `"zendesk"` section of a seed file); every key is optional:
//!
//! ```json
//! { "page_size": 5, "job_delay_ms": 200,
//!   "user_deletion_limit": { "limit": 700, "window_seconds": 600 }, "cascade_ms": 400,
//!   "users": [ { "email": "ana@example.com", "external_id": "u_123", "name": "Ana",
//!                "role": "end-user", "tickets": 2, "ccd_tickets": 1,
//!                "article_comments": 1, "community_posts": 1, "voice_calls": 1 } ] }
//! ```
//! `user_deletion_limit`: the permanent user deletions allowed per window (Zendesk documents
//! 700 per 10 minutes for Permanently Delete User, the default; a benchmark of the worker raises it
//! as `Sim::zendesk().set_user_deletion_limit` does, and the limit is still enforced with 429).
//! `cascade_ms`: when every application of the cascade reports `complete` (default support 200 ms,
//! chat 400 ms; real accounts take hours).
//! `tickets`: tickets the user requested (their comment and an agent's reply); `ccd_tickets`:
//! another customer's open tickets on which the user is CC'd and commented.
//! `article_comments`: Help Center article comments by the user; `community_posts`: community
//! posts by the user, each with a comment of theirs; `voice_calls`: tickets the user requested
//! with a voice comment whose call has a recording and a voicemail.

mod answer;
mod data;
mod endpoints;
mod guide_data;
#[cfg(test)]
mod guide_tests;
mod help_center;
mod html;
mod index;
#[cfg(test)]
mod index_tests;
mod query;
mod routes;
mod search;
#[cfg(test)]
mod search_tests;
mod seed;
mod talk;
#[cfg(test)]
mod ticket_rules_tests;

pub(crate) use data::Data;
pub(crate) use routes::router;
pub(crate) use seed::seed_json;

use crate::harness::{RateWindow, Vendor};
use data::Life;
use html::plain_text;
use std::sync::MutexGuard;
use std::time::{Duration, Instant};

pub(crate) const SYSTEM: &str = "zendesk";
/// The agent e-mail of the simulated account's API token.
pub(crate) const EMAIL: &str = "erasure-bot@sim.invalid";
/// The API token (Basic `{email}/token:{token}`).
pub(crate) const TOKEN: &str = "sim-token";
/// The OAuth access token (Bearer).
pub(crate) const OAUTH_TOKEN: &str = "sim-oauth-token";
/// The agent the API credentials belong to.
const AGENT_ID: u64 = 1;
const MAX_BULK_IDS: usize = 100;
const REDACTED: char = '\u{2587}';

/// The simulated Zendesk account, seen and changed directly by tests (`Sim::zendesk`).
pub struct Zendesk<'a>(pub(crate) &'a Vendor<Data>);

impl Zendesk<'_> {
    /// An end user with these identifiers; returns its id.
    pub fn user(&self, email: Option<&str>, external_id: Option<&str>) -> u64 {
        self.with(|d| d.add_user("A customer", email, external_id, "end-user"))
    }

    /// A user with another role (`agent`, `admin`); returns its id.
    pub fn staff(&self, email: &str, role: &str) -> u64 {
        self.with(|d| d.add_user("A colleague", Some(email), None, role))
    }

    /// A `closed` ticket requested by `requester`, opened with their comment; returns its id.
    pub fn ticket(&self, requester: u64, text: &str) -> u64 {
        self.with(|d| d.add_ticket(requester, text))
    }

    /// A comment by `author` on `ticket`, with attachments named `files`; returns its id.
    pub fn comment(&self, ticket: u64, author: u64, text: &str, files: &[&str]) -> u64 {
        self.with(|d| d.add_comment(ticket, author, text, files))
    }

    /// Put `user` on `ticket`'s CCs (`follower: false`) or followers.
    pub fn watch(&self, ticket: u64, user: u64, follower: bool) {
        self.with(|d| {
            let t = d.tickets.get_mut(&ticket).expect("a simulated ticket");
            if follower {
                t.follower_ids.push(user)
            } else {
                t.email_cc_ids.push(user)
            }
            d.reindex_ticket(ticket);
        })
    }

    /// Another e-mail identity of `user` (not its primary `email`).
    pub fn secondary_email(&self, user: u64, email: &str) {
        self.with(|d| {
            let u = d.users.get_mut(&user).expect("a simulated user");
            u.secondary_emails.push(email.to_lowercase());
            u.created_with.push(email.to_lowercase());
            d.reindex_user(user);
        })
    }

    /// Close `ticket` and archive it, as Zendesk does 120 days after a ticket was closed.
    pub fn archive(&self, ticket: u64) {
        self.with(|d| {
            let t = d.tickets.get_mut(&ticket).expect("a simulated ticket");
            t.status = "closed".into();
            t.archived = true;
        })
    }

    /// Every later `deleted_tickets/destroy_many` job leaves `ticket` soft-deleted; its results
    /// then say `{"success": false}`, as Zendesk's do when a ticket failed.
    pub fn fail_purge(&self, ticket: u64, fails: bool) {
        self.with(|d| {
            if fails {
                d.failing_purges.insert(ticket);
            } else {
                d.failing_purges.remove(&ticket);
            }
        })
    }

    pub fn set_ticket_status(&self, ticket: u64, status: &str) {
        self.with(|d| d.tickets.get_mut(&ticket).expect("a simulated ticket").status = status.to_string())
    }

    /// `active`, `soft_deleted`, `purged` or `absent`.
    pub fn user_life(&self, user: u64) -> &'static str {
        self.with(|d| d.users.get(&user).map_or("absent", |u| u.life.name()))
    }

    /// `live`, `soft_deleted`, `purged` or `absent`.
    pub fn ticket_life(&self, ticket: u64) -> &'static str {
        self.with(|d| match d.tickets.get(&ticket).map(|t| t.life) {
            None => "absent",
            Some(Life::Active) => "live",
            Some(life) => life.name(),
        })
    }

    /// The plain text of a comment (`▇` where redacted).
    pub fn comment_text(&self, comment: u64) -> Option<String> {
        self.with(|d| d.find_comment(comment).map(|c| plain_text(&c.html_body)))
    }

    /// The file names of a comment's attachments (`redacted.txt` once redacted).
    pub fn attachment_names(&self, comment: u64) -> Vec<String> {
        self.with(|d| {
            d.find_comment(comment)
                .map(|c| c.attachments.iter().map(|a| a.file_name.clone()).collect())
                .unwrap_or_default()
        })
    }

    /// The users CC'd on or following `ticket`.
    pub fn watchers(&self, ticket: u64) -> Vec<u64> {
        self.with(|d| {
            let t = &d.tickets[&ticket];
            t.email_cc_ids.iter().chain(&t.follower_ids).copied().collect()
        })
    }

    /// What the account still holds (soft-deleted included) about the users created with
    /// `identifier` as e-mail or external id: each such user not purged, and their requested
    /// tickets not purged.
    pub fn records(&self, identifier: &str) -> u64 {
        self.with(|d| {
            let mut records = 0;
            let users = d.users_among(Some(d.users_created_with(identifier)));
            for user in users.filter(|u| u.created_with.iter().any(|i| i == identifier)) {
                records += u64::from(user.life != Life::Purged);
                let requested = d.tickets_among(Some(d.tickets_requested_by(user.id)));
                records += requested.filter(|t| t.requester_id == user.id && t.life != Life::Purged).count() as u64;
            }
            records
        })
    }

    /// At most `n` records per page (Zendesk's own cap is 100).
    pub fn set_page_size(&self, n: usize) {
        self.with(|d| d.page_size = n.max(1))
    }

    /// How long a background job takes to complete.
    pub fn set_job_delay(&self, delay: Duration) {
        self.with(|d| d.job_delay = delay)
    }

    /// The applications a permanent user deletion cascades to, and how long each takes to report
    /// `complete` in `compliance_deletion_statuses` (`None`: never). Default: support 200 ms,
    /// chat 400 ms.
    pub fn set_cascade(&self, applications: &[(&str, Option<Duration>)]) {
        self.with(|d| d.cascade = applications.iter().map(|(a, t)| (a.to_string(), *t)).collect())
    }

    /// The next `n` jobs end `failed`, changing nothing.
    pub fn fail_jobs(&self, n: u32) {
        self.with(|d| d.failing_jobs = n)
    }

    /// An account-wide limit of `limit` calls per `window` (`None`: unlimited, the default).
    pub fn set_rate_limit(&self, limit: Option<(u32, Duration)>) {
        self.with(|d| d.rate_limit = limit.map(|(n, w)| RateWindow::new(n, w)))
    }

    /// The permanent user deletion limit (Zendesk: 700 per 10 minutes).
    pub fn set_user_deletion_limit(&self, limit: u32, window: Duration) {
        self.with(|d| d.user_deletions = RateWindow::new(limit, window))
    }

    /// Answer this `next_page` instead of the real one (a misbehaving or hostile API).
    pub fn set_next_page(&self, url: Option<&str>) {
        self.with(|d| d.next_page_override = url.map(str::to_string))
    }

    fn with<T>(&self, f: impl FnOnce(&mut Data) -> T) -> T {
        let mut data: MutexGuard<'_, Data> = self.0.data();
        data.settle(Instant::now());
        f(&mut data)
    }
}
