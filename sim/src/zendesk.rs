//! Zendesk Support (API v2) as the simulator plays it: users, tickets with comments, CCs and
//! followers, bulk ticket deletion as background jobs, comment redaction, soft and permanent user
//! deletion, with Zendesk's own paths, JSON shapes and offset pagination.
//!
//! Paths (under `/zendesk`, or at the root of a port with `Sim::serve_vendor_at_root`):
//! `GET /api/v2/users/me`, `GET /api/v2/users/search?query=|external_id=`,
//! `GET|DELETE /api/v2/users/{id}`, `GET /api/v2/users/{id}/tickets/requested`,
//! `GET /api/v2/users/{id}/tickets/ccd`, `GET /api/v2/users/{id}/compliance_deletion_statuses`,
//! `DELETE /api/v2/deleted_users/{id}`, `DELETE /api/v2/tickets/destroy_many?ids=`,
//! `PUT /api/v2/tickets/{id}`, `GET /api/v2/tickets/{id}/comments`,
//! `PUT /api/v2/comment_redactions/{comment_id}`, `DELETE /api/v2/deleted_tickets/destroy_many?ids=`,
//! `GET /api/v2/job_statuses/{id}`.
//!
//! - Credentials: Basic `{Sim::ZENDESK_EMAIL}/token:{Sim::ZENDESK_TOKEN}` or Bearer
//!   `Sim::ZENDESK_OAUTH_TOKEN`; anything else is 401 `{"error": "Couldn't authenticate you"}`.
//! - Listings page with `page` and `per_page`; a page holds at most the page size (5 unless set)
//!   and `next_page` is a full URL (or null), so pagination is always exercised.
//! - Search is fuzzy, as Zendesk's is: `email:ann@x.io` also finds `joann@x.io`; an unquoted `*`
//!   is a wildcard; a quoted value (`email:"a\"b@x.io"`, with `\"` and `\\` escapes) is a literal.
//!   Terms are ANDed. Soft-deleted users are not found; `GET /users/{id}` still shows them
//!   (`"active": false`).
//! - `destroy_many` (at most 100 ids) answers a `job_status` that is `queued`, then `working`,
//!   then `completed` (or `failed` with `Sim::zendesk_fail_jobs`) after the job delay (200 ms
//!   unless set); the tickets change only when the job completes. Deleted tickets must be purged
//!   by `deleted_tickets/destroy_many`; deleted users by `DELETE /deleted_users/{id}`, at most
//!   700 per 10 minutes (429 with `Retry-After` beyond).
//! - A bulk job with an id it cannot act on (not live for `destroy_many`, not soft-deleted for
//!   `deleted_tickets/destroy_many`) still does the others and completes, that id's result
//!   failing with `RecordNotFound`: "If one ticket fails to be deleted, the endpoint still
//!   attempts to delete the others" (Zendesk Support API, Delete Multiple Tickets Permanently,
//!   `../shared/vendor-specs/zendesk-support-oas.yaml`). A permanently deleted user answers 404
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
//!   "users": [ { "email": "ana@example.com", "external_id": "u_123", "name": "Ana",
//!                "role": "end-user", "tickets": 2, "ccd_tickets": 1 } ] }
//! ```
//! `tickets`: tickets the user requested (their comment and an agent's reply); `ccd_tickets`:
//! another customer's tickets on which the user is CC'd and commented.

use crate::state::{Fault, State};
use axum::extract::{NestedPath, Query, Request, State as AxumState};
use axum::http::{request::Parts, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, put};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

const SYSTEM: &str = "zendesk";
/// The agent the API credentials belong to.
const AGENT_ID: u64 = 1;
const MAX_BULK_IDS: usize = 100;
const REDACTED: char = '\u{2587}';

impl crate::Sim {
    /// The agent e-mail of the simulated account's API token.
    pub const ZENDESK_EMAIL: &'static str = "erasure-bot@sim.invalid";
    /// The API token (Basic `{email}/token:{token}`).
    pub const ZENDESK_TOKEN: &'static str = "sim-token";
    /// The OAuth access token (Bearer).
    pub const ZENDESK_OAUTH_TOKEN: &'static str = "sim-oauth-token";

    /// An end user with these identifiers; returns its id.
    pub fn zendesk_user(&self, email: Option<&str>, external_id: Option<&str>) -> u64 {
        self.zendesk(|d| d.add_user("A customer", email, external_id, "end-user"))
    }

    /// A user with another role (`agent`, `admin`); returns its id.
    pub fn zendesk_staff(&self, email: &str, role: &str) -> u64 {
        self.zendesk(|d| d.add_user("A colleague", Some(email), None, role))
    }

    /// A `closed` ticket requested by `requester`, opened with their comment; returns its id.
    pub fn zendesk_ticket(&self, requester: u64, text: &str) -> u64 {
        self.zendesk(|d| d.add_ticket(requester, text))
    }

    /// A comment by `author` on `ticket`, with attachments named `files`; returns its id.
    pub fn zendesk_comment(&self, ticket: u64, author: u64, text: &str, files: &[&str]) -> u64 {
        self.zendesk(|d| d.add_comment(ticket, author, text, files))
    }

    /// Put `user` on `ticket`'s CCs (`follower: false`) or followers.
    pub fn zendesk_watch(&self, ticket: u64, user: u64, follower: bool) {
        self.zendesk(|d| {
            let t = d.tickets.get_mut(&ticket).expect("a simulated ticket");
            if follower {
                t.follower_ids.push(user)
            } else {
                t.email_cc_ids.push(user)
            }
        })
    }

    pub fn zendesk_set_ticket_status(&self, ticket: u64, status: &str) {
        self.zendesk(|d| d.tickets.get_mut(&ticket).expect("a simulated ticket").status = status.to_string())
    }

    /// `active`, `soft_deleted`, `purged` or `absent`.
    pub fn zendesk_user_life(&self, user: u64) -> &'static str {
        self.zendesk(|d| d.users.get(&user).map_or("absent", |u| u.life.name()))
    }

    /// `live`, `soft_deleted`, `purged` or `absent`.
    pub fn zendesk_ticket_life(&self, ticket: u64) -> &'static str {
        self.zendesk(|d| match d.tickets.get(&ticket).map(|t| t.life) {
            None => "absent",
            Some(Life::Active) => "live",
            Some(life) => life.name(),
        })
    }

    /// The plain text of a comment (`▇` where redacted).
    pub fn zendesk_comment_text(&self, comment: u64) -> Option<String> {
        self.zendesk(|d| d.find_comment(comment).map(|c| plain_text(&c.html_body)))
    }

    /// The file names of a comment's attachments (`redacted.txt` once redacted).
    pub fn zendesk_attachment_names(&self, comment: u64) -> Vec<String> {
        self.zendesk(|d| {
            d.find_comment(comment)
                .map(|c| c.attachments.iter().map(|a| a.file_name.clone()).collect())
                .unwrap_or_default()
        })
    }

    /// The users CC'd on or following `ticket`.
    pub fn zendesk_watchers(&self, ticket: u64) -> Vec<u64> {
        self.zendesk(|d| {
            let t = &d.tickets[&ticket];
            t.email_cc_ids.iter().chain(&t.follower_ids).copied().collect()
        })
    }

    /// What the account still holds (soft-deleted included) about the users created with
    /// `identifier` as e-mail or external id: each such user not purged, and their requested
    /// tickets not purged.
    pub fn zendesk_records(&self, identifier: &str) -> u64 {
        self.zendesk(|d| {
            let mut records = 0;
            for user in d.users.values().filter(|u| u.created_with.iter().any(|i| i == identifier)) {
                records += u64::from(user.life != Life::Purged);
                records +=
                    d.tickets.values().filter(|t| t.requester_id == user.id && t.life != Life::Purged).count() as u64;
            }
            records
        })
    }

    /// At most `n` records per page (Zendesk's own cap is 100).
    pub fn zendesk_set_page_size(&self, n: usize) {
        self.zendesk(|d| d.page_size = n.max(1))
    }

    /// How long a background job takes to complete.
    pub fn zendesk_set_job_delay(&self, delay: Duration) {
        self.zendesk(|d| d.job_delay = delay)
    }

    /// The next `n` jobs end `failed`, changing nothing.
    pub fn zendesk_fail_jobs(&self, n: u32) {
        self.zendesk(|d| d.failing_jobs = n)
    }

    /// An account-wide limit of `limit` calls per `window` (`None`: unlimited, the default).
    pub fn zendesk_set_rate_limit(&self, limit: Option<(u32, Duration)>) {
        self.zendesk(|d| d.rate_limit = limit.map(|(n, w)| Window::new(n, w)))
    }

    /// The permanent user deletion limit (Zendesk: 700 per 10 minutes).
    pub fn zendesk_set_user_deletion_limit(&self, limit: u32, window: Duration) {
        self.zendesk(|d| d.user_deletions = Window::new(limit, window))
    }

    /// Answer this `next_page` instead of the real one (a misbehaving or hostile API).
    pub fn zendesk_set_next_page(&self, url: Option<&str>) {
        self.zendesk(|d| d.next_page_override = url.map(str::to_string))
    }

    fn zendesk<T>(&self, f: impl FnOnce(&mut Data) -> T) -> T {
        let mut data = self.state.zendesk.lock().expect("zendesk lock");
        data.settle(Instant::now());
        f(&mut data)
    }
}

/// What the simulated Zendesk account holds.
pub(crate) struct Data {
    users: BTreeMap<u64, User>,
    tickets: BTreeMap<u64, Ticket>,
    jobs: HashMap<String, Job>,
    next_id: u64,
    next_job: u64,
    page_size: usize,
    job_delay: Duration,
    failing_jobs: u32,
    rate_limit: Option<Window>,
    user_deletions: Window,
    next_page_override: Option<String>,
}

impl Default for Data {
    fn default() -> Self {
        let mut data = Data {
            users: BTreeMap::new(),
            tickets: BTreeMap::new(),
            jobs: HashMap::new(),
            next_id: AGENT_ID,
            next_job: 0,
            page_size: 5,
            job_delay: Duration::from_millis(200),
            failing_jobs: 0,
            rate_limit: None,
            user_deletions: Window::new(700, Duration::from_secs(600)),
            next_page_override: None,
        };
        data.add_user("Erasure Bot", Some(crate::Sim::ZENDESK_EMAIL), None, "admin");
        data.next_id = 35_000;
        data
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Life {
    Active,
    SoftDeleted,
    Purged,
}

impl Life {
    fn name(self) -> &'static str {
        match self {
            Life::Active => "active",
            Life::SoftDeleted => "soft_deleted",
            Life::Purged => "purged",
        }
    }
}

struct User {
    id: u64,
    name: String,
    email: Option<String>,
    external_id: Option<String>,
    role: String,
    life: Life,
    purged_at: Option<Instant>,
    /// The identifiers it was created with, for `zendesk_records` after a purge scrubbed them.
    created_with: Vec<String>,
}

struct Ticket {
    id: u64,
    subject: String,
    status: String,
    requester_id: u64,
    email_cc_ids: Vec<u64>,
    follower_ids: Vec<u64>,
    comments: Vec<Comment>,
    life: Life,
}

struct Comment {
    id: u64,
    author_id: u64,
    html_body: String,
    attachments: Vec<Attachment>,
}

struct Attachment {
    id: u64,
    file_name: String,
}

#[derive(Clone, Copy, PartialEq)]
enum JobAction {
    /// `tickets/destroy_many`: soft delete.
    Delete,
    /// `deleted_tickets/destroy_many`: permanent.
    Purge,
}

struct Job {
    action: JobAction,
    ids: Vec<u64>,
    created: Instant,
    ready_at: Instant,
    fails: bool,
    /// Per-ticket results, once the job has run.
    results: Option<Vec<Value>>,
}

/// A fixed window of calls.
struct Window {
    limit: u32,
    length: Duration,
    started: Instant,
    used: u32,
}

impl Window {
    fn new(limit: u32, length: Duration) -> Self {
        Window { limit, length, started: Instant::now(), used: 0 }
    }

    /// Count one call: `Ok(remaining)`, or `Err(seconds until the window resets)`.
    fn take(&mut self, now: Instant) -> Result<u32, u64> {
        if now >= self.started + self.length {
            self.started = now;
            self.used = 0;
        }
        if self.used >= self.limit {
            let left = (self.started + self.length).saturating_duration_since(now);
            return Err(left.as_secs_f64().ceil().max(1.0) as u64);
        }
        self.used += 1;
        Ok(self.limit - self.used)
    }

    fn reset_in(&self, now: Instant) -> u64 {
        (self.started + self.length).saturating_duration_since(now).as_secs_f64().ceil() as u64
    }
}

/// An answer before it becomes a response.
struct Answer {
    status: u16,
    body: Value,
    headers: Vec<(&'static str, String)>,
}

fn ok(body: Value) -> Answer {
    Answer { status: 200, body, headers: Vec::new() }
}

fn error(status: u16, error: &str, description: &str) -> Answer {
    Answer { status, body: json!({ "error": error, "description": description }), headers: Vec::new() }
}

fn not_found() -> Answer {
    error(404, "RecordNotFound", "Not found")
}

fn throttled(retry_after: Option<u64>) -> Answer {
    let mut answer = error(429, "APIRateLimitExceeded", "Number of allowed API requests per minute exceeded");
    answer.headers.extend(retry_after.map(|s| ("retry-after", s.to_string())));
    answer
}

/// Where the call came in, to write `url` fields and `next_page` as full URLs.
struct Link {
    /// `http://host[/zendesk]/api/v2`
    api: String,
    path: String,
    query: HashMap<String, String>,
}

impl Link {
    fn page(&self, page: usize, per_page: usize) -> String {
        let mut pairs: Vec<(&str, String)> = self
            .query
            .iter()
            .filter(|(k, _)| !matches!(k.as_str(), "page" | "per_page"))
            .map(|(k, v)| (k.as_str(), v.clone()))
            .collect();
        pairs.sort();
        pairs.push(("page", page.to_string()));
        pairs.push(("per_page", per_page.to_string()));
        let query: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={}", percent_encode(v))).collect();
        format!("{}{}?{}", self.api, self.path, query.join("&"))
    }
}

/// Routes at Zendesk's own paths (nested under `/zendesk` by the simulator).
pub(crate) fn router() -> Router<Arc<State>> {
    Router::new()
        .route("/api/v2/users/me", get(serve))
        .route("/api/v2/users/search", get(serve))
        .route("/api/v2/users/{id}", get(serve).delete(serve))
        .route("/api/v2/users/{id}/tickets/requested", get(serve))
        .route("/api/v2/users/{id}/tickets/ccd", get(serve))
        .route("/api/v2/users/{id}/compliance_deletion_statuses", get(serve))
        .route("/api/v2/deleted_users/{id}", delete(serve))
        .route("/api/v2/tickets/destroy_many", delete(serve))
        .route("/api/v2/tickets/{id}", put(serve))
        .route("/api/v2/tickets/{id}/comments", get(serve))
        .route("/api/v2/comment_redactions/{id}", put(serve))
        .route("/api/v2/deleted_tickets/destroy_many", delete(serve))
        .route("/api/v2/job_statuses/{id}", get(serve))
}

/// Every route: record, delay, fault, authenticate, rate-limit, then answer from the data.
async fn serve(AxumState(state): AxumState<Arc<State>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let path = parts.uri.path().to_string();
    let query: HashMap<String, String> = Query::try_from_uri(&parts.uri).map(|q| q.0).unwrap_or_default();
    let identifiers = ["query", "external_id"].iter().filter_map(|k| query.get(*k).cloned()).collect();
    let index = state.begin_call(SYSTEM, format!("{} {path}", parts.method), identifiers);
    let latency = state.latency(SYSTEM);
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let mut slow = None;
    match state.take_fault(SYSTEM, index) {
        None => {}
        Some(Fault::Hang { millis }) => tokio::time::sleep(Duration::from_millis(millis)).await,
        Some(Fault::SlowAnswer { millis }) => slow = Some(Duration::from_millis(millis)),
        Some(Fault::Throttle { retry_after }) => return respond(&state, index, throttled(retry_after)),
        Some(Fault::Status { status, retry_after }) => {
            let mut answer = error(status, "InjectedFault", "The simulator was told to fail this call");
            answer.headers.extend(retry_after.map(|s| ("retry-after", s.to_string())));
            return respond(&state, index, answer);
        }
    }
    if !authenticated(&parts.headers) {
        return respond(&state, index, error(401, "Couldn't authenticate you", "Unauthorized"));
    }
    let body = axum::body::to_bytes(body, 1 << 20).await.unwrap_or_default();
    let link = link(&parts, &path, query);
    let answer = {
        let mut data = state.zendesk.lock().expect("zendesk lock");
        let now = Instant::now();
        data.settle(now);
        match data.over_rate_limit(now) {
            Some(throttle) => throttle,
            None => {
                let mut answer = data.handle(parts.method.as_str(), &path, &body, &link, now);
                data.add_rate_headers(&mut answer, now);
                answer
            }
        }
    };
    if let Some(delay) = slow {
        tokio::time::sleep(delay).await;
    }
    respond(&state, index, answer)
}

fn respond(state: &State, index: usize, answer: Answer) -> Response {
    state.finish_call(SYSTEM, index, answer.status);
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (status, Json(answer.body)).into_response();
    for (name, value) in answer.headers {
        if let Ok(value) = HeaderValue::from_str(&value) {
            response.headers_mut().insert(name, value);
        }
    }
    response
}

fn link(parts: &Parts, path: &str, query: HashMap<String, String>) -> Link {
    let host = parts.headers.get("host").and_then(|h| h.to_str().ok()).unwrap_or("127.0.0.1");
    let prefix = parts.extensions.get::<NestedPath>().map(|p| p.as_str().trim_end_matches('/')).unwrap_or("");
    Link { api: format!("http://{host}{prefix}/api/v2"), path: path.trim_start_matches("/api/v2").to_string(), query }
}

fn authenticated(headers: &HeaderMap) -> bool {
    let Some(value) = headers.get("authorization").and_then(|v| v.to_str().ok()) else {
        return false;
    };
    if let Some(token) = value.strip_prefix("Bearer ") {
        return token == crate::Sim::ZENDESK_OAUTH_TOKEN;
    }
    let expected = format!("{}/token:{}", crate::Sim::ZENDESK_EMAIL, crate::Sim::ZENDESK_TOKEN);
    value.strip_prefix("Basic ").is_some_and(|encoded| encoded == base64(expected.as_bytes()))
}

impl Data {
    /// Count the call against the account's rate limit: the 429 to answer if it is over.
    fn over_rate_limit(&mut self, now: Instant) -> Option<Answer> {
        let seconds = self.rate_limit.as_mut()?.take(now).err()?;
        let mut answer = throttled(Some(seconds));
        self.add_rate_headers(&mut answer, now);
        Some(answer)
    }

    fn add_rate_headers(&self, answer: &mut Answer, now: Instant) {
        if let Some(w) = &self.rate_limit {
            answer.headers.push(("x-rate-limit", w.limit.to_string()));
            answer.headers.push(("x-rate-limit-remaining", w.limit.saturating_sub(w.used).to_string()));
            answer.headers.push(("ratelimit-reset", w.reset_in(now).to_string()));
        }
    }

    fn handle(&mut self, method: &str, path: &str, body: &[u8], link: &Link, now: Instant) -> Answer {
        let segments: Vec<&str> = path.trim_start_matches("/api/v2/").split('/').collect();
        let id = |s: &str| s.parse::<u64>().ok();
        match (method, segments.as_slice()) {
            ("GET", ["users", "me"]) => ok(json!({ "user": self.users[&AGENT_ID].json(&link.api) })),
            ("GET", ["users", "search"]) => self.search(link),
            ("GET", ["users", user]) => match id(user).and_then(|u| self.users.get(&u)) {
                Some(u) if u.life != Life::Purged => ok(json!({ "user": u.json(&link.api) })),
                _ => not_found(),
            },
            ("DELETE", ["users", user]) => id(user).map_or_else(not_found, |u| self.delete_user(u, &link.api)),
            ("GET", ["users", user, "tickets", which]) => match id(user) {
                Some(u) if self.users.get(&u).is_some_and(|u| u.life == Life::Active) => {
                    let tickets: Vec<Value> = self
                        .tickets
                        .values()
                        .filter(|t| t.life == Life::Active)
                        .filter(|t| match *which {
                            "requested" => t.requester_id == u,
                            "ccd" => t.email_cc_ids.contains(&u) || t.follower_ids.contains(&u),
                            _ => false,
                        })
                        .map(|t| t.json(&link.api))
                        .collect();
                    self.page("tickets", tickets, link)
                }
                _ => not_found(),
            },
            ("GET", ["users", user, "compliance_deletion_statuses"]) => {
                id(user).map_or_else(not_found, |u| self.compliance(u, now))
            }
            ("DELETE", ["deleted_users", user]) => {
                id(user).map_or_else(not_found, |u| self.purge_user(u, &link.api, now))
            }
            ("DELETE", ["tickets", "destroy_many"]) => self.bulk(JobAction::Delete, link, now),
            ("DELETE", ["deleted_tickets", "destroy_many"]) => self.bulk(JobAction::Purge, link, now),
            ("PUT", ["tickets", ticket]) => {
                id(ticket).map_or_else(not_found, |t| self.update_ticket(t, body, &link.api))
            }
            ("GET", ["tickets", ticket, "comments"]) => match id(ticket).and_then(|t| self.tickets.get(&t)) {
                Some(t) if t.life == Life::Active => {
                    let comments = t.comments.iter().map(|c| c.json(&link.api)).collect();
                    self.page("comments", comments, link)
                }
                _ => not_found(),
            },
            ("PUT", ["comment_redactions", comment]) => {
                id(comment).map_or_else(not_found, |c| self.redact(c, body, &link.api))
            }
            ("GET", ["job_statuses", job]) => match self.jobs.get(*job) {
                Some(j) => ok(json!({ "job_status": j.json(job, &link.api, now) })),
                None => not_found(),
            },
            _ => not_found(),
        }
    }

    fn page(&self, key: &str, items: Vec<Value>, link: &Link) -> Answer {
        let number = |k: &str| link.query.get(k).and_then(|v| v.parse::<usize>().ok());
        let per_page = number("per_page").unwrap_or(100).clamp(1, 100).min(self.page_size);
        let page = number("page").unwrap_or(1).max(1);
        let count = items.len();
        let start = (page - 1).saturating_mul(per_page);
        let items: Vec<Value> = items.into_iter().skip(start).take(per_page).collect();
        let next = (start.saturating_add(per_page) < count)
            .then(|| self.next_page_override.clone().unwrap_or_else(|| link.page(page + 1, per_page)));
        let previous = (page > 1).then(|| link.page(page - 1, per_page));
        ok(json!({ key: items, "next_page": next, "previous_page": previous, "count": count }))
    }

    fn search(&self, link: &Link) -> Answer {
        let found: Vec<&User> = if let Some(external_id) = link.query.get("external_id") {
            self.users
                .values()
                .filter(|u| u.life == Life::Active && u.external_id.as_ref() == Some(external_id))
                .collect()
        } else if let Some(query) = link.query.get("query") {
            let terms = parse_terms(query);
            self.users
                .values()
                .filter(|u| u.life == Life::Active && !terms.is_empty() && terms.iter().all(|t| t.matches(u)))
                .collect()
        } else {
            return error(400, "InvalidEndpoint", "query or external_id is required");
        };
        let users = found.iter().map(|u| u.json(&link.api)).collect();
        self.page("users", users, link)
    }

    fn delete_user(&mut self, id: u64, api: &str) -> Answer {
        let open =
            self.tickets.values().any(|t| t.requester_id == id && t.life == Life::Active && t.status != "closed");
        match self.users.get_mut(&id) {
            Some(u) if u.life == Life::Active && id == AGENT_ID => {
                error(403, "Forbidden", "You cannot delete yourself")
            }
            Some(u) if u.life == Life::Active && open => Answer {
                status: 422,
                body: json!({ "error": "RecordInvalid", "description": "Record validation errors", "details": {
                    "base": [{ "description": "The user is the requester of tickets that are not closed" }] } }),
                headers: Vec::new(),
            },
            Some(u) if u.life == Life::Active => {
                u.life = Life::SoftDeleted;
                ok(json!({ "user": u.json(api) }))
            }
            _ => not_found(),
        }
    }

    fn purge_user(&mut self, id: u64, api: &str, now: Instant) -> Answer {
        if let Err(seconds) = self.user_deletions.take(now) {
            return throttled(Some(seconds));
        }
        match self.users.get_mut(&id) {
            Some(u) if u.life == Life::SoftDeleted => {
                u.life = Life::Purged;
                u.purged_at = Some(now);
                u.name = "Permanently Deleted User".into();
                u.email = None;
                u.external_id = None;
                ok(json!({ "deleted_user": u.json(api) }))
            }
            _ => not_found(),
        }
    }

    fn compliance(&self, id: u64, now: Instant) -> Answer {
        let Some(user) = self.users.get(&id) else { return not_found() };
        let entry = |action: &str, application: &str| {
            json!({ "action": action, "application": application, "account_subdomain": "sim",
                    "executer_id": AGENT_ID, "user_id": id, "created_at": "2024-06-01T00:00:00Z" })
        };
        let mut statuses = Vec::new();
        if let Some(at) = user.purged_at {
            statuses.push(entry("request_deletion", "all"));
            statuses.push(entry("started", "support"));
            if now >= at + self.job_delay {
                statuses.push(entry("complete", "support"));
            }
        }
        ok(json!({ "compliance_deletion_statuses": statuses }))
    }

    fn bulk(&mut self, action: JobAction, link: &Link, now: Instant) -> Answer {
        let ids: Option<Vec<u64>> =
            link.query.get("ids").map(|ids| ids.split(',').map(|i| i.trim().parse().ok()).collect()).unwrap_or(None);
        let ids = match ids {
            Some(ids) if !ids.is_empty() && ids.len() <= MAX_BULK_IDS => ids,
            _ => return error(400, "InvalidValue", "ids must be 1 to 100 comma-separated ticket ids"),
        };
        self.next_job += 1;
        let id = format!("{:032x}", 0x5a5a_0000_u64 + self.next_job);
        let fails = self.failing_jobs > 0;
        self.failing_jobs = self.failing_jobs.saturating_sub(1);
        let job = Job { action, ids, created: now, ready_at: now + self.job_delay, fails, results: None };
        let answer = ok(json!({ "job_status": job.json(&id, &link.api, now) }));
        self.jobs.insert(id, job);
        answer
    }

    fn update_ticket(&mut self, id: u64, body: &[u8], api: &str) -> Answer {
        let Some(ticket) = self.tickets.get_mut(&id).filter(|t| t.life == Life::Active) else { return not_found() };
        let Ok(Value::Object(mut body)) = serde_json::from_slice::<Value>(body) else {
            return error(400, "InvalidValue", "the body must be {\"ticket\": {...}}");
        };
        let Some(Value::Object(update)) = body.remove("ticket") else {
            return error(400, "InvalidValue", "the body must be {\"ticket\": {...}}");
        };
        for (key, list) in [("email_ccs", &mut ticket.email_cc_ids), ("followers", &mut ticket.follower_ids)] {
            for change in update.get(key).and_then(Value::as_array).into_iter().flatten() {
                let Some(user) = change.get("user_id").and_then(Value::as_u64) else { continue };
                match change.get("action").and_then(Value::as_str).unwrap_or("put") {
                    "delete" => list.retain(|u| *u != user),
                    _ if !list.contains(&user) => list.push(user),
                    _ => {}
                }
            }
        }
        if let Some(status) = update.get("status").and_then(Value::as_str) {
            ticket.status = status.to_string();
        }
        ok(json!({ "ticket": ticket.json(api) }))
    }

    fn redact(&mut self, comment_id: u64, body: &[u8], api: &str) -> Answer {
        let Ok(body) = serde_json::from_slice::<Value>(body) else {
            return error(400, "InvalidValue", "the body must be JSON");
        };
        let Some(ticket_id) = body.get("ticket_id").and_then(Value::as_u64) else {
            return error(400, "InvalidValue", "ticket_id is required");
        };
        let Some(ticket) = self.tickets.get_mut(&ticket_id).filter(|t| t.life == Life::Active) else {
            return not_found();
        };
        let Some(comment) = ticket.comments.iter_mut().find(|c| c.id == comment_id) else { return not_found() };
        if let Some(html) = body.get("html_body").and_then(Value::as_str) {
            if strip_redaction(html) != comment.html_body {
                return error(422, "InvalidValue", "html_body is not the comment's html_body with redactions");
            }
            comment.html_body = apply_redaction(html);
        }
        let urls: Vec<&str> = body
            .get("external_attachment_urls")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        for attachment in &mut comment.attachments {
            if urls.contains(&attachment.content_url(api).as_str()) {
                attachment.file_name = "redacted.txt".into();
            }
        }
        ok(json!({ "comment": comment.json(api) }))
    }

    /// Run the jobs whose time has come.
    fn settle(&mut self, now: Instant) {
        let due: Vec<String> = self
            .jobs
            .iter()
            .filter(|(_, j)| j.results.is_none() && j.ready_at <= now)
            .map(|(id, _)| id.clone())
            .collect();
        for id in due {
            let job = &self.jobs[&id];
            let (action, ids, fails) = (job.action, job.ids.clone(), job.fails);
            let mut results = Vec::new();
            for ticket in &ids {
                let (from, to) = match action {
                    JobAction::Delete => (Life::Active, Life::SoftDeleted),
                    JobAction::Purge => (Life::SoftDeleted, Life::Purged),
                };
                let done = !fails && self.tickets.get(ticket).is_some_and(|t| t.life == from);
                if done {
                    self.tickets.get_mut(ticket).expect("checked").life = to;
                }
                results.push(if done {
                    json!({ "id": ticket, "action": "delete", "success": true, "status": "Deleted" })
                } else {
                    json!({ "id": ticket, "action": "delete", "success": false, "errors": "RecordNotFound" })
                });
            }
            self.jobs.get_mut(&id).expect("a due job").results = Some(results);
        }
    }

    fn new_id(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    fn add_user(&mut self, name: &str, email: Option<&str>, external_id: Option<&str>, role: &str) -> u64 {
        let id = self.new_id();
        let email = email.map(str::to_lowercase);
        let created_with = email.iter().chain(external_id.map(str::to_string).as_ref()).cloned().collect();
        let user = User {
            id,
            name: name.to_string(),
            email,
            external_id: external_id.map(str::to_string),
            role: role.to_string(),
            life: Life::Active,
            purged_at: None,
            created_with,
        };
        self.users.insert(id, user);
        id
    }

    fn add_ticket(&mut self, requester: u64, text: &str) -> u64 {
        let id = self.new_id();
        let ticket = Ticket {
            id,
            subject: "Help with my account".into(),
            status: "closed".into(),
            requester_id: requester,
            email_cc_ids: Vec::new(),
            follower_ids: Vec::new(),
            comments: Vec::new(),
            life: Life::Active,
        };
        self.tickets.insert(id, ticket);
        self.add_comment(id, requester, text, &[]);
        id
    }

    fn add_comment(&mut self, ticket: u64, author: u64, text: &str, files: &[&str]) -> u64 {
        let id = self.new_id();
        let attachments = files.iter().map(|f| Attachment { id: self.new_id(), file_name: f.to_string() }).collect();
        let html_body = format!("<div class=\"zd-comment\" dir=\"auto\"><p>{}</p></div>", escape_html(text));
        let comment = Comment { id, author_id: author, html_body, attachments };
        self.tickets.get_mut(&ticket).expect("a simulated ticket").comments.push(comment);
        id
    }

    fn find_comment(&self, id: u64) -> Option<&Comment> {
        self.tickets.values().flat_map(|t| &t.comments).find(|c| c.id == id)
    }
}

impl User {
    fn json(&self, api: &str) -> Value {
        json!({ "id": self.id, "url": format!("{api}/users/{}.json", self.id), "name": self.name,
                "email": self.email, "external_id": self.external_id, "role": self.role,
                "active": self.life == Life::Active, "phone": null, "verified": true,
                "created_at": "2024-01-01T00:00:00Z", "updated_at": "2024-01-01T00:00:00Z" })
    }
}

impl Ticket {
    fn json(&self, api: &str) -> Value {
        let collaborators: Vec<u64> = self.email_cc_ids.iter().chain(&self.follower_ids).copied().collect();
        let description = self.comments.first().map(|c| plain_text(&c.html_body)).unwrap_or_default();
        json!({ "id": self.id, "url": format!("{api}/tickets/{}.json", self.id), "subject": self.subject,
                "raw_subject": self.subject, "description": description, "status": self.status,
                "requester_id": self.requester_id, "submitter_id": self.requester_id,
                "email_cc_ids": self.email_cc_ids, "follower_ids": self.follower_ids,
                "collaborator_ids": collaborators, "created_at": "2024-01-01T00:00:00Z",
                "updated_at": "2024-01-01T00:00:00Z" })
    }
}

impl Comment {
    fn json(&self, api: &str) -> Value {
        let plain = plain_text(&self.html_body);
        let attachments: Vec<Value> = self
            .attachments
            .iter()
            .map(|a| {
                json!({ "id": a.id, "file_name": a.file_name, "content_url": a.content_url(api),
                             "content_type": "application/octet-stream", "size": 1024 })
            })
            .collect();
        json!({ "id": self.id, "type": "Comment", "author_id": self.author_id, "body": plain,
                "html_body": self.html_body, "plain_body": plain, "public": true,
                "attachments": attachments, "created_at": "2024-01-01T00:00:00Z" })
    }
}

impl Attachment {
    fn content_url(&self, api: &str) -> String {
        format!("{api}/attachments/{}/{}", self.id, percent_encode(&self.file_name))
    }
}

impl Job {
    fn json(&self, id: &str, api: &str, now: Instant) -> Value {
        let status = match &self.results {
            Some(_) if self.fails => "failed",
            Some(_) => "completed",
            None if now < self.created + (self.ready_at - self.created) / 2 => "queued",
            None => "working",
        };
        let total = self.ids.len();
        let progress = if self.results.is_some() { total } else { 0 };
        let message = match status {
            "completed" => Some("Completed"),
            "failed" => Some("The job failed (simulated)"),
            _ => None,
        };
        json!({ "id": id, "url": format!("{api}/job_statuses/{id}.json"), "job_type": "Bulk Delete Tickets",
                "status": status, "total": total, "progress": progress, "message": message,
                "results": self.results })
    }
}

/// One term of a search query.
#[derive(Debug, PartialEq)]
struct Term {
    field: Option<String>,
    value: String,
    /// Unquoted: `*` is a wildcard.
    wildcard: bool,
}

impl Term {
    fn matches(&self, user: &User) -> bool {
        let fuzzy = |text: &Option<String>| {
            let Some(text) = text.as_ref().map(|t| t.to_lowercase()) else { return false };
            let value = self.value.to_lowercase();
            if self.wildcard && value.contains('*') {
                glob(&value, &text)
            } else {
                text.contains(&value)
            }
        };
        match self.field.as_deref() {
            None => fuzzy(&Some(user.name.clone())) || fuzzy(&user.email),
            Some("type") => self.value == "user",
            Some("email") => fuzzy(&user.email),
            Some("name") => fuzzy(&Some(user.name.clone())),
            Some("external_id") => user.external_id.as_deref() == Some(self.value.as_str()),
            Some("role") => user.role == self.value,
            Some(_) => false,
        }
    }
}

/// Split a query into terms: whitespace separates them outside quotes; `field:value` or `value`;
/// inside quotes `\"` and `\\` stand for `"` and `\`.
fn parse_terms(query: &str) -> Vec<Term> {
    let mut terms = Vec::new();
    let mut chars = query.chars().peekable();
    loop {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        if chars.peek().is_none() {
            return terms;
        }
        let (mut field, mut value, mut quoted) = (None, String::new(), false);
        while let Some(c) = chars.next() {
            match c {
                '"' => {
                    quoted = true;
                    while let Some(c) = chars.next() {
                        match c {
                            '\\' => value.extend(chars.next()),
                            '"' => break,
                            c => value.push(c),
                        }
                    }
                }
                ':' if field.is_none() && !quoted => field = Some(std::mem::take(&mut value).to_lowercase()),
                c if c.is_whitespace() => break,
                c => value.push(c),
            }
        }
        terms.push(Term { field, value, wildcard: !quoted });
    }
}

fn glob(pattern: &str, text: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == text,
        Some((head, rest)) => {
            let Some(text) = text.strip_prefix(head) else { return false };
            (0..=text.len()).filter(|i| text.is_char_boundary(*i)).any(|i| glob(rest, &text[i..]))
        }
    }
}

/// The html without the redaction markup the caller added: what the comment must have been.
fn strip_redaction(html: &str) -> String {
    html.replace("<redact>", "").replace("</redact>", "").replace(" redact>", ">").replace(" redact/>", "/>")
}

/// Replace each `<redact>...</redact>` with as many `▇`; drop the `redact` attributes' tags.
fn apply_redaction(html: &str) -> String {
    let mut out = String::new();
    let mut rest = html;
    while let Some(start) = rest.find("<redact>") {
        out.push_str(&rest[..start]);
        let inner = &rest[start + "<redact>".len()..];
        let end = inner.find("</redact>").unwrap_or(inner.len());
        out.extend(std::iter::repeat_n(REDACTED, plain_text(&inner[..end]).chars().count()));
        rest = inner.get(end + "</redact>".len()..).unwrap_or("");
    }
    out.push_str(rest);
    let mut cleaned = String::new();
    for piece in out.split_inclusive('>') {
        match piece.rfind('<') {
            Some(open) if piece[open..].ends_with(" redact>") || piece[open..].ends_with(" redact/>") => {
                cleaned.push_str(&piece[..open])
            }
            _ => cleaned.push_str(piece),
        }
    }
    cleaned
}

fn plain_text(html: &str) -> String {
    let mut text = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    text.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", "\"").replace("&#39;", "'").replace("&amp;", "&")
}

fn escape_html(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn percent_encode(value: &str) -> String {
    let mut out = String::new();
    for byte in value.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(byte as char),
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Seed {
    #[serde(default)]
    page_size: Option<usize>,
    #[serde(default)]
    job_delay_ms: Option<u64>,
    #[serde(default)]
    users: Vec<SeedUser>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SeedUser {
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    external_id: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    role: Option<String>,
    #[serde(default)]
    tickets: u32,
    #[serde(default)]
    ccd_tickets: u32,
}

/// Seed from the `"zendesk"` section of a seed file (shape in the module doc).
pub(crate) fn seed_json(state: &State, seed: &Value) -> Result<(), String> {
    let seed: Seed = serde_json::from_value(seed.clone()).map_err(|e| format!("zendesk: {e}"))?;
    let mut data = state.zendesk.lock().expect("zendesk lock");
    if let Some(n) = seed.page_size {
        data.page_size = n.max(1);
    }
    if let Some(ms) = seed.job_delay_ms {
        data.job_delay = Duration::from_millis(ms);
    }
    for u in seed.users {
        let name = u.name.as_deref().unwrap_or("A customer");
        let role = u.role.as_deref().unwrap_or("end-user");
        let id = data.add_user(name, u.email.as_deref(), u.external_id.as_deref(), role);
        for _ in 0..u.tickets {
            let ticket = data.add_ticket(id, "I cannot sign in to my account since yesterday.");
            data.add_comment(ticket, AGENT_ID, "Thanks for writing; we reset your access.", &[]);
        }
        for _ in 0..u.ccd_tickets {
            let other = data.add_user("Another customer", None, None, "end-user");
            let ticket = data.add_ticket(other, "Our team cannot sign in.");
            data.tickets.get_mut(&ticket).expect("just added").email_cc_ids.push(id);
            data.add_comment(ticket, id, "Same problem on my side.", &[]);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_terms_honour_quotes_and_escapes() {
        let terms = parse_terms(r#"type:user email:"a\"b c@x.io" ann*"#);
        assert_eq!(terms[0], Term { field: Some("type".into()), value: "user".into(), wildcard: true });
        assert_eq!(terms[1], Term { field: Some("email".into()), value: "a\"b c@x.io".into(), wildcard: false });
        assert_eq!(terms[2], Term { field: None, value: "ann*".into(), wildcard: true });
    }

    #[test]
    fn search_is_fuzzy_unless_the_caller_checks() {
        let user = User {
            id: 7,
            name: "Jo".into(),
            email: Some("joann@x.io".into()),
            external_id: None,
            role: "end-user".into(),
            life: Life::Active,
            purged_at: None,
            created_with: Vec::new(),
        };
        let found = |q: &str| parse_terms(q).iter().all(|t| t.matches(&user));
        assert!(found("email:ann@x.io"));
        assert!(found("email:\"ann@x.io\""));
        assert!(found("email:jo*@x.io"));
        assert!(!found("email:\"jo*@x.io\""));
        assert!(!found("email:\"bob@x.io\""));
    }

    #[test]
    fn redaction_markup_is_checked_then_applied() {
        let original = "<div><p>Call me &amp; <a href=\"tel:1\">me</a></p></div>";
        let tagged =
            "<div><p><redact>Call me &amp; </redact><a href=\"tel:1\" redact><redact>me</redact></a></p></div>";
        assert_eq!(strip_redaction(tagged), original);
        let applied = apply_redaction(tagged);
        assert!(plain_text(&applied).chars().all(|c| c == REDACTED));
        assert!(!applied.contains("tel:1"));
    }

    #[test]
    fn base64_as_http_basic_writes_it() {
        assert_eq!(base64(b"a/token:b"), "YS90b2tlbjpi");
        assert_eq!(base64(b"ab"), "YWI=");
        assert_eq!(base64(b"abcd"), "YWJjZA==");
    }
}
