//! Wake-ups after a commit (`store::wake`): with every poll an hour long, a request still goes
//! through at once, woken by this process's commits and by another process's notifications.

use crate::support::*;
use erasure_worker::clock::SystemClock;
use erasure_worker::config::{Dur, Settings};
use erasure_worker::Components;
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

const HOUR: Duration = Duration::from_secs(3600);

fn polling_hourly(stack: &Stack) -> Settings {
    let mut settings = stack.settings(&[Instance { name: "accounts", extra: "" }], "");
    settings.runner.poll_interval = Dur(HOUR);
    settings.outbox.poll_interval = Dur(HOUR);
    settings
}

async fn erase_ana(stack: &Stack) {
    stack.sim.seed("accounts", "ana@example.com", 2);
    let mut events = stack.events().await;
    // The loops' first passes and the listeners' start-up wake-ups are over: what wakes them now
    // is the request's commits.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let id = Uuid::new_v4();
    stack.publish(&bytes(&request(id, "ana@example.com", chrono::Utc::now())), None).await;
    let event = events.next(Duration::from_secs(20)).await.expect("the confirmation, long before any poll");
    assert_eq!(event.routing_key, "erasure.completed");
    assert_eq!(event.body["request_id"], id.to_string());
    assert_eq!(stack.sim.records("accounts", "ana@example.com"), 0);
}

#[tokio::test]
async fn a_commit_wakes_the_loops_of_its_own_process() {
    let stack = Stack::new().await;
    let settings = polling_hourly(&stack);
    stack.declare_queues(&settings).await;
    let worker = Worker::start(settings, Arc::new(SystemClock));
    erase_ana(&stack).await;
    worker.stop().await;
}

#[tokio::test]
async fn a_commit_wakes_the_loops_of_another_process() {
    let stack = Stack::new().await;
    let settings = polling_hourly(&stack);
    stack.declare_queues(&settings).await;
    // Two workers with a store each: the runner hears of the intake's commit only by notification.
    let intake = Components { intake: true, ..Components::NONE };
    let work = Components { runner: true, outbox: true, ..Components::NONE };
    let intake = Worker::start_only(settings.clone(), Arc::new(SystemClock), intake);
    let runner = Worker::start_only(settings, Arc::new(SystemClock), work);
    erase_ana(&stack).await;
    intake.stop().await;
    runner.stop().await;
}
