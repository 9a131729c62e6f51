//! HubSpot's answers (the shared `Answer` in HubSpot's dialect) and its error shape
//! (<https://developers.hubspot.com/docs/api/error-handling>: `status`, `message`,
//! `correlationId`, `category`; "the fields ... should all be treated as optional").

use crate::answer::Dialect;
use serde_json::json;

/// Every body is `application/json;charset=utf-8`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct HubspotDialect;

impl Dialect for HubspotDialect {
    fn content_type(_status: u16) -> &'static str {
        "application/json;charset=utf-8"
    }
}

pub(super) type Answer = crate::answer::Answer<HubspotDialect>;

impl Answer {
    /// HubSpot's error body. Messages name no e-mail address or id.
    pub(super) fn error(status: u16, category: &str, message: &str) -> Answer {
        let body = json!({
            "status": "error",
            "message": message,
            "correlationId": uuid::Uuid::new_v4().to_string(),
            "category": category,
        });
        Answer::new(status, Some(body))
    }

    pub(super) fn invalid(message: &str) -> Answer {
        Answer::error(400, "VALIDATION_ERROR", message)
    }

    pub(super) fn not_found() -> Answer {
        Answer::error(404, "OBJECT_NOT_FOUND", "resource not found")
    }

    /// "401 Unauthorized: returned when the authentication provided is invalid" (error handling).
    pub(super) fn unauthorized() -> Answer {
        Answer::error(401, "INVALID_AUTHENTICATION", "Authentication credentials not found or not valid.")
    }

    /// The 429 of the ten-second limit, in the format the usage guidelines give ("message and
    /// policyName will indicate which limit you hit",
    /// <https://developers.hubspot.com/docs/developer-tooling/platform/usage-guidelines>). HubSpot
    /// documents no `Retry-After` on a 429 (only on a 477 Migration in Progress); one is sent only
    /// for an injected throttle that has a hint.
    pub(super) fn rate_limited(retry_after: Option<u64>) -> Answer {
        let body = json!({
            "status": "error",
            "message": "You have reached your ten_secondly_rolling limit.",
            "errorType": "RATE_LIMIT",
            "correlationId": uuid::Uuid::new_v4().to_string(),
            "policyName": "TEN_SECONDLY_ROLLING",
        });
        Answer::new(429, Some(body)).with_retry_after(retry_after)
    }

    /// An injected fault's answer.
    pub(super) fn for_status(status: u16, retry_after: Option<u64>) -> Answer {
        let answer = match status {
            401 => Answer::unauthorized(),
            404 => Answer::not_found(),
            429 => Answer::rate_limited(None),
            _ => Answer::error(status, "INTERNAL_ERROR", "Injected fault"),
        };
        answer.with_retry_after(retry_after)
    }
}
