//! Dashboard sessions, kept server-side (`store::sessions`): the cookie holds a random 32-byte id;
//! the database holds its SHA-256, the token's name and digest (never the token) and the expiry.
//! Any worker process accepts a session another one opened; a session ends when it expires (12
//! hours), when its user signs out (the row is deleted), or when its token is rotated or removed
//! from the config (the row is deleted when next presented).

use super::super::auth::{Scope, Tokens};
use super::super::ApiState;
use super::PageError;
use crate::store::Store;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

pub const LOGIN: &str = "/dashboard/login";
const COOKIE: &str = "erasure_session";
pub const LIFETIME: chrono::Duration = chrono::Duration::hours(12);

/// A signed-in dashboard user: the name of the token they signed in with.
#[derive(Debug, Clone)]
pub struct Session {
    pub name: String,
}

/// Open a session for the token `name` (whose digest is `digest`); returns the cookie value.
pub async fn open(store: &Store, name: &str, digest: &[u8; 32], now: DateTime<Utc>) -> Result<String, PageError> {
    let id: [u8; 32] = rand::random();
    let value = hex::encode(id);
    store.create_session(&id_hash(&value), name, digest, now + LIFETIME, now).await?;
    Ok(value)
}

/// The session a cookie value stands for, if it is stored, unexpired, and its token is still
/// configured with the read scope (else its row is deleted).
pub async fn verify(
    store: &Store,
    tokens: &Tokens,
    value: &str,
    now: DateTime<Utc>,
) -> Result<Option<Session>, PageError> {
    if value.len() != 64 || !value.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(None);
    }
    let hash = id_hash(value);
    let Some(stored) = store.session(&hash, now).await? else { return Ok(None) };
    let digest: Option<[u8; 32]> = stored.token_sha256.as_slice().try_into().ok();
    if !digest.is_some_and(|d| tokens.holds(&stored.token_name, &d, Scope::Read)) {
        store.delete_session(&hash).await?;
        tracing::info!(token = %stored.token_name, "A dashboard session of a rotated or removed token was ended.");
        return Ok(None);
    }
    Ok(Some(Session { name: stored.token_name }))
}

/// Sign out: the session's row is deleted (whatever the browser does with the cookie).
pub async fn close(store: &Store, headers: &HeaderMap) -> Result<(), PageError> {
    if let Some(value) = cookie(headers) {
        store.delete_session(&id_hash(value)).await?;
    }
    Ok(())
}

fn id_hash(value: &str) -> Vec<u8> {
    Sha256::digest(value.as_bytes()).to_vec()
}

/// `Set-Cookie` for a new session. HttpOnly: no script reads it. SameSite=Strict: no other site
/// makes the browser send it. Path=/dashboard: the API, with its bearer tokens, never sees it.
/// Secure when the dashboard is reached over https (`api.public_url`).
pub fn set_cookie(value: &str, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    let cookie = format!(
        "{COOKIE}={value}; Max-Age={}; Path=/dashboard; HttpOnly; SameSite=Strict{secure}",
        LIFETIME.num_seconds()
    );
    HeaderValue::from_str(&cookie).expect("a cookie of hex digits is a valid header")
}

pub fn clear_cookie(secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    let cookie = format!("{COOKIE}=; Max-Age=0; Path=/dashboard; HttpOnly; SameSite=Strict{secure}");
    HeaderValue::from_str(&cookie).expect("a valid header")
}

/// Whether cookies get `Secure`: the operators reach the API over https.
pub fn secure(state: &ApiState) -> bool {
    state.app.settings.api.public_url.as_deref().is_some_and(|u| u.starts_with("https://"))
}

fn cookie(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| pair.trim().strip_prefix(COOKIE)?.strip_prefix('='))
}

/// Pages that need a session send everyone else to the login page.
impl FromRequestParts<ApiState> for Session {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &ApiState) -> Result<Self, Self::Rejection> {
        let Some(value) = cookie(&parts.headers) else { return Err(Redirect::to(LOGIN).into_response()) };
        match verify(&state.app.store, &state.tokens, value, state.app.clock.now()).await {
            Ok(Some(session)) => Ok(session),
            Ok(None) => Err(Redirect::to(LOGIN).into_response()),
            Err(error) => Err(error.into_response()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cookie_is_found_among_others_and_secure_when_asked() {
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, HeaderValue::from_static("a=1; erasure_session=abc.def; b=2"));
        assert_eq!(cookie(&headers), Some("abc.def"));
        headers.insert(header::COOKIE, HeaderValue::from_static("erasure_sessionx=1"));
        assert_eq!(cookie(&headers), None);
        assert!(set_cookie("ab", true).to_str().unwrap().ends_with("; Secure"));
        assert!(!set_cookie("ab", false).to_str().unwrap().contains("Secure"));
    }
}
