//! What a receipt says, read in one snapshot: the request, each of its tasks (with the time of
//! its first attempt, from the audit log) and its audit chain's head.

use super::sealed::{identifiers_from, IDENTIFIER_COLUMNS};
use super::{Store, StoreError};
use crate::model::{RequestState, TaskState};
use chrono::{DateTime, Utc};
use serde_json::Value;
use std::collections::BTreeMap;
use uuid::Uuid;

#[derive(Debug, Clone)]
pub struct ReceiptData {
    pub request_id: Uuid,
    pub state: RequestState,
    pub requested_at: DateTime<Utc>,
    pub received_at: DateTime<Utc>,
    pub deadline_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    /// The stored subject while it is kept (none once the request is forgotten): receipts withhold any evidence
    /// text that repeats one of its identifiers.
    pub subject: Option<Value>,
    pub tasks: Vec<ReceiptTask>,
    /// The request's audit chain: its length and last hash (SHA-256).
    pub audit_length: i64,
    pub audit_head: Vec<u8>,
}

#[derive(Debug, Clone)]
pub struct ReceiptTask {
    pub system: String,
    pub kind: String,
    pub outcome: TaskState,
    pub attempts: i32,
    pub evidence: Option<Value>,
    /// Why it failed, or the legal basis of an exemption.
    pub reason: Option<String>,
    pub first_attempt_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    /// The verification checks of this system (see `verification_checks`).
    pub checks: Vec<Value>,
}

impl Store {
    /// The receipt's facts for request `id`; `None` if there is no such request.
    pub async fn receipt_data(&self, id: Uuid) -> Result<Option<ReceiptData>, StoreError> {
        let mut client = self.client().await?;
        let tx = client
            .build_transaction()
            .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await?;
        let Some(request) = tx
            .query_opt(
                &format!(
                    "SELECT r.state, r.requested_at, r.received_at, r.deadline_at, r.finished_at, r.subject,
                            coalesce(c.length, 0), coalesce(c.head, decode(repeat('00', 32), 'hex')),
                            {IDENTIFIER_COLUMNS}
                     FROM requests r LEFT JOIN audit_chains c ON c.chain = r.id WHERE r.id = $1"
                ),
                &[&id],
            )
            .await?
        else {
            return Ok(None);
        };
        let state_text: String = request.get(0);
        let state = RequestState::parse(&state_text)
            .ok_or_else(|| StoreError::Corrupt(format!("request state {state_text:?} is unknown")))?;
        let mut checks = verification_checks(&tx, id).await?;
        let rows = tx
            .query(
                "SELECT t.id, t.connector, t.kind, t.state, t.attempt, t.evidence, t.last_error, t.finished_at,
                        (SELECT min(a.at) FROM audit_log a
                         WHERE a.request_id = t.request_id AND a.task_id = t.id AND a.event = 'task.running')
                 FROM tasks t WHERE t.request_id = $1 ORDER BY t.connector",
                &[&id],
            )
            .await?;
        let mut tasks = Vec::with_capacity(rows.len());
        for row in &rows {
            let outcome_text: String = row.get(3);
            let outcome = TaskState::parse(&outcome_text)
                .ok_or_else(|| StoreError::Corrupt(format!("task state {outcome_text:?} is unknown")))?;
            tasks.push(ReceiptTask {
                system: row.get(1),
                kind: row.get(2),
                outcome,
                attempts: row.get(4),
                evidence: row.get(5),
                reason: row.get(6),
                finished_at: row.get(7),
                first_attempt_at: row.get(8),
                checks: checks.remove(&row.get::<_, i64>(0)).unwrap_or_default(),
            });
        }
        tx.commit().await?;
        Ok(Some(ReceiptData {
            request_id: id,
            state,
            requested_at: request.get(1),
            received_at: request.get(2),
            deadline_at: request.get(3),
            finished_at: request.get(4),
            // Opened from the sealed identifiers while they are kept (none once forgotten).
            subject: identifiers_from(self.vault(), id, &request, 8)?.map(|i| i.subject),
            tasks,
            audit_length: request.get(6),
            audit_head: request.get(7),
        }))
    }
}

/// The verification checks of each task of a request, by task id: what was looked up after the
/// erasure to confirm it (`verification_checks`, V13), each with its delay, times and result
/// (`absent`, `found`, `not_verifiable`, `superseded`); the one place that fills `checks`.
async fn verification_checks(
    tx: &deadpool_postgres::Transaction<'_>,
    request_id: Uuid,
) -> Result<BTreeMap<i64, Vec<Value>>, StoreError> {
    // Every check with a result (the undone ones are not evidence yet), in the order they ran.
    let rows = tx
        .query(
            "SELECT task_id, generation, after_seconds, due_at, done_at, result, count
             FROM verification_checks
             WHERE request_id = $1 AND done_at IS NOT NULL
             ORDER BY task_id, done_at, id",
            &[&request_id],
        )
        .await?;
    let mut checks: BTreeMap<i64, Vec<Value>> = BTreeMap::new();
    for row in &rows {
        let after: f64 = row.get(2);
        let due_at: DateTime<Utc> = row.get(3);
        let done_at: DateTime<Utc> = row.get(4);
        let result: String = row.get(5);
        let mut check = serde_json::json!({
            "generation": row.get::<_, i32>(1),
            "after_seconds": after.round() as i64,
            "due_at": due_at,
            "checked_at": done_at,
            "result": result,
        });
        if let Some(count) = row.get::<_, Option<i64>>(6) {
            check["count"] = count.into();
        }
        checks.entry(row.get(0)).or_default().push(check);
    }
    Ok(checks)
}
