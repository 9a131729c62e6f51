//! Mailchimp's paths: every call holds one of the account's simultaneous connections while it
//! runs, is recorded, delayed and faulted, authenticated, then answered from the account.

use super::answer::Answer;
use super::data::Data;
use super::{API_KEY, MAX_CONNECTIONS, OAUTH_TOKEN, SYSTEM};
use crate::harness::{ErrorShape, Vendor};
use axum::body::Bytes;
use axum::extract::rejection::NestedPathRejection;
use axum::extract::{NestedPath, Query, State as AxumState};
use axum::http::{header, HeaderMap, Method, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::Router;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// Routes at the vendor's own paths (nested under `/mailchimp` by the simulator).
pub(crate) fn router(vendor: Arc<Vendor<Data>>) -> Router {
    Router::new().route("/{*rest}", any(api)).with_state(vendor)
}

async fn api(
    AxumState(vendor): AxumState<Arc<Vendor<Data>>>,
    method: Method,
    uri: Uri,
    nested: Result<NestedPath, NestedPathRejection>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_string();
    let connections = vendor.data().connections.clone();
    let connection = Connection::open(connections, MAX_CONNECTIONS);
    let call = match vendor.harness.open::<Data>(format!("{method} {path}"), identifiers(&path, &query)).await {
        Ok(call) => call,
        Err(refused) => return refused,
    };
    if connection.is_none() {
        return call.refuse(Answer::too_many_requests(None).into_response());
    }
    let answer = match authorised(&headers) {
        Err(missing) => Answer::unauthorized(missing),
        Ok(()) => {
            let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("localhost");
            let prefix = nested.map(|n| n.as_str().trim_end_matches('/').to_string()).unwrap_or_default();
            let body = if body.is_empty() { None } else { serde_json::from_slice(&body).ok() };
            vendor.data().serve(&method, &path, &query, body, &format!("http://{host}{prefix}"))
        }
    };
    call.answer(answer.into_response()).await
}

/// The subscriber hash or address in a member's path, or a search's query.
fn identifiers(path: &str, query: &HashMap<String, String>) -> Vec<String> {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let member = segments.iter().position(|s| *s == "members").and_then(|i| segments.get(i + 1));
    member.map(|m| m.to_string()).into_iter().chain(query.get("query").cloned()).collect()
}

/// "To make an authenticated request to the API using your API key, you'll use HTTP Basic
/// authentication ... you can use any string as the user name. Your API key is used where you
/// would normally include your password"; with OAuth 2, the access token as a bearer token
/// (<https://mailchimp.com/developer/guides/marketing-api-conventions/>, "Authentication methods").
/// `Err(true)`: no credentials at all (401 API Key Missing); `Err(false)`: wrong ones.
fn authorised(headers: &HeaderMap) -> Result<(), bool> {
    let Some(given) = headers.get(header::AUTHORIZATION).and_then(|h| h.to_str().ok()) else {
        return Err(true);
    };
    let ok = if let Some(encoded) = given.strip_prefix("Basic ") {
        let decoded = STANDARD.decode(encoded.trim()).ok().and_then(|d| String::from_utf8(d).ok());
        decoded.as_deref().and_then(|d| d.split_once(':')).is_some_and(|(_, password)| password == API_KEY)
    } else if let Some(token) = given.strip_prefix("Bearer ") {
        token.trim() == OAUTH_TOKEN
    } else {
        false
    };
    if ok {
        Ok(())
    } else {
        Err(false)
    }
}

/// One of the account's simultaneous connections, held while a request runs; `None` past the
/// limit.
pub(super) struct Connection(Arc<AtomicUsize>);

impl Connection {
    pub(super) fn open(open: Arc<AtomicUsize>, limit: usize) -> Option<Connection> {
        let previous = open.fetch_add(1, Ordering::SeqCst);
        let connection = Connection(open);
        (previous < limit).then_some(connection)
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl ErrorShape for Data {
    const SYSTEM: &'static str = SYSTEM;

    fn injected_status(status: u16, retry_after: Option<u64>) -> Response {
        Answer::for_status(status, retry_after).into_response()
    }

    fn injected_throttle(retry_after: Option<u64>) -> Response {
        Answer::too_many_requests(retry_after).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn with_auth(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, HeaderValue::from_str(value).unwrap());
        headers
    }

    /// Basic with any user name and the API key as password, or the OAuth token as a bearer
    /// token (<https://mailchimp.com/developer/guides/marketing-api-conventions/>); nothing else.
    #[test]
    fn basic_with_any_user_and_the_key_or_the_oauth_bearer_token_authenticate() {
        let basic = |user_password: &str| format!("Basic {}", STANDARD.encode(user_password));
        assert_eq!(authorised(&with_auth(&basic(&format!("anystring:{API_KEY}")))), Ok(()));
        assert_eq!(authorised(&with_auth(&basic(&format!("me:{API_KEY}")))), Ok(()));
        assert_eq!(authorised(&with_auth(&format!("Bearer {OAUTH_TOKEN}"))), Ok(()));
        assert_eq!(authorised(&with_auth(&basic("anystring:wrong-us21"))), Err(false));
        assert_eq!(authorised(&with_auth(&basic(API_KEY))), Err(false), "the key must be the password");
        assert_eq!(authorised(&with_auth(&format!("Bearer {API_KEY}"))), Err(false), "the key is no OAuth token");
        assert_eq!(authorised(&HeaderMap::new()), Err(true));
    }

    /// At most 10 requests at once per account
    /// (<https://mailchimp.com/developer/marketing/guides/run-async-requests-batch-endpoint/>);
    /// a connection closed frees its place.
    #[test]
    fn an_eleventh_simultaneous_connection_is_refused_until_one_closes() {
        let open = Arc::new(AtomicUsize::new(0));
        let held: Vec<Connection> = (0..10).map(|_| Connection::open(open.clone(), 10).unwrap()).collect();
        assert!(Connection::open(open.clone(), 10).is_none(), "the 11th");
        drop(held);
        assert!(Connection::open(open.clone(), 10).is_some(), "free again");
        assert_eq!(open.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn a_throttle_says_what_was_exceeded_and_carries_a_hint_only_when_injected_with_one() {
        let answer = Answer::too_many_requests(None);
        assert_eq!((answer.status, answer.header("retry-after")), (429, None));
        assert_eq!(answer.body.unwrap()["title"], "Too Many Requests");
        assert_eq!(Answer::too_many_requests(Some(42)).header("retry-after"), Some("42"));
    }
}
