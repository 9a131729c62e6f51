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

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use erasure_connector::{
    async_trait, Connector, Ctx, Evidence, ExposeSecret, Failure, Found, HttpClient, Outcome, Pending, Secrets, Subject,
};
use serde::Deserialize;
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::NoTls;

const PARAMETER_TYPES: [Type; 4] = [Type::TEXT_ARRAY, Type::TEXT_ARRAY, Type::TEXT, Type::TEXT];

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

pub struct Sql {
    pool: Pool,
    lookup: String,
    erase: Vec<String>,
}

impl Sql {
    /// The HTTP client is unused: the database is reached directly.
    pub fn new(config: Config, secrets: &Secrets, _http: HttpClient) -> Result<Self, String> {
        if config.erase.is_empty() {
            return Err("`erase` needs at least one statement".into());
        }
        let mut pg: tokio_postgres::Config =
            config.url.parse().map_err(|_| "`url` is not a PostgreSQL URL".to_string())?;
        if config.password_env.is_some() {
            pg.password(secrets.get("password_env")?.expose_secret().as_bytes());
        }
        let manager = Manager::from_config(pg, NoTls, ManagerConfig { recycling_method: RecyclingMethod::Fast });
        let pool = Pool::builder(manager)
            .max_size(config.max_connections.max(1))
            .build()
            .map_err(|e| format!("cannot build the connection pool: {e}"))?;
        Ok(Sql { pool, lookup: config.lookup, erase: config.erase })
    }

    async fn count(&self, ctx: &Ctx, subject: &Subject) -> Result<u64, Failure> {
        let client = self.pool.get().await.map_err(pool_failure)?;
        let statement = client.prepare_typed(&self.lookup, &PARAMETER_TYPES).await.map_err(sql_failure)?;
        let row = client.query_one(&statement, &parameters(ctx, subject).refs()).await.map_err(sql_failure)?;
        let count: i64 = row.try_get(0).map_err(|_| Failure::permanent("`lookup` must return one bigint (a count)"))?;
        Ok(count.max(0) as u64)
    }

    async fn run_erase(&self, ctx: &Ctx, subject: &Subject) -> Result<Vec<u64>, Failure> {
        let mut client = self.pool.get().await.map_err(pool_failure)?;
        let tx = client.transaction().await.map_err(sql_failure)?;
        let values = parameters(ctx, subject);
        let mut affected = Vec::with_capacity(self.erase.len());
        for sql in &self.erase {
            let statement = tx.prepare_typed(sql, &PARAMETER_TYPES).await.map_err(sql_failure)?;
            affected.push(tx.execute(&statement, &values.refs()).await.map_err(sql_failure)?);
        }
        tx.commit().await.map_err(sql_failure)?;
        Ok(affected)
    }
}

#[async_trait]
impl Connector for Sql {
    fn kind(&self) -> &'static str {
        "sql"
    }

    async fn erase(&self, ctx: &Ctx, subject: &Subject) -> Outcome {
        match self.count(ctx, subject).await {
            Ok(0) => return Outcome::NothingToErase,
            Ok(_) => {}
            Err(failure) => return failure.into(),
        }
        match self.run_erase(ctx, subject).await {
            Ok(affected) if affected.iter().sum::<u64>() == 0 => Outcome::NothingToErase,
            Ok(affected) => {
                let evidence = affected
                    .iter()
                    .enumerate()
                    .fold(Evidence::default(), |e, (i, n)| e.count(&format!("statement_{}_rows", i + 1), *n))
                    .count("rows", affected.iter().sum());
                Outcome::Erased(evidence)
            }
            Err(failure) => failure.into(),
        }
    }

    async fn check(&self, ctx: &Ctx, subject: &Subject, _pending: &Pending) -> Outcome {
        self.erase(ctx, subject).await
    }

    async fn lookup(&self, ctx: &Ctx, subject: &Subject) -> Result<Found, Failure> {
        let count = self.count(ctx, subject).await?;
        Ok(Found { present: count > 0, count: Some(count) })
    }

    async fn healthcheck(&self) -> Result<(), Failure> {
        let client = self.pool.get().await.map_err(pool_failure)?;
        client.prepare_typed(&self.lookup, &PARAMETER_TYPES).await.map_err(sql_failure)?;
        for sql in &self.erase {
            client.prepare_typed(sql, &PARAMETER_TYPES).await.map_err(sql_failure)?;
        }
        Ok(())
    }
}

struct Parameters {
    emails: Vec<String>,
    phones: Vec<String>,
    user_id: Option<String>,
    system_id: Option<String>,
}

impl Parameters {
    fn refs(&self) -> [&(dyn ToSql + Sync); 4] {
        [&self.emails, &self.phones, &self.user_id, &self.system_id]
    }
}

fn parameters(ctx: &Ctx, subject: &Subject) -> Parameters {
    Parameters {
        emails: subject.emails().to_vec(),
        phones: subject.phones().to_vec(),
        user_id: subject.user_id().map(str::to_string),
        system_id: subject.id_in(&ctx.instance).map(str::to_string),
    }
}

/// Server errors carry a SQLSTATE: serialisation failures, deadlocks, lock and statement
/// timeouts and "too many connections" retry; everything else (syntax, permissions, a missing
/// table) needs a human. Messages name objects, never the bound values.
fn sql_failure(error: tokio_postgres::Error) -> Failure {
    let Some(db) = error.as_db_error() else {
        return Failure::transient(format!("the database could not be reached: {error}"));
    };
    let code = db.code().code();
    let reason = format!("the database refused a statement: {} (SQLSTATE {code})", db.message());
    match code {
        "40001" | "40P01" | "55P03" | "57014" | "53300" | "57P01" | "57P03" => Failure::transient(reason),
        _ => Failure::permanent(reason),
    }
}

fn pool_failure(error: deadpool_postgres::PoolError) -> Failure {
    match error {
        deadpool_postgres::PoolError::Backend(e) => match e.as_db_error() {
            Some(db) if db.code().code() == "28P01" || db.code().code() == "28000" => {
                Failure::permanent(format!("the database refused the credentials (SQLSTATE {})", db.code().code()))
            }
            _ => sql_failure(e),
        },
        other => Failure::transient(format!("no database connection: {other}")),
    }
}
