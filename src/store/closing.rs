//! Closing a completed request once no verification check of it is left (`erasure.closed`):
//! called when a check passes (`store::verification`) and when a request completes with none due
//! (`store::tasks::settle`).

use super::outbox::enqueue;
use super::sealed::{identifiers_from, IDENTIFIER_COLUMNS};
use super::Tx;
use super::{audit, Prepared, StoreError};
use crate::events::{self, CheckRecord, Closed, VerifiedSystem};
use crate::model::TaskState;
use crate::vault::Vault;
use chrono::{DateTime, Utc};
use serde_json::json;
use uuid::Uuid;

/// A completed request with no check left is closed: its stored subject is forgotten and
/// `erasure.closed` lists each system's checks. `true` if it closed now.
pub(crate) async fn close_if_verified(
    tx: &Tx<'_>,
    vault: &Vault,
    request_id: Uuid,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let Some(request) = tx
        .query_opt(
            &tx.prepared(&format!(
                "UPDATE requests r SET state = 'closed', updated_at = $2
                 WHERE id = $1 AND state = 'completed'
                   AND NOT EXISTS (SELECT 1 FROM verification_checks c WHERE c.request_id = $1 AND c.done_at IS NULL)
                 RETURNING generation, requested_at, finished_at, {IDENTIFIER_COLUMNS}"
            ))
            .await?,
            &[&request_id, &now],
        )
        .await?
    else {
        return Ok(false);
    };
    let tasks = tx
        .query(
            &tx.prepared("SELECT id, connector, kind, state FROM tasks WHERE request_id = $1 ORDER BY connector")
                .await?,
            &[&request_id],
        )
        .await?;
    let checks = tx
        .query(
            &tx.prepared(
                "SELECT task_id, after_seconds, done_at, result, count FROM verification_checks
             WHERE request_id = $1 AND result <> 'superseded' ORDER BY task_id, id",
            )
            .await?,
            &[&request_id],
        )
        .await?;
    let systems = tasks
        .iter()
        .map(|t| {
            let task_id: i64 = t.get(0);
            let state = TaskState::parse(t.get(3)).ok_or_else(|| StoreError::Corrupt("unknown task state".into()))?;
            let records: Vec<CheckRecord> = checks
                .iter()
                .filter(|c| c.get::<_, i64>(0) == task_id)
                .map(|c| CheckRecord {
                    after_seconds: c.get(1),
                    checked_at: c.get(2),
                    result: c.get(3),
                    count: c.get(4),
                })
                .collect();
            Ok(VerifiedSystem::new(t.get(1), t.get(2), state, records))
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    let body = Closed {
        generation: request.get(0),
        requested_at: request.get(1),
        finished_at: request.get(2),
        closed_at: now,
        verification: systems,
    };
    // The identifiers themselves go with the next sweep (`forget`), once this event is sent.
    let reply_to = identifiers_from(vault, request_id, &request, 3)?.and_then(|i| i.reply_to);
    let event = events::build(request_id, &body, reply_to);
    let message_id = event.message_id;
    enqueue(tx, vault, &event, now).await?;
    audit(tx, request_id, None, now, actor, "request.closed", json!({ "event_message_id": message_id })).await?;
    Ok(true)
}
