//! Durable retries, on an injected clock: the delays are the computed ones, Retry-After wins,
//! 429 costs no attempt, permanent errors and exhausted attempts fail the request.

use crate::support::*;
use erasure_sim::Fault;
use erasure_worker::clock::{Clock, ManualClock};
use erasure_worker::retry::{retry_delay, RetryPolicy};
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

const POLICY: RetryPolicy = RetryPolicy { base: Duration::from_secs(10), cap: Duration::from_secs(600) };

async fn wait_task(stack: &Stack, id: Uuid, what: &str, check: impl Fn(&TaskRow) -> bool) -> TaskRow {
    poll(Duration::from_secs(15), what, || async { stack.tasks(id).await.into_iter().find(|t| check(t)) }).await
}

fn chrono(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap()
}

#[tokio::test]
async fn transient_failures_retry_after_the_computed_delays_then_succeed() {
    let stack = Stack::new().await;
    let settings = stack.settings(&[Instance { name: "accounts", extra: "" }], "");
    stack.declare_queues(&settings).await;
    stack.sim.seed("accounts", "gil@example.com", 4);
    stack.sim.push_faults(
        "accounts",
        [Fault::Status { status: 503, retry_after: None }, Fault::Status { status: 500, retry_after: None }],
    );
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    let worker = Worker::start(settings, clock.clone());
    let id = Uuid::new_v4();
    stack.publish(&bytes(&request(id, "gil@example.com", clock.now())), None).await;

    let first = wait_task(&stack, id, "the first retry", |t| t.state == "retrying" && t.attempt == 1).await;
    assert_eq!(first.next_attempt_at, clock.now() + chrono(retry_delay(POLICY, 1, first.id)));
    assert_eq!(first.last_error.as_deref(), Some("accounts answered HTTP 503"));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(stack.sim.calls("accounts").len(), 1, "nothing runs before the retry is due");

    clock.advance(chrono(retry_delay(POLICY, 1, first.id)));
    let second = wait_task(&stack, id, "the second retry", |t| t.state == "retrying" && t.attempt == 2).await;
    assert_eq!(second.next_attempt_at, clock.now() + chrono(retry_delay(POLICY, 2, first.id)));
    assert!(retry_delay(POLICY, 2, first.id) >= Duration::from_secs(10), "the delay grows");

    clock.advance(chrono(retry_delay(POLICY, 2, first.id)));
    stack.wait_for_state(id, "completed", Duration::from_secs(15)).await;
    let done = &stack.tasks(id).await[0];
    assert_eq!((done.state.as_str(), done.attempt), ("erased", 3));
    assert_eq!(done.errors.as_array().unwrap().len(), 2, "the error history keeps both failures");
    assert_eq!(stack.sim.calls("accounts").len(), 3);
    worker.stop().await;
}

#[tokio::test]
async fn retry_after_is_honoured_and_a_429_does_not_consume_an_attempt() {
    let stack = Stack::new().await;
    let settings = stack.settings(&[Instance { name: "accounts", extra: "max_attempts = 1" }], "");
    stack.declare_queues(&settings).await;
    stack.sim.push_faults(
        "accounts",
        [Fault::Throttle { retry_after: Some(120) }, Fault::Throttle { retry_after: Some(120) }],
    );
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    let worker = Worker::start(settings, clock.clone());
    let id = Uuid::new_v4();
    stack.publish(&bytes(&request(id, "hal@example.com", clock.now())), None).await;

    let throttled = wait_task(&stack, id, "a throttled retry", |t| t.state == "retrying").await;
    assert_eq!(throttled.attempt, 0, "the 429 gave its attempt back");
    assert_eq!(throttled.next_attempt_at, clock.now() + chrono::Duration::seconds(120));
    clock.advance(chrono::Duration::seconds(119));
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(stack.sim.calls("accounts").len(), 1, "not before Retry-After");
    clock.advance(chrono::Duration::seconds(1));
    wait_until(Duration::from_secs(10), "the second call", || async { stack.sim.calls("accounts").len() == 2 }).await;
    // Its 429 recorded before the clock moves on: recorded after, it would be due 120 s later still.
    let again = clock.now() + chrono::Duration::seconds(120);
    wait_task(&stack, id, "the second 429 recorded", |t| t.state == "retrying" && t.next_attempt_at == again).await;
    clock.advance(chrono::Duration::seconds(120));
    stack.wait_for_state(id, "completed", Duration::from_secs(15)).await;
    assert_eq!(stack.tasks(id).await[0].attempt, 1, "two 429s and one success with max_attempts = 1");
    worker.stop().await;
}

#[tokio::test]
async fn a_permanent_failure_fails_the_request_and_emits_erasure_failed() {
    let stack = Stack::new().await;
    let settings =
        stack.settings(&[Instance { name: "accounts", extra: "" }, Instance { name: "billing", extra: "" }], "");
    stack.declare_queues(&settings).await;
    stack.sim.push_faults("accounts", [Fault::Status { status: 401, retry_after: None }]);
    let mut events = stack.events().await;
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    let worker = Worker::start(settings, clock.clone());
    let id = Uuid::new_v4();
    stack.publish(&bytes(&request(id, "ida@example.com", clock.now())), None).await;

    let event = events.next(Duration::from_secs(20)).await.expect("an event");
    assert_eq!(event.routing_key, "erasure.failed");
    assert_eq!(event.body["state"], "failed");
    let accounts =
        event.body["systems"].as_array().unwrap().iter().find(|s| s["system"] == "accounts").unwrap().clone();
    assert_eq!(accounts["outcome"], "failed");
    assert_eq!(accounts["reason"], "accounts answered HTTP 401");
    assert_eq!(stack.request_state(id).await.as_deref(), Some("failed"));
    assert_eq!(stack.sim.calls("accounts").len(), 1, "a 401 is never retried");
    worker.stop().await;
}

#[tokio::test]
async fn exhausted_attempts_fail_the_task_with_the_last_reason() {
    let stack = Stack::new().await;
    let settings = stack.settings(&[Instance { name: "accounts", extra: "max_attempts = 2\ntimeout = \"500ms\"" }], "");
    stack.declare_queues(&settings).await;
    stack
        .sim
        .push_faults("accounts", [Fault::Status { status: 502, retry_after: Some(1) }, Fault::Hang { millis: 1500 }]);
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    let worker = Worker::start(settings, clock.clone());
    let id = Uuid::new_v4();
    stack.publish(&bytes(&request(id, "jo@example.com", clock.now())), None).await;

    let retrying = wait_task(&stack, id, "a retry", |t| t.state == "retrying").await;
    assert_eq!(retrying.next_attempt_at, clock.now() + chrono::Duration::seconds(1), "Retry-After on a 502");
    clock.advance(chrono::Duration::seconds(1));
    stack.wait_for_state(id, "failed", Duration::from_secs(15)).await;
    let task = &stack.tasks(id).await[0];
    assert_eq!(task.state, "failed");
    let error = task.last_error.clone().unwrap();
    assert!(error.starts_with("gave up after 2 attempts: accounts timed out"), "{error}");
    worker.stop().await;
}

#[tokio::test]
async fn an_accepted_async_erasure_is_checked_until_it_finishes() {
    let stack = Stack::new().await;
    let settings = stack.settings(&[Instance { name: "accounts", extra: "" }], "");
    stack.declare_queues(&settings).await;
    stack.sim.seed("accounts", "kim@example.com", 5);
    stack.sim.set_async("accounts", Some(Duration::from_millis(1200)));
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    let worker = Worker::start(settings, clock.clone());
    let id = Uuid::new_v4();
    stack.publish(&bytes(&request(id, "kim@example.com", clock.now())), None).await;

    let waiting = wait_task(&stack, id, "the task to wait on the vendor", |t| t.state == "waiting").await;
    assert_eq!(waiting.next_attempt_at, clock.now() + chrono::Duration::seconds(1));
    wait_until(Duration::from_secs(15), "the async job to finish", || async {
        clock.advance(chrono::Duration::seconds(1));
        tokio::time::sleep(Duration::from_millis(200)).await;
        stack.request_state(id).await.as_deref() == Some("completed")
    })
    .await;
    let task = &stack.tasks(id).await[0];
    assert_eq!(task.state, "erased");
    assert_eq!(task.attempt, 1, "checks are not attempts");
    let evidence = task.evidence.clone().unwrap();
    assert_eq!(evidence["counts"]["records"], 5);
    assert!(evidence["vendor_refs"].as_array().unwrap().iter().any(|r| r == "job-1"));
    worker.stop().await;
}
