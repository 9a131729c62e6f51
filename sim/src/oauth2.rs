//! An RFC 6749 authorization server, at `/oauth2/token`: the client credentials grant only
//! (RFC 6749 §4.4, <https://www.rfc-editor.org/rfc/rfc6749#section-4.4>). No simulated vendor
//! accepts its tokens; tests check them with [`AuthorizationServer::accepts`] (the `http`
//! connector's OAuth2 tests put a small resource server of their own behind it).
//!
//! - The client authenticates with HTTP basic (§2.3.1, client id and secret form-encoded then
//!   base64), or with `client_id` and `client_secret` in the body (§2.3.1 allows it); a missing or
//!   wrong client gets 401 `{"error": "invalid_client"}` with `WWW-Authenticate: Basic` (§5.2).
//! - The body is `application/x-www-form-urlencoded` (§4.4.2); without `grant_type`: 400
//!   `invalid_request`; another grant type: 400 `unsupported_grant_type` (§5.2).
//! - A success is 200 `{"access_token", "token_type": "Bearer", "expires_in"}` with
//!   `Cache-Control: no-store` and `Pragma: no-cache` (§5.1); `scope` is echoed when asked for.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use base64::Engine;
use serde_json::json;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The one registered client.
pub const CLIENT_ID: &str = "sim-client";
pub const CLIENT_SECRET: &str = "sim-client-secret";

#[derive(Default)]
pub(crate) struct Data {
    issued: Vec<(String, Instant)>,
    /// Lifetime of new tokens (3600 s unless set).
    expires_in: Option<u64>,
    requests: u64,
}

/// The authorization server's handle, for tests.
#[derive(Clone, Default)]
pub struct AuthorizationServer(pub(crate) Arc<Mutex<Data>>);

impl AuthorizationServer {
    /// Whether `token` was issued here and has not expired or been revoked.
    pub fn accepts(&self, token: &str) -> bool {
        let now = Instant::now();
        self.0.lock().unwrap().issued.iter().any(|(t, until)| t == token && now < *until)
    }

    /// The lifetime of the tokens issued from now on.
    pub fn set_expires_in(&self, secs: u64) {
        self.0.lock().unwrap().expires_in = Some(secs);
    }

    /// Every token issued so far stops working (as a server-side revocation would).
    pub fn revoke_all(&self) {
        self.0.lock().unwrap().issued.clear();
    }

    /// How many token requests arrived (granted or not).
    pub fn token_requests(&self) -> u64 {
        self.0.lock().unwrap().requests
    }
}

pub(crate) fn router(server: AuthorizationServer) -> Router {
    Router::new().route("/oauth2/token", post(token)).with_state(server)
}

async fn token(State(server): State<AuthorizationServer>, headers: HeaderMap, body: Bytes) -> Response {
    server.0.lock().unwrap().requests += 1;
    let form: Vec<(String, String)> =
        url::form_urlencoded::parse(&body).map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
    let field = |name: &str| form.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    let form_encoded = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !form_encoded {
        return refuse(StatusCode::BAD_REQUEST, "invalid_request");
    }
    let client = basic_client(&headers).or_else(|| Some((field("client_id")?, field("client_secret")?)));
    if client.as_ref().map(|(id, secret)| (id.as_str(), secret.as_str())) != Some((CLIENT_ID, CLIENT_SECRET)) {
        let mut response = refuse(StatusCode::UNAUTHORIZED, "invalid_client");
        response.headers_mut().insert(header::WWW_AUTHENTICATE, "Basic realm=\"sim\"".parse().unwrap());
        return response;
    }
    match field("grant_type").as_deref() {
        None => return refuse(StatusCode::BAD_REQUEST, "invalid_request"),
        Some("client_credentials") => {}
        Some(_) => return refuse(StatusCode::BAD_REQUEST, "unsupported_grant_type"),
    }
    let mut data = server.0.lock().unwrap();
    let expires_in = data.expires_in.unwrap_or(3600);
    let access_token = format!("sim-at-{}", uuid::Uuid::new_v4().simple());
    data.issued.push((access_token.clone(), Instant::now() + Duration::from_secs(expires_in)));
    let mut answer = json!({ "access_token": access_token, "token_type": "Bearer", "expires_in": expires_in });
    if let Some(scope) = field("scope") {
        answer["scope"] = json!(scope);
    }
    let mut response = Json(answer).into_response();
    no_store(&mut response);
    response
}

/// RFC 6749 §2.3.1: `Basic base64(urlencode(id) ":" urlencode(secret))`.
fn basic_client(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?.strip_prefix("Basic ")?;
    let decoded = String::from_utf8(base64::engine::general_purpose::STANDARD.decode(value.trim()).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    let decode = |s: &str| url::form_urlencoded::parse(format!("x={s}").as_bytes()).next().map(|(_, v)| v.into_owned());
    Some((decode(id)?, decode(secret)?))
}

/// RFC 6749 §5.2: `{"error": CODE}`, no-store.
fn refuse(status: StatusCode, code: &str) -> Response {
    let mut response = (status, Json(json!({ "error": code }))).into_response();
    no_store(&mut response);
    response
}

fn no_store(response: &mut Response) {
    response.headers_mut().insert(header::CACHE_CONTROL, "no-store".parse().unwrap());
    response.headers_mut().insert(header::PRAGMA, "no-cache".parse().unwrap());
}
