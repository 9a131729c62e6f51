//! Bearer tokens from config, each with scopes: `read` (status), `submit` (products send
//! requests), `operate` (actions), `legal` (the legal hold list, which `operate` does not
//! reach). No token is 401, a token without the scope is 403. Tokens are
//! compared as SHA-256 digests in constant time and never printed. A configured token is trimmed
//! like a presented one and must be at least `MIN_TOKEN_BYTES` long.
//!
//! `require` is the middleware each route group runs before its handler: the caller is
//! authorised before any path, query or body is read, so an unknown caller only ever sees 401.

use super::error::ApiError;
use crate::config::{secret_from_env, ApiSettings, ConfigError};
use axum::extract::{Request, State};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use secrecy::ExposeSecret;
use sha2::{Digest, Sha256};
use std::sync::Arc;

pub use crate::config::Scope;

/// Who called: the token's name from config, used as the actor in the audit log.
#[derive(Debug, Clone)]
pub struct Caller {
    pub name: String,
}

impl Caller {
    pub fn actor(&self) -> String {
        format!("api:{}", self.name)
    }
}

struct Token {
    name: String,
    digest: [u8; 32],
    scopes: Vec<Scope>,
}

pub struct Tokens(Vec<Token>);

/// Shorter tokens are refused at start-up: a token is a password nobody types.
pub const MIN_TOKEN_BYTES: usize = 32;

impl Tokens {
    pub fn from_settings(settings: &ApiSettings) -> Result<Tokens, ConfigError> {
        let mut tokens = Vec::new();
        for (i, t) in settings.tokens.iter().enumerate() {
            let key = format!("api.tokens[{i}].token_env");
            let secret = secret_from_env(&key, &t.token_env)?;
            let secret = secret.expose_secret().trim();
            if secret.len() < MIN_TOKEN_BYTES {
                return Err(ConfigError::Key {
                    key,
                    origin: format!("environment variable {}", t.token_env),
                    message: format!(
                        "the token of `{}` is shorter than {MIN_TOKEN_BYTES} bytes (after trimming spaces)",
                        t.name
                    ),
                });
            }
            tokens.push(Token {
                name: t.name.clone(),
                digest: Sha256::digest(secret).into(),
                scopes: t.scopes.clone(),
            });
        }
        Ok(Tokens(tokens))
    }

    /// The caller, if the `Authorization: Bearer` token is known and has `scope`.
    pub fn authorize(&self, headers: &HeaderMap, scope: Scope) -> Result<Caller, ApiError> {
        let presented = headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or(ApiError::Unauthenticated)?;
        let digest: [u8; 32] = Sha256::digest(presented.trim()).into();
        let token = self.0.iter().find(|t| constant_time_eq(&t.digest, &digest)).ok_or(ApiError::Unauthenticated)?;
        if !token.scopes.contains(&scope) {
            return Err(ApiError::Forbidden(scope));
        }
        Ok(Caller { name: token.name.clone() })
    }

    /// Whether a token named `name` with this digest is still configured with `scope`: a
    /// dashboard session lives only as long as its token.
    pub(super) fn holds(&self, name: &str, digest: &[u8; 32], scope: Scope) -> bool {
        self.0.iter().any(|t| t.name == name && t.scopes.contains(&scope) && constant_time_eq(&t.digest, digest))
    }
}

fn constant_time_eq(a: &[u8; 32], b: &[u8; 32]) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The tokens and the scope a route group needs (the state of `require`).
#[derive(Clone)]
pub struct Requirement {
    pub tokens: Arc<Tokens>,
    pub scope: Scope,
}

/// Authorise, then hand the handler its `Caller` (as an extension); else 401 or 403 before
/// anything of the request is read.
pub async fn require(State(need): State<Requirement>, mut request: Request, next: Next) -> Response {
    match need.tokens.authorize(request.headers(), need.scope) {
        Ok(caller) => {
            request.extensions_mut().insert(caller);
            next.run(request).await
        }
        Err(error) => error.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ApiToken;

    fn settings(env: &str) -> ApiSettings {
        let mut settings: ApiSettings = toml::from_str("listen = \"127.0.0.1:0\"").unwrap();
        settings.tokens = vec![ApiToken { name: "ops".into(), token_env: env.into(), scopes: vec![Scope::Read] }];
        settings
    }

    #[test]
    fn short_tokens_are_refused_naming_the_key_not_the_value_and_tokens_are_trimmed() {
        std::env::set_var("AUTH_TEST_SHORT", "  short-token-of-31-bytes-012345  ");
        let error = Tokens::from_settings(&settings("AUTH_TEST_SHORT")).err().expect("refused").to_string();
        assert!(error.contains("api.tokens[0].token_env") && error.contains("AUTH_TEST_SHORT"), "{error}");
        assert!(!error.contains("short-token"), "{error}");

        std::env::set_var("AUTH_TEST_PADDED", " padded-token-0123456789abcdefghijkl\n");
        let tokens = Tokens::from_settings(&settings("AUTH_TEST_PADDED")).unwrap();
        let mut headers = HeaderMap::new();
        headers.insert("authorization", "Bearer padded-token-0123456789abcdefghijkl".parse().unwrap());
        assert!(tokens.authorize(&headers, Scope::Read).is_ok(), "a configured token is trimmed");
    }
}
