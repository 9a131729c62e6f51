//! Verification after erasure, on an injected clock: a completed request is looked up again at
//! each `verify_after` delay; a subject the simulator re-creates reopens the request, which is
//! erased again and ends closed; a webhook without `lookup_url` closes as not verifiable; a lookup
//! error retries and never closes the request.

use crate::support::*;
use erasure_sim::Fault;
use erasure_worker::clock::{Clock, ManualClock};
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

const VERIFY: &str = "[verification]\nenabled = true\n";

/// The checks of a request: (generation, after_seconds, result), in order.
async fn checks(stack: &Stack, id: Uuid) -> Vec<(i32, f64, Option<String>)> {
    let rows = stack
        .db()
        .await
        .query(
            "SELECT generation, after_seconds, result FROM verification_checks WHERE request_id = $1 ORDER BY id",
            &[&id],
        )
        .await
        .unwrap();
    rows.iter().map(|r| (r.get(0), r.get(1), r.get(2))).collect()
}

async fn wait_checks(stack: &Stack, id: Uuid, what: &str, done: impl Fn(&[(i32, f64, Option<String>)]) -> bool) {
    let mut last = Vec::new();
    let found = tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            last = checks(stack, id).await;
            if done(&last) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    assert!(found.is_ok(), "timed out waiting for {what}; checks: {last:?}");
}

fn result(r: &str) -> Option<String> {
    Some(r.to_string())
}

async fn next_event(events: &mut Events, routing_key: &str) -> Event {
    let event = events.next(Duration::from_secs(15)).await.unwrap_or_else(|| panic!("{routing_key}"));
    assert_eq!(event.routing_key, routing_key, "{:#}", event.body);
    event
}

#[tokio::test]
async fn a_resurfaced_subject_reopens_its_request_which_is_erased_again_and_ends_closed() {
    let stack = Stack::new().await;
    let accounts = format!("verify_after = [\"0s\", \"2s\"]\nlookup_url = \"{}\"", stack.sim.webhook_url("accounts"));
    let settings = stack.settings(&[Instance { name: "accounts", extra: &accounts }], VERIFY);
    stack.declare_queues(&settings).await;
    stack.sim.seed("accounts", "ida@example.com", 2);
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    let mut events = stack.events().await;
    let worker = Worker::start(settings, clock.clone());
    let id = Uuid::new_v4();
    stack.publish(&bytes(&request(id, "ida@example.com", clock.now())), None).await;

    assert_eq!(next_event(&mut events, "erasure.completed").await.body["generation"], 1);
    wait_checks(&stack, id, "the check at 0s", |c| c.first().is_some_and(|c| c.2.is_some())).await;
    assert_eq!(checks(&stack, id).await, [(1, 0.0, result("absent")), (1, 2.0, None)]);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(stack.request_state(id).await.as_deref(), Some("completed"), "the check at 2s is still ahead");

    assert!(stack.sim.resurface("accounts", "ida@example.com", 3), "the simulator re-creates the records");
    clock.advance(chrono::Duration::seconds(3));
    let reopened = next_event(&mut events, "erasure.reopened").await;
    assert_eq!(reopened.body["generation"], 2);
    assert_eq!(reopened.body["state"], "in_progress");
    assert_eq!((&reopened.body["system"], &reopened.body["found_count"]), (&Value::from("accounts"), &Value::from(3)));
    let completed = next_event(&mut events, "erasure.completed").await;
    assert_eq!(completed.body["generation"], 2, "erased again, under the new generation");
    assert_eq!(stack.sim.records("accounts", "ida@example.com"), 0);
    let erase_keys: Vec<_> =
        stack.sim.calls("accounts").into_iter().filter(|c| c.action == "erase").map(|c| c.idempotency_key).collect();
    assert_eq!(erase_keys, [Some(format!("{id}:accounts")), Some(format!("{id}:accounts:2"))]);

    wait_checks(&stack, id, "the new erasure's check at 0s", |c| c.len() == 4 && c[2].2.is_some()).await;
    assert_eq!(stack.request_state(id).await.as_deref(), Some("completed"));
    clock.advance(chrono::Duration::seconds(3));
    let closed = next_event(&mut events, "erasure.closed").await;
    stack.wait_for_state(id, "closed", Duration::from_secs(10)).await;
    assert_eq!(
        checks(&stack, id).await,
        [(1, 0.0, result("absent")), (1, 2.0, result("found")), (2, 0.0, result("absent")), (2, 2.0, result("absent"))]
    );
    assert_eq!((&closed.body["state"], &closed.body["generation"]), (&Value::from("closed"), &Value::from(2)));
    let system = &closed.body["verification"][0];
    assert_eq!((&system["system"], &system["status"]), (&Value::from("accounts"), &Value::from("verified")));
    let results: Vec<&Value> = system["checks"].as_array().unwrap().iter().map(|c| &c["result"]).collect();
    assert_eq!(results, ["absent", "found", "absent", "absent"], "the evidence keeps every check");
    let audit: Vec<String> = stack.audit_events(id).await.into_iter().map(|(_, event, _)| event).collect();
    for event in ["verification.found", "task.reopened", "request.reopened", "request.closed"] {
        assert!(audit.iter().any(|e| e == event), "{event} in {audit:?}");
    }
    let forgotten: bool =
        stack.db().await.query_one("SELECT subject IS NULL FROM requests WHERE id = $1", &[&id]).await.unwrap().get(0);
    assert!(forgotten, "a closed request forgets its identifiers");
    worker.stop().await;
}

#[tokio::test]
async fn a_webhook_without_lookup_url_is_never_asked_and_the_request_closes_as_not_verifiable() {
    let stack = Stack::new().await;
    let settings = stack.settings(&[Instance { name: "accounts", extra: "" }], VERIFY);
    stack.declare_queues(&settings).await;
    stack.sim.seed("accounts", "noa@example.com", 1);
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    let mut events = stack.events().await;
    let worker = Worker::start(settings, clock.clone());
    let id = Uuid::new_v4();
    stack.publish(&bytes(&request(id, "noa@example.com", clock.now())), None).await;

    let completed = next_event(&mut events, "erasure.completed").await;
    assert_eq!(completed.body["systems"][0]["verification"], "not_verifiable", "the e-mail can say so");
    let closed = next_event(&mut events, "erasure.closed").await;
    let system = &closed.body["verification"][0];
    assert_eq!(system["status"], "not_verifiable", "the receipt says this system was not verified");
    assert_eq!(system["checks"][0]["result"], "not_verifiable");
    assert_eq!(checks(&stack, id).await, [(1, 0.0, result("not_verifiable"))], "recorded at once, never scheduled");
    let actions: Vec<String> = stack.sim.calls("accounts").into_iter().map(|c| c.action).collect();
    assert_eq!(actions, ["erase"], "no lookup was sent");
    assert_eq!(stack.request_state(id).await.as_deref(), Some("closed"));
    worker.stop().await;
}

/// A request whose every system is kept under a legal exemption has nothing to verify: it closes
/// as soon as it completes, says each system was not checked, and is forgotten like any other.
#[tokio::test]
async fn a_request_whose_every_system_is_exempt_closes_once_it_completes() {
    const OPS: &str = "verify-ops-token-0123456789abcdefghij";
    let stack = Stack::new().await;
    stack.sim.push_faults("billing", [Fault::Status { status: 403, retry_after: None }]);
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    let mut events = stack.events().await;
    let ops = Token { name: "ops", env: "E2E_VERIFY_OPS_TOKEN", value: OPS, scopes: &["read", "operate"] };
    let systems = [Instance { name: "billing", extra: "" }];
    let (worker, base) = start_with_api(&stack, clock.clone(), &systems, &[ops], VERIFY).await;
    let id = Uuid::new_v4();
    stack.publish(&bytes(&request(id, "eve@example.com", clock.now())), None).await;
    next_event(&mut events, "erasure.failed").await;

    let reason = "invoices kept 10 years (French commercial code art. L123-22), GDPR art. 17(3)(b)";
    let answer = reqwest::Client::new()
        .post(format!("{base}/v1/requests/{id}/tasks/billing/exempt"))
        .bearer_auth(OPS)
        .json(&serde_json::json!({ "reason": reason }))
        .send()
        .await
        .unwrap();
    assert!(answer.status().is_success(), "{answer:?}");
    let completed = next_event(&mut events, "erasure.completed").await;
    assert!(completed.body["systems"][0].get("verification").is_none(), "a kept system is not verified");
    let closed = next_event(&mut events, "erasure.closed").await;
    assert_eq!(closed.body["verification"][0]["status"], "not_checked", "{:#}", closed.body);
    assert_eq!(closed.body["verification"][0]["outcome"], "exempt");
    assert_eq!(stack.request_state(id).await.as_deref(), Some("closed"));
    assert!(checks(&stack, id).await.is_empty());
    worker.stop().await;
}

#[tokio::test]
async fn a_failed_lookup_retries_with_the_policy_and_never_closes_the_request_until_it_passes() {
    let stack = Stack::new().await;
    let accounts = format!("verify_after = [\"1s\"]\nlookup_url = \"{}\"", stack.sim.webhook_url("accounts"));
    let settings = stack.settings(&[Instance { name: "accounts", extra: &accounts }], VERIFY);
    stack.declare_queues(&settings).await;
    stack.sim.seed("accounts", "oto@example.com", 1);
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    let worker = Worker::start(settings, clock.clone());
    let id = Uuid::new_v4();
    stack.publish(&bytes(&request(id, "oto@example.com", clock.now())), None).await;
    stack.wait_for_state(id, "completed", Duration::from_secs(15)).await;
    stack.sim.push_faults("accounts", [Fault::Status { status: 503, retry_after: None }]);
    clock.advance(chrono::Duration::seconds(2));

    wait_checks(&stack, id, "the failed lookup", |c| c.first().is_some_and(|c| c.2.as_deref() == Some("error"))).await;
    let (done, due_at): (bool, chrono::DateTime<chrono::Utc>) = {
        let row = stack
            .db()
            .await
            .query_one("SELECT done_at IS NOT NULL, due_at FROM verification_checks WHERE request_id = $1", &[&id])
            .await
            .unwrap();
        (row.get(0), row.get(1))
    };
    assert!(!done, "an error is not a result: the check is due again");
    assert!(due_at > clock.now(), "after the retry delay");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(stack.request_state(id).await.as_deref(), Some("completed"), "an error never closes");
    clock.advance(chrono::Duration::seconds(600));
    stack.wait_for_state(id, "closed", Duration::from_secs(15)).await;
    assert_eq!(checks(&stack, id).await, [(1, 1.0, result("absent"))]);
    let lookups = stack.sim.calls("accounts").into_iter().filter(|c| c.action == "lookup").count();
    assert_eq!(lookups, 2);
    worker.stop().await;
}

/// Results recorded in one batch (`Store::record_checks`, one update for the whole batch): a
/// result whose lease moved on is refused while the others apply, each with its own audit row; a
/// request closes once its last check passed, reported on the last of its checks.
#[tokio::test]
async fn a_batch_of_results_applies_each_under_its_own_lease_and_closes_what_passed() {
    use erasure_worker::model::CheckResult;
    use erasure_worker::store::verification::{CheckOutcome, CheckRecorded, ClaimedCheck};

    let stack = Stack::new().await;
    let extra = |name: &str| format!("verify_after = [\"1h\"]\nlookup_url = \"{}\"", stack.sim.webhook_url(name));
    let (accounts, billing) = (extra("accounts"), extra("billing"));
    let systems = [Instance { name: "accounts", extra: &accounts }, Instance { name: "billing", extra: &billing }];
    let settings = stack.settings(&systems, VERIFY);
    stack.declare_queues(&settings).await;
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    let worker = Worker::start(settings, clock.clone());
    let (first, second) = (Uuid::new_v4(), Uuid::new_v4());
    stack.publish(&bytes(&request(first, "una@example.com", clock.now())), None).await;
    stack.publish(&bytes(&request(second, "vic@example.com", clock.now())), None).await;
    stack.wait_for_state(first, "completed", Duration::from_secs(20)).await;
    stack.wait_for_state(second, "completed", Duration::from_secs(20)).await;
    worker.stop().await;

    let store = stack.store(2).with_verification(true);
    let later = clock.now() + chrono::Duration::hours(2);
    let mut claimed: Vec<ClaimedCheck> = Vec::new();
    for system in ["accounts", "billing"] {
        claimed.extend(store.claim_checks(system, 10, "test", Duration::from_secs(60), later).await.unwrap());
    }
    assert_eq!(claimed.len(), 4, "one check per system and request");
    // Another worker took the first request's billing check over (as after an expired lease).
    let stale = claimed.iter().find(|c| c.task.request_id == first && c.task.connector == "billing").unwrap().id;
    let db = stack.db().await;
    db.execute("UPDATE verification_checks SET lease_token = lease_token + 1 WHERE id = $1", &[&stale]).await.unwrap();

    // Given newest first, so that the answers must follow the order given, not the store's.
    claimed.sort_by_key(|c| std::cmp::Reverse(c.id));
    let absent = CheckOutcome { result: CheckResult::Absent, count: Some(0), error: None, retry_at: None };
    let batch: Vec<(&ClaimedCheck, &CheckOutcome)> = claimed.iter().map(|c| (c, &absent)).collect();
    let answers = store.record_checks(&batch, "test", later).await.unwrap();
    let last_of_second = claimed.iter().filter(|c| c.task.request_id == second).map(|c| c.id).max().unwrap();
    for (check, answer) in claimed.iter().zip(&answers) {
        let expected = if check.id == stale {
            CheckRecorded::Stale
        } else {
            CheckRecorded::Applied { reopened: false, closed: check.id == last_of_second }
        };
        assert_eq!(*answer, expected, "check {} of {}", check.id, check.task.connector);
    }
    assert_eq!(stack.request_state(first).await.as_deref(), Some("completed"), "its billing check is still due");
    assert_eq!(stack.request_state(second).await.as_deref(), Some("closed"));
    assert_eq!(
        check_results(&stack, first).await,
        [("accounts".into(), result("absent"), Some(0), true), ("billing".into(), None, None, false)]
    );
    let absent_rows =
        |events: Vec<(String, String, Value)>| events.iter().filter(|e| e.1 == "verification.absent").count();
    assert_eq!(
        (absent_rows(stack.audit_events(first).await), absent_rows(stack.audit_events(second).await)),
        (1, 2),
        "one audit row per applied result"
    );
    let report = erasure_worker::audit::verify::run(&store, None).await.unwrap();
    assert!(report.breaks.is_empty(), "{:?}", report.lines());
}

/// A request's checks by system: (system, result, count, done).
async fn check_results(stack: &Stack, id: Uuid) -> Vec<(String, Option<String>, Option<i64>, bool)> {
    let rows = stack
        .db()
        .await
        .query(
            "SELECT connector, result, count, done_at IS NOT NULL FROM verification_checks
             WHERE request_id = $1 ORDER BY connector",
            &[&id],
        )
        .await
        .unwrap();
    rows.iter().map(|r| (r.get(0), r.get(1), r.get(2), r.get(3))).collect()
}
