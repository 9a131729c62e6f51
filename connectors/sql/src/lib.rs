//! The `sql` connector: erases a person from an internal PostgreSQL database with statements
//! written in config. Identifiers are always bound as parameters, never spliced into SQL:
//!
//! | parameter | type | value |
//! | --- | --- | --- |
//! | `$1` | `text[]` | the subject's e-mails (normalised) |
//! | `$2` | `text[]` | the subject's phones (E.164) |
//! | `$3` | `text` | the product's user id, or NULL |
//! | `$4` | `text` | the subject's id in this system (`ids.<instance>`), or NULL |
//!
//! A statement may use any of them. `lookup` returns one count; the `erase` statements run in
//! one transaction and their affected rows are the evidence.
//!
//! The connection is TLS as for the worker's own database: the URL's `sslmode` (absent:
//! `require` beyond loopback), `ca_file` for a private CA, through the SDK's `PostgresTls`.
//!
//! - [`config`]: the config keys and their checks.
//! - `api`: the database calls, and their failures sorted into retry or human.
//! - `erasure`: count, erase, evidence.

mod api;
pub mod config;
mod erasure;

pub use config::Config;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use erasure_connector::{
    async_trait, ConfigError, Connector, Ctx, Failure, Found, HttpClient, Outcome, Secrets, Subject,
};

pub struct Sql {
    pool: Pool,
    lookup: String,
    erase: Vec<String>,
}

impl Sql {
    /// The HTTP client is unused: the database is reached directly.
    pub fn new(config: Config, secrets: &Secrets, _http: HttpClient) -> Result<Self, ConfigError> {
        let pg = config.database(secrets)?;
        let tls = config.tls()?;
        let manager =
            Manager::from_config(pg, tls.connector(), ManagerConfig { recycling_method: RecyclingMethod::Fast });
        let pool = Pool::builder(manager)
            .max_size(config.max_connections.max(1))
            .build()
            .map_err(|e| ConfigError::new(format!("cannot build the connection pool: {e}")))?;
        Ok(Sql { pool, lookup: config.lookup, erase: config.erase })
    }
}

#[async_trait]
impl Connector for Sql {
    fn kind(&self) -> &'static str {
        "sql"
    }

    async fn erase(&self, ctx: &Ctx, subject: &Subject) -> Outcome {
        self.erase_rows(ctx, subject).await
    }

    /// At once: the rows are gone when the transaction commits.
    fn verify_after(&self) -> Vec<std::time::Duration> {
        vec![std::time::Duration::ZERO]
    }

    async fn lookup(&self, ctx: &Ctx, subject: &Subject) -> Result<Found, Failure> {
        let count = self.count(ctx, subject).await?;
        Ok(Found { present: count > 0, count: Some(count) })
    }

    async fn healthcheck(&self) -> Result<(), Failure> {
        self.prepare_all().await
    }
}
