//! Zendesk's paths: every call is recorded, delayed, faulted, authenticated and rate-limited,
//! then dispatched to its endpoint.

pub(super) use super::answer::Answer;
use super::data::{Data, JobAction, Life};
use super::{AGENT_ID, EMAIL, OAUTH_TOKEN, SYSTEM, TOKEN};
use crate::harness::{ErrorShape, Vendor};
use crate::text::{basic_auth, percent_encode};
use axum::extract::{NestedPath, Query, Request, State as AxumState};
use axum::http::{request::Parts, HeaderMap};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, put};
use axum::Router;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

type Shared = Arc<Vendor<Data>>;

pub(super) fn ok(body: Value) -> Answer {
    Answer::json(body)
}

pub(super) fn error(status: u16, error: &str, description: &str) -> Answer {
    Answer::new(status, Some(json!({ "error": error, "description": description })))
}

pub(super) fn not_found() -> Answer {
    error(404, "RecordNotFound", "Not found")
}

pub(super) fn throttled(retry_after: Option<u64>) -> Answer {
    error(429, "APIRateLimitExceeded", "Number of allowed API requests per minute exceeded")
        .with_retry_after(retry_after)
}

/// Where the call came in, to write `url` fields and `next_page` as full URLs.
pub(super) struct Link {
    /// `http://host[/zendesk]/api/v2`
    pub(super) api: String,
    pub(super) path: String,
    pub(super) query: HashMap<String, String>,
}

impl Link {
    pub(super) fn page(&self, page: usize, per_page: usize) -> String {
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

impl Link {
    /// The next page of a cursor-paginated listing (Export Search Results): the same query with
    /// `page[after]` and `page[size]`.
    pub(super) fn cursor(&self, after: &str, size: usize) -> String {
        let mut pairs: Vec<(&str, String)> = self
            .query
            .iter()
            .filter(|(k, _)| !matches!(k.as_str(), "page[after]" | "page[size]"))
            .map(|(k, v)| (k.as_str(), v.clone()))
            .collect();
        pairs.push(("page[after]", after.to_string()));
        pairs.push(("page[size]", size.to_string()));
        pairs.sort();
        let query: Vec<String> =
            pairs.iter().map(|(k, v)| format!("{}={}", percent_encode(k), percent_encode(v))).collect();
        format!("{}{}?{}", self.api, self.path, query.join("&"))
    }
}

impl ErrorShape for Data {
    const SYSTEM: &'static str = SYSTEM;

    fn injected_status(status: u16, retry_after: Option<u64>) -> Response {
        error(status, "InjectedFault", "The simulator was told to fail this call")
            .with_retry_after(retry_after)
            .into_response()
    }

    fn injected_throttle(retry_after: Option<u64>) -> Response {
        throttled(retry_after).into_response()
    }
}

/// Routes at Zendesk's own paths (nested under `/zendesk` by the simulator).
pub(crate) fn router(vendor: Shared) -> Router {
    Router::new()
        .route("/api/v2/users/me", get(serve))
        .route("/api/v2/users/search", get(serve))
        .route("/api/v2/users/{id}", get(serve).delete(serve))
        .route("/api/v2/users/{id}/identities", get(serve))
        .route("/api/v2/users/{id}/tickets/requested", get(serve))
        .route("/api/v2/users/{id}/tickets/ccd", get(serve))
        .route("/api/v2/users/{id}/compliance_deletion_statuses", get(serve))
        .route("/api/v2/deleted_users/{id}", delete(serve))
        .route("/api/v2/tickets/destroy_many", delete(serve))
        .route("/api/v2/tickets/{id}", put(serve))
        .route("/api/v2/tickets/{id}/comments", get(serve))
        .route("/api/v2/comment_redactions/{id}", put(serve))
        .route("/api/v2/deleted_tickets/destroy_many", delete(serve))
        .route("/api/v2/deleted_tickets", get(serve))
        .route("/api/v2/search", get(serve))
        .route("/api/v2/search/count", get(serve))
        .route("/api/v2/search/export", get(serve))
        .route("/api/v2/job_statuses/{id}", get(serve))
        .route("/api/v2/help_center/users/{id}/comments", get(serve))
        .route("/api/v2/help_center/articles/{article}/comments/{id}", delete(serve))
        .route("/api/v2/help_center/{locale}/articles/{article}/comments/{id}", delete(serve))
        .route("/api/v2/community/users/{id}/posts", get(serve))
        .route("/api/v2/community/users/{id}/comments", get(serve))
        .route("/api/v2/community/posts/{id}", delete(serve))
        .route("/api/v2/community/posts/{post}/comments/{id}", delete(serve))
        .route("/api/v2/channels/voice/calls/{id}/recordings", delete(serve))
        .with_state(vendor)
}

/// Every route: record, delay, fault, authenticate, rate-limit, then answer from the data.
async fn serve(AxumState(vendor): AxumState<Shared>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let path = parts.uri.path().to_string();
    let query: HashMap<String, String> = Query::try_from_uri(&parts.uri).map(|q| q.0).unwrap_or_default();
    let identifiers = ["query", "external_id"].iter().filter_map(|k| query.get(*k).cloned()).collect();
    let call = match vendor.harness.open::<Data>(format!("{} {path}", parts.method), identifiers).await {
        Ok(call) => call,
        Err(refused) => return refused,
    };
    if !authenticated(&parts.headers) {
        return call.refuse(error(401, "Couldn't authenticate you", "Unauthorized").into_response());
    }
    let body = axum::body::to_bytes(body, 1 << 20).await.unwrap_or_default();
    let link = link(&parts, &path, query);
    let answer = {
        let mut data = vendor.data();
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
    call.answer(answer.into_response()).await
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
        return token == OAUTH_TOKEN;
    }
    value == basic_auth(&format!("{EMAIL}/token"), TOKEN)
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

    pub(super) fn handle(&mut self, method: &str, path: &str, body: &[u8], link: &Link, now: Instant) -> Answer {
        let segments: Vec<&str> = path.trim_start_matches("/api/v2/").split('/').collect();
        let id = |s: &str| s.parse::<u64>().ok();
        if let Some(answer) = self.help_center(method, &segments, link).or_else(|| self.talk(method, &segments)) {
            return answer;
        }
        match (method, segments.as_slice()) {
            ("GET", ["users", "me"]) => ok(json!({ "user": self.users[&AGENT_ID].json(&link.api) })),
            ("GET", ["users", "search"]) => self.search(link),
            ("GET", ["users", user]) => match id(user).and_then(|u| self.users.get(&u)) {
                Some(u) if u.life != Life::Purged => ok(json!({ "user": u.json(&link.api) })),
                _ => not_found(),
            },
            ("GET", ["users", user, "identities"]) => id(user).map_or_else(not_found, |u| self.identities(u, link)),
            ("GET", ["search"]) => self.search_tickets(link),
            ("GET", ["search", "count"]) => self.search_count(link),
            ("GET", ["search", "export"]) => self.export_tickets(link, now),
            ("GET", ["deleted_tickets"]) => self.deleted_tickets(link),
            ("DELETE", ["users", user]) => id(user).map_or_else(not_found, |u| self.delete_user(u, &link.api)),
            ("GET", ["users", user, "tickets", which]) => match id(user) {
                Some(u) if self.users.get(&u).is_some_and(|u| u.life == Life::Active) => {
                    let candidates = match *which {
                        "requested" => self.tickets_requested_by(u),
                        "ccd" => self.tickets_watched_by(u),
                        _ => Default::default(),
                    };
                    let tickets: Vec<Value> = self
                        .tickets_among(Some(candidates))
                        // Archived tickets are not in a user's lists (`Data::search_tickets`).
                        .filter(|t| t.life == Life::Active && !t.archived)
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
}
