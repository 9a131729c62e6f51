//! The `[connectors.NAME]` keys of `kind = "zendesk"`, and their checks.

use erasure_connector::{SecretString, Secrets};
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
    /// Records asked per page of a listing (Zendesk answers at most 100).
    #[serde(default = "default_per_page")]
    pub per_page: u32,
    /// How long to wait before asking again about Zendesk's background jobs.
    #[serde(default = "default_check_after")]
    pub check_after_seconds: u64,
    /// When to verify again that nothing is left (e.g. `30d`: Zendesk purges soft-deleted
    /// data after 30 days). Recorded in the evidence note.
    #[serde(default)]
    pub hard_delete_after: Option<String>,
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

fn default_per_page() -> u32 {
    100
}

fn default_check_after() -> u64 {
    10
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
    pub(crate) fn check(&self, secrets: &Secrets) -> Result<Checked, String> {
        let base = url::Url::parse(&self.base_url).map_err(|e| format!("base_url is not a URL: {e}"))?;
        if !matches!(base.scheme(), "http" | "https") || base.query().is_some() || base.cannot_be_a_base() {
            return Err("base_url must be an http(s) address without a query, e.g. https://acme.zendesk.com".into());
        }
        let auth = match (&self.email, &self.api_token_env, &self.oauth_token_env) {
            (Some(email), Some(_), None) if !email.trim().is_empty() => {
                Auth::Token { user: format!("{}/token", email.trim()), token: secrets.get("api_token_env")?.clone() }
            }
            (None, None, Some(_)) => Auth::OAuth(secrets.get("oauth_token_env")?.clone()),
            (_, _, Some(_)) => {
                return Err("configure either `email` with `api_token_env` or `oauth_token_env`, not both".into())
            }
            (None | Some(_), Some(_), None) => {
                return Err("`api_token_env` needs the agent `email` it belongs to".into())
            }
            (Some(_), None, None) => return Err("`email` needs `api_token_env` (the API token of that agent)".into()),
            (None, None, None) => {
                return Err("no credentials: set `email` with `api_token_env`, or `oauth_token_env`".into())
            }
        };
        if !(1..=100).contains(&self.per_page) {
            return Err("per_page must be 1 to 100".into());
        }
        if let Some(after) = &self.hard_delete_after {
            if !is_duration(after) {
                return Err(format!("hard_delete_after `{after}` is not a duration such as 30d, 720h"));
            }
        }
        Ok(Checked { base, auth, per_page: self.per_page, check_after: Duration::from_secs(self.check_after_seconds) })
    }
}

/// `30d`, `720h`, `15m`, `10s`, `500ms`: what the engine's durations look like.
fn is_duration(text: &str) -> bool {
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    !number.is_empty() && number.parse::<u64>().is_ok() && matches!(unit, "ms" | "s" | "m" | "h" | "d")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(toml: serde_json::Value) -> Result<Checked, String> {
        let mut value = serde_json::json!({ "base_url": "https://acme.zendesk.com" });
        value.as_object_mut().unwrap().extend(toml.as_object().unwrap().clone());
        let config: Config = serde_json::from_value(value).map_err(|e| e.to_string())?;
        config.check(&Secrets::one("api_token_env", "t").with("oauth_token_env", "o"))
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
        assert!(with("base_url", "ftp://acme".into()).is_err());
        assert!(with("subdomain", "acme".into()).is_err(), "unknown keys are refused");
    }
}
