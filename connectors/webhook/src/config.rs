//! The `[connectors.NAME]` keys of `kind = "webhook"`, and their checks.

use erasure_connector::{ConfigDuration, ConfigError};
use serde::Deserialize;

/// `[connectors.NAME]` keys for `kind = "webhook"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The service's erasure endpoint, e.g. `https://accounts.internal/privacy/erasure`.
    pub url: String,
    /// Environment variable holding the shared HMAC secret.
    pub secret_env: String,
    /// When a `pending` answer gives no `check_after_seconds`, e.g. `"30s"`.
    /// `default_check_after_seconds` (a number of seconds) is its deprecated name; giving both is
    /// refused.
    #[serde(default = "default_check_after", alias = "default_check_after_seconds")]
    pub default_check_after: ConfigDuration,
}

fn default_check_after() -> ConfigDuration {
    ConfigDuration::from_secs(30)
}

impl Config {
    /// The service's endpoint, checked.
    pub(crate) fn endpoint(&self) -> Result<url::Url, ConfigError> {
        let url = url::Url::parse(&self.url).map_err(|e| ConfigError::key("url", format!("not a URL: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(ConfigError::key("url", "the URL must be http or https"));
        }
        Ok(url)
    }
}
