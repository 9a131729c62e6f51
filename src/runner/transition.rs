//! From an outcome to the task's next state: a pure function, so every rule is testable
//! without a database or a clock.

use crate::model::TaskState;
use crate::retry::{retry_delay, RetryPolicy};
use crate::store::tasks::{ClaimedTask, Transition};
use chrono::{DateTime, Utc};
use erasure_connector::Outcome;
use serde_json::json;

/// Decide the task's next state. `task.attempt` counts attempts started, this one included
/// (a `check` of an accepted erasure starts none); a throttled retry gives its attempt back.
pub fn decide(task: &ClaimedTask, outcome: &Outcome, policy: RetryPolicy, now: DateTime<Utc>) -> Transition {
    let keep = |state, evidence, pending, error| Transition {
        state,
        attempt: task.attempt,
        next_attempt_at: now,
        pending,
        evidence,
        error,
        verify_after: None,
    };
    match outcome {
        Outcome::Erased(evidence) => keep(TaskState::Erased, Some(json!(evidence)), None, None),
        Outcome::NothingToErase => keep(TaskState::NothingToErase, Some(json!({})), None, None),
        Outcome::Pending(pending) => Transition {
            next_attempt_at: now + chrono::Duration::from_std(pending.check_after).unwrap_or_default(),
            ..keep(TaskState::Waiting, Some(json!(pending.evidence)), Some(json!(pending)), None)
        },
        Outcome::Failed { reason } => keep(TaskState::Failed, None, None, Some(reason.clone())),
        Outcome::Retry { after, reason, throttled } => {
            let checking = task.pending.is_some();
            let attempt = match (throttled, checking) {
                (true, false) => task.attempt - 1,
                (false, true) => task.attempt + 1,
                _ => task.attempt,
            };
            if !throttled && attempt >= task.max_attempts {
                let error = format!("gave up after {attempt} attempts: {reason}");
                return Transition { attempt, ..keep(TaskState::Failed, None, None, Some(error)) };
            }
            let delay = after.unwrap_or_else(|| retry_delay(policy, attempt.max(1) as u32, task.id));
            Transition {
                attempt,
                next_attempt_at: now + chrono::Duration::from_std(delay).unwrap_or(chrono::Duration::MAX),
                ..keep(TaskState::Retrying, None, task.pending.clone(), Some(reason.clone()))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use erasure_connector::{Evidence, Pending};
    use std::time::Duration;

    const POLICY: RetryPolicy = RetryPolicy { base: Duration::from_secs(30), cap: Duration::from_secs(3600) };

    fn task(attempt: i32, pending: bool) -> ClaimedTask {
        ClaimedTask {
            id: 7,
            request_id: uuid::Uuid::nil(),
            connector: "helpdesk".into(),
            kind: "webhook".into(),
            attempt,
            max_attempts: 3,
            lease_token: 1,
            pending: pending.then(|| json!({ "check_after": 5.0, "state": {} })),
            progress: None,
            subject: json!({}),
            subject_hash: String::new(),
            requested_at: now(),
            generation: 1,
            traceparent: None,
            received_at: now(),
        }
    }

    fn now() -> DateTime<Utc> {
        "2026-11-24T03:00:00Z".parse().unwrap()
    }

    #[test]
    fn a_transient_error_retries_after_the_computed_delay_then_fails_when_exhausted() {
        let t = decide(&task(1, false), &Outcome::retry("HTTP 503"), POLICY, now());
        assert_eq!(t.state, TaskState::Retrying);
        assert_eq!(t.next_attempt_at, now() + chrono::Duration::from_std(retry_delay(POLICY, 1, 7)).unwrap());
        let t = decide(&task(3, false), &Outcome::retry("HTTP 503"), POLICY, now());
        assert_eq!(t.state, TaskState::Failed);
        assert_eq!(t.error.as_deref(), Some("gave up after 3 attempts: HTTP 503"));
    }

    #[test]
    fn retry_after_wins_and_throttling_does_not_consume_an_attempt() {
        let throttled = Outcome::Retry { after: Some(Duration::from_secs(42)), reason: "429".into(), throttled: true };
        let t = decide(&task(3, false), &throttled, POLICY, now());
        assert_eq!((t.state, t.attempt), (TaskState::Retrying, 2));
        assert_eq!(t.next_attempt_at, now() + chrono::Duration::seconds(42));
    }

    #[test]
    fn pending_waits_and_keeps_its_state_through_transient_check_errors() {
        let pending =
            Pending { check_after: Duration::from_secs(5), state: json!({"job": 1}), evidence: Evidence::default() };
        let t = decide(&task(1, false), &Outcome::Pending(pending), POLICY, now());
        assert_eq!(t.state, TaskState::Waiting);
        assert_eq!(t.next_attempt_at, now() + chrono::Duration::seconds(5));
        let t = decide(&task(1, true), &Outcome::retry("timeout"), POLICY, now());
        assert_eq!((t.state, t.attempt), (TaskState::Retrying, 2));
        assert!(t.pending.is_some());
    }
}
