//! Leases and configuration changes: long erasures keep their lease; a task whose connector
//! instance left the config fails with that reason instead of waiting forever.

use crate::support::*;
use erasure_worker::clock::{Clock, ManualClock, SystemClock};
use erasure_worker::Components;
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

#[tokio::test]
async fn a_long_erasure_renews_its_lease_and_is_never_run_twice() {
    let stack = Stack::new().await;
    let settings =
        stack.settings(&[Instance { name: "accounts", extra: "timeout = \"10s\"" }], "[runner]\nlease = \"2s\"\n");
    stack.declare_queues(&settings).await;
    stack.sim.seed("accounts", "olga@example.com", 1);
    stack.sim.set_latency("accounts", Duration::from_millis(4500));
    let worker = Worker::start(settings, Arc::new(SystemClock));
    let id = Uuid::new_v4();
    stack.publish(&bytes(&request(id, "olga@example.com", chrono::Utc::now())), None).await;
    stack.wait_for_state(id, "completed", Duration::from_secs(20)).await;
    assert_eq!(stack.sim.calls("accounts").len(), 1, "the heartbeat kept the lease for 4.5 s with a 2 s lease");
    let task = &stack.tasks(id).await[0];
    assert_eq!((task.state.as_str(), task.attempt), ("erased", 1));
    worker.stop().await;
}

#[tokio::test]
async fn a_task_whose_connector_left_the_config_fails_with_that_reason() {
    let stack = Stack::new().await;
    let both = [Instance { name: "accounts", extra: "" }, Instance { name: "legacy", extra: "" }];
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    let intake_only = Components { intake: true, ..Components::NONE };
    let settings = stack.settings(&both, "");
    stack.declare_queues(&settings).await;
    let intake = Worker::start_only(settings, clock.clone(), intake_only);
    let id = Uuid::new_v4();
    stack.publish(&bytes(&request(id, "pat@example.com", clock.now())), None).await;
    poll(Duration::from_secs(15), "the request to be stored", || async { stack.request_state(id).await }).await;
    intake.stop().await;

    let without_legacy =
        stack.settings(&[Instance { name: "accounts", extra: "" }], "[runner]\norphan_grace = \"1m\"\n");
    let mut events = stack.events().await;
    let worker = Worker::start(without_legacy, clock.clone());
    wait_until(Duration::from_secs(15), "accounts to run", || async {
        stack.tasks(id).await.iter().any(|t| t.connector == "accounts" && t.state == "nothing_to_erase")
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(stack.request_state(id).await.as_deref(), Some("in_progress"), "not before the grace period");
    clock.advance(chrono::Duration::minutes(2));
    stack.wait_for_state(id, "failed", Duration::from_secs(20)).await;
    let legacy = stack.tasks(id).await.into_iter().find(|t| t.connector == "legacy").unwrap();
    assert_eq!(legacy.last_error.as_deref(), Some("the connector instance `legacy` is not configured on any worker"));
    let event = events.next(Duration::from_secs(10)).await.expect("erasure.failed");
    assert_eq!(event.routing_key, "erasure.failed");
    worker.stop().await;
}

#[tokio::test]
async fn a_stale_worker_cannot_record_after_its_lease_was_rescued() {
    use erasure_worker::model::TaskState;
    use erasure_worker::store::tasks::{Guard, Recorded, Transition};

    let stack = Stack::new().await;
    let now = chrono::Utc::now();
    let id = Uuid::new_v4();
    let store = store_with_one_task(&stack, id, now).await;
    let claimed = store.claim("accounts", 10, "old-worker", Duration::from_secs(60), now).await.unwrap();
    assert_eq!(claimed.len(), 1);
    assert!(
        store.claim("accounts", 10, "other", Duration::from_secs(60), now).await.unwrap().is_empty(),
        "claimed once"
    );

    let later = now + chrono::Duration::seconds(61);
    let expired = store.expired_leases(later, 10).await.unwrap();
    assert_eq!(expired.len(), 1);
    let retry = Transition {
        state: TaskState::Retrying,
        attempt: 1,
        next_attempt_at: later,
        pending: None,
        evidence: None,
        error: Some("lease expired".into()),
        verify_after: None,
    };
    let rescued =
        store.record(expired[0].id, id, Guard::ExpiredLease(expired[0].lease_token), &retry, "rescue", later).await;
    assert_eq!(rescued.unwrap(), Recorded::Applied(None));
    let again = store.claim("accounts", 10, "new-worker", Duration::from_secs(60), later).await.unwrap();
    assert_eq!(again.len(), 1);
    assert!(again[0].lease_token > claimed[0].lease_token, "a new fencing token");

    let erased = Transition { state: TaskState::Erased, error: None, evidence: Some(serde_json::json!({})), ..retry };
    let stale =
        store.record(claimed[0].id, id, Guard::Lease(claimed[0].lease_token), &erased, "old-worker", later).await;
    assert_eq!(stale.unwrap(), Recorded::Stale, "the old token is refused");
    let current = store.record(again[0].id, id, Guard::Lease(again[0].lease_token), &erased, "new-worker", later).await;
    assert_eq!(current.unwrap(), Recorded::Applied(Some(erasure_worker::model::RequestState::Completed)));
}

/// A connector's progress is written only under a live lease, is handed to the next claim (after
/// a rescue too), survives a retry, and is cleared when the task succeeds.
#[tokio::test]
async fn progress_follows_the_task_under_its_lease_and_is_cleared_on_success() {
    use erasure_worker::model::TaskState;
    use erasure_worker::store::tasks::{Guard, Recorded, Transition};

    let stack = Stack::new().await;
    let now = chrono::Utc::now();
    let id = Uuid::new_v4();
    let store = store_with_one_task(&stack, id, now).await;
    let first = store.claim("accounts", 10, "old-worker", Duration::from_secs(60), now).await.unwrap().remove(0);
    assert_eq!(first.progress, None);
    let tickets = serde_json::json!({ "tickets": [101, 102] });
    assert!(store.save_progress(first.id, first.lease_token, &tickets, now).await.unwrap());
    assert!(!store.save_progress(first.id, first.lease_token - 1, &tickets, now).await.unwrap(), "a stale token");
    let other = serde_json::json!({ "tickets": [999] });
    let batch = [(first.id, first.lease_token - 1, &other), (first.id, first.lease_token, &tickets)];
    assert_eq!(store.save_progress_all(&batch, now).await.unwrap(), [false, true], "answers in the order given");

    // The worker is lost: its lease expires and the task is rescued, then claimed again.
    let later = now + chrono::Duration::seconds(61);
    let users = serde_json::json!({ "users": [7] });
    assert!(!store.save_progress(first.id, first.lease_token, &users, later).await.unwrap(), "an expired lease");
    let expired = store.expired_leases(later, 10).await.unwrap().remove(0);
    let retry = Transition {
        state: TaskState::Retrying,
        attempt: 1,
        next_attempt_at: later,
        pending: None,
        evidence: None,
        error: Some("lease expired".into()),
        verify_after: None,
    };
    let rescued = store.record(expired.id, id, Guard::ExpiredLease(expired.lease_token), &retry, "rescue", later).await;
    assert_eq!(rescued.unwrap(), Recorded::Applied(None));
    let second = store.claim("accounts", 10, "new-worker", Duration::from_secs(60), later).await.unwrap().remove(0);
    assert_eq!(second.progress, Some(tickets.clone()), "the next attempt gets what the lost one saved");
    assert!(!store.save_progress(first.id, first.lease_token, &users, later).await.unwrap(), "the old worker");
    assert_eq!(
        store.record(second.id, id, Guard::Lease(second.lease_token), &retry, "new-worker", later).await.unwrap(),
        Recorded::Applied(None)
    );
    let third = store.claim("accounts", 10, "new-worker", Duration::from_secs(60), later).await.unwrap().remove(0);
    assert_eq!(third.progress, Some(tickets), "kept through a retry");

    let erased = Transition { state: TaskState::Erased, error: None, evidence: Some(serde_json::json!({})), ..retry };
    store.record(third.id, id, Guard::Lease(third.lease_token), &erased, "new-worker", later).await.unwrap();
    let progress: Option<serde_json::Value> =
        stack.db().await.query_one("SELECT progress FROM tasks WHERE id = $1", &[&third.id]).await.unwrap().get(0);
    assert_eq!(progress, None, "cleared on success");
}

/// The store of a migrated test database holding request `id` with one `accounts` task.
async fn store_with_one_task(
    stack: &Stack,
    id: Uuid,
    now: chrono::DateTime<chrono::Utc>,
) -> erasure_worker::store::Store {
    let store = stack.store(4);
    store.migrate().await.unwrap();
    let new = new_request(id, &["accounts"], now);
    store.insert_request(&new, now).await.unwrap();
    store
}
