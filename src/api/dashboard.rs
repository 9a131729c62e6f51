//! The read-only web dashboard, served by the API: HTML rendered here, a little inline CSS, no
//! script. `/dashboard` (totals, deadlines, failing connectors, the request list and a search by
//! e-mail or phone), `/dashboard/requests/{id}` (one request, system by system), and the login
//! that turns a read-scope API token into a session cookie (`session.rs`). Subjects appear only
//! as their keyed hash; an identifier searched for is hashed at once and never shown or logged.

mod chart;
mod form;
mod html;
mod login;
mod overview;
mod request;
mod session;
mod trends;

pub use login::{login, login_form, logout};
pub use overview::{overview, search};
pub use request::request;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// What a dashboard page shows when it cannot show what was asked.
#[derive(Debug, thiserror::Error)]
pub enum PageError {
    #[error("There is no such request.")]
    NotFound,
    #[error("{0}")]
    BadFilter(&'static str),
    #[error("The database is unreachable; try again in a moment.")]
    Unavailable,
    #[error("Too many searches; wait a minute.")]
    TooMany,
}

impl From<crate::store::StoreError> for PageError {
    fn from(error: crate::store::StoreError) -> Self {
        tracing::warn!(%error, "A dashboard page failed on the database.");
        PageError::Unavailable
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let status = match self {
            PageError::NotFound => StatusCode::NOT_FOUND,
            PageError::BadFilter(_) => StatusCode::BAD_REQUEST,
            PageError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            PageError::TooMany => StatusCode::TOO_MANY_REQUESTS,
        };
        let body = format!(
            "<p class=\"error\">{}</p><p><a href=\"/dashboard\">Back to the dashboard</a></p>",
            html::escape(&self.to_string())
        );
        let mut response =
            html::respond(status, html::document(status.canonical_reason().unwrap_or("Error"), None, &body));
        if status == StatusCode::TOO_MANY_REQUESTS {
            response.headers_mut().insert(axum::http::header::RETRY_AFTER, axum::http::HeaderValue::from_static("60"));
        }
        response
    }
}
