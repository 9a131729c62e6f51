//! Scheduling the verification checks of a task that just ended (migration V13), inside the
//! transaction that records its outcome. Claiming and recording them is `store::verification`.

use super::{audit, secs, StoreError};
use chrono::{DateTime, Utc};
use deadpool_postgres::Transaction;
use serde_json::json;
use std::time::Duration;
use uuid::Uuid;

/// Schedule the checks of a task that just ended, inside the caller's transaction: one per delay;
/// none given (`verify_after = []`) records at once that the system is not verified.
pub(crate) async fn schedule(
    tx: &Transaction<'_>,
    task_id: i64,
    request_id: Uuid,
    delays: &[Duration],
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let after: Vec<f64> = delays.iter().map(|d| secs(*d)).collect();
    if after.is_empty() {
        tx.execute(
            "INSERT INTO verification_checks (request_id, task_id, connector, generation, after_seconds, due_at,
                                              done_at, result, last_error, created_at, updated_at)
             SELECT t.request_id, t.id, t.connector, r.generation, 0, $2, $2, 'not_verifiable',
                    'not looked up: verify_after is empty for this instance (its kind cannot look up, or its config says so)', $2, $2
             FROM tasks t JOIN requests r ON r.id = t.request_id WHERE t.id = $1",
            &[&task_id, &now],
        )
        .await?;
    } else {
        tx.execute(
            "INSERT INTO verification_checks (request_id, task_id, connector, generation, after_seconds, due_at,
                                              created_at, updated_at)
             SELECT t.request_id, t.id, t.connector, r.generation, a, $2::timestamptz + make_interval(secs => a), $2, $2
             FROM tasks t JOIN requests r ON r.id = t.request_id, unnest($3::float8[]) AS a
             WHERE t.id = $1",
            &[&task_id, &now, &after],
        )
        .await?;
    }
    audit(tx, request_id, Some(task_id), now, "runner", "verification.scheduled", json!({ "after_seconds": after }))
        .await?;
    Ok(())
}
