//! Authentication of every request: bearer, basic, an API key in a header or the query, or an
//! OAuth 2.0 access token got with the client credentials grant (`oauth2.rs`). Secrets come only
//! from the instance's `*_env` keys, resolved by the engine into [`Secrets`].

use crate::definition::Auth as AuthSpec;
use crate::oauth2::OAuth2;
use erasure_connector::{ConfigError, ExposeSecret, Failure, HttpClient, SecretString, Secrets};
use reqwest::header::{HeaderName, HeaderValue};
use reqwest::RequestBuilder;

pub enum Auth {
    None,
    Bearer(SecretString),
    Basic { username: SecretString, password: SecretString },
    Header { name: HeaderName, prefix: String, key: SecretString },
    Query { name: String, key: SecretString },
    OAuth2(Box<OAuth2>),
}

impl Auth {
    /// The definition's `[auth]` with the instance's secrets; a missing secret names its key.
    pub fn new(spec: Option<&AuthSpec>, secrets: &Secrets, http: &HttpClient) -> Result<Auth, ConfigError> {
        let secret = |key: &str| secrets.get(key).cloned();
        Ok(match spec {
            None => Auth::None,
            Some(AuthSpec::Bearer { token }) => Auth::Bearer(secret(token)?),
            Some(AuthSpec::Basic { username, username_secret, password }) => {
                let username = match (username, username_secret) {
                    (_, Some(key)) => secret(key)?,
                    (Some(name), None) => SecretString::from(name.clone()),
                    (None, None) => SecretString::from(String::new()),
                };
                Auth::Basic { username, password: secret(password)? }
            }
            Some(AuthSpec::ApiKey { key, header: Some(header), prefix, .. }) => {
                let name = HeaderName::from_bytes(header.as_bytes()).map_err(|_| {
                    ConfigError::key("definition", format!("auth.header: `{header}` is not a header name"))
                })?;
                Auth::Header { name, prefix: prefix.clone().unwrap_or_default(), key: secret(key)? }
            }
            Some(AuthSpec::ApiKey { key, query, .. }) => {
                Auth::Query { name: query.clone().unwrap_or_default(), key: secret(key)? }
            }
            Some(AuthSpec::OAuth2 { token_url, client_id, client_secret, scopes }) => Auth::OAuth2(Box::new(
                OAuth2::new(token_url, secret(client_id)?, secret(client_secret)?, scopes.clone(), http.clone())
                    .map_err(|message| ConfigError::key("definition", format!("auth.token_url: {message}")))?,
            )),
        })
    }

    /// An API key that travels in the query string.
    pub fn query_pair(&self) -> Option<(&str, &str)> {
        match self {
            Auth::Query { name, key } => Some((name, key.expose_secret())),
            _ => None,
        }
    }

    /// The request with its credentials (an OAuth2 token is fetched when none is cached).
    pub async fn apply(&self, request: RequestBuilder) -> Result<RequestBuilder, Failure> {
        Ok(match self {
            Auth::None | Auth::Query { .. } => request,
            Auth::Bearer(token) => request.bearer_auth(token.expose_secret()),
            Auth::Basic { username, password } => {
                request.basic_auth(username.expose_secret(), Some(password.expose_secret()))
            }
            Auth::Header { name, prefix, key } => {
                let mut value = HeaderValue::from_str(&format!("{prefix}{}", key.expose_secret()))
                    .map_err(|_| Failure::permanent("the API key cannot be sent as a header value"))?;
                value.set_sensitive(true);
                request.header(name.clone(), value)
            }
            Auth::OAuth2(oauth) => request.bearer_auth(oauth.token().await?.expose_secret()),
        })
    }

    /// A 401 with an OAuth2 token: forget it, so the one retry fetches a fresh one. `false` when
    /// a retry cannot help (the credentials themselves are wrong).
    pub async fn refresh_after_401(&self) -> bool {
        match self {
            Auth::OAuth2(oauth) => {
                oauth.forget().await;
                true
            }
            _ => false,
        }
    }
}
