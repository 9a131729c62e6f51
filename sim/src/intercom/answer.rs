//! Intercom's answers: a status with a JSON body, its error list shape, extra headers.

use crate::harness::json_response;
use axum::response::Response;
use serde_json::{json, Value};

pub(super) type Answer = (u16, Value);
/// Extra response headers.
pub(super) type Headers = Vec<(&'static str, String)>;

pub(super) fn respond((status, body): Answer, extra: Headers) -> Response {
    json_response(status, body, extra)
}

pub(super) fn error(status: u16, code: &str, message: &str) -> Answer {
    let request_id = uuid::Uuid::new_v4().to_string();
    (
        status,
        json!({ "type": "error.list", "request_id": request_id, "errors": [{ "code": code, "message": message }] }),
    )
}

pub(super) fn bad_request(message: &str) -> Answer {
    error(400, "parameter_invalid", message)
}

pub(super) fn not_found() -> Answer {
    error(404, "not_found", "Resource Not Found")
}

pub(super) fn part_not_found() -> Answer {
    error(404, "conversation_part_or_message_not_found", "Conversation part or message not found")
}

pub(super) fn rate_limited(limit: u32) -> Answer {
    error(429, "rate_limit_exceeded", &format!("Exceeded rate limit of {limit} in 10_seconds"))
}
