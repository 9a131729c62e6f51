//! Tasks: claimed with `FOR UPDATE SKIP LOCKED` under a lease with a fencing token; every
//! outcome is one transaction with its audit row and, when the request settles, its events.

use super::outbox::enqueue;
use super::sealed::{identifiers_from, IDENTIFIER_COLUMNS};
use super::Tx;
use super::{audit, audit_many, secs, AuditRow, Prepared, Store, StoreError};
use crate::events::{self, Settled, SystemOutcome};
use crate::model::{settled_state, RequestState, TaskState};
use crate::vault::Vault;
use chrono::{DateTime, Utc};
use serde_json::json;
use std::time::Duration;
use uuid::Uuid;

/// A task this worker holds a lease on.
#[derive(Debug, Clone)]
pub struct ClaimedTask {
    pub id: i64,
    pub request_id: Uuid,
    pub connector: String,
    pub kind: String,
    /// Attempts started, this one included.
    pub attempt: i32,
    pub max_attempts: i32,
    pub lease_token: i64,
    /// Set when the system accepted an async erasure: the runner calls `check`, not `erase`.
    pub pending: Option<serde_json::Value>,
    /// The connector's durable progress document, as the last attempt saved it.
    pub progress: Option<serde_json::Value>,
    pub subject: serde_json::Value,
    pub subject_hash: String,
    /// When the person asked (the message's `requested_at`): connectors never touch records
    /// created after it.
    pub requested_at: DateTime<Utc>,
    /// The request's generation: bumped when a settled request goes back to work.
    pub generation: i32,
    /// The request's W3C trace context: every attempt's span is its child.
    pub traceparent: Option<String>,
    /// When intake committed the request: the start of its intake-to-settled latency.
    pub received_at: DateTime<Utc>,
}

/// The columns `claimed_task` reads, from `tasks t` and `requests r`: the one place a claim reads
/// the subject, for tasks and verification checks alike.
pub(crate) const CLAIMED_TASK_COLUMNS: &str = "t.id, t.request_id, t.connector, t.kind, t.attempt, t.max_attempts, \
     t.lease_token, t.pending, r.subject_hash, r.state, t.progress, r.requested_at, r.generation, \
     r.identifiers_sealed, r.identifiers_key_id, r.subject, r.reply_to, r.traceparent, r.received_at";

/// The new state of a task, as decided by `runner::transition`.
#[derive(Debug, Clone, PartialEq)]
pub struct Transition {
    pub state: TaskState,
    pub attempt: i32,
    pub next_attempt_at: DateTime<Utc>,
    pub pending: Option<serde_json::Value>,
    pub evidence: Option<serde_json::Value>,
    pub error: Option<String>,
    /// The verification checks to schedule with this transition (`runner::verify::checks_for`):
    /// `None` schedules none.
    pub verify_after: Option<Vec<Duration>>,
}

/// Which writer may apply a transition.
#[derive(Debug, Clone, Copy)]
pub enum Guard {
    /// The worker holding lease `token`.
    Lease(i64),
    /// Anyone, if lease `token` has expired (rescue of a lost worker's task).
    ExpiredLease(i64),
    /// Anyone, if the task is not running (an orphan whose connector left the config).
    NotRunning,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    /// Applied; `Some` when this outcome settled the request.
    Applied(Option<RequestState>),
    /// The lease moved on (another worker, a rescue): the outcome was refused.
    Stale,
}

/// One task's transition to record, under `guard`.
#[derive(Debug, Clone, Copy)]
pub struct Recording<'a> {
    pub task_id: i64,
    pub request_id: Uuid,
    pub guard: Guard,
    pub transition: &'a Transition,
}

impl Store {
    /// Claim up to `limit` due tasks of one connector instance. A request matching an active
    /// entry of the legal hold list is skipped even without its `legal` hold row.
    pub async fn claim(
        &self,
        connector: &str,
        limit: i64,
        owner: &str,
        lease: Duration,
        now: DateTime<Utc>,
    ) -> Result<Vec<ClaimedTask>, StoreError> {
        let mut client = self.client().await?;
        let tx = self.begin(&mut client).await?;
        let rows = tx
            .query(
                &tx.prepared(&format!(
                    "WITH due AS (
                     SELECT t.id FROM tasks t JOIN requests r ON r.id = t.request_id
                     WHERE t.connector = $1 AND t.state IN ('pending', 'retrying', 'waiting')
                       AND t.next_attempt_at <= $2 AND r.state IN ('received', 'in_progress')
                       AND NOT EXISTS (SELECT 1 FROM request_holds h WHERE h.request_id = t.request_id)
                       -- A scalar sub-select, not `NOT EXISTS`: that becomes an anti join the planner
                       -- may run over every open request (seen: 335 ms instead of 0.3 ms with 20,000
                       -- requests and 100 active entries); this stays a filter on the due rows only,
                       -- through the index legal_holds_active once the list is large.
                       AND NOT (SELECT EXISTS (SELECT 1 FROM legal_holds l
                                WHERE l.released_at IS NULL AND l.identifier_hash = ANY (r.identifier_hashes)))
                     ORDER BY t.next_attempt_at
                     LIMIT $3
                     FOR UPDATE OF t SKIP LOCKED)
                 UPDATE tasks t SET state = 'running', lease_token = t.lease_token + 1, lease_owner = $4,
                        lease_expires_at = $2 + make_interval(secs => $5::float8),
                        attempt = CASE WHEN t.pending IS NULL THEN t.attempt + 1 ELSE t.attempt END,
                        updated_at = $2
                 FROM due, requests r
                 WHERE t.id = due.id AND r.id = t.request_id
                 RETURNING {CLAIMED_TASK_COLUMNS}"
                ))
                .await?,
                &[&connector, &now, &limit, &owner, &secs(lease)],
            )
            .await?;
        let mut claimed = Vec::with_capacity(rows.len());
        let mut starting = Vec::new();
        for row in &rows {
            let task = claimed_task(row, self.vault())?;
            if row.get::<_, &str>(9) == "received" && !starting.contains(&task.request_id) {
                starting.push(task.request_id);
            }
            claimed.push(task);
        }
        // Lock order: the requests this claim starts, then the audit chain heads (V11), both in
        // request id order. An action holds its request's row while it appends to the request's
        // chain; appending first and locking the request row after would wait on it in a cycle.
        let sql = "UPDATE requests r SET state = 'in_progress', updated_at = $2
                   FROM (SELECT id FROM requests WHERE id = ANY($1) AND state = 'received' ORDER BY id FOR UPDATE) s
                   WHERE r.id = s.id AND r.state = 'received'
                   RETURNING r.id";
        let mut started: Vec<Uuid> = if starting.is_empty() {
            Vec::new()
        } else {
            tx.query(&tx.prepared(sql).await?, &[&starting, &now]).await?.iter().map(|r| r.get(0)).collect()
        };
        started.sort();
        if !claimed.is_empty() {
            let request_ids: Vec<Uuid> = claimed.iter().map(|t| t.request_id).collect();
            let task_ids: Vec<i64> = claimed.iter().map(|t| t.id).collect();
            let attempts: Vec<i32> = claimed.iter().map(|t| t.attempt).collect();
            tx.execute(
                &tx.prepared(
                    "INSERT INTO audit_log (request_id, task_id, at, actor, event, detail)
                 SELECT r, t, $4, $5, 'task.running', jsonb_build_object('attempt', a)
                 FROM unnest($1::uuid[], $2::bigint[], $3::int[]) AS x(r, t, a)
                 ORDER BY r, t",
                )
                .await?,
                &[&request_ids, &task_ids, &attempts, &now, &owner],
            )
            .await?;
        }
        if !started.is_empty() {
            let sql = "INSERT INTO audit_log (request_id, at, actor, event, detail)
                       SELECT r, $2, $3, 'request.in_progress', '{}' FROM unnest($1::uuid[]) WITH ORDINALITY AS x(r, n)
                       ORDER BY n";
            tx.execute(&tx.prepared(sql).await?, &[&started, &now, &owner]).await?;
        }
        tx.commit().await?;
        Ok(claimed)
    }

    /// Extend a lease; `false` if it is no longer ours.
    pub async fn renew_lease(&self, task_id: i64, token: i64, until: DateTime<Utc>) -> Result<bool, StoreError> {
        let client = self.client().await?;
        let n = client
            .execute(
                &client.prepared("UPDATE tasks SET lease_expires_at = $3 WHERE id = $1 AND lease_token = $2 AND state = 'running'").await?,
                &[&task_id, &token, &until],
            )
            .await?;
        Ok(n == 1)
    }

    /// Save a connector's progress document, only while lease `token` is held and unexpired;
    /// `false` if it is not (the attempt must not go on to its destructive call).
    pub async fn save_progress(
        &self,
        task_id: i64,
        token: i64,
        document: &serde_json::Value,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let saved = self.save_progress_all(&[(task_id, token, document)], now).await?;
        Ok(saved[0])
    }

    /// [`Store::save_progress`] for several attempts' documents (task, lease token, document) in
    /// one statement and one commit; answers in the order given.
    pub async fn save_progress_all(
        &self,
        saves: &[(i64, i64, &serde_json::Value)],
        now: DateTime<Utc>,
    ) -> Result<Vec<bool>, StoreError> {
        let mut order: Vec<usize> = (0..saves.len()).collect();
        order.sort_by_key(|&i| saves[i].0);
        let ids: Vec<i64> = order.iter().map(|&i| saves[i].0).collect();
        let tokens: Vec<i64> = order.iter().map(|&i| saves[i].1).collect();
        let documents: Vec<&serde_json::Value> = order.iter().map(|&i| saves[i].2).collect();
        let client = self.client().await?;
        let saved: std::collections::HashSet<(i64, i64)> = client
            .query(
                &client
                    .prepared(
                        "UPDATE tasks t SET progress = x.document
                         FROM unnest($1::bigint[], $2::bigint[], $3::jsonb[]) AS x(id, token, document)
                         WHERE t.id = x.id AND t.lease_token = x.token AND t.state = 'running'
                           AND t.lease_expires_at > $4
                         RETURNING t.id, t.lease_token",
                    )
                    .await?,
                &[&ids, &tokens, &documents, &now],
            )
            .await?
            .iter()
            .map(|row| (row.get(0), row.get(1)))
            .collect();
        Ok(saves.iter().map(|(id, token, _)| saved.contains(&(*id, *token))).collect())
    }

    /// Apply a transition if `guard` still holds, with its audit row; settle the request when
    /// every task is terminal and queue its events, all in one transaction.
    pub async fn record(
        &self,
        task_id: i64,
        request_id: Uuid,
        guard: Guard,
        transition: &Transition,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<Recorded, StoreError> {
        let one = Recording { task_id, request_id, guard, transition };
        let mut recorded = self.record_all(&[one], actor, now).await?;
        Ok(recorded.pop().expect("one answer per recording"))
    }

    /// [`Store::record`] for several tasks in one transaction (the runner's outcomes finished at
    /// about the same time): a handful of statements for the whole batch instead of a handful per
    /// task, and one commit. Answers in the order of `recordings`; a request settled by the batch
    /// is reported on the last of its recordings. A batch holds each task at most once.
    pub async fn record_all(
        &self,
        recordings: &[Recording<'_>],
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<Recorded>, StoreError> {
        let mut client = self.client().await?;
        let tx = self.begin(&mut client).await?;
        // Lock order: the requests, in id order, then their tasks. Every writer follows it.
        let mut request_ids: Vec<Uuid> = recordings.iter().map(|r| r.request_id).collect();
        request_ids.sort();
        request_ids.dedup();
        let lock = "SELECT id FROM requests WHERE id = ANY($1) ORDER BY id FOR UPDATE";
        tx.query(&tx.prepared(lock).await?, &[&request_ids]).await?;

        let applied = update_tasks(&tx, recordings, now).await?;
        let mut done: Vec<&Recording<'_>> = recordings.iter().filter(|r| applied.contains(&r.task_id)).collect();
        // Audit rows go in request id order, as the chain heads are locked (V11).
        done.sort_by_key(|r| (r.request_id, r.task_id));
        audit_transitions(&tx, &done, actor, now).await?;
        let checks: Vec<(i64, Uuid, &[Duration])> = done
            .iter()
            .filter_map(|r| r.transition.verify_after.as_deref().map(|d| (r.task_id, r.request_id, d)))
            .collect();
        super::check_schedule::schedule(&tx, &checks, now).await?;
        let mut settling: Vec<Uuid> =
            done.iter().filter(|r| r.transition.state.is_terminal()).map(|r| r.request_id).collect();
        settling.dedup();
        let mut settlements = Vec::new();
        for request_id in settling {
            if let Some(settlement) = settle(&tx, self, request_id, actor, now).await? {
                settlements.push((request_id, settlement));
            }
        }
        tx.commit().await?;

        let mut answers: Vec<Recorded> = recordings
            .iter()
            .map(|r| if applied.contains(&r.task_id) { Recorded::Applied(None) } else { Recorded::Stale })
            .collect();
        for (request_id, settlement) in settlements {
            let last = recordings.iter().rposition(|r| r.request_id == request_id && applied.contains(&r.task_id));
            answers[last.expect("a settled request had an applied recording")] =
                Recorded::Applied(Some(settlement.observed(now)));
        }
        Ok(answers)
    }

    /// Give a claimed task back without consuming its attempt (shutdown drain).
    pub async fn release(&self, task: &ClaimedTask, now: DateTime<Utc>) -> Result<bool, StoreError> {
        let mut client = self.client().await?;
        let tx = self.begin(&mut client).await?;
        let n = tx
            .execute(
                &tx.prepared(
                    "UPDATE tasks SET state = CASE WHEN pending IS NULL THEN 'retrying' ELSE 'waiting' END,
                        attempt = CASE WHEN pending IS NULL THEN attempt - 1 ELSE attempt END,
                        next_attempt_at = $3, lease_owner = NULL, lease_expires_at = NULL,
                        lease_token = lease_token + 1, updated_at = $3
                 WHERE id = $1 AND lease_token = $2 AND state = 'running'",
                )
                .await?,
                &[&task.id, &task.lease_token, &now],
            )
            .await?;
        if n == 1 {
            audit(&tx, task.request_id, Some(task.id), now, "runner", "task.released", json!({ "why": "shutdown" }))
                .await?;
        }
        tx.commit().await?;
        Ok(n == 1)
    }

    /// Running tasks whose lease expired: their worker was lost.
    pub async fn expired_leases(&self, now: DateTime<Utc>, limit: i64) -> Result<Vec<ClaimedTask>, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query(
                // No identifiers: a rescue needs none (they come back null, as when forgotten).
                "SELECT t.id, t.request_id, t.connector, t.kind, t.attempt, t.max_attempts, t.lease_token, t.pending,
                        r.subject_hash, r.state, t.progress, r.requested_at, r.generation,
                        NULL::bytea, NULL::text, NULL::jsonb, NULL::text, r.traceparent, r.received_at
                 FROM tasks t JOIN requests r ON r.id = t.request_id
                 WHERE t.state = 'running' AND t.lease_expires_at <= $1
                 ORDER BY t.lease_expires_at LIMIT $2",
                &[&now, &limit],
            )
            .await?;
        rows.iter().map(|row| claimed_task(row, self.vault())).collect()
    }

    /// Due tasks of connector instances not in `configured`, due for longer than `grace`.
    pub async fn orphaned_tasks(
        &self,
        configured: &[String],
        grace: Duration,
        now: DateTime<Utc>,
    ) -> Result<Vec<(i64, Uuid, String, i32)>, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query(
                &client
                    .prepared(
                        "SELECT id, request_id, connector, attempt FROM tasks
                 WHERE state IN ('pending', 'retrying', 'waiting') AND NOT (connector = ANY($1))
                   AND next_attempt_at <= $2::timestamptz - make_interval(secs => $3::float8)
                 LIMIT 100",
                    )
                    .await?,
                &[&configured, &now, &secs(grace)],
            )
            .await?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1), r.get(2), r.get(3))).collect())
    }
}

/// A claimed task from a row of [`CLAIMED_TASK_COLUMNS`]; the identifiers are opened here (the
/// subject is in clear only in memory, for the connector).
pub(crate) fn claimed_task(row: &tokio_postgres::Row, vault: &Vault) -> Result<ClaimedTask, StoreError> {
    let request_id: Uuid = row.get(1);
    // A forgotten request's subject is null: the runner fails such a task rather than guess.
    let identifiers = identifiers_from(vault, request_id, row, 13)?;
    Ok(ClaimedTask {
        id: row.get(0),
        request_id: row.get(1),
        connector: row.get(2),
        kind: row.get(3),
        attempt: row.get(4),
        max_attempts: row.get(5),
        lease_token: row.get(6),
        pending: row.get(7),
        subject: identifiers.map(|i| i.subject).unwrap_or_default(),
        subject_hash: row.get(8),
        progress: row.get(10),
        requested_at: row.get(11),
        generation: row.get(12),
        traceparent: row.get(17),
        received_at: row.get(18),
    })
}

/// The tasks' new states, each only if its guard still holds: the ids of those applied.
async fn update_tasks<'a>(
    tx: &Tx<'_>,
    recordings: &[Recording<'a>],
    now: DateTime<Utc>,
) -> Result<Vec<i64>, StoreError> {
    let ids: Vec<i64> = recordings.iter().map(|r| r.task_id).collect();
    let (modes, tokens): (Vec<i32>, Vec<i64>) = recordings
        .iter()
        .map(|r| match r.guard {
            Guard::Lease(t) => (0, t),
            Guard::ExpiredLease(t) => (1, t),
            Guard::NotRunning => (2, 0),
        })
        .unzip();
    let t = |r: &Recording<'a>| -> &'a Transition { r.transition };
    let states: Vec<&str> = recordings.iter().map(|r| t(r).state.as_str()).collect();
    let attempts: Vec<i32> = recordings.iter().map(|r| t(r).attempt).collect();
    let next: Vec<DateTime<Utc>> = recordings.iter().map(|r| t(r).next_attempt_at).collect();
    let pending: Vec<Option<&serde_json::Value>> = recordings.iter().map(|r| t(r).pending.as_ref()).collect();
    let evidence: Vec<Option<&serde_json::Value>> = recordings.iter().map(|r| t(r).evidence.as_ref()).collect();
    let errors: Vec<Option<&str>> = recordings.iter().map(|r| t(r).error.as_deref()).collect();
    let entries: Vec<Option<serde_json::Value>> =
        errors.iter().map(|e| e.map(|e| json!([{ "at": now, "error": e }]))).collect();
    let sql = "UPDATE tasks t SET state = x.state, attempt = x.attempt, next_attempt_at = x.next, pending = x.pending,
                      evidence = COALESCE(x.evidence, t.evidence), last_error = COALESCE(x.error, t.last_error),
                      errors = CASE WHEN x.entry IS NULL THEN t.errors ELSE t.errors || x.entry END,
                      lease_owner = NULL, lease_expires_at = NULL, lease_token = t.lease_token + 1,
                      finished_at = CASE WHEN x.state IN ('erased', 'nothing_to_erase', 'failed', 'exempt') THEN $11 END,
                      progress = CASE WHEN x.state IN ('erased', 'nothing_to_erase') THEN NULL ELSE t.progress END,
                      updated_at = $11
               FROM unnest($1::bigint[], $2::int[], $3::bigint[], $4::text[], $5::int[], $6::timestamptz[],
                           $7::jsonb[], $8::jsonb[], $9::text[], $10::jsonb[])
                    AS x(id, mode, token, state, attempt, next, pending, evidence, error, entry)
               WHERE t.id = x.id AND CASE x.mode
                       WHEN 0 THEN t.lease_token = x.token AND t.state = 'running'
                       WHEN 1 THEN t.lease_token = x.token AND t.state = 'running' AND t.lease_expires_at <= $11
                       ELSE t.state IN ('pending', 'retrying', 'waiting') END
               RETURNING t.id";
    let rows = tx
        .query(
            &tx.prepared(sql).await?,
            &[&ids, &modes, &tokens, &states, &attempts, &next, &pending, &evidence, &errors, &entries, &now],
        )
        .await?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}

/// One audit row per applied transition (`task.<state>`), in the order given.
async fn audit_transitions(
    tx: &Tx<'_>,
    done: &[&Recording<'_>],
    actor: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let rows: Vec<AuditRow> = done
        .iter()
        .map(|r| {
            let t = r.transition;
            let mut detail = json!({ "attempt": t.attempt });
            if let Some(error) = &t.error {
                detail["error"] = json!(error);
            }
            if !t.state.is_terminal() {
                detail["next_attempt_at"] = json!(t.next_attempt_at);
            }
            AuditRow { request_id: r.request_id, task_id: Some(r.task_id), event: format!("task.{}", t.state), detail }
        })
        .collect();
    audit_many(tx, &rows, now, actor).await
}

/// If every task of the request is terminal, mark the request and queue its events. With
/// verification on, a completed request with no check due closes at once (`erasure.closed`
/// after `erasure.completed`): every system kept, or none that can be looked up.
pub(crate) async fn settle(
    tx: &Tx<'_>,
    store: &Store,
    request_id: Uuid,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<Option<Settlement>, StoreError> {
    let (vault, copies) = (store.vault(), &store.copies);
    let tasks = tx
        .query(
            &tx.prepared(
                "SELECT connector, kind, state, evidence, finished_at, attempt, last_error,
                    (SELECT CASE WHEN bool_or(c.result = 'not_verifiable') THEN 'not_verifiable'
                                 WHEN bool_or(c.done_at IS NULL) THEN 'scheduled' END
                     FROM verification_checks c
                     WHERE c.request_id = t.request_id AND c.task_id = t.id AND c.result IS DISTINCT FROM 'superseded'
                       AND c.result IS DISTINCT FROM 'found')
             FROM tasks t WHERE request_id = $1 ORDER BY connector",
            )
            .await?,
            &[&request_id],
        )
        .await?;
    let states: Vec<TaskState> = tasks
        .iter()
        .map(|r| TaskState::parse(r.get(2)).ok_or_else(|| StoreError::Corrupt("unknown task state".into())))
        .collect::<Result<_, _>>()?;
    let Some(state) = settled_state(&states) else {
        return Ok(None);
    };
    // A cancelled request stays cancelled: its in-flight tasks still record, it does not settle.
    let Some(request) = tx
        .query_opt(
            &tx.prepared(&format!(
                "UPDATE requests r SET state = $2, finished_at = $3, updated_at = $3
                 WHERE id = $1 AND state IN ('received', 'in_progress')
                 RETURNING generation, requested_at, deadline_at, received_at, {IDENTIFIER_COLUMNS}"
            ))
            .await?,
            &[&request_id, &state.as_str(), &now],
        )
        .await?
    else {
        return Ok(None);
    };
    let systems = tasks
        .iter()
        .zip(&states)
        .map(|(r, state)| {
            SystemOutcome::new(r.get(0), r.get(1), *state, r.get(3), r.get(4), r.get(5), r.get(6))
                .with_verification(r.get(7))
                .with_label(store.labels.get(r.get::<_, &str>(0)).cloned())
        })
        .collect();
    let settled = Settled::new(state, request.get(0), request.get(1), request.get(2), now, systems, copies);
    let reply_to = identifiers_from(vault, request_id, &request, 4)?.and_then(|i| i.reply_to);
    let event = events::build(request_id, &settled, reply_to);
    let id = event.message_id;
    enqueue(tx, vault, &event, now).await?;
    audit(tx, request_id, None, now, actor, &format!("request.{state}"), json!({ "event_message_id": id })).await?;
    if state == RequestState::Completed {
        // Its checks become claimable (V18).
        let ready = "UPDATE verification_checks SET ready = true WHERE request_id = $1 AND done_at IS NULL";
        tx.execute(&tx.prepared(ready).await?, &[&request_id]).await?;
        if store.verification {
            super::closing::close_if_verified(tx, vault, request_id, actor, now).await?;
        }
    }
    Ok(Some(Settlement { state, received_at: request.get(3) }))
}

/// A request that `settle` settled: call [`Settlement::observed`] once its transaction committed.
#[must_use]
pub(crate) struct Settlement {
    state: RequestState,
    received_at: DateTime<Utc>,
}

impl Settlement {
    /// Record intake-to-settled latency (the service's main SLI) whoever settled the request: a
    /// connector's outcome, a rescue, an operator's exemption.
    pub(crate) fn observed(self, now: DateTime<Utc>) -> RequestState {
        let latency = (now - self.received_at).to_std().unwrap_or_default();
        crate::metrics::record_settled(self.state.as_str(), latency.as_secs_f64());
        self.state
    }
}
