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
//! Tests add and inspect data with the `Sim::intercom_*` helpers at the end of this file.

use crate::state::{now_ms, Fault, State};
use axum::body::Bytes;
use axum::extract::{Path, State as AxumState};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

const VENDOR: &str = "intercom";
const TOKEN: &str = "sim-token";
const VERSION: &str = "2.14";
const DEFAULT_PAGE_SIZE: usize = 3;
const WINDOW_SECS: u64 = 10;
const ADMIN_ID: &str = "991267459";
const REDACTED_BODY: &str = "<p><i>This message was deleted</i></p>";

/// What the simulated Intercom workspace holds.
#[derive(Default)]
pub(crate) struct Data {
    /// By id; ids are fixed-width hex of a counter, so the map's order is creation order.
    contacts: BTreeMap<String, Contact>,
    conversations: BTreeMap<u64, Conversation>,
    next_id: u64,
    page_size: Option<usize>,
    rate_limit: Option<Window>,
}

struct Contact {
    id: String,
    role: String,
    email: Option<String>,
    external_id: Option<String>,
    phone: Option<String>,
    name: Option<String>,
    created_at: u64,
    deleted: bool,
}

struct Conversation {
    id: u64,
    created_at: u64,
    contact_ids: Vec<String>,
    source: Message,
    parts: Vec<Message>,
}

/// A conversation's source or one of its parts.
struct Message {
    id: String,
    part_type: &'static str,
    author_type: String,
    author_id: String,
    body: Option<String>,
    redacted: bool,
    created_at: u64,
}

struct Window {
    limit: u32,
    start: u64,
    used: u32,
}

impl Data {
    fn next_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    fn add_contact(&mut self, role: &str, email: Option<&str>, external_id: Option<&str>) -> String {
        let id = format!("6762f0cd{:016x}", self.next_id());
        let contact = Contact {
            id: id.clone(),
            role: role.to_string(),
            email: email.map(str::to_string),
            external_id: external_id.map(str::to_string),
            phone: None,
            name: None,
            created_at: now_secs(),
            deleted: false,
        };
        self.contacts.insert(id.clone(), contact);
        id
    }

    /// A conversation started by the first contact; each contact adds `replies` messages, then a
    /// teammate replies and closes it.
    fn add_conversation(&mut self, contact_ids: &[&str], replies: usize) -> u64 {
        let id = self.next_id() + 1000;
        let author = contact_ids.first().copied().unwrap_or_default();
        let source = self.message("comment", self.author_type(author), author, Some("<p>I need help</p>"));
        let mut parts = Vec::new();
        for contact in contact_ids {
            for _ in 0..replies {
                parts.push(self.message("comment", self.author_type(contact), contact, Some("<p>More details</p>")));
            }
        }
        parts.push(self.message("comment", "admin".into(), ADMIN_ID, Some("<p>Thanks, done</p>")));
        parts.push(self.message("close", "admin".into(), ADMIN_ID, None));
        let contact_ids = contact_ids.iter().map(|c| c.to_string()).collect();
        self.conversations.insert(id, Conversation { id, created_at: now_secs(), contact_ids, source, parts });
        id
    }

    fn message(
        &mut self,
        part_type: &'static str,
        author_type: String,
        author_id: &str,
        body: Option<&str>,
    ) -> Message {
        Message {
            id: self.next_id().to_string(),
            part_type,
            author_type,
            author_id: author_id.to_string(),
            body: body.map(str::to_string),
            redacted: false,
            created_at: now_secs(),
        }
    }

    fn author_type(&self, contact_id: &str) -> String {
        self.contacts.get(contact_id).map(|c| c.role.clone()).unwrap_or_else(|| "user".into())
    }

    fn live(&self, id: &str) -> Option<&Contact> {
        self.contacts.get(id).filter(|c| !c.deleted)
    }

    fn page_size(&self) -> usize {
        self.page_size.unwrap_or(DEFAULT_PAGE_SIZE)
    }

    /// Messages `contact_id` wrote that still show their body.
    fn unredacted_by(&self, contact_id: &str) -> u64 {
        let by = |m: &&Message| m.author_id == contact_id && m.body.is_some() && !m.redacted;
        self.conversations.values().map(|c| std::iter::once(&c.source).chain(&c.parts).filter(by).count() as u64).sum()
    }

    /// Count one call against the window: `Err` with the headers of a 429 when over the limit.
    fn take_slot(&mut self, now: u64) -> Result<Headers, Headers> {
        let Some(window) = &mut self.rate_limit else { return Ok(Vec::new()) };
        if now >= window.start + WINDOW_SECS {
            window.start = now - now % WINDOW_SECS;
            window.used = 0;
        }
        let over = window.used >= window.limit;
        window.used = (window.used + 1).min(window.limit);
        let headers = vec![
            ("x-ratelimit-limit", window.limit.to_string()),
            ("x-ratelimit-remaining", (window.limit - window.used).to_string()),
            ("x-ratelimit-reset", (window.start + WINDOW_SECS).to_string()),
        ];
        if over {
            Err(headers)
        } else {
            Ok(headers)
        }
    }
}

impl Contact {
    fn json(&self) -> Value {
        // Intercom also sends `tags`, `notes` and `companies` lists whose relative `url`s break the
        // spec's `format: uri`; the connector reads none of them.
        let mut contact = json!({
            "type": "contact",
            "id": self.id,
            "workspace_id": "simworkspace",
            "external_id": self.external_id,
            "role": self.role,
            "phone": self.phone,
            "name": self.name,
            "has_hard_bounced": false,
            "marked_email_as_spam": false,
            "unsubscribed_from_emails": false,
            "created_at": self.created_at,
            "updated_at": self.created_at,
            "custom_attributes": {},
        });
        if let Some(email) = &self.email {
            contact["email"] = json!(email);
            contact["email_domain"] = json!(email.rsplit_once('@').map(|(_, d)| d).unwrap_or_default());
        }
        contact
    }

    /// Searchable fields: their values, and whether they compare case-insensitively.
    fn field(&self, field: &str) -> Field {
        let one = |v: &Option<String>| v.iter().cloned().collect::<Vec<_>>();
        Some(match field {
            "id" => (vec![self.id.clone()], false),
            "email" => (self.email.iter().map(|e| e.to_lowercase()).collect(), true),
            "external_id" => (one(&self.external_id), false),
            "phone" => (one(&self.phone), false),
            "name" => (one(&self.name), false),
            "role" => (vec![self.role.clone()], false),
            _ => return None,
        })
    }
}

impl Conversation {
    fn contacts_json(&self, data: &Data) -> Value {
        let contacts: Vec<Value> = self
            .contact_ids
            .iter()
            .map(|id| {
                let external_id = data.contacts.get(id).and_then(|c| c.external_id.clone());
                json!({ "type": "contact", "id": id, "external_id": external_id })
            })
            .collect();
        json!({ "type": "contact.list", "contacts": contacts })
    }

    /// The shape of a listing or a search: no parts.
    fn list_item(&self, data: &Data) -> Value {
        json!({
            "type": "conversation",
            "id": self.id.to_string(),
            "created_at": self.created_at,
            "updated_at": self.created_at,
            "open": false,
            "state": "closed",
            "read": true,
            "priority": "not_priority",
            "admin_assignee_id": null,
            "team_assignee_id": null,
            "source": self.source_json(),
            "contacts": self.contacts_json(data),
        })
    }

    /// The shape of a retrieval: with every part.
    fn full(&self, data: &Data) -> Value {
        let mut conversation = self.list_item(data);
        let parts: Vec<Value> = self.parts.iter().map(Message::part_json).collect();
        conversation["conversation_parts"] =
            json!({ "type": "conversation_part.list", "total_count": parts.len(), "conversation_parts": parts });
        conversation
    }

    fn source_json(&self) -> Value {
        let m = &self.source;
        json!({
            "type": "conversation",
            "id": m.id,
            "delivered_as": if m.author_type == "admin" { "admin_initiated" } else { "customer_initiated" },
            "subject": "",
            "body": m.body.clone().unwrap_or_default(),
            "author": m.author_json(),
            "attachments": [],
            "url": null,
            "redacted": m.redacted,
        })
    }

    fn field(&self, field: &str) -> Field {
        Some(match field {
            "id" => (vec![self.id.to_string()], false),
            "contact_ids" => (self.contact_ids.clone(), false),
            _ => return None,
        })
    }
}

impl Message {
    fn author_json(&self) -> Value {
        json!({ "type": self.author_type, "id": self.author_id })
    }

    fn part_json(&self) -> Value {
        json!({
            "type": "conversation_part",
            "id": self.id,
            "part_type": self.part_type,
            "body": self.body,
            "created_at": self.created_at,
            "updated_at": self.created_at,
            "notified_at": self.created_at,
            "author": self.author_json(),
            "attachments": [],
            "redacted": self.redacted,
        })
    }

    fn redact(&mut self) {
        self.body = Some(REDACTED_BODY.into());
        self.redacted = true;
    }
}

/// Routes at the vendor's own paths (nested under `/intercom` by the simulator).
pub(crate) fn router() -> Router<Arc<State>> {
    Router::new()
        .route("/me", get(me))
        .route("/contacts/search", post(search_contacts))
        .route("/contacts/find_by_external_id/{external_id}", get(find_by_external_id))
        .route("/contacts/{id}", get(show_contact).delete(delete_contact))
        .route("/conversations/search", post(search_conversations))
        .route("/conversations/redact", post(redact))
        .route("/conversations/{id}", get(show_conversation))
}

type Shared = AxumState<Arc<State>>;
type Answer = (u16, Value);
/// Extra response headers.
type Headers = Vec<(&'static str, String)>;
/// A searchable field's values, and whether they compare case-insensitively; `None`: not searchable.
type Field = Option<(Vec<String>, bool)>;

async fn me(AxumState(state): Shared, headers: HeaderMap) -> Response {
    serve(&state, &headers, "GET /me", Vec::new(), |_| {
        let app = json!({ "type": "app", "id_code": "simworkspace", "name": "Simulated workspace",
                          "created_at": 1_734_537_243, "secure": false, "identity_verification": false,
                          "timezone": "Europe/Paris", "region": "EU" });
        let admin = json!({ "type": "admin", "id": ADMIN_ID, "email": "admin@sim.example", "name": "Sim Admin",
                            "email_verified": true, "app": app, "has_inbox_seat": true });
        (200, admin)
    })
    .await
}

async fn search_contacts(AxumState(state): Shared, headers: HeaderMap, body: Bytes) -> Response {
    let request = serde_json::from_slice::<Value>(&body).ok();
    let identifiers = request.as_ref().map(|r| filter_values(&r["query"])).unwrap_or_default();
    serve(&state, &headers, "POST /contacts/search", identifiers, move |data| {
        let request = match search_body(request) {
            Ok(request) => request,
            Err(answer) => return answer,
        };
        let mut found = Vec::new();
        for contact in data.contacts.values().filter(|c| !c.deleted) {
            match matches(&request["query"], &|field| contact.field(field)) {
                Ok(true) => found.push((contact.id.clone(), contact.json())),
                Ok(false) => {}
                Err(message) => return bad_request(&message),
            }
        }
        match paginate(found, &request["pagination"], 50, data.page_size()) {
            Ok((data, total_count, pages)) => {
                (200, json!({ "type": "list", "data": data, "total_count": total_count, "pages": pages }))
            }
            Err(answer) => answer,
        }
    })
    .await
}

async fn show_contact(AxumState(state): Shared, Path(id): Path<String>, headers: HeaderMap) -> Response {
    serve(&state, &headers, "GET /contacts/{id}", vec![id.clone()], move |data| match data.live(&id) {
        Some(contact) => (200, contact.json()),
        None => not_found(),
    })
    .await
}

async fn find_by_external_id(
    AxumState(state): Shared,
    Path(external_id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let action = "GET /contacts/find_by_external_id/{external_id}";
    serve(&state, &headers, action, vec![external_id.clone()], move |data| {
        // Intercom's documented limit: this finds users, not leads.
        let user = data
            .contacts
            .values()
            .find(|c| !c.deleted && c.role == "user" && c.external_id.as_deref() == Some(external_id.as_str()));
        match user {
            Some(contact) => (200, contact.json()),
            None => not_found(),
        }
    })
    .await
}

async fn delete_contact(AxumState(state): Shared, Path(id): Path<String>, headers: HeaderMap) -> Response {
    serve(&state, &headers, "DELETE /contacts/{id}", vec![id.clone()], move |data| {
        match data.contacts.get_mut(&id).filter(|c| !c.deleted) {
            Some(contact) => {
                contact.deleted = true;
                (
                    200,
                    json!({ "type": "contact", "id": contact.id, "external_id": contact.external_id, "deleted": true }),
                )
            }
            None => not_found(),
        }
    })
    .await
}

async fn search_conversations(AxumState(state): Shared, headers: HeaderMap, body: Bytes) -> Response {
    let request = serde_json::from_slice::<Value>(&body).ok();
    let identifiers = request.as_ref().map(|r| filter_values(&r["query"])).unwrap_or_default();
    serve(&state, &headers, "POST /conversations/search", identifiers, move |data| {
        let request = match search_body(request) {
            Ok(request) => request,
            Err(answer) => return answer,
        };
        let mut found = Vec::new();
        for conversation in data.conversations.values() {
            match matches(&request["query"], &|field| conversation.field(field)) {
                Ok(true) => found.push((format!("{:020}", conversation.id), conversation.list_item(data))),
                Ok(false) => {}
                Err(message) => return bad_request(&message),
            }
        }
        match paginate(found, &request["pagination"], 20, data.page_size()) {
            Ok((conversations, total_count, pages)) => (
                200,
                json!({ "type": "conversation.list", "conversations": conversations,
                        "total_count": total_count, "pages": pages }),
            ),
            Err(answer) => answer,
        }
    })
    .await
}

async fn show_conversation(AxumState(state): Shared, Path(id): Path<String>, headers: HeaderMap) -> Response {
    serve(&state, &headers, "GET /conversations/{id}", Vec::new(), move |data| {
        match id.parse::<u64>().ok().and_then(|id| data.conversations.get(&id)) {
            Some(conversation) => (200, conversation.full(data)),
            None => not_found(),
        }
    })
    .await
}

/// `{"type": "conversation_part", "conversation_id", "conversation_part_id"}` or
/// `{"type": "source", "conversation_id", "source_id"}`; ids as strings (or numbers, as Intercom's
/// own examples send them).
async fn redact(AxumState(state): Shared, headers: HeaderMap, body: Bytes) -> Response {
    let request = serde_json::from_slice::<Value>(&body).unwrap_or_default();
    serve(&state, &headers, "POST /conversations/redact", Vec::new(), move |data| {
        let id = |key: &str| match &request[key] {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        };
        let (kind, target) = match request["type"].as_str() {
            Some("conversation_part") => ("conversation_part", id("conversation_part_id")),
            Some("source") => ("source", id("source_id")),
            _ => return bad_request("type must be conversation_part or source"),
        };
        let (Some(conversation_id), Some(target)) = (id("conversation_id"), target) else {
            return bad_request("conversation_id and the part's id are required");
        };
        let Some(key) = conversation_id.parse::<u64>().ok().filter(|k| data.conversations.contains_key(k)) else {
            return part_not_found();
        };
        let conversation = data.conversations.get_mut(&key).expect("just checked");
        let message = match kind {
            "source" => Some(&mut conversation.source).filter(|s| s.id == target),
            _ => conversation.parts.iter_mut().find(|p| p.id == target),
        };
        let Some(message) = message else { return part_not_found() };
        // As Intercom: a part needs a body, a source must be a contact's, and nothing is redacted twice.
        let contact_source = kind == "conversation_part" || matches!(message.author_type.as_str(), "user" | "lead");
        if message.body.is_none() || message.redacted || !contact_source {
            return error(400, "conversation_part_not_redactable", "Conversation part is not redactable");
        }
        message.redact();
        (200, data.conversations[&key].full(data))
    })
    .await
}

/// Everything a call goes through: record it, latency, injected faults, the rate-limit window,
/// the token and version headers, then the work itself.
async fn serve(
    state: &State,
    headers: &HeaderMap,
    action: &str,
    identifiers: Vec<String>,
    work: impl FnOnce(&mut Data) -> Answer,
) -> Response {
    let index = state.begin_call(VENDOR, action.to_string(), identifiers);
    let latency = state.latency(VENDOR);
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let mut slow = None;
    match state.take_fault(VENDOR, index) {
        None => {}
        Some(Fault::Hang { millis }) => tokio::time::sleep(Duration::from_millis(millis)).await,
        Some(Fault::SlowAnswer { millis }) => slow = Some(Duration::from_millis(millis)),
        Some(Fault::Status { status, retry_after }) => {
            let extra = retry_after.map(|s| ("retry-after", s.to_string())).into_iter().collect();
            return respond(state, index, error(status, "server_error", "Injected fault"), extra);
        }
        Some(Fault::Throttle { retry_after }) => {
            let extra = match retry_after {
                Some(secs) => vec![
                    ("x-ratelimit-limit", "1000".to_string()),
                    ("x-ratelimit-remaining", "0".to_string()),
                    ("x-ratelimit-reset", (now_secs() + secs).to_string()),
                ],
                None => Vec::new(),
            };
            return respond(state, index, rate_limited(1000), extra);
        }
    }
    let (answer, extra) = {
        let mut data = state.intercom.lock().expect("intercom lock");
        match data.take_slot(now_secs()) {
            Err(extra) => (rate_limited(data.rate_limit.as_ref().map_or(0, |w| w.limit)), extra),
            Ok(extra) => {
                let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default();
                if header("authorization") != format!("Bearer {TOKEN}") {
                    // Intercom sends no rate-limit headers to a caller without valid credentials.
                    (error(401, "unauthorized", "Access Token Invalid"), Vec::new())
                } else if header("intercom-version") != VERSION {
                    (error(400, "intercom_version_invalid", "The simulator answers Intercom-Version 2.14 only"), extra)
                } else {
                    (work(&mut data), extra)
                }
            }
        }
    };
    if let Some(delay) = slow {
        tokio::time::sleep(delay).await;
    }
    respond(state, index, answer, extra)
}

fn respond(state: &State, index: usize, (status, body): Answer, extra: Headers) -> Response {
    state.finish_call(VENDOR, index, status);
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (status, Json(body)).into_response();
    for (name, value) in extra {
        if let Ok(value) = HeaderValue::from_str(&value) {
            response.headers_mut().insert(HeaderName::from_static(name), value);
        }
    }
    response
}

fn error(status: u16, code: &str, message: &str) -> Answer {
    let request_id = uuid::Uuid::new_v4().to_string();
    (
        status,
        json!({ "type": "error.list", "request_id": request_id, "errors": [{ "code": code, "message": message }] }),
    )
}

fn bad_request(message: &str) -> Answer {
    error(400, "parameter_invalid", message)
}

fn not_found() -> Answer {
    error(404, "not_found", "Resource Not Found")
}

fn part_not_found() -> Answer {
    error(404, "conversation_part_or_message_not_found", "Conversation part or message not found")
}

fn rate_limited(limit: u32) -> Answer {
    error(429, "rate_limit_exceeded", &format!("Exceeded rate limit of {limit} in 10_seconds"))
}

/// A search body as Intercom takes it: a `query` object and an optional `pagination`, nothing
/// else. (Prism does not check these bodies: the spec's recursive filter schema defeats it.)
fn search_body(request: Option<Value>) -> Result<Value, Answer> {
    let Some(request) = request.filter(|r| r["query"].is_object()) else {
        return Err(bad_request("the body must be JSON with a query"));
    };
    let only = |v: &Value, keys: &[&str]| v.as_object().is_none_or(|m| m.keys().all(|k| keys.contains(&k.as_str())));
    if !only(&request, &["query", "pagination"]) || !only(&request["pagination"], &["per_page", "starting_after"]) {
        return Err(bad_request("a search body holds query and pagination (per_page, starting_after) only"));
    }
    Ok(request)
}

/// Does the item match the filter? `field` gives a field's values (and whether they compare
/// case-insensitively), or `None` for a field the endpoint cannot search.
fn matches(filter: &Value, field: &dyn Fn(&str) -> Field) -> Result<bool, String> {
    let operator = filter["operator"].as_str().ok_or("every filter needs an operator")?;
    if matches!(operator, "AND" | "OR") {
        let filters = filter["value"].as_array().ok_or("AND and OR take an array of filters")?;
        let results = filters.iter().map(|f| matches(f, field)).collect::<Result<Vec<_>, _>>()?;
        return Ok(if operator == "AND" { results.iter().all(|r| *r) } else { results.iter().any(|r| *r) });
    }
    let name = filter["field"].as_str().ok_or("a filter needs a field")?;
    let (values, folded) = field(name).ok_or_else(|| format!("{name} is not a searchable field"))?;
    let fold = |s: &str| if folded { s.to_lowercase() } else { s.to_string() };
    let wanted: Vec<String> = match &filter["value"] {
        Value::String(s) => vec![fold(s)],
        Value::Array(items) if matches!(operator, "IN" | "NIN") => {
            items.iter().map(|i| i.as_str().map(fold).ok_or("IN and NIN take strings")).collect::<Result<_, _>>()?
        }
        _ => return Err(format!("the value for {name} must be a string")),
    };
    let any = |test: &dyn Fn(&str, &str) -> bool| values.iter().any(|v| wanted.iter().any(|w| test(v, w)));
    Ok(match operator {
        "=" | "IN" => any(&|v, w| v == w),
        "!=" | "NIN" => !any(&|v, w| v == w),
        "~" => any(&|v, w| v.contains(w)),
        "!~" => !any(&|v, w| v.contains(w)),
        "^" => any(&|v, w| v.starts_with(w)),
        "$" => any(&|v, w| v.ends_with(w)),
        other => return Err(format!("operator {other} is not supported on {name}")),
    })
}

/// Every string a filter searches for: what the call carried, for the call record.
fn filter_values(filter: &Value) -> Vec<String> {
    match filter {
        Value::Object(map) if map.contains_key("field") => match map.get("value") {
            Some(Value::String(s)) => vec![s.clone()],
            Some(Value::Array(items)) => items.iter().filter_map(|i| i.as_str().map(str::to_string)).collect(),
            _ => Vec::new(),
        },
        Value::Object(map) => {
            map.get("value").and_then(Value::as_array).into_iter().flatten().flat_map(filter_values).collect()
        }
        _ => Vec::new(),
    }
}

/// One page of `items` (sorted by their cursor key) after `pagination.starting_after`: the items,
/// the total count and the `pages` object. The cursor is the last key returned, hex-encoded, so a
/// deletion between two pages never makes the next page skip anyone.
fn paginate(
    items: Vec<(String, Value)>,
    pagination: &Value,
    default_per_page: usize,
    cap: usize,
) -> Result<(Vec<Value>, usize, Value), Answer> {
    let per_page = match &pagination["per_page"] {
        Value::Null => default_per_page,
        n => n.as_u64().filter(|n| (1..=150).contains(n)).ok_or_else(|| bad_request("per_page must be 1 to 150"))?
            as usize,
    }
    .min(cap.max(1));
    let after = match pagination["starting_after"].as_str() {
        None => None,
        Some(cursor) => Some(
            hex::decode(cursor)
                .ok()
                .and_then(|k| String::from_utf8(k).ok())
                .ok_or_else(|| bad_request("starting_after is not a cursor from this search"))?,
        ),
    };
    let total = items.len();
    let skipped = after.as_ref().map_or(0, |after| items.iter().filter(|(k, _)| k <= after).count());
    let rest: Vec<(String, Value)> = items.into_iter().skip(skipped).collect();
    let more = rest.len() > per_page;
    let page: Vec<(String, Value)> = rest.into_iter().take(per_page).collect();
    let mut pages = json!({
        "type": "pages",
        "page": skipped / per_page + 1,
        "per_page": per_page,
        "total_pages": total.div_ceil(per_page),
    });
    if let (true, Some((last, _))) = (more, page.last()) {
        pages["next"] = json!({ "per_page": per_page, "starting_after": hex::encode(last) });
    }
    Ok((page.into_iter().map(|(_, v)| v).collect(), total, pages))
}

fn now_secs() -> u64 {
    now_ms() / 1000
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Seed {
    #[serde(default)]
    page_size: Option<usize>,
    #[serde(default)]
    rate_limit_per_10s: Option<u32>,
    #[serde(default)]
    contacts: Vec<SeedContact>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SeedContact {
    #[serde(default = "user")]
    role: String,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    external_id: Option<String>,
    #[serde(default)]
    phone: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    conversations: usize,
    #[serde(default)]
    replies: usize,
}

fn user() -> String {
    "user".into()
}

/// Seed from the `"intercom"` section of a seed file (shape in the module doc).
pub(crate) fn seed_json(state: &State, seed: &Value) -> Result<(), String> {
    let seed: Seed = serde_json::from_value(seed.clone()).map_err(|e| format!("intercom: {e}"))?;
    let mut data = state.intercom.lock().expect("intercom lock");
    if seed.page_size.is_some() {
        data.page_size = seed.page_size;
    }
    if let Some(limit) = seed.rate_limit_per_10s {
        data.rate_limit = Some(Window { limit, start: 0, used: 0 });
    }
    for c in seed.contacts {
        if !matches!(c.role.as_str(), "user" | "lead") {
            return Err("intercom: a contact's role is user or lead".into());
        }
        let id = data.add_contact(&c.role, c.email.as_deref(), c.external_id.as_deref());
        let contact = data.contacts.get_mut(&id).expect("just added");
        contact.phone = c.phone;
        contact.name = c.name;
        for _ in 0..c.conversations {
            data.add_conversation(&[&id], c.replies);
        }
    }
    Ok(())
}

/// Test helpers: what the simulated Intercom holds, seen and changed directly.
impl crate::Sim {
    /// The access token the simulated workspace accepts.
    pub fn intercom_token(&self) -> &'static str {
        TOKEN
    }

    /// Add a contact (`role` is `user` or `lead`); returns its id.
    pub fn intercom_add_contact(&self, role: &str, email: Option<&str>, external_id: Option<&str>) -> String {
        self.state.intercom.lock().expect("intercom lock").add_contact(role, email, external_id)
    }

    /// Add a conversation started by the first contact, in which every contact wrote `replies`
    /// more messages and a teammate replied and closed it; returns its id.
    pub fn intercom_add_conversation(&self, contact_ids: &[&str], replies: usize) -> String {
        self.state.intercom.lock().expect("intercom lock").add_conversation(contact_ids, replies).to_string()
    }

    /// Messages the contact wrote that are not redacted (sources and parts, in any conversation).
    pub fn intercom_unredacted_parts(&self, contact_id: &str) -> u64 {
        self.state.intercom.lock().expect("intercom lock").unredacted_by(contact_id)
    }

    /// A conversation's source then parts, as (author type, redacted).
    pub fn intercom_parts(&self, conversation_id: &str) -> Vec<(String, bool)> {
        let data = self.state.intercom.lock().expect("intercom lock");
        let Some(conversation) = conversation_id.parse().ok().and_then(|id: u64| data.conversations.get(&id)) else {
            return Vec::new();
        };
        std::iter::once(&conversation.source)
            .chain(&conversation.parts)
            .map(|m| (m.author_type.clone(), m.redacted))
            .collect()
    }

    /// Whether the contact was deleted; `None` if it never existed.
    pub fn intercom_contact_deleted(&self, contact_id: &str) -> Option<bool> {
        self.state.intercom.lock().expect("intercom lock").contacts.get(contact_id).map(|c| c.deleted)
    }

    /// Contacts known by any of `identifiers` (e-mail, case-insensitive; external id; id) that
    /// still hold data: not deleted, or with messages they wrote left unredacted.
    pub fn intercom_remaining(&self, identifiers: &[&str]) -> u64 {
        let data = self.state.intercom.lock().expect("intercom lock");
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
    pub fn intercom_set_page_size(&self, size: usize) {
        self.state.intercom.lock().expect("intercom lock").page_size = Some(size.max(1));
    }

    pub fn intercom_page_size(&self) -> usize {
        self.state.intercom.lock().expect("intercom lock").page_size()
    }

    /// Allow `per_window` calls per 10-second window (`None`: no limit).
    pub fn intercom_set_rate_limit(&self, per_window: Option<u32>) {
        self.state.intercom.lock().expect("intercom lock").rate_limit =
            per_window.map(|limit| Window { limit, start: 0, used: 0 });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(values: &[&str]) -> impl Fn(&str) -> Field {
        let values: Vec<String> = values.iter().map(|v| v.to_lowercase()).collect();
        move |name| (name == "email").then(|| (values.clone(), true))
    }

    #[test]
    fn filters_match_exactly_unless_asked_otherwise() {
        let ana = field(&["Ana@Example.com"]);
        let test = |filter: Value| matches(&filter, &ana);
        assert_eq!(test(json!({ "field": "email", "operator": "=", "value": "ana@example.COM" })), Ok(true));
        assert_eq!(test(json!({ "field": "email", "operator": "=", "value": "*@example.com" })), Ok(false));
        assert_eq!(test(json!({ "field": "email", "operator": "~", "value": "example" })), Ok(true));
        assert_eq!(
            test(json!({ "field": "email", "operator": "IN", "value": ["x@y.io", "ana@example.com"] })),
            Ok(true)
        );
        let either = json!({ "operator": "OR", "value": [
            { "field": "email", "operator": "=", "value": "x@y.io" },
            { "field": "email", "operator": "$", "value": ".com" } ] });
        assert_eq!(test(either), Ok(true));
        assert!(test(json!({ "field": "password", "operator": "=", "value": "x" })).is_err());
        assert!(test(json!({ "field": "email", "operator": "==", "value": "x" })).is_err());
        assert!(test(json!({ "field": "email", "operator": "=", "value": 5 })).is_err());
    }

    #[test]
    fn a_cursor_skips_no_one_when_an_item_is_deleted_between_pages() {
        let items = |keys: &[&str]| keys.iter().map(|k| (k.to_string(), json!(k))).collect::<Vec<_>>();
        let (first, total, pages) =
            paginate(items(&["a", "b", "c", "d", "e"]), &json!({ "per_page": 2 }), 50, 3).unwrap();
        assert_eq!((first, total), (vec![json!("a"), json!("b")], 5));
        let cursor = pages["next"]["starting_after"].clone();
        let (second, _, pages) =
            paginate(items(&["c", "d", "e"]), &json!({ "per_page": 2, "starting_after": cursor }), 50, 3).unwrap();
        assert_eq!(second, vec![json!("c"), json!("d")]);
        assert!(pages["next"].is_object());
        let (capped, _, _) = paginate(items(&["a", "b", "c", "d", "e"]), &Value::Null, 50, 3).unwrap();
        assert_eq!(capped.len(), 3, "the page size caps what the caller asks for");
        assert!(paginate(items(&["a"]), &json!({ "starting_after": "not hex" }), 50, 3).is_err());
    }

    #[test]
    fn a_window_admits_its_limit_then_answers_with_its_reset() {
        let mut data = Data { rate_limit: Some(Window { limit: 2, start: 0, used: 0 }), ..Data::default() };
        assert!(data.take_slot(1_000_003).is_ok());
        assert!(data.take_slot(1_000_004).is_ok());
        let refused = data.take_slot(1_000_009).unwrap_err();
        assert!(refused.contains(&("x-ratelimit-reset", "1000010".to_string())), "{refused:?}");
        assert!(data.take_slot(1_000_010).is_ok(), "a new window");
    }

    #[test]
    fn the_seed_builds_contacts_and_their_conversations() {
        let state = State::new(crate::SimOptions::default());
        let seed = json!({ "page_size": 2, "rate_limit_per_10s": 100, "contacts": [
            { "email": "ana@example.com", "external_id": "u_1", "conversations": 2, "replies": 1 },
            { "role": "lead", "phone": "+33612345678" } ] });
        seed_json(&state, &seed).unwrap();
        let data = state.intercom.lock().unwrap();
        assert_eq!((data.contacts.len(), data.conversations.len(), data.page_size()), (2, 2, 2));
        let ana = data.contacts.values().next().unwrap();
        assert_eq!(data.unredacted_by(&ana.id), 4, "a source and a reply in each conversation");
        drop(data);
        assert!(seed_json(&state, &json!({ "contacts": [{ "role": "admin" }] })).is_err());
        assert!(seed_json(&state, &json!({ "users": [] })).is_err());
    }
}
