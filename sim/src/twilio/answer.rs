//! Twilio's answers (the shared `Answer` in Twilio's dialect) and its error shape.

use crate::answer::Dialect;
use serde_json::json;

/// Bodies are `application/json`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct TwilioDialect;

impl Dialect for TwilioDialect {}

pub(super) type Answer = crate::answer::Answer<TwilioDialect>;

impl Answer {
    /// Twilio's error body. Messages name no identifier, as Twilio's generic ones do not.
    pub(super) fn error(status: u16, code: u32, message: &str) -> Answer {
        let body = json!({
            "code": code,
            "message": message,
            "more_info": format!("https://www.twilio.com/docs/errors/{code}"),
            "status": status,
        });
        Answer::new(status, Some(body))
    }

    pub(super) fn not_found() -> Answer {
        Answer::error(404, 20404, "The requested resource was not found")
    }

    pub(super) fn throttled(retry_after: Option<u64>) -> Answer {
        Answer::error(429, 20429, "Too Many Requests").with_retry_after(retry_after)
    }

    /// A refused credential (error 20003) comes with the HTTP Basic challenge.
    pub(super) fn for_status(status: u16, retry_after: Option<u64>) -> Answer {
        let answer = match status {
            401 => {
                Answer::error(401, 20003, "Authenticate").with_header("www-authenticate", "Basic realm=\"Twilio API\"")
            }
            404 => Answer::not_found(),
            429 => Answer::throttled(None),
            500 => Answer::error(500, 20500, "Internal Server Error"),
            503 => Answer::error(503, 20503, "Service Unavailable"),
            other => Answer::error(other, u32::from(other), "Injected fault"),
        };
        answer.with_retry_after(retry_after)
    }
}
