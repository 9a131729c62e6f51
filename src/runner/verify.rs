//! Verification after erasure: which checks a task's end schedules, and the lookups of due
//! checks, claimed in the runner's pass into the same per-instance slots as tasks, under the same
//! rate limiter, timeout and retry policy. `checks_for` and `judge` are pure.

use super::recorder::Recorder;
use super::{connector_ctx, policy};
use crate::app::App;
use crate::model::{CheckResult, TaskState};
use crate::registry::Instance;
use crate::retry::{retry_delay, RetryPolicy};
use crate::store::verification::{CheckOutcome, CheckRecorded, ClaimedCheck};
use chrono::{DateTime, Utc};
use erasure_connector::{Failure, FailureKind, Found, Subject};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::OwnedSemaphorePermit;
use tracing::Instrument;

/// The checks a task's new state schedules: an erasure, and an answer of "nothing" too, are
/// looked up at each `verify_after` delay. Nothing-to-erase is checked as well because its answer
/// came from the erase path, which some systems scope differently from a lookup, and because a
/// request closes only through its checks. Exempt and failed tasks get none (data kept on
/// purpose; or not erased at all), nor anything while verification is off.
pub fn checks_for(state: TaskState, verify_after: &[Duration], enabled: bool) -> Option<Vec<Duration>> {
    let ended = matches!(state, TaskState::Erased | TaskState::NothingToErase);
    (enabled && ended).then(|| verify_after.to_vec())
}

/// What a lookup means for the check. An error is never a pass: it is looked up again after the
/// retry policy's delay for its attempt (`Retry-After` wins), for as long as it takes.
pub fn judge(
    check_id: i64,
    attempt: i32,
    lookup: Result<Found, Failure>,
    policy: RetryPolicy,
    now: DateTime<Utc>,
) -> CheckOutcome {
    let count = |found: &Found| found.count.map(|n| i64::try_from(n).unwrap_or(i64::MAX));
    match lookup {
        Ok(found) if found.present => {
            CheckOutcome { result: CheckResult::Found, count: count(&found), error: None, retry_at: None }
        }
        Ok(found) => CheckOutcome { result: CheckResult::Absent, count: count(&found), error: None, retry_at: None },
        Err(Failure { kind: FailureKind::NotVerifiable, reason }) => {
            CheckOutcome { result: CheckResult::NotVerifiable, count: None, error: Some(reason), retry_at: None }
        }
        Err(Failure { kind, reason }) => {
            let after = match kind {
                FailureKind::Transient { after } | FailureKind::Throttled { after } => after,
                FailureKind::Permanent | FailureKind::NotVerifiable => None,
            };
            let delay = after.unwrap_or_else(|| retry_delay(policy, attempt.max(1) as u32, check_id));
            let retry_at = now + chrono::Duration::from_std(delay).unwrap_or(chrono::Duration::MAX);
            CheckOutcome { result: CheckResult::Error, count: None, error: Some(reason), retry_at: Some(retry_at) }
        }
    }
}

/// Claim as many due checks of `instance` as it has free slots (up to a batch), with a slot each.
/// Their lease covers the whole lookup (the attempt timeout plus a lease), so no heartbeat runs.
pub(super) async fn claim(
    app: &App,
    instance: &Instance,
    owner: &str,
    now: DateTime<Utc>,
) -> Vec<(ClaimedCheck, OwnedSemaphorePermit)> {
    let free = instance.slots.available_permits().min(app.settings.runner.claim_batch as usize);
    if free == 0 || !app.settings.verification.enabled {
        return Vec::new();
    }
    let lease = app.settings.runner.attempt_timeout.0 + app.settings.runner.lease.0;
    let claimed = match app.store.claim_checks(&instance.name, free as i64, owner, lease, now).await {
        Ok(claimed) => claimed,
        Err(error) => {
            tracing::warn!(connector = %instance.name, %error, "Could not claim verification checks.");
            return Vec::new();
        }
    };
    claimed
        .into_iter()
        .map(|check| {
            let permit = instance.slots.clone().try_acquire_owned().expect("claimed no more than the free slots");
            (check, permit)
        })
        .collect()
}

/// One check: look the subject up under the attempt timeout, judge, record; under the
/// `verification_check` span, in the request's trace.
pub(super) async fn execute(app: &Arc<App>, instance: &Instance, check: &ClaimedCheck, recorder: &Recorder) {
    let span = tracing::info_span!(
        "verification_check",
        connector = %check.task.connector,
        check_id = check.id,
        request_id = %check.task.request_id,
    );
    super::continue_request_trace(&span, &check.task);
    check_once(app, instance, check, recorder).instrument(span).await
}

async fn check_once(app: &Arc<App>, instance: &Instance, check: &ClaimedCheck, recorder: &Recorder) {
    let lookup = lookup(app, instance, check, recorder).await;
    let outcome = judge(check.id, check.attempt, lookup, policy(app), app.clock.now());
    if let Some(recorded) = recorder.record_check(check, outcome.clone()).await {
        log_check(check, &outcome, recorded);
    }
}

async fn lookup(
    app: &Arc<App>,
    instance: &Instance,
    check: &ClaimedCheck,
    recorder: &Recorder,
) -> Result<Found, Failure> {
    let subject: Subject = serde_json::from_value(check.task.subject.clone())
        .map_err(|_| Failure::permanent("the stored subject is unreadable or was already forgotten"))?;
    let ctx = connector_ctx(instance, &check.task, recorder);
    let timeout = app.settings.runner.attempt_timeout.0;
    match tokio::time::timeout(timeout, instance.connector.lookup(&ctx, &subject)).await {
        Ok(found) => found,
        Err(_) => Err(Failure::transient(format!("the lookup took longer than {timeout:?}"))),
    }
}

fn log_check(check: &ClaimedCheck, outcome: &CheckOutcome, recorded: CheckRecorded) {
    let (connector, request_id) = (&check.task.connector, check.task.request_id);
    let subject = &check.task.subject_hash;
    let CheckRecorded::Applied { reopened, closed } = recorded else {
        tracing::warn!(%connector, check_id = check.id, %request_id, "The check's lease moved on while it ran; its result was discarded.");
        return;
    };
    crate::metrics::record_check(connector, outcome.result.as_str());
    match outcome.result {
        CheckResult::Found => {
            crate::metrics::record_resurfaced(connector);
            tracing::error!(%connector, check_id = check.id, %request_id, %subject, count = outcome.count, reopened, alert = "subject_resurfaced", "A verification found the subject again after its erasure; the task and the request reopened.");
        }
        CheckResult::Error => {
            tracing::warn!(%connector, check_id = check.id, %request_id, attempt = check.attempt, error = outcome.error.as_deref().unwrap_or(""), next_attempt_at = ?outcome.retry_at, "A verification lookup failed; it runs again later.");
        }
        result => {
            tracing::info!(%connector, check_id = check.id, %request_id, result = %result, "Verification check passed.")
        }
    }
    if closed {
        tracing::info!(%request_id, "Every verification check passed; the request is closed.");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: RetryPolicy = RetryPolicy { base: Duration::from_secs(30), cap: Duration::from_secs(3600) };
    const DELAYS: [Duration; 2] = [Duration::ZERO, Duration::from_secs(30 * 86_400)];

    fn now() -> DateTime<Utc> {
        "2026-11-24T03:00:00Z".parse().unwrap()
    }

    #[test]
    fn erased_and_nothing_to_erase_schedule_every_delay_and_nothing_else_schedules_any() {
        assert_eq!(checks_for(TaskState::Erased, &DELAYS, true), Some(DELAYS.to_vec()));
        assert_eq!(checks_for(TaskState::NothingToErase, &DELAYS, true), Some(DELAYS.to_vec()));
        assert_eq!(checks_for(TaskState::Erased, &[], true), Some(vec![]), "verify_after = [] is recorded");
        for state in [TaskState::Exempt, TaskState::Failed, TaskState::Waiting, TaskState::Retrying] {
            assert_eq!(checks_for(state, &DELAYS, true), None, "{state}");
        }
        assert_eq!(checks_for(TaskState::Erased, &DELAYS, false), None, "verification off");
    }

    #[test]
    fn a_present_subject_is_found_an_absent_one_passes_and_not_verifiable_passes_unverified() {
        let found = judge(1, 1, Ok(Found { present: true, count: Some(3) }), POLICY, now());
        assert_eq!((found.result, found.count, found.retry_at), (CheckResult::Found, Some(3), None));
        let absent = judge(1, 1, Ok(Found { present: false, count: Some(0) }), POLICY, now());
        assert_eq!((absent.result, absent.count), (CheckResult::Absent, Some(0)));
        assert!(absent.result.passed() && !found.result.passed());
        let unverifiable = judge(1, 1, Err(Failure::not_verifiable("no lookup_url")), POLICY, now());
        assert_eq!(unverifiable.result, CheckResult::NotVerifiable);
        assert!(unverifiable.result.passed() && unverifiable.retry_at.is_none());
    }

    #[test]
    fn lookup_errors_never_pass_and_retry_with_the_policy_or_retry_after() {
        for failure in [Failure::transient("HTTP 503"), Failure::permanent("HTTP 401")] {
            let error = judge(9, 2, Err(failure), POLICY, now());
            assert_eq!(error.result, CheckResult::Error);
            assert!(!error.result.passed());
            let delay = chrono::Duration::from_std(retry_delay(POLICY, 2, 9)).unwrap();
            assert_eq!(error.retry_at, Some(now() + delay));
        }
        let throttled = Failure {
            kind: FailureKind::Throttled { after: Some(Duration::from_secs(42)) },
            reason: "HTTP 429".into(),
        };
        let error = judge(9, 2, Err(throttled), POLICY, now());
        assert_eq!(error.retry_at, Some(now() + chrono::Duration::seconds(42)));
    }
}
