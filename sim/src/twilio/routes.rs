//! Twilio's paths: every call is recorded, delayed, faulted, authenticated and rate-limited,
//! then dispatched to its endpoint under the account.

use super::answer::Answer;
use super::data::Data;
use super::{ACCOUNT_SID, API_KEY_SECRET, API_KEY_SID, AUTH_TOKEN, SYSTEM};
use crate::harness::{ErrorShape, Vendor};
use crate::text::basic_auth;
use axum::body::Bytes;
use axum::extract::{Path, Query, State as AxumState};
use axum::http::{header, HeaderMap, Method};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::Router;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

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
