//! Every SQL statement of the service. The rest of the code calls these functions and never
//! writes SQL. "Now" is always a parameter, from the injected clock.
//!
//! - `migrate`: embedded numbered migrations under an advisory lock.
//! - `requests`: intake's transaction (request + tasks + audit).
//! - `tasks`: claim with `FOR UPDATE SKIP LOCKED`, leases and fencing, outcomes, rescue.
//! - `outbox`: events waiting for the relay. `mail`: messages to the person waiting for the sender.
//! - `ratelimit`: the shared call slots of rate-limited connectors.
//! - `verification`: the checks after erasure (lookups), reopening and closing; `check_schedule`:
//!   the checks a task's end schedules.
//! - `rehash`: `erasure rehash`, identifier hashes recomputed after the normalisation changed.
//! - `sealed`: the encrypted columns (identifiers at rest); `forget`: the tombstones, the
//!   pruning of sent messages, `erasure keys rotate` and suppression lookups.

pub mod actions;
pub mod audit_chain;
pub mod charts;
mod check_schedule;
mod closing;
pub mod dashboard;
pub mod dead_letters;
pub mod forget;
pub mod gauges;
pub mod grace;
pub mod hash_keys;
mod intake_batch;
pub mod legal_holds;
pub mod mail;
pub mod migrate;
pub mod outbox;
pub mod queue;
pub mod ratelimit;
pub mod receipts;
pub mod refused;
pub mod rehash;
pub mod rekey;
pub mod requests;
pub mod sealed;
pub mod sessions;
pub mod status;
pub mod suppressions;
pub mod tasks;
mod tx;
pub mod verification;
pub mod wake;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use erasure_connector::tls::PostgresTls;
use secrecy::{ExposeSecret, SecretString};

pub(crate) use tx::Tx;
pub use wake::Channel;

/// SQLSTATE classes of a value the database will refuse again: 22, 23, 54.
const REFUSED_VALUE_CLASSES: [&str; 3] = ["22", "23", "54"];

/// Database errors. Their text never holds a subject identifier: identifiers are parameters.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {}", describe(.0))]
    Db(#[from] tokio_postgres::Error),
    #[error("database pool error: {0}")]
    Pool(#[from] deadpool_postgres::PoolError),
    #[error("stored data is unreadable: {0}")]
    Corrupt(String),
    #[error("sealed data: {0}")]
    Vault(#[from] crate::vault::VaultError),
}

impl StoreError {
    /// The database refused a value we sent (SQLSTATE class 22, data exception; 23, integrity
    /// constraint; 54, a program limit such as an index row too large): asking again with the
    /// same values gets the same answer.
    pub fn is_refused_value(&self) -> bool {
        self.sqlstate().is_some_and(|c| REFUSED_VALUE_CLASSES.iter().any(|class| c.starts_with(class)))
    }

    /// Worth asking again as it is: no connection or pool, or a server answer about its own
    /// state (08 connection, 40 rollback such as a deadlock, 53 resources, 55 object in use, 57
    /// operator intervention, 58 system error), or about a schema not migrated yet (42), which
    /// would refuse every message alike. Any other server error may be caused by the message.
    pub fn is_transient(&self) -> bool {
        match self.sqlstate() {
            None => true,
            Some(code) => ["08", "40", "42", "53", "55", "57", "58"].iter().any(|class| code.starts_with(class)),
        }
    }

    /// The SQLSTATE of a database error, for logs (never the server's message, which can quote
    /// a value).
    pub fn sqlstate(&self) -> Option<&str> {
        match self {
            StoreError::Db(error) => error.code().map(|c| c.code()),
            _ => None,
        }
    }
}

/// The connection pool and the statements.
#[derive(Clone)]
pub struct Store {
    pool: Pool,
    /// Seals and opens what identifies a person (`sealed`); empty until `with_vault`.
    vault: std::sync::Arc<crate::vault::Vault>,
    /// `[[retention.copies]]`: named in the events of settled requests.
    copies: std::sync::Arc<[crate::config::ExpiringCopy]>,
    /// Each connector instance's label, by instance name: named in the events of settled requests.
    labels: std::sync::Arc<std::collections::BTreeMap<String, erasure_connector::KindLabel>>,
    /// `database.direct_url` (PostgreSQL itself, not a pooler): the migrations' advisory lock
    /// needs one session. `None`: a pooled connection, which is then a real session.
    direct: Option<(SecretString, PostgresTls)>,
    /// `[verification] enabled`: a request that completes with no check due closes at once.
    verification: bool,
    /// The mass-deletion brake's recent count (`requests::BrakeCount`), shared by this process.
    brake_count: std::sync::Arc<requests::BrakeCount>,
    /// Intake's group commit (`intake_batch`), shared by this process.
    intake: std::sync::Arc<intake_batch::IntakeQueue>,
    /// The loops to wake after a commit, here and in the other processes.
    wakes: std::sync::Arc<wake::Wakes>,
}

impl Store {
    /// The pool connects lazily; each connection honours the URL's `sslmode` with `tls`.
    pub fn connect(url: &SecretString, pool_size: usize, tls: &PostgresTls) -> Result<Store, StoreError> {
        let config: tokio_postgres::Config =
            url.expose_secret().parse().map_err(|_| StoreError::Corrupt("the database URL cannot be parsed".into()))?;
        let manager =
            Manager::from_config(config, tls.connector(), ManagerConfig { recycling_method: RecyclingMethod::Fast });
        let pool = Pool::builder(manager)
            .max_size(pool_size)
            .build()
            .map_err(|e| StoreError::Corrupt(format!("cannot build the database pool: {e}")))?;
        Ok(Store {
            wakes: wake::Wakes::new(pool.clone()),
            pool,
            vault: Default::default(),
            copies: std::sync::Arc::new([]),
            labels: Default::default(),
            direct: None,
            verification: false,
            brake_count: Default::default(),
            intake: Default::default(),
        })
    }

    /// The data keys that seal and open identifiers.
    pub fn with_vault(mut self, vault: crate::vault::Vault) -> Store {
        self.vault = std::sync::Arc::new(vault);
        self
    }

    /// The copies no API reaches (`[[retention.copies]]`) that settled requests' events name.
    pub fn with_expiring_copies(mut self, copies: &[crate::config::ExpiringCopy]) -> Store {
        self.copies = copies.into();
        self
    }

    /// The labels of the connector instances that have one (`registry::labels`), which settled
    /// requests' events give their systems.
    pub fn with_system_labels(
        mut self,
        labels: std::collections::BTreeMap<String, erasure_connector::KindLabel>,
    ) -> Store {
        self.labels = labels.into();
        self
    }

    /// Take the migrations' connection from `url` (`database.direct_url`) instead of the pool.
    pub fn with_direct_url(mut self, url: SecretString, tls: &PostgresTls) -> Store {
        self.direct = Some((url, tls.clone()));
        self
    }

    /// Verification on (`[verification] enabled`): requests close once no check is left, also
    /// those that complete with none due (every system kept, or none that can be looked up).
    pub fn with_verification(mut self, enabled: bool) -> Store {
        self.verification = enabled;
        self
    }

    /// Apply pending migrations (safe to call from many processes at once): over the direct
    /// connection when there is one, since a session advisory lock means nothing through a pooler
    /// in transaction mode.
    pub async fn migrate(&self) -> Result<usize, StoreError> {
        let Some((url, tls)) = &self.direct else {
            let mut client = self.pool.get().await?;
            return migrate::run(&mut client).await;
        };
        let (mut client, connection) = tokio_postgres::connect(url.expose_secret(), tls.connector()).await?;
        let connection = tokio::spawn(connection);
        let result = migrate::run(&mut client).await;
        drop(client);
        let _ = connection.await;
        result
    }

    pub async fn ping(&self) -> Result<(), StoreError> {
        self.pool.get().await?.execute("SELECT 1", &[]).await?;
        Ok(())
    }

    pub(crate) async fn client(&self) -> Result<deadpool_postgres::Object, StoreError> {
        Ok(self.pool.get().await?)
    }

    /// A transaction on `client` that wakes the loops it marks once it committed.
    pub(crate) async fn begin<'a>(&'a self, client: &'a mut deadpool_postgres::Object) -> Result<Tx<'a>, StoreError> {
        Ok(Tx::new(client.transaction().await?, &self.wakes))
    }

    /// This process's wake-ups: a loop subscribes to its channel, a listener skips this process's
    /// own notifications.
    pub fn wakes(&self) -> &std::sync::Arc<wake::Wakes> {
        &self.wakes
    }
}

/// The server's message when there is one ("db error" alone says nothing), except for a refused
/// value, whose message can quote the value (22P02 quotes the text it could not parse).
fn describe(error: &tokio_postgres::Error) -> String {
    match error.as_db_error() {
        Some(db) if REFUSED_VALUE_CLASSES.iter().any(|class| db.code().code().starts_with(class)) => {
            format!("the database refused a value ({})", db.code().code())
        }
        Some(db) => format!("{} ({})", db.message(), db.code().code()),
        None => error.to_string(),
    }
}

/// Seconds as a PostgreSQL parameter (`make_interval(secs => $n)`).
pub(crate) fn secs(d: std::time::Duration) -> f64 {
    d.as_secs_f64()
}

/// Statements parsed and planned once per pooled connection (deadpool's statement cache), then
/// executed in one round trip each: the hot path's statements are fixed strings, so the cache
/// stays as small as the number of call sites. A PgBouncer in transaction mode must keep prepared
/// statements (1.21 or later, `max_prepared_statements` > 0; README, "Deploying").
pub(crate) trait Prepared {
    async fn prepared(&self, sql: &str) -> Result<tokio_postgres::Statement, StoreError>;
}

impl Prepared for deadpool_postgres::Transaction<'_> {
    async fn prepared(&self, sql: &str) -> Result<tokio_postgres::Statement, StoreError> {
        Ok(self.prepare_cached(sql).await?)
    }
}

impl Prepared for deadpool_postgres::Object {
    async fn prepared(&self, sql: &str) -> Result<tokio_postgres::Statement, StoreError> {
        Ok(self.prepare_cached(sql).await?)
    }
}

/// One audit row of [`audit_many`]: request, task, event and detail.
pub(crate) struct AuditRow {
    pub request_id: uuid::Uuid,
    pub task_id: Option<i64>,
    pub event: String,
    pub detail: serde_json::Value,
}

/// Append several rows to the audit log in one statement, in the order given (callers give them
/// in request id order, the order the chain heads are locked in, V11).
pub(crate) async fn audit_many(
    tx: &deadpool_postgres::Transaction<'_>,
    rows: &[AuditRow],
    at: chrono::DateTime<chrono::Utc>,
    actor: &str,
) -> Result<(), StoreError> {
    if rows.is_empty() {
        return Ok(());
    }
    let request_ids: Vec<uuid::Uuid> = rows.iter().map(|r| r.request_id).collect();
    let task_ids: Vec<Option<i64>> = rows.iter().map(|r| r.task_id).collect();
    let events: Vec<&str> = rows.iter().map(|r| r.event.as_str()).collect();
    let details: Vec<&serde_json::Value> = rows.iter().map(|r| &r.detail).collect();
    let sql = "INSERT INTO audit_log (request_id, task_id, at, actor, event, detail)
               SELECT r, t, $5, $6, e, d FROM unnest($1::uuid[], $2::bigint[], $3::text[], $4::jsonb[])
                    WITH ORDINALITY AS x(r, t, e, d, n)
               ORDER BY n";
    tx.execute(&tx.prepared(sql).await?, &[&request_ids, &task_ids, &events, &details, &at, &actor]).await?;
    Ok(())
}

/// Append one row to the audit log, inside the caller's transaction.
pub(crate) async fn audit(
    tx: &deadpool_postgres::Transaction<'_>,
    request_id: uuid::Uuid,
    task_id: Option<i64>,
    at: chrono::DateTime<chrono::Utc>,
    actor: &str,
    event: &str,
    detail: serde_json::Value,
) -> Result<(), StoreError> {
    let sql = "INSERT INTO audit_log (request_id, task_id, at, actor, event, detail) VALUES ($1, $2, $3, $4, $5, $6)";
    tx.execute(&tx.prepared(sql).await?, &[&request_id, &task_id, &at, &actor, &event, &detail]).await?;
    Ok(())
}
