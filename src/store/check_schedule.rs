//! Scheduling the verification checks of a task that just ended (migration V13), inside the
//! transaction that records its outcome. Claiming and recording them is `store::verification`.

use super::Tx;
use super::{secs, Prepared, StoreError};
use chrono::{DateTime, Utc};
use serde_json::json;
use std::time::Duration;
use uuid::Uuid;

/// Schedule the checks of tasks that just ended, inside the caller's transaction: one per delay;
/// none given (`verify_after = []`) records at once that the system is not verified. `ended`
/// holds (task, request, delays) in request id order (the audit chains' lock order).
pub(crate) async fn schedule(
    tx: &Tx<'_>,
    ended: &[(i64, Uuid, &[Duration])],
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    if ended.is_empty() {
        return Ok(());
    }
    let unverified: Vec<i64> = ended.iter().filter(|(_, _, d)| d.is_empty()).map(|(t, _, _)| *t).collect();
    let (due_tasks, after): (Vec<i64>, Vec<f64>) =
        ended.iter().flat_map(|(t, _, delays)| delays.iter().map(move |d| (*t, secs(*d)))).unzip();
    if !unverified.is_empty() {
        let sql = "INSERT INTO verification_checks (request_id, task_id, connector, generation, after_seconds, due_at,
                                                    done_at, result, last_error, created_at, updated_at)
                   SELECT t.request_id, t.id, t.connector, r.generation, 0, $2, $2, 'not_verifiable',
                          'not looked up: verify_after is empty for this instance (its kind cannot look up, or its config says so)', $2, $2
                   FROM tasks t JOIN requests r ON r.id = t.request_id WHERE t.id = ANY($1)
                   ORDER BY t.request_id, t.id";
        tx.execute(&tx.prepared(sql).await?, &[&unverified, &now]).await?;
    }
    if !due_tasks.is_empty() {
        let sql = "INSERT INTO verification_checks (request_id, task_id, connector, generation, after_seconds, due_at,
                                                    created_at, updated_at)
                   SELECT t.request_id, t.id, t.connector, r.generation, x.a, $2::timestamptz + make_interval(secs => x.a), $2, $2
                   FROM unnest($1::bigint[], $3::float8[]) WITH ORDINALITY AS x(task_id, a, n)
                   JOIN tasks t ON t.id = x.task_id JOIN requests r ON r.id = t.request_id
                   ORDER BY x.n";
        tx.execute(&tx.prepared(sql).await?, &[&due_tasks, &now, &after]).await?;
    }
    let request_ids: Vec<Uuid> = ended.iter().map(|(_, r, _)| *r).collect();
    let task_ids: Vec<i64> = ended.iter().map(|(t, _, _)| *t).collect();
    let details: Vec<serde_json::Value> = ended
        .iter()
        .map(|(_, _, delays)| json!({ "after_seconds": delays.iter().map(|d| secs(*d)).collect::<Vec<f64>>() }))
        .collect();
    let sql = "INSERT INTO audit_log (request_id, task_id, at, actor, event, detail)
               SELECT r, t, $4, 'runner', 'verification.scheduled', d
               FROM unnest($1::uuid[], $2::bigint[], $3::jsonb[]) WITH ORDINALITY AS x(r, t, d, n)
               ORDER BY n";
    tx.execute(&tx.prepared(sql).await?, &[&request_ids, &task_ids, &details, &now]).await?;
    Ok(())
}
