//! Bearer tokens from config, each with scopes: `read` (status), `submit` (products send
//! requests), `operate` (actions). No token is 401, a token without the scope is 403. Tokens are
//! compared as SHA-256 digests in constant time and never printed.

use super::error::ApiError;
use crate::config::{secret_from_env, ApiSettings, ConfigError};
use axum::http::HeaderMap;
use secrecy::ExposeSecret;
use sha2::{Digest, Sha256};

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

impl Tokens {
    pub fn from_settings(settings: &ApiSettings) -> Result<Tokens, ConfigError> {
        let mut tokens = Vec::new();
        for (i, t) in settings.tokens.iter().enumerate() {
            let secret = secret_from_env(&format!("api.tokens[{i}].token_env"), &t.token_env)?;
            tokens.push(Token {
                name: t.name.clone(),
                digest: Sha256::digest(secret.expose_secret()).into(),
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

    /// Digests of the tokens named `name` that have `scope`. Dashboard sessions are signed over
    /// their token's digest, so that rotating or removing a token ends its sessions.
    pub(super) fn digests<'a>(&'a self, name: &'a str, scope: Scope) -> impl Iterator<Item = &'a [u8; 32]> + 'a {
        self.0.iter().filter(move |t| t.name == name && t.scopes.contains(&scope)).map(|t| &t.digest)
    }
}

fn constant_time_eq(a: &[u8; 32], b: &[u8; 32]) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
