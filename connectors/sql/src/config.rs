//! The `[connectors.NAME]` keys of `kind = "sql"`, and their checks.

use erasure_connector::tls::PostgresTls;
use erasure_connector::transport::{resolved_ssl_mode, SslMode};
use erasure_connector::{ConfigError, ExposeSecret, Secrets};
use serde::Deserialize;
use std::path::PathBuf;

/// `[connectors.NAME]` keys for `kind = "sql"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// PostgreSQL URL without the password, e.g. `postgres://erasure@orders-db:5432/orders`.
    /// Its `sslmode` (`disable`, `prefer` or `require`) is read as for the worker's own
    /// database: absent, `require` unless every host is loopback or a Unix socket (then
    /// `prefer`). With TLS the certificate and the host name are always verified.
    pub url: String,
    /// PEM file of the CA(s) that vouch for this database's certificate; they replace the
    /// system's roots. Unset: the system's roots.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
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
    /// The database to connect to, with its password and the `sslmode` in force; `erase`
    /// checked.
    pub(crate) fn database(&self, secrets: &Secrets) -> Result<tokio_postgres::Config, ConfigError> {
        if self.erase.is_empty() {
            return Err(ConfigError::key("erase", "`erase` needs at least one statement"));
        }
        let mode = resolved_ssl_mode(&self.url).map_err(|message| ConfigError::key("url", message))?;
        let mut pg: tokio_postgres::Config =
            self.url.parse().map_err(|_| ConfigError::key("url", "`url` is not a PostgreSQL URL"))?;
        pg.ssl_mode(match mode {
            SslMode::Disable => tokio_postgres::config::SslMode::Disable,
            SslMode::Prefer => tokio_postgres::config::SslMode::Prefer,
            SslMode::Require => tokio_postgres::config::SslMode::Require,
        });
        if self.password_env.is_some() {
            pg.password(secrets.get("password_env")?.expose_secret().as_bytes());
        }
        Ok(pg)
    }

    /// The TLS connector, trusting `ca_file` (read and checked now) or the system's roots.
    pub(crate) fn tls(&self) -> Result<PostgresTls, ConfigError> {
        PostgresTls::new(self.ca_file.as_deref()).map_err(|e| ConfigError::key("ca_file", e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio_postgres::config::SslMode as Mode;

    fn mode(url: &str) -> Result<Mode, ConfigError> {
        let config = Config {
            url: url.into(),
            ca_file: None,
            password_env: None,
            lookup: "SELECT 0".into(),
            erase: vec!["SELECT 0".into()],
            max_connections: 1,
        };
        config.database(&Secrets::default()).map(|pg| pg.get_ssl_mode())
    }

    #[test]
    fn sslmode_is_require_beyond_loopback_as_for_the_worker_and_an_explicit_one_wins() {
        assert_eq!(mode("postgres://erasure@orders-db:5432/orders").unwrap(), Mode::Require);
        assert_eq!(mode("postgres://erasure@127.0.0.1:5432/orders").unwrap(), Mode::Prefer);
        assert_eq!(mode("postgres://erasure@/orders?host=/var/run/postgresql").unwrap(), Mode::Prefer);
        assert_eq!(mode("postgres://erasure@orders-db/orders?sslmode=disable").unwrap(), Mode::Disable);
        assert_eq!(mode("postgres://erasure@127.0.0.1/orders?sslmode=require").unwrap(), Mode::Require);
        let refused = mode("postgres://erasure@orders-db/orders?sslmode=verify-full").unwrap_err();
        assert_eq!(refused.key.as_deref(), Some("url"));
        assert!(refused.message.contains("verify-full"), "{}", refused.message);
    }

    #[test]
    fn a_bad_ca_file_is_refused_naming_the_key_and_the_file() {
        let config = Config {
            url: "postgres://erasure@orders-db/orders".into(),
            ca_file: Some("/nonexistent/orders-ca-4242.pem".into()),
            password_env: None,
            lookup: "SELECT 0".into(),
            erase: vec!["SELECT 0".into()],
            max_connections: 1,
        };
        let refused = config.tls().err().expect("refused");
        assert_eq!(refused.key.as_deref(), Some("ca_file"));
        assert!(refused.message.contains("/nonexistent/orders-ca-4242.pem"), "{}", refused.message);
    }
}
