//! OAuth 2.0 client credentials (RFC 6749 §4.4): the client authenticates to the token endpoint
//! with HTTP basic (§2.3.1), asks for `grant_type=client_credentials` (§4.4.2), and gets an access
//! token (§5.1: `access_token`, `token_type`, optional `expires_in`) or an error (§5.2: `error`).
//! The token is cached and fetched again shortly before `expires_in` runs out, or after a 401.

use erasure_connector::{classify, ExposeSecret, Failure, HttpClass, HttpClient, SecretString};
use reqwest::header::CONTENT_TYPE;
use reqwest::Method;
use serde::Deserialize;
use std::time::{Duration, Instant, SystemTime};
use tokio::sync::Mutex;

pub struct OAuth2 {
    token_url: url::Url,
    client_id: SecretString,
    client_secret: SecretString,
    scopes: Vec<String>,
    http: HttpClient,
    cached: Mutex<Option<Cached>>,
}

struct Cached {
    token: SecretString,
    /// When to fetch a new one; `None`: the server gave no lifetime, keep it until a 401.
    renew_at: Option<Instant>,
}

/// RFC 6749 §5.1.
#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    token_type: String,
    #[serde(default)]
    expires_in: Option<u64>,
}

/// RFC 6749 §5.2.
#[derive(Deserialize)]
struct ErrorAnswer {
    error: String,
}

impl OAuth2 {
    pub fn new(
        token_url: &str,
        client_id: SecretString,
        client_secret: SecretString,
        scopes: Vec<String>,
        http: HttpClient,
    ) -> Result<OAuth2, String> {
        let token_url = url::Url::parse(token_url).map_err(|e| format!("`{token_url}` is not a URL: {e}"))?;
        if !matches!(token_url.scheme(), "http" | "https") {
            return Err("the token URL must be http or https".into());
        }
        Ok(OAuth2 { token_url, client_id, client_secret, scopes, http, cached: Mutex::new(None) })
    }

    /// A valid access token: the cached one, or a new one.
    pub async fn token(&self) -> Result<SecretString, Failure> {
        let mut cached = self.cached.lock().await;
        if let Some(c) = cached.as_ref() {
            if c.renew_at.is_none_or(|at| Instant::now() < at) {
                return Ok(c.token.clone());
            }
        }
        let fresh = self.fetch().await?;
        let token = fresh.token.clone();
        *cached = Some(fresh);
        Ok(token)
    }

    pub async fn forget(&self) {
        *self.cached.lock().await = None;
    }

    async fn fetch(&self) -> Result<Cached, Failure> {
        let form = {
            let mut form = url::form_urlencoded::Serializer::new(String::new());
            form.append_pair("grant_type", "client_credentials");
            if !self.scopes.is_empty() {
                form.append_pair("scope", &self.scopes.join(" "));
            }
            form.finish()
        };
        let request = self
            .http
            .request(Method::POST, self.token_url.as_str())
            .basic_auth(self.client_id.expose_secret(), Some(self.client_secret.expose_secret()))
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header("Accept", "application/json")
            .body(form);
        let response = self.http.send_any(request).await?;
        let status = response.status();
        let class = classify(status, response.headers(), SystemTime::now());
        if class != HttpClass::Success {
            let mut failure = self.http.failure(status, class);
            let code = response.json::<ErrorAnswer>().await.map(|e| e.error).unwrap_or_default();
            // Only RFC 6749's own codes are repeated: the field is the server's text.
            let known = [
                "invalid_request",
                "invalid_client",
                "invalid_grant",
                "unauthorized_client",
                "unsupported_grant_type",
                "invalid_scope",
            ];
            failure.reason = match known.contains(&code.as_str()) {
                true => format!("the OAuth2 token endpoint refused: {} ({code})", failure.reason),
                false => format!("the OAuth2 token endpoint refused: {}", failure.reason),
            };
            return Err(failure);
        }
        let answer: TokenAnswer = response.json().await.map_err(|_| {
            Failure::permanent("the OAuth2 token endpoint answered without an access token (RFC 6749 §5.1)")
        })?;
        if !answer.token_type.eq_ignore_ascii_case("bearer") {
            return Err(Failure::permanent("the OAuth2 token endpoint gave a token that is not a bearer token"));
        }
        let renew_at = answer.expires_in.map(|secs| {
            let margin = (secs / 10).clamp(1, 60);
            Instant::now() + Duration::from_secs(secs.saturating_sub(margin))
        });
        Ok(Cached { token: SecretString::from(answer.access_token), renew_at })
    }
}
