//! Intercom's answers (the shared `Answer` in Intercom's dialect), its error list shape, extra
//! headers.

use crate::answer::Dialect;
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// Bodies are `application/json`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct IntercomDialect;

impl Dialect for IntercomDialect {}

pub(super) type Answer = crate::answer::Answer<IntercomDialect>;
/// Extra response headers.
pub(super) type Headers = Vec<(&'static str, String)>;

pub(super) fn respond(answer: Answer, extra: Headers) -> Response {
    answer.with_headers(extra).into_response()
}

pub(super) fn error(status: u16, code: &str, message: &str) -> Answer {
    let request_id = uuid::Uuid::new_v4().to_string();
    let body =
        json!({ "type": "error.list", "request_id": request_id, "errors": [{ "code": code, "message": message }] });
    Answer::new(status, Some(body))
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
