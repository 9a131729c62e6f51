//! Verification checks (migration V13): scheduled in the transaction that ends a task, claimed
//! like tasks (`FOR UPDATE SKIP LOCKED`, a lease with a fencing token) once the request is
//! completed, and recorded in one transaction that also reopens a resurfaced subject's task and
//! request (`erasure.reopened`) or closes a request whose every check passed (`erasure.closed`).

use super::outbox::enqueue;
use super::sealed::{identifiers_from, IDENTIFIER_COLUMNS};
use super::tasks::{claimed_task, ClaimedTask, CLAIMED_TASK_COLUMNS};
use super::Tx;
use super::{audit, audit_many, secs, AuditRow, Channel, Prepared, Store, StoreError};
use crate::events::{self, Reopened};
use crate::model::CheckResult;
use crate::vault::Vault;
use chrono::{DateTime, Utc};
use serde_json::json;
use std::time::Duration;
use uuid::Uuid;

/// A check this worker holds a lease on, with its task (and so the subject, read by the one path
/// every claim uses).
#[derive(Debug, Clone)]
pub struct ClaimedCheck {
    pub id: i64,
    pub lease_token: i64,
    /// Lookups started, this one included.
    pub attempt: i32,
    pub after_seconds: f64,
    pub generation: i32,
    pub task: ClaimedTask,
}

/// What a lookup came to, as `runner::verify::judge` decided it.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckOutcome {
    pub result: CheckResult,
    pub count: Option<i64>,
    pub error: Option<String>,
    /// `CheckResult::Error` only: when to look up again.
    pub retry_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckRecorded {
    /// Applied; whether the task and request reopened, and whether the request closed.
    Applied { reopened: bool, closed: bool },
    /// The lease moved on: the result was refused.
    Stale,
}

impl Store {
    /// Claim up to `limit` due checks of one connector instance whose request is completed. A
    /// check whose lease expired (its worker was lost) is due again.
    pub async fn claim_checks(
        &self,
        connector: &str,
        limit: i64,
        owner: &str,
        lease: Duration,
        now: DateTime<Utc>,
    ) -> Result<Vec<ClaimedCheck>, StoreError> {
        let mut client = self.client().await?;
        let tx = self.begin(&mut client).await?;
        let claimed = tx
            .query(
                &tx.prepared(
                    "WITH due AS (
                     SELECT c.id FROM verification_checks c JOIN requests r ON r.id = c.request_id
                     WHERE c.connector = $1 AND c.done_at IS NULL AND c.ready AND c.due_at <= $2
                       AND (c.lease_expires_at IS NULL OR c.lease_expires_at <= $2)
                       AND r.state = 'completed'
                     ORDER BY c.due_at LIMIT $3
                     FOR UPDATE OF c SKIP LOCKED)
                 UPDATE verification_checks c SET lease_token = c.lease_token + 1, lease_owner = $4,
                        lease_expires_at = $2::timestamptz + make_interval(secs => $5::float8), attempt = c.attempt + 1,
                        updated_at = $2
                 FROM due WHERE c.id = due.id
                 RETURNING c.id, c.lease_token, c.attempt, c.after_seconds, c.generation, c.task_id",
                )
                .await?,
                &[&connector, &now, &limit, &owner, &secs(lease)],
            )
            .await?;
        if claimed.is_empty() {
            tx.commit().await?;
            return Ok(Vec::new());
        }
        let task_ids: Vec<i64> = claimed.iter().map(|r| r.get(5)).collect();
        let tasks = tx
            .query(
                &tx.prepared(&format!(
                    "SELECT {CLAIMED_TASK_COLUMNS} FROM tasks t JOIN requests r ON r.id = t.request_id
                     WHERE t.id = ANY($1)"
                ))
                .await?,
                &[&task_ids],
            )
            .await?;
        let tasks: Vec<ClaimedTask> =
            tasks.iter().map(|row| claimed_task(row, self.vault())).collect::<Result<_, _>>()?;
        tx.commit().await?;
        Ok(claimed
            .iter()
            .filter_map(|r| {
                let task = tasks.iter().find(|t| t.id == r.get::<_, i64>(5))?.clone();
                Some(ClaimedCheck {
                    id: r.get(0),
                    lease_token: r.get(1),
                    attempt: r.get(2),
                    after_seconds: r.get(3),
                    generation: r.get(4),
                    task,
                })
            })
            .collect())
    }

    /// Record a check's result under its lease, with its audit row, in one transaction: `found`
    /// reopens the task (and a completed request, with a new generation and `erasure.reopened`);
    /// a pass closes a completed request when no check of it is left (`erasure.closed`).
    pub async fn record_check(
        &self,
        check: &ClaimedCheck,
        outcome: &CheckOutcome,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<CheckRecorded, StoreError> {
        let mut recorded = self.record_checks(&[(check, outcome)], actor, now).await?;
        Ok(recorded.pop().expect("one answer per check"))
    }

    /// [`Store::record_check`] for several checks in one transaction and one commit (the
    /// runner's lookups that finished at about the same time); answers in the order given.
    pub async fn record_checks(
        &self,
        checks: &[(&ClaimedCheck, &CheckOutcome)],
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<CheckRecorded>, StoreError> {
        let mut client = self.client().await?;
        let tx = self.begin(&mut client).await?;
        // Lock order: the requests, in id order, then their tasks, then their checks.
        let mut request_ids: Vec<Uuid> = checks.iter().map(|(c, _)| c.task.request_id).collect();
        request_ids.sort();
        request_ids.dedup();
        let lock = "SELECT id FROM requests WHERE id = ANY($1) ORDER BY id FOR UPDATE";
        tx.query(&tx.prepared(lock).await?, &[&request_ids]).await?;
        // Audit rows in request id order, as the chain heads are locked (V11).
        let mut order: Vec<usize> = (0..checks.len()).collect();
        order.sort_by_key(|&i| (checks[i].0.task.request_id, checks[i].0.id));
        let mut answers = if checks.iter().any(|(_, outcome)| outcome.result == CheckResult::Found) {
            // A resurfaced subject reopens its task between its checks' rows: one by one.
            let mut answers = vec![CheckRecorded::Stale; checks.len()];
            for &i in &order {
                let (check, outcome) = checks[i];
                answers[i] = record_check_in(&tx, self.vault(), check, outcome, actor, now).await?;
            }
            answers
        } else {
            record_passes(&tx, checks, &order, actor, now).await?
        };
        // A passed check may close its request: tried once per request, after all of its checks,
        // and reported on the last of them.
        let mut closable: Vec<(Uuid, usize)> = Vec::new();
        for i in order {
            let (check, outcome) = checks[i];
            let passed = matches!(outcome.result, CheckResult::Absent | CheckResult::NotVerifiable);
            if passed && answers[i] != CheckRecorded::Stale {
                let request_id = check.task.request_id;
                match closable.last_mut() {
                    Some(last) if last.0 == request_id => last.1 = i,
                    _ => closable.push((request_id, i)),
                }
            }
        }
        for (request_id, i) in closable {
            if super::closing::close_if_verified(&tx, self.vault(), request_id, actor, now).await? {
                answers[i] = CheckRecorded::Applied { reopened: false, closed: true };
            }
        }
        tx.commit().await?;
        Ok(answers)
    }

    /// Every check of a request, oldest first, for the request's detail.
    pub async fn checks_of(&self, request_id: Uuid) -> Result<Vec<CheckRow>, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query(
                &client.prepared("SELECT connector, generation, after_seconds, due_at, done_at, result, count, attempt, last_error
                 FROM verification_checks WHERE request_id = $1 ORDER BY task_id, id").await?,
                &[&request_id],
            )
            .await?;
        Ok(rows.iter().map(check_row).collect())
    }
}

/// One check, as the request's detail and the `erasure.closed` event show it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CheckRow {
    pub system: String,
    pub generation: i32,
    pub after_seconds: f64,
    pub due_at: DateTime<Utc>,
    pub done_at: Option<DateTime<Utc>>,
    /// `None` while due; `error` while retrying after a failed lookup.
    pub result: Option<String>,
    pub count: Option<i64>,
    pub attempts: i32,
    pub last_error: Option<String>,
}

fn check_row(r: &tokio_postgres::Row) -> CheckRow {
    CheckRow {
        system: r.get(0),
        generation: r.get(1),
        after_seconds: r.get(2),
        due_at: r.get(3),
        done_at: r.get(4),
        result: r.get(5),
        count: r.get(6),
        attempts: r.get(7),
        last_error: r.get(8),
    }
}

/// The subject was found again: the task back to pending (its attempts start over), its other
/// undone checks superseded (the new erasure schedules its own), and a completed request back to
/// in progress with a new generation and `erasure.reopened`.
async fn reopen(
    tx: &Tx<'_>,
    vault: &Vault,
    check: &ClaimedCheck,
    count: Option<i64>,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let (request_id, task_id) = (check.task.request_id, check.task.id);
    tx.execute(
        &tx.prepared(
            "UPDATE tasks SET state = 'pending', attempt = 0, next_attempt_at = $2, pending = NULL, last_error = NULL,
                finished_at = NULL, lease_token = lease_token + 1, updated_at = $2
         WHERE id = $1 AND state IN ('erased', 'nothing_to_erase')",
        )
        .await?,
        &[&task_id, &now],
    )
    .await?;
    tx.execute(
        &tx.prepared(
            "UPDATE verification_checks SET result = 'superseded', done_at = $2, lease_owner = NULL,
                lease_expires_at = NULL, lease_token = lease_token + 1, updated_at = $2
         WHERE task_id = $1 AND done_at IS NULL",
        )
        .await?,
        &[&task_id, &now],
    )
    .await?;
    audit(tx, request_id, Some(task_id), now, actor, "task.reopened", json!({ "check_id": check.id, "count": count }))
        .await?;
    let reopened = tx
        .query_opt(
            &tx.prepared(&format!(
                "UPDATE requests r SET state = 'in_progress', generation = generation + 1, finished_at = NULL,
                        updated_at = $2
                 WHERE id = $1 AND state = 'completed' RETURNING generation, {IDENTIFIER_COLUMNS}"
            ))
            .await?,
            &[&request_id, &now],
        )
        .await?;
    if let Some(request) = reopened {
        let body = Reopened {
            generation: request.get(0),
            reopened_at: now,
            system: check.task.connector.clone(),
            kind: check.task.kind.clone(),
            found_count: count,
            after_seconds: check.after_seconds,
        };
        let reply_to = identifiers_from(vault, request_id, &request, 1)?.and_then(|i| i.reply_to);
        let event = events::build(request_id, &body, reply_to);
        let message_id = event.message_id;
        enqueue(tx, vault, &event, now).await?;
        audit(
            tx,
            request_id,
            None,
            now,
            actor,
            "request.reopened",
            json!({ "generation": body.generation, "event_message_id": message_id }),
        )
        .await?;
    }
    tx.wake(Channel::Tasks);
    Ok(())
}

/// One check's result, inside the caller's transaction, which holds its request's row.
async fn record_check_in(
    tx: &Tx<'_>,
    vault: &Vault,
    check: &ClaimedCheck,
    outcome: &CheckOutcome,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<CheckRecorded, StoreError> {
    let request_id = check.task.request_id;
    let done = outcome.result != CheckResult::Error;
    let updated = tx
        .execute(
            &tx.prepared(
                "UPDATE verification_checks SET result = $3, count = $4, last_error = $5,
                    done_at = CASE WHEN $6::bool THEN $7::timestamptz END, due_at = COALESCE($8::timestamptz, due_at),
                    lease_owner = NULL, lease_expires_at = NULL, lease_token = lease_token + 1, updated_at = $7
             WHERE id = $1 AND lease_token = $2 AND done_at IS NULL",
            )
            .await?,
            &[
                &check.id,
                &check.lease_token,
                &outcome.result.as_str(),
                &outcome.count,
                &outcome.error,
                &done,
                &now,
                &outcome.retry_at,
            ],
        )
        .await?;
    if updated == 0 {
        return Ok(CheckRecorded::Stale);
    }
    let detail = check_detail(check, outcome);
    let event = format!("verification.{}", outcome.result);
    audit(tx, request_id, Some(check.task.id), now, actor, &event, detail).await?;
    let recorded = match outcome.result {
        CheckResult::Found => {
            reopen(tx, vault, check, outcome.count, actor, now).await?;
            CheckRecorded::Applied { reopened: true, closed: false }
        }
        // A pass may close the request: the caller tries once per request of the batch.
        CheckResult::Absent | CheckResult::NotVerifiable | CheckResult::Error | CheckResult::Superseded => {
            CheckRecorded::Applied { reopened: false, closed: false }
        }
    };
    Ok(recorded)
}

/// Results that reopen nothing (every outcome but `found`), inside the caller's transaction: one
/// update and one batch of audit rows for all of them, in `order` (request id order). Answers
/// in the order of `checks`.
async fn record_passes(
    tx: &Tx<'_>,
    checks: &[(&ClaimedCheck, &CheckOutcome)],
    order: &[usize],
    actor: &str,
    now: DateTime<Utc>,
) -> Result<Vec<CheckRecorded>, StoreError> {
    let ids: Vec<i64> = order.iter().map(|&i| checks[i].0.id).collect();
    let tokens: Vec<i64> = order.iter().map(|&i| checks[i].0.lease_token).collect();
    let results: Vec<&str> = order.iter().map(|&i| checks[i].1.result.as_str()).collect();
    let counts: Vec<Option<i64>> = order.iter().map(|&i| checks[i].1.count).collect();
    let errors: Vec<Option<&str>> = order.iter().map(|&i| checks[i].1.error.as_deref()).collect();
    let retry_at: Vec<Option<DateTime<Utc>>> = order.iter().map(|&i| checks[i].1.retry_at).collect();
    let sql = "UPDATE verification_checks c SET result = x.result, count = x.count, last_error = x.error,
                      done_at = CASE WHEN x.result <> 'error' THEN $7::timestamptz END,
                      due_at = COALESCE(x.retry_at, c.due_at), lease_owner = NULL, lease_expires_at = NULL,
                      lease_token = c.lease_token + 1, updated_at = $7
               FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::bigint[], $5::text[], $6::timestamptz[])
                    AS x(id, token, result, count, error, retry_at)
               WHERE c.id = x.id AND c.lease_token = x.token AND c.done_at IS NULL
               RETURNING c.id";
    let applied: std::collections::HashSet<i64> = tx
        .query(&tx.prepared(sql).await?, &[&ids, &tokens, &results, &counts, &errors, &retry_at, &now])
        .await?
        .iter()
        .map(|row| row.get(0))
        .collect();
    let mut answers = vec![CheckRecorded::Stale; checks.len()];
    let mut rows = Vec::with_capacity(applied.len());
    for &i in order {
        let (check, outcome) = checks[i];
        if applied.contains(&check.id) {
            answers[i] = CheckRecorded::Applied { reopened: false, closed: false };
            rows.push(AuditRow {
                request_id: check.task.request_id,
                task_id: Some(check.task.id),
                event: format!("verification.{}", outcome.result),
                detail: check_detail(check, outcome),
            });
        }
    }
    audit_many(tx, &rows, now, actor).await?;
    Ok(answers)
}

/// The audit detail of a check's result (`verification.<result>`).
fn check_detail(check: &ClaimedCheck, outcome: &CheckOutcome) -> serde_json::Value {
    let mut detail = json!({
        "check_id": check.id,
        "after_seconds": check.after_seconds,
        "attempt": check.attempt,
        "generation": check.generation,
    });
    if let Some(count) = outcome.count {
        detail["count"] = json!(count);
    }
    if let Some(error) = &outcome.error {
        detail["error"] = json!(error);
    }
    if let Some(at) = outcome.retry_at {
        detail["next_attempt_at"] = json!(at);
    }
    detail
}
