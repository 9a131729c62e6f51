//! Numbered SQL migrations, embedded in the binary and applied at start-up under an advisory
//! lock, so any number of workers can start together.

use super::StoreError;
use tokio_postgres::Client;

/// `(version, name, sql)`, in order. Add a file `migrations/V{n}__{name}.sql` and a line here.
const MIGRATIONS: &[(i32, &str, &str)] = &[
    (1, "init", include_str!("migrations/V1__init.sql")),
    (2, "operators", include_str!("migrations/V2__operators.sql")),
    (3, "deadlines_dead_letters", include_str!("migrations/V3__deadlines_dead_letters.sql")),
    (4, "grace_and_legal_holds", include_str!("migrations/V4__grace_and_legal_holds.sql")),
    (5, "person_messages", include_str!("migrations/V5__person_messages.sql")),
    (6, "connector_progress", include_str!("migrations/V6__connector_progress.sql")),
    (7, "signers", include_str!("migrations/V7__signers.sql")),
    (8, "api_hardening", include_str!("migrations/V8__api_hardening.sql")),
    (9, "bounded_gauges", include_str!("migrations/V9__bounded_gauges.sql")),
    (10, "legal_hold_ids", include_str!("migrations/V10__legal_hold_ids.sql")),
    (11, "audit_chain_receipts", include_str!("migrations/V11__audit_chain_receipts.sql")),
    (12, "forgetting", include_str!("migrations/V12__forgetting.sql")),
    (13, "verification", include_str!("migrations/V13__verification.sql")),
    (14, "hash_key_ids", include_str!("migrations/V14__hash_key_ids.sql")),
    (15, "traceparent", include_str!("migrations/V15__traceparent.sql")),
    (17, "dashboard_charts", include_str!("migrations/V17__dashboard_charts.sql")),
    (18, "ready_checks", include_str!("migrations/V18__ready_checks.sql")),
    (19, "open_checks_by_request", include_str!("migrations/V19__open_checks_by_request.sql")),
    (20, "chain_head_in_one_update", include_str!("migrations/V20__chain_head_in_one_update.sql")),
];

/// An arbitrary constant shared by every worker: "erasure" in ASCII.
const LOCK_KEY: i64 = 0x0065_7261_7375_7265;

/// Apply every migration not applied yet; returns how many ran. When none is pending it reads
/// and writes nothing, so a runtime role without DDL rights (deploy/sql/roles.sql) starts on a
/// schema its migration Job brought up to date.
pub async fn run(client: &mut Client) -> Result<usize, StoreError> {
    if pending(client).await?.is_empty() {
        return Ok(0);
    }
    client.execute("SELECT pg_advisory_lock($1)", &[&LOCK_KEY]).await?;
    let result = apply_pending(client).await;
    client.execute("SELECT pg_advisory_unlock($1)", &[&LOCK_KEY]).await?;
    result
}

/// The versions not applied yet (all of them before `schema_migrations` exists); no DDL.
async fn pending(client: &Client) -> Result<Vec<i32>, StoreError> {
    let exists: bool = client.query_one("SELECT to_regclass('schema_migrations') IS NOT NULL", &[]).await?.get(0);
    let applied: Vec<i32> = if exists {
        client.query("SELECT version FROM schema_migrations", &[]).await?.iter().map(|r| r.get(0)).collect()
    } else {
        Vec::new()
    };
    Ok(MIGRATIONS.iter().map(|(version, ..)| *version).filter(|v| !applied.contains(v)).collect())
}

async fn apply_pending(client: &mut Client) -> Result<usize, StoreError> {
    client
        .batch_execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (
                 version integer PRIMARY KEY,
                 name text NOT NULL,
                 applied_at timestamptz NOT NULL DEFAULT now())",
        )
        .await?;
    let applied: Vec<i32> =
        client.query("SELECT version FROM schema_migrations", &[]).await?.iter().map(|r| r.get(0)).collect();
    let mut ran = 0;
    for (version, name, sql) in MIGRATIONS {
        if applied.contains(version) {
            continue;
        }
        let tx = client.transaction().await?;
        tx.batch_execute(sql).await?;
        tx.execute("INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", &[version, name]).await?;
        tx.commit().await?;
        tracing::info!(version, name, "Applied a database migration.");
        ran += 1;
    }
    Ok(ran)
}
