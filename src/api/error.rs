//! What API callers get when something goes wrong. Database errors never reach them.

use crate::config::Scope;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
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
}

impl From<crate::store::StoreError> for ApiError {
    fn from(error: crate::store::StoreError) -> Self {
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
        };
        let mut response = (status, Json(json!({ "error": reason, "message": self.to_string() }))).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert("www-authenticate", "Bearer".parse().expect("a valid header"));
        }
        response
    }
}
