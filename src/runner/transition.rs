//! From an outcome to the task's next state: a pure function, so every rule is testable
//! without a database or a clock.

use crate::model::TaskState;
use crate::store::tasks::{ClaimedTask, Transition};
use chrono::{DateTime, Utc};
use erasure_connector::Outcome;
use serde_json::json;
use std::time::Duration;

/// The retry policy: exponential from `base`, capped at `cap`, with jitter.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    pub base: Duration,
    pub cap: Duration,
}

/// The delay before retry number `attempt` (1 for the first retry) of task `task_id`:
/// `min(cap, base * 2^(attempt-1))`, of which the upper half is jittered by a hash of the task
/// and attempt, in whole milliseconds. Pure: the same inputs always give the same delay.
pub fn retry_delay(policy: RetryPolicy, attempt: u32, task_id: i64) -> Duration {
    let exponent = attempt.saturating_sub(1).min(32);
    let full = policy.base.saturating_mul(1u32 << exponent.min(31)).min(policy.cap);
    let half = full / 2;
    let delay = half + half.mul_f64(unit_fraction(task_id as u64, attempt));
    Duration::from_millis(delay.as_millis() as u64)
}

/// A number in [0, 1) from a hash of the inputs (splitmix64).
fn unit_fraction(a: u64, b: u32) -> f64 {
    let mut z = a.wrapping_mul(0x9E37_79B9_7F4A_7C15).wrapping_add(u64::from(b)).wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 53) as f64
}

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
        }
    }

    fn now() -> DateTime<Utc> {
        "2026-11-24T03:00:00Z".parse().unwrap()
    }

    #[test]
    fn delays_grow_exponentially_within_jitter_and_cap() {
        for attempt in 1..=10u32 {
            let full = (POLICY.base * 2u32.pow(attempt - 1)).min(POLICY.cap);
            let d = retry_delay(POLICY, attempt, 7);
            assert!(d >= full / 2 && d <= full, "attempt {attempt}: {d:?}");
            assert_eq!(d, retry_delay(POLICY, attempt, 7), "pure");
        }
        assert_ne!(retry_delay(POLICY, 3, 7), retry_delay(POLICY, 3, 8), "jitter spreads tasks");
        assert!(retry_delay(POLICY, 200, 7) <= POLICY.cap);
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
