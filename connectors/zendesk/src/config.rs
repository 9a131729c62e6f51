//! The `[connectors.NAME]` keys of `kind = "zendesk"`, and their checks.

use erasure_connector::{ConfigDuration, ConfigError, SecretString, Secrets};
use serde::Deserialize;
use std::time::Duration;

/// `[connectors.NAME]` keys for `kind = "zendesk"`. Configure exactly one way to sign in: `email`
/// with `api_token_env`, or `oauth_token_env`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The account's address, e.g. `https://acme.zendesk.com`.
    pub base_url: String,
    /// The agent (admin) e-mail an API token belongs to: calls sign in as `{email}/token`.
    #[serde(default)]
    pub email: Option<String>,
    /// Environment variable holding the API token (with `email`).
    #[serde(default)]
    pub api_token_env: Option<String>,
    /// Environment variable holding an OAuth access token (instead of `email` and an API token).
    #[serde(default)]
    pub oauth_token_env: Option<String>,
    /// What to do with the tickets the person requested: `delete` them (and purge them from
    /// the deleted tickets), or `redact` every comment on them and keep the tickets.
    #[serde(default)]
    pub tickets: TicketPolicy,
    /// What to do with the person's Help Center (Guide) content before their user is deleted:
    /// `delete` their article comments, community posts and post comments (the default), or
    /// `keep` them (the evidence says so).
    #[serde(default)]
    pub help_center: HelpCenterPolicy,
    /// Records asked per page of a listing (Zendesk answers at most 100).
    #[serde(default = "default_per_page")]
    pub per_page: u32,
    /// How long to wait before asking again about Zendesk's background jobs, e.g. `"10s"`.
    /// `check_after_seconds` (a number of seconds) is its deprecated name; giving both is refused.
    #[serde(default = "default_check_after", alias = "check_after_seconds")]
    pub check_after: ConfigDuration,
    /// When to verify again that nothing is left (e.g. `30d`: Zendesk purges soft-deleted
    /// data after 30 days). Recorded in the evidence note as written.
    #[serde(default)]
    pub hard_delete_after: Option<ConfigDuration>,
}

/// What happens to the tickets the person requested.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TicketPolicy {
    /// Delete them, then delete them permanently.
    #[default]
    Delete,
    /// Keep them, with every comment redacted.
    Redact,
}

/// What happens to the person's Help Center content (article comments, community posts and
/// community comments). The connector does not count on the user's deletion to take it: it is
/// deleted first, record by record.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HelpCenterPolicy {
    /// Delete it, one record at a time.
    #[default]
    Delete,
    /// Leave it; the evidence note says it stays.
    Keep,
}

fn default_per_page() -> u32 {
    100
}

fn default_check_after() -> ConfigDuration {
    ConfigDuration::from_secs(10)
}

/// How calls sign in.
#[derive(Clone)]
pub(crate) enum Auth {
    /// Basic `{email}/token:{token}`.
    Token { user: String, token: SecretString },
    /// Bearer `{token}`.
    OAuth(SecretString),
}

/// A checked config.
pub(crate) struct Checked {
    pub base: url::Url,
    pub auth: Auth,
    pub per_page: u32,
    pub check_after: Duration,
}

impl Config {
    pub(crate) fn check(&self, secrets: &Secrets) -> Result<Checked, ConfigError> {
        let base = url::Url::parse(&self.base_url)
            .map_err(|e| ConfigError::key("base_url", format!("base_url is not a URL: {e}")))?;
        if !matches!(base.scheme(), "http" | "https") || base.query().is_some() || base.cannot_be_a_base() {
            return Err(ConfigError::key(
                "base_url",
                "base_url must be an http(s) address without a query, e.g. https://acme.zendesk.com",
            ));
        }
        let auth = match (&self.email, &self.api_token_env, &self.oauth_token_env) {
            (Some(email), Some(_), None) if !email.trim().is_empty() => {
                Auth::Token { user: format!("{}/token", email.trim()), token: secrets.get("api_token_env")?.clone() }
            }
            (None, None, Some(_)) => Auth::OAuth(secrets.get("oauth_token_env")?.clone()),
            (_, _, Some(_)) => {
                return Err(ConfigError::new(
                    "configure either `email` with `api_token_env` or `oauth_token_env`, not both",
                ))
            }
            (None | Some(_), Some(_), None) => {
                return Err(ConfigError::key("email", "`api_token_env` needs the agent `email` it belongs to"))
            }
            (Some(_), None, None) => {
                return Err(ConfigError::key(
                    "api_token_env",
                    "`email` needs `api_token_env` (the API token of that agent)",
                ))
            }
            (None, None, None) => {
                return Err(ConfigError::new("no credentials: set `email` with `api_token_env`, or `oauth_token_env`"))
            }
        };
        if !(1..=100).contains(&self.per_page) {
            return Err(ConfigError::key("per_page", "per_page must be 1 to 100"));
        }
        Ok(Checked { base, auth, per_page: self.per_page, check_after: self.check_after.get() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(toml: serde_json::Value) -> Result<Checked, String> {
        let mut value = serde_json::json!({ "base_url": "https://acme.zendesk.com" });
        value.as_object_mut().unwrap().extend(toml.as_object().unwrap().clone());
        let config: Config = serde_json::from_value(value).map_err(|e| e.to_string())?;
        config.check(&Secrets::one("api_token_env", "t").with("oauth_token_env", "o")).map_err(|e| e.to_string())
    }

    #[test]
    fn exactly_one_way_to_sign_in() {
        let token = config(serde_json::json!({ "email": "bot@acme.io", "api_token_env": "ZD_TOKEN" })).unwrap();
        assert!(matches!(token.auth, Auth::Token { ref user, .. } if user == "bot@acme.io/token"));
        assert!(matches!(config(serde_json::json!({ "oauth_token_env": "ZD_OAUTH" })).unwrap().auth, Auth::OAuth(_)));
        for (bad, says) in [
            (serde_json::json!({}), "no credentials"),
            (serde_json::json!({ "api_token_env": "ZD_TOKEN" }), "needs the agent `email`"),
            (serde_json::json!({ "email": "bot@acme.io" }), "needs `api_token_env`"),
            (serde_json::json!({ "email": "bot@acme.io", "api_token_env": "A", "oauth_token_env": "B" }), "not both"),
        ] {
            let error = config(bad).err().expect("refused");
            assert!(error.contains(says), "{error}");
        }
    }

    #[test]
    fn other_keys_are_checked() {
        let auth = serde_json::json!({ "oauth_token_env": "ZD_OAUTH" });
        let with = |key: &str, value: serde_json::Value| {
            let mut v = auth.clone();
            v[key] = value;
            config(v)
        };
        assert!(with("per_page", 0.into()).is_err());
        assert!(with("hard_delete_after", "30 days".into()).is_err());
        assert!(with("hard_delete_after", "30d".into()).is_ok());
        assert!(with("tickets", "redact".into()).is_ok());
        assert!(with("tickets", "shred".into()).is_err());
        assert!(with("help_center", "keep".into()).is_ok());
        assert!(with("help_center", "redact".into()).is_err());
        assert!(with("base_url", "ftp://acme".into()).is_err());
        assert!(with("subdomain", "acme".into()).is_err(), "unknown keys are refused");
    }

    #[test]
    fn check_after_takes_a_duration_or_its_deprecated_number_of_seconds_but_not_both() {
        let auth = serde_json::json!({ "oauth_token_env": "ZD_OAUTH" });
        let with = |keys: serde_json::Value| {
            let mut v = auth.clone();
            v.as_object_mut().unwrap().extend(keys.as_object().unwrap().clone());
            config(v)
        };
        assert_eq!(with(serde_json::json!({})).unwrap().check_after, Duration::from_secs(10));
        assert_eq!(with(serde_json::json!({ "check_after": "1m" })).unwrap().check_after, Duration::from_secs(60));
        assert_eq!(
            with(serde_json::json!({ "check_after_seconds": 30 })).unwrap().check_after,
            Duration::from_secs(30)
        );
        let both = with(serde_json::json!({ "check_after": "1m", "check_after_seconds": 30 })).err().unwrap();
        assert!(both.contains("duplicate field `check_after`"), "{both}");
    }
}
