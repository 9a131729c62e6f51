//! Operators' actions: retry, cancel, hold, release, exempt. Each is one transaction with its
//! audit row naming who and why.

use super::outbox::enqueue;
use super::sealed::{identifiers_from, IDENTIFIER_COLUMNS};
use super::tasks::settle;
use super::Tx;
use super::{audit, Channel, Store, StoreError};
use crate::events::{self, Cancelled, DeadlineExtended};
use crate::model::{HoldKind, RequestState, TaskState};
use chrono::{DateTime, Utc};
use serde_json::json;
use uuid::Uuid;

pub use super::refused::{ActionResult, Refused};

fn request_state(text: &str) -> Result<RequestState, StoreError> {
    RequestState::parse(text).ok_or_else(|| StoreError::Corrupt("unknown request state".into()))
}

/// Lock the request row (writers lock it before its tasks) and read its state.
async fn lock_state(tx: &Tx<'_>, id: Uuid) -> Result<Option<RequestState>, StoreError> {
    let row = tx.query_opt("SELECT state FROM requests WHERE id = $1 FOR UPDATE", &[&id]).await?;
    row.map(|row| request_state(row.get(0))).transpose()
}

/// The hold-list entry that placed the request's hold of this kind, if it did: only the entry's
/// release removes such a hold.
async fn list_entry_of_hold(tx: &Tx<'_>, id: Uuid, kind: HoldKind) -> Result<Option<i64>, StoreError> {
    let row = tx
        .query_opt(
            "SELECT legal_hold_id FROM request_holds WHERE request_id = $1 AND kind = $2 AND legal_hold_id IS NOT NULL",
            &[&id, &kind.as_str()],
        )
        .await?;
    Ok(row.map(|row| row.get(0)))
}

impl Store {
    /// Failed tasks back to pending (attempts reset); a failed request back to in progress.
    pub async fn retry_failed(&self, id: Uuid, actor: &str, reason: &str, now: DateTime<Utc>) -> ActionResult {
        let mut client = self.client().await?;
        let tx = self.begin(&mut client).await?;
        let Some(state) = lock_state(&tx, id).await? else {
            return Ok(Err(Refused::NotFound));
        };
        if !state.can_retry() {
            return Ok(Err(Refused::Conflict(format!("a {state} request has no failed task to retry"))));
        }
        let forgotten: bool =
            tx.query_one("SELECT forgotten_at IS NOT NULL FROM requests WHERE id = $1", &[&id]).await?.get(0);
        if forgotten {
            return Ok(Err(Refused::Conflict(
                "the request's identifiers were deleted after its retention period: submit it again".into(),
            )));
        }
        let retried = tx
            .execute(
                "UPDATE tasks SET state = 'pending', attempt = 0, next_attempt_at = $2, last_error = NULL,
                        finished_at = NULL, updated_at = $2
                 WHERE request_id = $1 AND state = 'failed'",
                &[&id, &now],
            )
            .await?;
        if retried == 0 {
            return Ok(Err(Refused::Conflict("the request has no failed task".into())));
        }
        if state == RequestState::Failed {
            tx.execute(
                "UPDATE requests SET state = 'in_progress', generation = generation + 1, finished_at = NULL,
                        updated_at = $2 WHERE id = $1",
                &[&id, &now],
            )
            .await?;
        }
        audit(&tx, id, None, now, actor, "request.retried", json!({ "reason": reason, "tasks": retried })).await?;
        tx.wake(Channel::Tasks);
        tx.commit().await?;
        Ok(Ok(()))
    }

    /// Stop a request that has not settled; its tasks are no longer claimed.
    pub async fn cancel(&self, id: Uuid, actor: &str, reason: &str, now: DateTime<Utc>) -> ActionResult {
        let mut client = self.client().await?;
        let tx = self.begin(&mut client).await?;
        let Some(row) = tx
            .query_opt(
                &format!("SELECT state, generation, {IDENTIFIER_COLUMNS} FROM requests r WHERE id = $1 FOR UPDATE"),
                &[&id],
            )
            .await?
        else {
            return Ok(Err(Refused::NotFound));
        };
        let state = request_state(row.get(0))?;
        if !state.can_cancel() {
            return Ok(Err(Refused::Conflict(format!("a {state} request cannot be cancelled"))));
        }
        tx.execute(
            "UPDATE requests SET state = 'cancelled', finished_at = $2, updated_at = $2 WHERE id = $1",
            &[&id, &now],
        )
        .await?;
        audit(&tx, id, None, now, actor, "request.cancelled", json!({ "reason": reason })).await?;
        let reply_to = identifiers_from(self.vault(), id, &row, 2)?.and_then(|i| i.reply_to);
        let event = events::build(id, &Cancelled { generation: row.get(1), finished_at: now }, reply_to);
        enqueue(&tx, self.vault(), &event, now).await?;
        tx.commit().await?;
        Ok(Ok(()))
    }

    /// Put a hold of `kind` on a request; holds are a set.
    pub async fn add_hold(
        &self,
        id: Uuid,
        kind: HoldKind,
        actor: &str,
        reason: &str,
        now: DateTime<Utc>,
    ) -> ActionResult {
        self.change_hold(id, kind, true, actor, reason, now).await
    }

    /// Release one hold; the request resumes when no hold is left.
    pub async fn release_hold(
        &self,
        id: Uuid,
        kind: HoldKind,
        actor: &str,
        reason: &str,
        now: DateTime<Utc>,
    ) -> ActionResult {
        self.change_hold(id, kind, false, actor, reason, now).await
    }

    async fn change_hold(
        &self,
        id: Uuid,
        kind: HoldKind,
        add: bool,
        actor: &str,
        reason: &str,
        now: DateTime<Utc>,
    ) -> ActionResult {
        let mut client = self.client().await?;
        let tx = self.begin(&mut client).await?;
        if tx.query_opt("SELECT 1 FROM requests WHERE id = $1 FOR UPDATE", &[&id]).await?.is_none() {
            return Ok(Err(Refused::NotFound));
        }
        let changed = if add {
            tx.execute(
                "INSERT INTO request_holds (request_id, kind, reason, actor, created_at) VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT DO NOTHING",
                &[&id, &kind.as_str(), &reason, &actor, &now],
            )
            .await?
        } else {
            if let Some(entry) = list_entry_of_hold(&tx, id, kind).await? {
                return Ok(Err(Refused::Conflict(format!(
                    "this legal hold comes from the legal hold list: release its entry with \
                     POST /v1/legal-holds/{entry}/release"
                ))));
            }
            tx.execute(
                "DELETE FROM request_holds WHERE request_id = $1 AND kind = $2 AND legal_hold_id IS NULL",
                &[&id, &kind.as_str()],
            )
            .await?
        };
        if changed == 0 {
            let why = if add { "already has a" } else { "has no" };
            return Ok(Err(Refused::Conflict(format!("the request {why} {kind} hold"))));
        }
        let action = if add { "request.held" } else { "request.released" };
        audit(&tx, id, None, now, actor, action, json!({ "kind": kind.as_str(), "reason": reason })).await?;
        if !add && kind == HoldKind::Legal {
            // An operator's legal hold kept the list's off this request: an active entry that
            // matches it holds it now.
            super::legal_holds::hold_matching(&tx, Some(&[id]), now).await?;
        }
        if !add {
            tx.wake(Channel::Tasks);
        }
        tx.commit().await?;
        Ok(Ok(()))
    }

    /// Record a legal reason (GDPR art. 17(3)) to keep a system's data: the task becomes exempt.
    pub async fn exempt(&self, id: Uuid, system: &str, actor: &str, reason: &str, now: DateTime<Utc>) -> ActionResult {
        let mut client = self.client().await?;
        let tx = self.begin(&mut client).await?;
        let Some(state) = lock_state(&tx, id).await? else {
            return Ok(Err(Refused::NotFound));
        };
        if !state.can_exempt() {
            return Ok(Err(Refused::Conflict(format!("a {state} request takes no exemption"))));
        }
        let Some(task) = tx
            .query_opt("SELECT id, state FROM tasks WHERE request_id = $1 AND connector = $2", &[&id, &system])
            .await?
        else {
            return Ok(Err(Refused::NotFound));
        };
        let task_id: i64 = task.get(0);
        let task_state =
            TaskState::parse(task.get(1)).ok_or_else(|| StoreError::Corrupt("unknown task state".into()))?;
        if !task_state.can_exempt() {
            return Ok(Err(Refused::Conflict(format!("a {task_state} task cannot be exempted"))));
        }
        tx.execute(
            "UPDATE tasks SET state = 'exempt', last_error = $2, finished_at = $3, updated_at = $3,
                    lease_token = lease_token + 1 WHERE id = $1",
            &[&task_id, &reason, &now],
        )
        .await?;
        audit(&tx, id, Some(task_id), now, actor, "task.exempt", json!({ "legal_reason": reason })).await?;
        if state == RequestState::Failed {
            tx.execute("UPDATE requests SET state = 'in_progress', generation = generation + 1 WHERE id = $1", &[&id])
                .await?;
        }
        let settled = settle(&tx, self, id, actor, now).await?;
        tx.commit().await?;
        settled.map(|s| s.observed(now));
        Ok(Ok(()))
    }
}

impl Store {
    /// Extend the legal deadline once, by one or two months, with the reason the person is told.
    pub async fn extend_deadline(
        &self,
        id: Uuid,
        months: u32,
        actor: &str,
        reason: &str,
        now: DateTime<Utc>,
    ) -> ActionResult {
        let mut client = self.client().await?;
        let tx = self.begin(&mut client).await?;
        let Some(row) = tx
            .query_opt(
                &format!(
                    "SELECT state, deadline_at, deadline_extended_at IS NOT NULL, generation, {IDENTIFIER_COLUMNS}
                     FROM requests r WHERE id = $1 FOR UPDATE"
                ),
                &[&id],
            )
            .await?
        else {
            return Ok(Err(Refused::NotFound));
        };
        let (state, deadline, extended): (&str, DateTime<Utc>, bool) = (row.get(0), row.get(1), row.get(2));
        let state = request_state(state)?;
        if extended {
            return Ok(Err(Refused::Conflict("the deadline was already extended once".into())));
        }
        if !state.can_extend() {
            return Ok(Err(Refused::Conflict(format!("a {state} request has no deadline to extend"))));
        }
        let new_deadline = deadline.checked_add_months(chrono::Months::new(months)).unwrap_or(deadline);
        tx.execute(
            "UPDATE requests SET deadline_at = $2, deadline_extended_at = $3, deadline_extension_reason = $4,
                    updated_at = $3 WHERE id = $1",
            &[&id, &new_deadline, &now, &reason],
        )
        .await?;
        audit(
            &tx,
            id,
            None,
            now,
            actor,
            "request.deadline_extended",
            json!({ "reason": reason, "from": deadline, "to": new_deadline }),
        )
        .await?;
        let extended = DeadlineExtended {
            state,
            generation: row.get(3),
            deadline_at: new_deadline,
            previous_deadline_at: deadline,
            extension_reason: reason.to_string(),
        };
        let reply_to = identifiers_from(self.vault(), id, &row, 4)?.and_then(|i| i.reply_to);
        let event = events::build(id, &extended, reply_to);
        enqueue(&tx, self.vault(), &event, now).await?;
        tx.commit().await?;
        Ok(Ok(()))
    }
}

impl Store {
    /// Record a search by identifier: who searched, the keyed hashes searched for (never the
    /// identifier) and how many requests were found. Such a row names no request.
    pub async fn audit_search(
        &self,
        actor: &str,
        identifier_hashes: &[String],
        found: usize,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let detail = serde_json::json!({ "identifier_hashes": identifier_hashes, "found": found });
        self.client()
            .await?
            .execute(
                "INSERT INTO audit_log (request_id, at, actor, event, detail) VALUES (NULL, $1, $2, 'searched', $3)",
                &[&now, &actor, &detail],
            )
            .await?;
        Ok(())
    }
}
