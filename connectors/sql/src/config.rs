//! The `[connectors.NAME]` keys of `kind = "sql"`, and their checks.

use erasure_connector::{ConfigError, ExposeSecret, Secrets};
use serde::Deserialize;

/// `[connectors.NAME]` keys for `kind = "sql"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// PostgreSQL URL without the password, e.g. `postgres://erasure@orders-db:5432/orders`.
    pub url: String,
    /// Environment variable holding the password, if the URL has none.
    #[serde(default)]
    pub password_env: Option<String>,
    /// A query returning one number: how many rows hold data about the subject.
    pub lookup: String,
    /// Statements that erase (DELETE) or anonymise (UPDATE) the subject's rows, run in order in
    /// one transaction.
    pub erase: Vec<String>,
    /// Connections this instance keeps open per worker process.
    #[serde(default = "default_connections")]
    pub max_connections: usize,
}

fn default_connections() -> usize {
    2
}

impl Config {
    /// The database to connect to, with its password; `erase` checked.
    pub(crate) fn database(&self, secrets: &Secrets) -> Result<tokio_postgres::Config, ConfigError> {
        if self.erase.is_empty() {
            return Err(ConfigError::key("erase", "`erase` needs at least one statement"));
        }
        let mut pg: tokio_postgres::Config =
            self.url.parse().map_err(|_| ConfigError::key("url", "`url` is not a PostgreSQL URL"))?;
        if self.password_env.is_some() {
            pg.password(secrets.get("password_env")?.expose_secret().as_bytes());
        }
        Ok(pg)
    }
}
