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
    /// Allow a plain `http://` URL (a service on loopback, a test simulator). Without it the
    /// URL must be `https`: the calls carry identifiers and a signature.
    #[serde(default)]
    pub allow_insecure_http: bool,
    /// Where `action: "lookup"` goes (verification after an erasure): a path or URL on the origin
    /// of `url`, often `url` itself. Without it the service is not asked, and every verification
    /// records this system as not verifiable.
    #[serde(default)]
    pub lookup_url: Option<String>,
}

fn default_check_after() -> ConfigDuration {
    ConfigDuration::from_secs(30)
}

impl Config {
    /// The service's endpoint, checked.
    pub(crate) fn endpoint(&self) -> Result<url::Url, ConfigError> {
        let url = url::Url::parse(&self.url).map_err(|e| ConfigError::key("url", format!("not a URL: {e}")))?;
        match url.scheme() {
            "https" => Ok(url),
            "http" if self.allow_insecure_http => Ok(url),
            "http" => Err(ConfigError::key(
                "url",
                "the URL must be https (set allow_insecure_http = true to call a plain-HTTP service)",
            )),
            _ => Err(ConfigError::key("url", "the URL must be https")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(url: &str, allow_insecure_http: bool) -> Config {
        Config {
            url: url.into(),
            secret_env: "S".into(),
            default_check_after: default_check_after(),
            allow_insecure_http,
            lookup_url: None,
        }
    }

    #[test]
    fn a_plain_http_url_is_refused_unless_allowed() {
        let refused = config("http://accounts.internal/erasure", false).endpoint().unwrap_err();
        assert_eq!(refused.key.as_deref(), Some("url"));
        assert!(refused.message.contains("https") && refused.message.contains("allow_insecure_http"), "{refused}");
        assert!(config("http://127.0.0.1:8080/erasure", true).endpoint().is_ok());
        assert!(config("https://accounts.internal/erasure", false).endpoint().is_ok());
        assert_eq!(config("ftp://accounts.internal/x", true).endpoint().unwrap_err().key.as_deref(), Some("url"));
    }
}
