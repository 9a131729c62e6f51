//! The `[connectors.NAME]` keys of `kind = "elasticsearch"`, and their checks.

use crate::api::Auth;
use erasure_connector::{ConfigDuration, ConfigError, ExposeSecret, Secrets};
use reqwest::header::HeaderValue;
use serde::Deserialize;

/// `[connectors.NAME]` keys for `kind = "elasticsearch"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The cluster's URL, e.g. `https://logs.internal:9200`; a path prefix (a proxy's) is kept.
    pub base_url: String,
    /// The indices to erase from: a name, an alias, a pattern such as `logs-*`, or a
    /// comma-separated list of those.
    pub index: String,
    /// Keyword fields that hold identifiers, e.g. `["user.email", "user.id", "client.phone"]`.
    /// Every identifier is looked for in every field, matched whole and case-sensitively.
    pub fields: Vec<String>,
    /// User for Basic authentication, with `password_env`.
    #[serde(default)]
    pub username: Option<String>,
    /// Environment variable holding the password of `username`.
    #[serde(default)]
    pub password_env: Option<String>,
    /// Environment variable holding an API key (its `encoded` form), sent as
    /// `Authorization: ApiKey <key>`; instead of `username` and `password_env`.
    #[serde(default)]
    pub api_key_env: Option<String>,
    /// When to look at a running delete-by-query task again, e.g. `"30s"`. `check_after_seconds`
    /// (a number of seconds) is its deprecated name; giving both is refused.
    #[serde(default = "default_check_after", alias = "check_after_seconds")]
    pub check_after: ConfigDuration,
}

fn default_check_after() -> ConfigDuration {
    ConfigDuration::from_secs(30)
}

/// A checked config.
pub(crate) struct Checked {
    pub base: url::Url,
    pub fields: Vec<String>,
    pub auth: Auth,
}

impl Config {
    pub(crate) fn check(&self, secrets: &Secrets) -> Result<Checked, ConfigError> {
        let base = url::Url::parse(&self.base_url)
            .map_err(|e| ConfigError::key("base_url", format!("base_url is not a URL: {e}")))?;
        if !matches!(base.scheme(), "http" | "https") || base.cannot_be_a_base() {
            return Err(ConfigError::key("base_url", "base_url must be an http or https URL"));
        }
        if base.query().is_some() || base.fragment().is_some() {
            return Err(ConfigError::key("base_url", "base_url must have no query string or fragment"));
        }
        check_index(&self.index)?;
        let mut fields: Vec<String> = Vec::new();
        for field in &self.fields {
            if field.is_empty() || field.contains(|c: char| c.is_whitespace() || c.is_control() || c == '*') {
                return Err(ConfigError::key("fields", "fields must be field names (no spaces, no wildcards)"));
            }
            if !fields.contains(field) {
                fields.push(field.clone());
            }
        }
        if fields.is_empty() {
            return Err(ConfigError::key(
                "fields",
                "fields must name at least one keyword field that holds identifiers",
            ));
        }
        let auth = match (&self.username, self.password_env.is_some(), self.api_key_env.is_some()) {
            (Some(username), true, false) => {
                Auth::Basic { username: username.clone(), password: secrets.get("password_env")?.clone() }
            }
            (None, false, true) => {
                let key = secrets.get("api_key_env")?.expose_secret();
                let mut header = HeaderValue::from_str(&format!("ApiKey {key}")).map_err(|_| {
                    ConfigError::key("api_key_env", "the API key holds characters a header cannot carry")
                })?;
                header.set_sensitive(true);
                Auth::ApiKey(header)
            }
            (None, false, false) => return Err(ConfigError::new("set username and password_env, or api_key_env")),
            (Some(_), false, _) => return Err(ConfigError::key("password_env", "username needs password_env")),
            (None, true, _) => return Err(ConfigError::key("username", "password_env needs username")),
            (_, true, true) => return Err(ConfigError::new("set username and password_env, or api_key_env, not both")),
        };
        Ok(Checked { base, fields, auth })
    }
}

/// An index expression goes into the URL path: names, patterns and lists, nothing that could
/// reach another API.
fn check_index(index: &str) -> Result<(), ConfigError> {
    let bad = |part: &str| {
        part.is_empty()
            || (part.starts_with('_') && part != "_all")
            || part.contains(|c: char| c.is_whitespace() || c.is_control() || "/\\?#\"<>|".contains(c))
    };
    if index.split(',').any(bad) {
        return Err(ConfigError::key(
            "index",
            "index must be an index name, alias or pattern (e.g. `logs-*`), or a comma-separated list",
        ));
    }
    Ok(())
}
