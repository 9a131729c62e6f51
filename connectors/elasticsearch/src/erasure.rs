//! The rounds of an erasure: count what matches, start a delete-by-query task, follow it, and
//! start another round while documents still match (written or changed while a task ran).

use crate::task::{self, Report, Task, Trouble};
use crate::{query, Elasticsearch};
use erasure_connector::{Ctx, Evidence, Outcome, Pending, Subject};
use serde_json::{json, Value};

/// Delete-by-query tasks one erasure may start: the first, then one per leftover (documents
/// written or changed while a task ran) or transient failure.
const MAX_ROUNDS: u64 = 5;

impl Elasticsearch {
    /// The query for the subject, or `None` if it has no identifier this system could hold.
    pub(crate) fn query(&self, ctx: &Ctx, subject: &Subject) -> Option<Value> {
        let values = query::identifiers(subject, &ctx.instance);
        (!values.is_empty()).then(|| query::body(&self.fields, &values))
    }

    /// Start round `round` if anything still matches: `Erased` when nothing does (and something
    /// was erased before), otherwise `Pending` on a new task.
    pub(crate) async fn next_round(&self, query: &Value, round: u64, evidence: Evidence) -> Outcome {
        let remaining = match self.api.count(query).await {
            Ok(n) => n,
            Err(failure) => return failure.into(),
        };
        if remaining == 0 {
            return if round == 1 { Outcome::NothingToErase } else { Outcome::Erased(evidence) };
        }
        if round > MAX_ROUNDS {
            return Outcome::failed(format!(
                "{remaining} document(s) still match after {MAX_ROUNDS} delete-by-query tasks: \
                 are they still being written?"
            ));
        }
        match self.api.start_delete(query).await {
            Ok(task) => Outcome::Pending(Pending {
                check_after: self.check_after,
                state: json!({ "task": task, "round": round }),
                evidence: evidence.vendor_ref(task),
            }),
            Err(failure) => failure.into(),
        }
    }

    /// Come back later and start round `round` then.
    fn later(&self, round: u64, evidence: Evidence, why: String) -> Outcome {
        tracing::warn!(round, reason = %why, "elasticsearch: another delete-by-query round");
        Outcome::Pending(Pending {
            check_after: self.check_after,
            state: json!({ "task": null, "round": round }),
            evidence: evidence.note(format!("round {}: {why}", round - 1)),
        })
    }

    /// Follow the round's task (or start the round a transient trouble put off).
    pub(crate) async fn follow(&self, query: &Value, pending: &Pending) -> Outcome {
        let round = pending.state.get("round").and_then(Value::as_u64).unwrap_or(1);
        let evidence = pending.evidence.clone();
        let Some(task_id) = pending.state.get("task").and_then(Value::as_str) else {
            return self.next_round(query, round, evidence).await;
        };
        let answer = match self.api.task(task_id).await {
            Ok(Some(answer)) => answer,
            Ok(None) => return self.later(round + 1, evidence, "the cluster no longer knows the task".into()),
            Err(failure) => return failure.into(),
        };
        let report = match task::read(&answer) {
            Some(Task::Running) => return Outcome::Pending(pending.clone()),
            Some(Task::Ended(report)) => report,
            None => return Outcome::failed("elasticsearch: the answer to _tasks is not what Elasticsearch sends"),
        };
        // The task's result stays in the `.tasks` index until deleted, with the task's
        // description: delete it now that it is read (none left, after a crash, is fine).
        if let Err(failure) = self.api.delete_task_result(task_id).await {
            return failure.into();
        }
        let Report { deleted, version_conflicts, trouble } = report;
        let mut evidence = evidence.count("documents", deleted);
        if version_conflicts > 0 {
            evidence = evidence.count("version_conflicts", version_conflicts);
        }
        match trouble {
            // The task is gone now: a transient failure of the next round must not lose what it
            // deleted, so the round starts later instead of the check being retried.
            None => match self.next_round(query, round + 1, evidence.clone()).await {
                Outcome::Retry { reason, .. } => self.later(round + 1, evidence, reason),
                other => other,
            },
            Some(Trouble::Transient(why)) => self.later(round + 1, evidence, why),
            Some(Trouble::Permanent(why)) => Outcome::failed(why),
        }
    }
}
