//! Twilio's paths: every call is recorded, delayed, faulted, authenticated and rate-limited,
//! then dispatched to its endpoint under the account.

use super::data::Data;
use super::{ACCOUNT_SID, API_KEY_SECRET, API_KEY_SID, AUTH_TOKEN, SYSTEM};
use crate::harness::{ErrorShape, Vendor};
use crate::text::basic_auth;
use axum::body::Bytes;
use axum::extract::{Path, Query, State as AxumState};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::{Json, Router};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

/// An answer before it becomes a response.
pub(super) struct Answer {
    pub(super) status: u16,
    pub(super) body: Option<Value>,
    pub(super) retry_after: Option<u64>,
}

impl Answer {
    pub(super) fn json(body: Value) -> Answer {
        Answer { status: 200, body: Some(body), retry_after: None }
    }

    pub(super) fn deleted() -> Answer {
        Answer { status: 204, body: None, retry_after: None }
    }

    /// Twilio's error body. Messages name no identifier, as Twilio's generic ones do not.
    pub(super) fn error(status: u16, code: u32, message: &str) -> Answer {
        let body = json!({
            "code": code,
            "message": message,
            "more_info": format!("https://www.twilio.com/docs/errors/{code}"),
            "status": status,
        });
        Answer { status, body: Some(body), retry_after: None }
    }

    pub(super) fn not_found() -> Answer {
        Answer::error(404, 20404, "The requested resource was not found")
    }

    fn throttled(retry_after: Option<u64>) -> Answer {
        Answer { retry_after, ..Answer::error(429, 20429, "Too Many Requests") }
    }

    fn for_status(status: u16, retry_after: Option<u64>) -> Answer {
        let answer = match status {
            401 => Answer::error(401, 20003, "Authenticate"),
            404 => Answer::not_found(),
            429 => Answer::throttled(None),
            500 => Answer::error(500, 20500, "Internal Server Error"),
            503 => Answer::error(503, 20503, "Service Unavailable"),
            other => Answer::error(other, u32::from(other), "Injected fault"),
        };
        Answer { retry_after, ..answer }
    }
}

impl IntoResponse for Answer {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = match self.body {
            Some(body) => (status, Json(body)).into_response(),
            None => status.into_response(),
        };
        let headers = response.headers_mut();
        if let Some(secs) = self.retry_after {
            headers.insert(header::RETRY_AFTER, secs.to_string().parse().expect("digits are a header value"));
        }
        if self.status == 401 {
            headers.insert(header::WWW_AUTHENTICATE, "Basic realm=\"Twilio API\"".parse().expect("a header value"));
        }
        response
    }
}

impl ErrorShape for Data {
    const SYSTEM: &'static str = SYSTEM;

    fn injected_status(status: u16, retry_after: Option<u64>) -> Response {
        Answer::for_status(status, retry_after).into_response()
    }

    fn injected_throttle(retry_after: Option<u64>) -> Response {
        Answer::throttled(retry_after).into_response()
    }
}

/// Routes at the vendor's own paths (nested under `/twilio` by the simulator).
pub(crate) fn router(vendor: Arc<Vendor<Data>>) -> Router {
    Router::new().route("/2010-04-01/Accounts/{*rest}", any(api)).with_state(vendor)
}

async fn api(
    AxumState(vendor): AxumState<Arc<Vendor<Data>>>,
    method: Method,
    Path(rest): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let identifiers = ["To", "From"].iter().filter_map(|k| query.get(*k).cloned()).collect();
    let action = format!("{method} /2010-04-01/Accounts/{rest}");
    let call = match vendor.harness.open::<Data>(action, identifiers).await {
        Ok(call) => call,
        Err(refused) => return refused,
    };
    let answer = {
        let mut data = vendor.data();
        if !authorised(&headers) {
            Answer::for_status(401, None)
        } else if data.rate_limit.as_mut().is_some_and(|window| window.take(Instant::now()).is_err()) {
            Answer::throttled(None)
        } else {
            let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("localhost");
            let origin = if data.absolute_page_uris { format!("http://{host}") } else { String::new() };
            let form: HashMap<String, String> = url::form_urlencoded::parse(&body).into_owned().collect();
            data.serve(&method, &rest, &query, &form, &origin)
        }
    };
    call.answer(answer.into_response()).await
}

fn authorised(headers: &HeaderMap) -> bool {
    let Some(given) = headers.get(header::AUTHORIZATION).and_then(|h| h.to_str().ok()) else {
        return false;
    };
    [(ACCOUNT_SID, AUTH_TOKEN), (API_KEY_SID, API_KEY_SECRET)]
        .iter()
        .any(|(user, password)| given == basic_auth(user, password))
}

impl Data {
    pub(super) fn serve(
        &mut self,
        method: &Method,
        rest: &str,
        query: &HashMap<String, String>,
        form: &HashMap<String, String>,
        origin: &str,
    ) -> Answer {
        let segments: Vec<&str> = rest.split('/').collect();
        let Some((account, tail)) = segments.split_first() else {
            return Answer::not_found();
        };
        if *account != ACCOUNT_SID {
            return Answer::not_found();
        }
        match (method.as_str(), tail) {
            ("GET", ["Calls.json"]) => self.list_calls(query, origin),
            ("DELETE", ["Calls", call]) => self.delete_call(call),
            ("GET", ["Recordings.json"]) => self.list_recordings(query, origin),
            ("DELETE", ["Recordings", recording]) => self.delete_recording(recording),
            ("GET", ["Recordings", recording, "Transcriptions.json"]) => {
                self.list_transcriptions(recording, query, origin)
            }
            ("DELETE", ["Recordings", recording, "Transcriptions", transcription]) => {
                self.delete_transcription(Some(recording), transcription)
            }
            ("DELETE", ["Transcriptions", transcription]) => self.delete_transcription(None, transcription),
            ("GET", ["Messages.json"]) => self.list_messages(query, origin),
            ("POST", ["Messages", message]) => self.update_message(message, form),
            ("DELETE", ["Messages", message]) => self.delete_message(message),
            ("GET", ["Messages", message, "Media.json"]) => self.list_media(message, query, origin),
            ("DELETE", ["Messages", message, "Media", media]) => self.delete_media(message, media),
            _ => Answer::not_found(),
        }
    }
}
