//! The `[connectors.NAME]` keys of `kind = "loki"`, and their checks.

use crate::api::Auth;
use erasure_connector::{ConfigDuration, ConfigError, Secrets};
use serde::Deserialize;

/// `[connectors.NAME]` keys for `kind = "loki"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Where Loki serves `/loki/api/v1/...`, the delete endpoints included (a gateway that routes
    /// them to the compactor, or a single binary), e.g. `https://loki.internal:3100`.
    pub base_url: String,
    /// The LogQL stream selector of the streams to erase from, e.g. `{app="shop"}` or
    /// `{namespace=~"shop|billing"}`.
    pub selector: String,
    /// How far back deletion and lookups go: at least the retention period, e.g. `"31d"` (or a
    /// number of seconds).
    pub lookback: ConfigDuration,
    /// The tenant, sent as `X-Scope-OrgID`. Leave out for a single-tenant Loki, or when the Basic
    /// auth user names the tenant (Grafana Cloud, Enterprise Logs).
    #[serde(default)]
    pub tenant: Option<String>,
    /// Loki's `max_interval` for the delete requests: each is split into shards this long. Leave out
    /// for the compactor's `delete_max_interval`.
    #[serde(default)]
    pub max_interval: Option<ConfigDuration>,
    /// Basic auth user, with `password_env`.
    #[serde(default)]
    pub username: Option<String>,
    /// Environment variable holding the Basic auth password (on Grafana Cloud, an access policy
    /// token with `logs:read` and `logs:delete`).
    #[serde(default)]
    pub password_env: Option<String>,
    /// Environment variable holding a bearer token, for a Loki behind a proxy that takes one.
    #[serde(default)]
    pub token_env: Option<String>,
    /// Which identifiers are matched: any of `user_id`, `emails`, `phones`, `id` (the subject's id
    /// for this instance). One delete request per identifier.
    #[serde(default = "all_identifiers")]
    pub identifiers: Vec<IdentifierKind>,
    /// A subject with an identifier shorter than this many characters is refused (a permanent
    /// failure naming the kind of identifier, never its value): even as a whole token, a short id
    /// would match unrelated lines (`took 42 ms`).
    #[serde(default = "default_min_identifier_length")]
    pub min_identifier_length: usize,
    /// The forms in which a purely numeric identifier is written in log lines, `{}` standing for
    /// it, e.g. `["user_id={}", "\"user_id\":\"{}\""]`. A number is matched only in these forms,
    /// never bare: bare, `12345` would also match `latency=12345` or `order=12345` in other
    /// people's lines. A subject with a numeric identifier fails while this is empty.
    #[serde(default)]
    pub id_patterns: Vec<String>,
    /// Loki's `deletion_mode` for the tenant: `filter-and-delete` (lines are hidden from queries
    /// and removed from storage) or `filter-only` (hidden from queries but still stored: the
    /// evidence says so). `disabled` is refused: Loki then accepts no delete request.
    #[serde(default)]
    pub deletion_mode: DeletionMode,
    /// Loki's `delete_request_cancel_period` (24h by default): a delete request stays cancellable,
    /// and is not processed, until it has passed. The first check waits this long.
    #[serde(default = "default_cancel_period")]
    pub delete_request_cancel_period: ConfigDuration,
    /// Lines per `query_range` page: at most Loki's `max_entries_limit_per_query` (5000 by default).
    #[serde(default = "default_page_size")]
    pub page_size: u32,
    /// The longest range one `query_range` covers: at most Loki's `max_query_length` (721h by
    /// default). The lookback is queried in windows this long.
    #[serde(default = "default_query_window")]
    pub query_window: ConfigDuration,
    /// Counting stops at this many lines per identifier (the evidence then says "at least").
    #[serde(default = "default_max_lines_counted")]
    pub max_lines_counted: u64,
    /// When to look at the delete requests again. Loki processes them once its
    /// `delete_request_cancel_period` (24h by default) has passed.
    #[serde(default = "default_check_interval")]
    pub check_interval: ConfigDuration,
}

/// Loki's `deletion_mode` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DeletionMode {
    Disabled,
    FilterOnly,
    #[default]
    FilterAndDelete,
}

/// A kind of identifier the connector matches in log lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IdentifierKind {
    UserId,
    Emails,
    Phones,
    Id,
}

fn all_identifiers() -> Vec<IdentifierKind> {
    vec![IdentifierKind::UserId, IdentifierKind::Emails, IdentifierKind::Phones, IdentifierKind::Id]
}

fn default_min_identifier_length() -> usize {
    6
}

fn default_cancel_period() -> ConfigDuration {
    ConfigDuration::from_secs(24 * 3600)
}

fn default_page_size() -> u32 {
    1000
}

fn default_query_window() -> ConfigDuration {
    ConfigDuration::from_secs(720 * 3600)
}

fn default_max_lines_counted() -> u64 {
    10_000
}

fn default_check_interval() -> ConfigDuration {
    ConfigDuration::from_secs(3600)
}

/// A checked config: Loki's address, the trimmed stream selector, how calls sign in.
pub(crate) struct Checked {
    pub base: url::Url,
    pub selector: String,
    pub auth: Auth,
}

impl Config {
    pub(crate) fn check(&self, secrets: &Secrets) -> Result<Checked, ConfigError> {
        let url = url::Url::parse(&self.base_url)
            .map_err(|e| ConfigError::key("base_url", format!("base_url is not a URL: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(ConfigError::key("base_url", "base_url must be http or https"));
        }
        let selector = self.selector.trim().to_string();
        if !(selector.starts_with('{') && selector.ends_with('}') && selector.len() > 2) || selector.contains('\n') {
            return Err(ConfigError::key(
                "selector",
                "selector must be a LogQL stream selector such as {app=\"shop\"}, without a pipeline",
            ));
        }
        if let Some(tenant) = &self.tenant {
            let printable = tenant.chars().all(|c| c.is_ascii_graphic() && c != '|');
            if tenant.is_empty() || !printable {
                return Err(ConfigError::key(
                    "tenant",
                    "tenant must be one tenant id: printable ASCII without spaces or `|`",
                ));
            }
        }
        if self.lookback.secs() == 0 {
            return Err(ConfigError::key("lookback", "lookback must be at least one second"));
        }
        if let Some(max) = &self.max_interval {
            if max.secs() == 0 || max.get() > self.lookback.get() {
                return Err(ConfigError::key(
                    "max_interval",
                    "max_interval must be at least one second and at most the lookback",
                ));
            }
        }
        let auth = match (&self.token_env, &self.username, &self.password_env) {
            (None, None, None) => Auth::None,
            (Some(_), None, None) => Auth::Bearer(secrets.get("token_env")?.clone()),
            (None, Some(user), Some(_)) => {
                Auth::Basic { user: user.clone(), password: secrets.get("password_env")?.clone() }
            }
            (None, _, _) => return Err(ConfigError::new("username and password_env go together")),
            (Some(_), _, _) => return Err(ConfigError::new("use token_env or username and password_env, not both")),
        };
        if self.identifiers.is_empty() {
            return Err(ConfigError::key(
                "identifiers",
                "identifiers must name at least one of user_id, emails, phones, id",
            ));
        }
        for pattern in &self.id_patterns {
            let one_placeholder = pattern.matches("{}").count() == 1 && pattern.len() > 2;
            if !one_placeholder || pattern.chars().any(char::is_control) {
                return Err(ConfigError::key(
                    "id_patterns",
                    "each of id_patterns must hold `{}` once, with the text around it, such as `user_id={}`",
                ));
            }
        }
        if self.deletion_mode == DeletionMode::Disabled {
            return Err(ConfigError::key(
                "deletion_mode",
                "deletion_mode is disabled: Loki accepts no delete request, so this connector cannot erase",
            ));
        }
        if self.page_size == 0 || self.query_window.secs() == 0 || self.max_lines_counted == 0 {
            return Err(ConfigError::new("page_size, query_window and max_lines_counted must be above zero"));
        }
        Ok(Checked { base: url, selector, auth })
    }
}
