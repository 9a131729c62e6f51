//! HubSpot's answers: a status with a JSON body (none for a 204), extra headers, and its error
//! shape (<https://developers.hubspot.com/docs/api/error-handling>: `status`, `message`,
//! `correlationId`, `category`; "the fields ... should all be treated as optional").

use axum::http::{header, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

#[derive(Debug, Clone, PartialEq)]
pub(super) struct Answer {
    pub(super) status: u16,
    pub(super) body: Option<Value>,
    pub(super) headers: Vec<(&'static str, String)>,
}

impl Answer {
    pub(super) fn json(body: Value) -> Answer {
        Answer { status: 200, body: Some(body), headers: Vec::new() }
    }

    pub(super) fn no_content() -> Answer {
        Answer { status: 204, body: None, headers: Vec::new() }
    }

    /// HubSpot's error body. Messages name no e-mail address or id.
    pub(super) fn error(status: u16, category: &str, message: &str) -> Answer {
        let body = json!({
            "status": "error",
            "message": message,
            "correlationId": uuid::Uuid::new_v4().to_string(),
            "category": category,
        });
        Answer { status, body: Some(body), headers: Vec::new() }
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
        let headers = retry_after.map(|s| ("retry-after", s.to_string())).into_iter().collect();
        Answer { status: 429, body: Some(body), headers }
    }

    /// An injected fault's answer.
    pub(super) fn for_status(status: u16, retry_after: Option<u64>) -> Answer {
        let mut answer = match status {
            401 => Answer::unauthorized(),
            404 => Answer::not_found(),
            429 => Answer::rate_limited(None),
            _ => Answer::error(status, "INTERNAL_ERROR", "Injected fault"),
        };
        answer.headers.extend(retry_after.map(|s| ("retry-after", s.to_string())));
        answer
    }

    pub(super) fn with_headers(mut self, headers: Vec<(&'static str, String)>) -> Answer {
        self.headers.extend(headers);
        self
    }
}

impl IntoResponse for Answer {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = match &self.body {
            Some(body) => {
                let mut response = (status, body.to_string()).into_response();
                response
                    .headers_mut()
                    .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json;charset=utf-8"));
                response
            }
            None => status.into_response(),
        };
        for (name, value) in self.headers {
            if let Ok(value) = HeaderValue::from_str(&value) {
                response.headers_mut().insert(HeaderName::from_static(name), value);
            }
        }
        response
    }
}
