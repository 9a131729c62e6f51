//! The `[connectors.NAME]` keys of `kind = "intercom"`, and their checks.

use erasure_connector::{ConfigError, SecretString, Secrets};
use serde::Deserialize;

/// `[connectors.NAME]` keys for `kind = "intercom"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Where the workspace's data is hosted: `us` (api.intercom.io, the default), `eu`
    /// (api.eu.intercom.io) or `au` (api.au.intercom.io).
    #[serde(default)]
    pub region: Region,
    /// Overrides the region's API host, e.g. `http://127.0.0.1:18089/intercom` for the simulator.
    #[serde(default)]
    pub base_url: Option<String>,
    /// Environment variable holding the access token (of an Intercom app with read and write
    /// access to contacts and conversations).
    pub access_token_env: String,
    /// Results per page of the contact and conversation searches, 1 to 150.
    #[serde(default = "default_page_size")]
    pub page_size: u32,
}

fn default_page_size() -> u32 {
    50
}

/// Intercom's data-hosting regions, each with its own API host.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Region {
    #[default]
    Us,
    Eu,
    Au,
}

impl Region {
    pub fn base_url(self) -> &'static str {
        match self {
            Region::Us => "https://api.intercom.io",
            Region::Eu => "https://api.eu.intercom.io",
            Region::Au => "https://api.au.intercom.io",
        }
    }
}

impl Config {
    /// The API's base URL and the access token, checked.
    pub(crate) fn check(&self, secrets: &Secrets) -> Result<(String, SecretString), ConfigError> {
        let token = secrets.get("access_token_env")?.clone();
        let base = self.base_url.clone().unwrap_or_else(|| self.region.base_url().to_string());
        let url = url::Url::parse(&base)
            .map_err(|e| ConfigError::key("base_url", format!("`base_url` is not a URL: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") || url.query().is_some() || url.fragment().is_some() {
            return Err(ConfigError::key(
                "base_url",
                "`base_url` must be an http or https URL without a query or a fragment",
            ));
        }
        if !(1..=150).contains(&self.page_size) {
            return Err(ConfigError::key("page_size", "`page_size` must be 1 to 150"));
        }
        Ok((base, token))
    }
}
