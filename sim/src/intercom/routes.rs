//! Intercom's paths: every call is recorded, delayed, faulted, counted against the rate-limit
//! window and checked for its token and version, then answered from the workspace.

use super::answer::{bad_request, error, not_found, part_not_found, rate_limited, respond, Answer};
use super::data::{now_secs, Data};
use super::query::{filter_values, paginate, search_body};
use super::{ADMIN_ID, SYSTEM, TOKEN, VERSION};
use crate::harness::{ErrorShape, Vendor};
use axum::body::Bytes;
use axum::extract::{Path, State as AxumState};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Value};
use std::sync::Arc;

/// Routes at the vendor's own paths (nested under `/intercom` by the simulator).
pub(crate) fn router(vendor: Arc<Vendor<Data>>) -> Router {
    Router::new()
        .route("/me", get(me))
        .route("/contacts/search", post(search_contacts))
        .route("/contacts/find_by_external_id/{external_id}", get(find_by_external_id))
        .route("/contacts/{id}", get(show_contact).delete(delete_contact))
        .route("/conversations/search", post(search_conversations))
        .route("/conversations/redact", post(redact))
        .route("/conversations/{id}", get(show_conversation))
        .route("/calls/search", post(search_calls))
        .with_state(vendor)
}

type Shared = AxumState<Arc<Vendor<Data>>>;

async fn me(AxumState(vendor): Shared, headers: HeaderMap) -> Response {
    serve(&vendor, &headers, "GET /me", Vec::new(), |_| {
        let app = json!({ "type": "app", "id_code": "simworkspace", "name": "Simulated workspace",
                          "created_at": 1_734_537_243, "secure": false, "identity_verification": false,
                          "timezone": "Europe/Paris", "region": "EU" });
        let admin = json!({ "type": "admin", "id": ADMIN_ID, "email": "admin@sim.example", "name": "Sim Admin",
                            "email_verified": true, "app": app, "has_inbox_seat": true });
        Answer::json(admin)
    })
    .await
}

async fn search_contacts(AxumState(vendor): Shared, headers: HeaderMap, body: Bytes) -> Response {
    let request = serde_json::from_slice::<Value>(&body).ok();
    let identifiers = request.as_ref().map(|r| filter_values(&r["query"])).unwrap_or_default();
    serve(&vendor, &headers, "POST /contacts/search", identifiers, move |data| {
        let request = match search_body(request) {
            Ok(request) => request,
            Err(answer) => return answer,
        };
        let found = match data.contacts_matching(&request["query"]) {
            Ok(contacts) => contacts.iter().map(|c| (c.id.clone(), c.json())).collect(),
            Err(message) => return bad_request(&message),
        };
        match paginate(found, &request["pagination"], 50, data.page_size()) {
            Ok((data, total_count, pages)) => {
                Answer::json(json!({ "type": "list", "data": data, "total_count": total_count, "pages": pages }))
            }
            Err(answer) => answer,
        }
    })
    .await
}

async fn show_contact(AxumState(vendor): Shared, Path(id): Path<String>, headers: HeaderMap) -> Response {
    serve(&vendor, &headers, "GET /contacts/{id}", vec![id.clone()], move |data| match data.live(&id) {
        Some(contact) => Answer::json(contact.json()),
        None => not_found(),
    })
    .await
}

async fn find_by_external_id(
    AxumState(vendor): Shared,
    Path(external_id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let action = "GET /contacts/find_by_external_id/{external_id}";
    serve(&vendor, &headers, action, vec![external_id.clone()], move |data| {
        // Intercom's documented limit: this finds users, not leads.
        let user = data
            .contacts_with_external_id(&external_id)
            .filter_map(|id| data.contacts.get(id))
            .find(|c| !c.deleted && c.role == "user" && c.external_id.as_deref() == Some(external_id.as_str()));
        match user {
            Some(contact) => Answer::json(contact.json()),
            None => not_found(),
        }
    })
    .await
}

async fn delete_contact(AxumState(vendor): Shared, Path(id): Path<String>, headers: HeaderMap) -> Response {
    serve(&vendor, &headers, "DELETE /contacts/{id}", vec![id.clone()], move |data| {
        match data.contacts.get_mut(&id).filter(|c| !c.deleted) {
            Some(contact) => {
                contact.deleted = true;
                Answer::json(
                    json!({ "type": "contact", "id": contact.id, "external_id": contact.external_id, "deleted": true }),
                )
            }
            None => not_found(),
        }
    })
    .await
}

async fn search_conversations(AxumState(vendor): Shared, headers: HeaderMap, body: Bytes) -> Response {
    let request = serde_json::from_slice::<Value>(&body).ok();
    let identifiers = request.as_ref().map(|r| filter_values(&r["query"])).unwrap_or_default();
    serve(&vendor, &headers, "POST /conversations/search", identifiers, move |data| {
        let request = match search_body(request) {
            Ok(request) => request,
            Err(answer) => return answer,
        };
        let found = match data.conversations_matching(&request["query"]) {
            Ok(found) => found.iter().map(|c| (format!("{:020}", c.id), c.list_item(data))).collect(),
            Err(message) => return bad_request(&message),
        };
        match paginate(found, &request["pagination"], 20, data.page_size()) {
            Ok((conversations, total_count, pages)) => {
                Answer::json(json!({ "type": "conversation.list", "conversations": conversations,
                        "total_count": total_count, "pages": pages }))
            }
            Err(answer) => answer,
        }
    })
    .await
}

async fn show_conversation(AxumState(vendor): Shared, Path(id): Path<String>, headers: HeaderMap) -> Response {
    serve(&vendor, &headers, "GET /conversations/{id}", Vec::new(), move |data| {
        match id.parse::<u64>().ok().and_then(|id| data.conversations.get(&id)) {
            Some(conversation) => Answer::json(conversation.full(data)),
            None => not_found(),
        }
    })
    .await
}

/// `{"type": "conversation_part", "conversation_id", "conversation_part_id"}` or
/// `{"type": "source", "conversation_id", "source_id"}`; ids as strings (or numbers, as Intercom's
/// own examples send them).
async fn redact(AxumState(vendor): Shared, headers: HeaderMap, body: Bytes) -> Response {
    let request = serde_json::from_slice::<Value>(&body).unwrap_or_default();
    serve(&vendor, &headers, "POST /conversations/redact", Vec::new(), move |data| {
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
        Answer::json(data.conversations[&key].full(data))
    })
    .await
}

/// `POST /calls/search` with `{"conversation_ids": [...]}`: the Intercom Phone calls of those
/// conversations, with their transcripts. "A maximum of 20 `conversation_ids` can be provided. If
/// none are provided or more than 20 are provided, a 400 error is returned"
/// (<https://developers.intercom.com/docs/references/2.14/rest-api/api.intercom.io/calls/listcallswithtranscripts>,
/// error `conversation_id_limit_exceeded`). Intercom 2.14 has no call that deletes a recording
/// or a transcript: `GET /calls/{id}/recording` and `.../transcript` only.
async fn search_calls(AxumState(vendor): Shared, headers: HeaderMap, body: Bytes) -> Response {
    let request = serde_json::from_slice::<Value>(&body).unwrap_or_default();
    serve(&vendor, &headers, "POST /calls/search", Vec::new(), move |data| {
        let ids: Vec<String> = match request["conversation_ids"].as_array() {
            Some(ids) if (1..=20).contains(&ids.len()) => {
                ids.iter().filter_map(|id| id.as_str().map(str::to_string)).collect()
            }
            _ => {
                return error(400, "conversation_id_limit_exceeded", "A list of up to 20 conversation IDs is required")
            }
        };
        let calls: Vec<Value> = data
            .calls_of(&ids)
            .into_iter()
            .filter_map(|id| data.calls.get(&id).map(|call| (id, call)))
            .filter(|(_, call)| ids.contains(&call.conversation_id.to_string()))
            .map(|(id, call)| call.json(id))
            .collect();
        Answer::json(json!({ "type": "list", "data": calls }))
    })
    .await
}

/// Everything a call goes through: record it, latency, injected faults, the rate-limit window,
/// the token and version headers, then the work itself.
async fn serve(
    vendor: &Vendor<Data>,
    headers: &HeaderMap,
    action: &str,
    identifiers: Vec<String>,
    work: impl FnOnce(&mut Data) -> Answer,
) -> Response {
    let call = match vendor.harness.open::<Data>(action.to_string(), identifiers).await {
        Ok(call) => call,
        Err(refused) => return refused,
    };
    let (answer, extra) = {
        let mut data = vendor.data();
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
    call.answer(respond(answer, extra)).await
}

impl ErrorShape for Data {
    const SYSTEM: &'static str = SYSTEM;

    fn injected_status(status: u16, retry_after: Option<u64>) -> Response {
        let extra = retry_after.map(|s| ("retry-after", s.to_string())).into_iter().collect();
        respond(error(status, "server_error", "Injected fault"), extra)
    }

    fn injected_throttle(retry_after: Option<u64>) -> Response {
        let extra = match retry_after {
            Some(secs) => vec![
                ("x-ratelimit-limit", "1000".to_string()),
                ("x-ratelimit-remaining", "0".to_string()),
                ("x-ratelimit-reset", (now_secs() + secs).to_string()),
            ],
            None => Vec::new(),
        };
        respond(rate_limited(1000), extra)
    }
}
