//! What API callers get when something goes wrong: `application/problem+json` (RFC 9457) with
//! `type`, `title`, `status` and `detail`, plus `error` (a machine-readable reason) and `message`
//! (the same as `detail`). Database errors never reach callers, nor does a framework's rejection
//! text (which can quote the body): `problems` replaces every other error answer.

use crate::config::Scope;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 401: no token, or an unknown one.
    #[error("a valid bearer token is required")]
    Unauthenticated,
    /// 403: the token lacks the scope.
    #[error("this token lacks the `{0:?}` scope")]
    Forbidden(Scope),
    /// 403: the action is never allowed for this object; `reason` is machine-readable.
    #[error("{detail}")]
    NotAllowed { reason: &'static str, detail: String },
    /// 404.
    #[error("not found")]
    NotFound,
    /// 409: the action does not apply to the current state.
    #[error("{0}")]
    Conflict(String),
    /// 422: the body is not valid; `reason` is machine-readable.
    #[error("{detail}")]
    Invalid { reason: &'static str, detail: String },
    /// 503: the database is unreachable (details only in the logs).
    #[error("the service is unavailable; try again")]
    Unavailable,
    /// 503: a feature this call needs is not configured; `reason` is machine-readable.
    #[error("{detail}")]
    NotConfigured { reason: &'static str, detail: &'static str },
    /// 429: this caller asked too often; try again after `retry_after` seconds.
    #[error("too many requests; try again in {retry_after} seconds")]
    TooMany { retry_after: u64 },
}

/// A value of the call the database refuses (a NUL character, a date out of its range: SQLSTATE
/// class 22, 23 or 54) would be refused again: the caller's 422. Anything else: 503.
impl From<crate::store::StoreError> for ApiError {
    fn from(error: crate::store::StoreError) -> Self {
        if error.is_refused_value() {
            tracing::warn!(
                sqlstate = error.sqlstate().unwrap_or_default(),
                "The database refused a value of an API call."
            );
            return ApiError::Invalid {
                reason: "unstorable",
                detail: "a value of this call cannot be stored or compared (a NUL character, a date out of range)"
                    .into(),
            };
        }
        tracing::warn!(%error, "An API call failed on the database.");
        ApiError::Unavailable
    }
}

/// A refused submission: a request id reused for another request is a conflict, any other
/// refusal a 422 with intake's reason.
impl From<crate::intake::admit::Refusal> for ApiError {
    fn from(refusal: crate::intake::admit::Refusal) -> Self {
        use crate::intake::admit::Refusal;
        use crate::intake::message::Reason;
        match refusal {
            Refusal::Rejected(r) if r.reason == Reason::RequestIdConflict => ApiError::Conflict(r.detail),
            Refusal::Rejected(r) if r.reason == Reason::BadSignature => {
                ApiError::NotAllowed { reason: r.reason.as_str(), detail: r.detail }
            }
            Refusal::Rejected(r) => ApiError::Invalid { reason: r.reason.as_str(), detail: r.detail },
            Refusal::Unavailable(error) => error.into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, reason) = match &self {
            ApiError::Unauthenticated => (StatusCode::UNAUTHORIZED, "unauthenticated"),
            ApiError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            ApiError::NotAllowed { reason, .. } => (StatusCode::FORBIDDEN, *reason),
            ApiError::NotFound => (StatusCode::NOT_FOUND, "not_found"),
            ApiError::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            ApiError::Invalid { reason, .. } => (StatusCode::UNPROCESSABLE_ENTITY, *reason),
            ApiError::Unavailable => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            ApiError::NotConfigured { reason, .. } => (StatusCode::SERVICE_UNAVAILABLE, *reason),
            ApiError::TooMany { .. } => (StatusCode::TOO_MANY_REQUESTS, "rate_limited"),
        };
        let mut response = problem(status, reason, &self.to_string());
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let ApiError::TooMany { retry_after } = self {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
        }
        response
    }
}

pub const PROBLEM_JSON: &str = "application/problem+json";

/// An RFC 9457 problem: `type` is `about:blank`, so `title` is the status's phrase; `error` is
/// the machine-readable reason and `detail` (also `message`, which older clients read) a fixed
/// sentence that never repeats a value of the request.
pub fn problem(status: StatusCode, reason: &str, detail: &str) -> Response {
    let body = json!({
        "type": "about:blank",
        "title": status.canonical_reason().unwrap_or("Error"),
        "status": status.as_u16(),
        "detail": detail,
        "error": reason,
        "message": detail,
    });
    let mut response = (status, body.to_string()).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
    response
}

/// Middleware: any error answer that is not already a problem or a dashboard page (the
/// framework's rejections of a path, query or body, 404 for an unknown route, 405, 413, 415)
/// becomes a problem with a fixed detail; the framework's text, which can quote the body, is
/// dropped.
pub async fn problems(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let content_type = response.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    if content_type.starts_with(PROBLEM_JSON) || content_type.starts_with("text/html") {
        return response;
    }
    let (reason, detail) = match status {
        StatusCode::NOT_FOUND => ("not_found", "there is no such resource"),
        StatusCode::METHOD_NOT_ALLOWED => ("method_not_allowed", "this resource does not accept that method"),
        StatusCode::PAYLOAD_TOO_LARGE => ("body_too_large", "the request body is larger than this API accepts"),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ("unsupported_media_type", "send the body as application/json"),
        StatusCode::REQUEST_TIMEOUT => ("timeout", "the request took longer than this API allows"),
        StatusCode::BAD_REQUEST => ("bad_request", "the request's path, query or body cannot be read"),
        StatusCode::UNPROCESSABLE_ENTITY => ("invalid_body", "the body does not have the expected fields and types"),
        _ if status.is_server_error() => ("unavailable", "the service could not answer; try again"),
        _ => ("bad_request", "the request cannot be handled"),
    };
    let mut answer = problem(status, reason, detail);
    if let Some(allow) = response.headers().get(header::ALLOW) {
        answer.headers_mut().insert(header::ALLOW, allow.clone());
    }
    answer
}
