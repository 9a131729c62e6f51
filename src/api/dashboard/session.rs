//! Dashboard sessions: a cookie `expiry.name.signature`, signed with the keyed hasher over the
//! token's name, the expiry and the token's digest. The cookie never holds the token; nothing is
//! kept in memory, so any worker process accepts a session another one issued; a session ends
//! when it expires (12 hours), or when its token is rotated or removed from the config.

use super::super::auth::{Scope, Tokens};
use super::super::ApiState;
use crate::identity::Hasher;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::Redirect;
use chrono::{DateTime, Utc};

pub const LOGIN: &str = "/dashboard/login";
const COOKIE: &str = "erasure_session";
pub const LIFETIME: chrono::Duration = chrono::Duration::hours(12);

/// A signed-in dashboard user: the name of the token they signed in with.
#[derive(Debug, Clone)]
pub struct Session {
    pub name: String,
}

/// The cookie value for a session of the token `name` (whose digest is `digest`) until `expires`.
pub fn issue(hasher: &Hasher, name: &str, digest: &[u8; 32], expires: DateTime<Utc>) -> String {
    let payload = format!("{}.{}", expires.timestamp(), hex::encode(name));
    let signature = sign(hasher, &payload, digest);
    format!("{payload}.{signature}")
}

/// The session a cookie value stands for, if its signature holds, it has not expired, and its
/// token is still configured with the read scope.
pub fn verify(hasher: &Hasher, tokens: &Tokens, value: &str, now: DateTime<Utc>) -> Option<Session> {
    let (payload, signature) = value.rsplit_once('.')?;
    let (expires, name) = payload.split_once('.')?;
    let expires = DateTime::from_timestamp(expires.parse().ok()?, 0)?;
    if expires <= now {
        return None;
    }
    let name = String::from_utf8(hex::decode(name).ok()?).ok()?;
    let signed = tokens
        .digests(&name, Scope::Read)
        .any(|digest| constant_time_eq(sign(hasher, payload, digest).as_bytes(), signature.as_bytes()));
    signed.then_some(Session { name })
}

/// The keyed hasher doubles as the signing key: the `dashboard-session` prefix keeps these
/// signatures apart from identifier hashes (whose prefixes are `email:`, `phone:`, …).
fn sign(hasher: &Hasher, payload: &str, digest: &[u8; 32]) -> String {
    hasher.identifier("dashboard-session", &format!("{payload}.{}", hex::encode(digest)))
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// `Set-Cookie` for a new session. HttpOnly: no script reads it. SameSite=Strict: no other site
/// makes the browser send it (the dashboard has no action, but its pages show personal-data
/// requests). Path=/dashboard: the API, with its bearer tokens, never sees it.
pub fn set_cookie(value: &str) -> HeaderValue {
    let cookie =
        format!("{COOKIE}={value}; Max-Age={}; Path=/dashboard; HttpOnly; SameSite=Strict", LIFETIME.num_seconds());
    HeaderValue::from_str(&cookie).expect("a cookie of hex digits and dots is a valid header")
}

pub fn clear_cookie() -> HeaderValue {
    HeaderValue::from_static("erasure_session=; Max-Age=0; Path=/dashboard; HttpOnly; SameSite=Strict")
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
    type Rejection = Redirect;

    async fn from_request_parts(parts: &mut Parts, state: &ApiState) -> Result<Self, Self::Rejection> {
        cookie(&parts.headers)
            .and_then(|value| verify(&state.app.hasher, &state.tokens, value, state.app.clock.now()))
            .ok_or_else(|| Redirect::to(LOGIN))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{ApiSettings, ApiToken};
    use sha2::{Digest, Sha256};

    fn tokens() -> Tokens {
        std::env::set_var("DASHBOARD_SESSION_TEST_READER", "reader-secret");
        std::env::set_var("DASHBOARD_SESSION_TEST_PRODUCT", "product-secret");
        let token =
            |name: &str, env: &str, scopes: Vec<Scope>| ApiToken { name: name.into(), token_env: env.into(), scopes };
        Tokens::from_settings(&ApiSettings {
            listen: "127.0.0.1:0".into(),
            tokens: vec![
                token("reader", "DASHBOARD_SESSION_TEST_READER", vec![Scope::Read]),
                token("shop", "DASHBOARD_SESSION_TEST_PRODUCT", vec![Scope::Submit]),
            ],
        })
        .unwrap()
    }

    fn digest(token: &str) -> [u8; 32] {
        Sha256::digest(token).into()
    }

    #[test]
    fn a_session_holds_until_it_expires_and_only_as_signed() {
        let (hasher, tokens) = (Hasher::new("key".to_string().into()), tokens());
        let now: DateTime<Utc> = "2026-11-24T10:00:00Z".parse().unwrap();
        let value = issue(&hasher, "reader", &digest("reader-secret"), now + LIFETIME);
        assert!(!value.contains("reader-secret"));
        assert_eq!(verify(&hasher, &tokens, &value, now).map(|s| s.name).as_deref(), Some("reader"));
        assert!(verify(&hasher, &tokens, &value, now + LIFETIME).is_none(), "expired");
        assert!(verify(&Hasher::new("other".to_string().into()), &tokens, &value, now).is_none(), "another key");

        let later = issue(&hasher, "reader", &digest("reader-secret"), now + LIFETIME * 2);
        let (_, signature) = value.rsplit_once('.').unwrap();
        let (payload, _) = later.rsplit_once('.').unwrap();
        assert!(verify(&hasher, &tokens, &format!("{payload}.{signature}"), now).is_none(), "a moved expiry");
        let rotated = issue(&hasher, "reader", &digest("the-old-token"), now + LIFETIME);
        assert!(verify(&hasher, &tokens, &rotated, now).is_none(), "a rotated token ends its sessions");
        let shop = issue(&hasher, "shop", &digest("product-secret"), now + LIFETIME);
        assert!(verify(&hasher, &tokens, &shop, now).is_none(), "a token without the read scope");
        for garbage in ["", "x", "1.2", "1.2.3.4", "99999999999999999999.00.00"] {
            assert!(verify(&hasher, &tokens, garbage, now).is_none(), "{garbage:?}");
        }
    }

    #[test]
    fn the_cookie_is_found_among_others() {
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, HeaderValue::from_static("a=1; erasure_session=abc.def; b=2"));
        assert_eq!(cookie(&headers), Some("abc.def"));
        headers.insert(header::COOKIE, HeaderValue::from_static("erasure_sessionx=1"));
        assert_eq!(cookie(&headers), None);
    }
}
