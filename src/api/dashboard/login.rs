//! Signing in with an API token that has the read scope, and signing out. The token is checked
//! by `Tokens` like a bearer token, then forgotten: the session cookie is signed, not the token.

use super::super::auth::{Scope, Tokens};
use super::super::{ApiError, ApiState};
use super::{form, html, session};
use axum::body::Bytes;
use axum::extract::{ConnectInfo, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use std::net::SocketAddr;

pub async fn login_form() -> Response {
    html::respond(StatusCode::OK, page(None))
}

/// A sign-in; an address with `api.login_failures_per_minute` failures in the last minute is
/// refused (429) before its token is even checked.
pub async fn login(State(s): State<ApiState>, ConnectInfo(peer): ConnectInfo<SocketAddr>, body: Bytes) -> Response {
    let address = peer.ip().to_string();
    if let Err(retry_after) = s.login_failures.check(&address) {
        tracing::warn!(%address, "Dashboard sign-ins refused: too many failures from this address.");
        crate::metrics::record_login_refused("rate_limited");
        crate::metrics::record_api_rate_limited("login");
        let mut answer =
            html::respond(StatusCode::TOO_MANY_REQUESTS, page(Some("Too many failed sign-ins; wait a minute.")));
        answer.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
        return answer;
    }
    let token = form::field(&body, "token").unwrap_or_default();
    let token = token.trim();
    let name = match check(&s.tokens, token) {
        Ok(name) => name,
        Err(refusal) => {
            let _ = s.login_failures.hit(&address);
            crate::metrics::record_login_refused("bad_token");
            tracing::info!(%address, "A dashboard sign-in was refused.");
            return html::respond(StatusCode::UNAUTHORIZED, page(Some(refusal)));
        }
    };
    let digest: [u8; 32] = Sha256::digest(token).into();
    let cookie = match session::open(&s.app.store, &name, &digest, s.app.clock.now()).await {
        Ok(cookie) => cookie,
        Err(error) => return error.into_response(),
    };
    tracing::info!(token = %name, "A dashboard session started.");
    redirect("/dashboard", session::set_cookie(&cookie, session::secure(&s)))
}

/// Sign out: the session's row is deleted and the cookie cleared.
pub async fn logout(State(s): State<ApiState>, headers: HeaderMap) -> Response {
    if let Err(error) = session::close(&s.app.store, &headers).await {
        return error.into_response();
    }
    redirect(session::LOGIN, session::clear_cookie(session::secure(&s)))
}

/// The token's name, if the token is known and may read.
fn check(tokens: &Tokens, token: &str) -> Result<String, &'static str> {
    if token.is_empty() {
        return Err("Enter an API token.");
    }
    let mut headers = HeaderMap::new();
    let Ok(mut bearer) = HeaderValue::from_str(&format!("Bearer {token}")) else {
        return Err("That token is not valid.");
    };
    bearer.set_sensitive(true);
    headers.insert(header::AUTHORIZATION, bearer);
    match tokens.authorize(&headers, Scope::Read) {
        Ok(caller) => Ok(caller.name),
        Err(ApiError::Forbidden(_)) => Err("That token cannot read requests: it lacks the read scope."),
        Err(_) => Err("That token is not valid."),
    }
}

fn redirect(to: &'static str, cookie: HeaderValue) -> Response {
    let headers = [
        (header::LOCATION, HeaderValue::from_static(to)),
        (header::SET_COOKIE, cookie),
        (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
    ];
    (StatusCode::SEE_OTHER, headers).into_response()
}

/// The form; the token field is never filled back in.
fn page(refusal: Option<&str>) -> String {
    let refusal = refusal.map(|r| format!("<p class=\"error\">{}</p>", html::escape(r))).unwrap_or_default();
    let body = format!(
        "<div class=\"login panel\"><h1>Sign in</h1>{refusal}\
         <form method=\"post\" action=\"{}\">\
         <label for=\"token\">API token with the read scope</label>\
         <input id=\"token\" name=\"token\" type=\"password\" autocomplete=\"off\" required autofocus>\
         <button type=\"submit\" class=\"primary\">Sign in</button></form>\
         <p class=\"muted\">The session lasts 12 hours; the token itself is not kept.</p></div>",
        session::LOGIN
    );
    html::document("Sign in", None, &body)
}
