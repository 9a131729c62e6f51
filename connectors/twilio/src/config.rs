//! The `[connectors.NAME]` keys of `kind = "twilio"`, and their checks.

use crate::api;
use erasure_connector::subject::normalise_phone;
use erasure_connector::{ConfigDuration, ConfigError, SecretString, Secrets};
use serde::Deserialize;

/// `[connectors.NAME]` keys for `kind = "twilio"`. Authenticate with the account's Auth Token
/// (`auth_token_env`) or with an API key (`api_key_sid` and `api_key_secret_env`), not both.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Twilio's API root, `https://api.twilio.com`.
    pub base_url: String,
    /// The account whose calls are searched: `AC` and 32 hex digits.
    pub account_sid: String,
    /// Environment variable holding the account's Auth Token (Basic auth as the account).
    #[serde(default)]
    pub auth_token_env: Option<String>,
    /// An API key of the account (`SK` and 32 hex digits), instead of the Auth Token.
    #[serde(default)]
    pub api_key_sid: Option<String>,
    /// Environment variable holding the API key's secret.
    #[serde(default)]
    pub api_key_secret_env: Option<String>,
    /// Also delete the call records (the call log). Off: they stay, with both phone numbers.
    #[serde(default)]
    pub delete_calls: bool,
    /// SMS and MMS to or from the person's numbers: `redact` (the default: the text is emptied
    /// and the media deleted; the record with both numbers stays), `delete` (the message and its
    /// media), or `keep`.
    #[serde(default)]
    pub messages: MessagesMode,
    /// The company's own numbers (E.164). When set, only calls and messages between the
    /// person's number and one of these are erased: a reassigned number may appear in other
    /// parties' records.
    #[serde(default)]
    pub own_numbers: Vec<String>,
    /// `PageSize` of every list call, 1 to 1000 (Twilio's maximum).
    #[serde(default = "default_page_size")]
    pub page_size: u32,
    /// When a call is still in progress (it cannot be deleted yet), look again after this long,
    /// e.g. `"10m"`. `in_progress_check_after_seconds` (a number of seconds) is its deprecated
    /// name; giving both is refused.
    #[serde(default = "default_in_progress_check_after", alias = "in_progress_check_after_seconds")]
    pub in_progress_check_after: ConfigDuration,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MessagesMode {
    #[default]
    Redact,
    Delete,
    Keep,
}

fn default_page_size() -> u32 {
    1000
}

fn default_in_progress_check_after() -> ConfigDuration {
    ConfigDuration::from_secs(600)
}

impl Config {
    /// Who calls sign in as (the account, or the API key) and their password, checked.
    pub(crate) fn credentials(&self, secrets: &Secrets) -> Result<(String, SecretString), ConfigError> {
        let base = url::Url::parse(&self.base_url)
            .map_err(|e| ConfigError::key("base_url", format!("base_url is not a URL: {e}")))?;
        if !matches!(base.scheme(), "http" | "https") || base.query().is_some() {
            return Err(ConfigError::key("base_url", "base_url must be an http or https URL without a query"));
        }
        if !api::is_sid("AC", &self.account_sid) {
            return Err(ConfigError::key("account_sid", "account_sid must be AC and 32 hex digits"));
        }
        for (i, number) in self.own_numbers.iter().enumerate() {
            if normalise_phone(number).as_deref() != Some(number.as_str()) {
                return Err(ConfigError::key("own_numbers", format!("own_numbers[{i}] is not an E.164 phone number")));
            }
        }
        if !(1..=1000).contains(&self.page_size) {
            return Err(ConfigError::key("page_size", "page_size must be between 1 and 1000"));
        }
        match (&self.auth_token_env, &self.api_key_sid, &self.api_key_secret_env) {
            (Some(_), None, None) => Ok((self.account_sid.clone(), secrets.get("auth_token_env")?.clone())),
            (None, Some(key), Some(_)) if api::is_sid("SK", key) => {
                Ok((key.clone(), secrets.get("api_key_secret_env")?.clone()))
            }
            (None, Some(_), Some(_)) => {
                Err(ConfigError::key("api_key_sid", "api_key_sid must be SK and 32 hex digits"))
            }
            _ => Err(ConfigError::new("set either auth_token_env, or both api_key_sid and api_key_secret_env")),
        }
    }
}
