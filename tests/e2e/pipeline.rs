//! The whole path: one message in, every system erased, one confirmation out.

use crate::support::*;
use erasure_worker::clock::SystemClock;
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

fn three_systems() -> Vec<Instance<'static>> {
    vec![
        Instance { name: "accounts", extra: "" },
        Instance { name: "billing", extra: "" },
        Instance { name: "support", extra: "" },
    ]
}

#[tokio::test]
async fn a_request_is_erased_everywhere_and_confirmed_on_the_exchange_and_reply_queue() {
    let stack = Stack::new().await;
    let settings = stack.settings(&three_systems(), "");
    stack.declare_queues(&settings).await;
    stack.sim.seed("accounts", "ana@example.com", 3);
    stack.sim.seed("billing", "ana@example.com", 2);
    let mut events = stack.events().await;
    let mut replies = stack.events().await; // a second exclusive queue, used as reply_to
    let worker = Worker::start(settings, Arc::new(SystemClock));

    let id = Uuid::new_v4();
    let body = request(id, "Ana@Example.com", chrono::Utc::now());
    stack.publish(&bytes(&body), Some(&replies.queue)).await;

    let event = events.next(Duration::from_secs(20)).await.expect("a confirmation event");
    assert_eq!(event.routing_key, "erasure.completed");
    assert_eq!(event.body["request_id"], id.to_string());
    assert_eq!(event.body["state"], "completed");
    assert_eq!(event.message_id.as_deref(), event.body["message_id"].as_str());
    let systems = event.body["systems"].as_array().unwrap();
    let outcome = |name: &str| systems.iter().find(|s| s["system"] == name).unwrap().clone();
    assert_eq!(outcome("accounts")["outcome"], "erased");
    assert_eq!(outcome("accounts")["evidence"]["counts"]["records"], 3);
    assert_eq!(outcome("billing")["evidence"]["counts"]["records"], 2);
    assert_eq!(outcome("support")["outcome"], "nothing_to_erase");
    assert!(event.body["receipt"].as_str().unwrap().starts_with("ER-"));
    assert!(!serde_json::to_string(&event.body).unwrap().contains("ana@"), "no identifier in events");

    let reply = replies.next(Duration::from_secs(10)).await.expect("the confirmation on reply_to");
    assert_eq!(reply.message_id, event.message_id);
    assert_eq!(stack.sim.records("accounts", "ana@example.com"), 0, "the identifier was normalised before the call");

    let audit: Vec<String> = stack
        .db()
        .await
        .query("SELECT event FROM audit_log WHERE request_id = $1 ORDER BY id", &[&id])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(audit.first().map(String::as_str), Some("request.received"));
    assert_eq!(audit.last().map(String::as_str), Some("request.completed"));
    assert_eq!(audit.iter().filter(|e| *e == "task.running").count(), 3);
    let deleted = stack.db().await.execute("DELETE FROM audit_log WHERE request_id = $1", &[&id]).await;
    assert!(deleted.is_err(), "the audit log is append-only");
    worker.stop().await;
}

#[tokio::test]
async fn the_same_request_published_twice_erases_once_and_confirms_once() {
    let stack = Stack::new().await;
    let settings = stack.settings(&three_systems(), "");
    stack.declare_queues(&settings).await;
    stack.sim.seed("accounts", "bob@example.com", 1);
    let mut events = stack.events().await;
    let worker = Worker::start(settings, Arc::new(SystemClock));

    let id = Uuid::new_v4();
    let body = bytes(&request(id, "bob@example.com", chrono::Utc::now()));
    stack.publish(&body, None).await;
    stack.publish(&body, None).await;
    let event = events.next(Duration::from_secs(20)).await.expect("a confirmation");
    assert_eq!(event.routing_key, "erasure.completed");
    assert!(events.next(Duration::from_secs(2)).await.is_none(), "exactly one confirmation");
    for system in ["accounts", "billing", "support"] {
        let erases = stack.sim.calls(system).iter().filter(|c| c.action == "erase").count();
        assert_eq!(erases, 1, "{system} was called once");
    }
    let count: i64 = stack.db().await.query_one("SELECT count(*) FROM requests", &[]).await.unwrap().get(0);
    assert_eq!(count, 1);
    worker.stop().await;
}

#[tokio::test]
async fn a_subset_of_systems_gets_tasks_only_for_those() {
    let stack = Stack::new().await;
    let settings = stack.settings(&three_systems(), "");
    stack.declare_queues(&settings).await;
    let worker = Worker::start(settings, Arc::new(SystemClock));
    let id = Uuid::new_v4();
    let mut body = request(id, "cy@example.com", chrono::Utc::now());
    body["systems"] = serde_json::json!(["billing"]);
    stack.publish(&bytes(&body), None).await;
    stack.wait_for_state(id, "completed", Duration::from_secs(20)).await;
    let tasks = stack.tasks(id).await;
    assert_eq!(tasks.len(), 1);
    assert_eq!(tasks[0].connector, "billing");
    assert!(stack.sim.calls("accounts").is_empty());
    worker.stop().await;
}

#[tokio::test]
async fn an_unroutable_event_stays_in_the_outbox_until_a_queue_is_bound() {
    let stack = Stack::new().await;
    let settings = stack
        .settings(&[Instance { name: "accounts", extra: "" }], "[outbox]\nretry_base = \"1s\"\nretry_cap = \"1s\"\n");
    stack.declare_queues(&settings).await;
    let worker = Worker::start(settings, Arc::new(SystemClock));
    let id = Uuid::new_v4();
    stack.publish(&bytes(&request(id, "dee@example.com", chrono::Utc::now())), None).await;
    stack.wait_for_state(id, "completed", Duration::from_secs(20)).await;
    let db = stack.db().await;
    wait_until(Duration::from_secs(10), "the relay to find the event unroutable", || async {
        let row =
            db.query_one("SELECT last_error, sent_at IS NULL FROM outbox WHERE request_id = $1", &[&id]).await.unwrap();
        row.get::<_, Option<String>>(0).is_some_and(|e| e.contains("Unroutable")) && row.get::<_, bool>(1)
    })
    .await;

    let mut events = stack.events().await;
    let event = events.next(Duration::from_secs(15)).await.expect("the event once a queue is bound");
    assert_eq!(event.body["request_id"], id.to_string());
    wait_until(Duration::from_secs(10), "the row to be marked sent after the confirm", || async {
        db.query_one("SELECT sent_at IS NOT NULL FROM outbox WHERE request_id = $1", &[&id]).await.unwrap().get(0)
    })
    .await;
    worker.stop().await;
}

/// The event has every field the shipped schema requires and none it does not describe.
pub fn assert_matches_event_schema(event: &serde_json::Value) {
    let schema: serde_json::Value =
        serde_json::from_str(include_str!("../../schemas/erasure-event.v1.schema.json")).unwrap();
    for required in schema["required"].as_array().unwrap() {
        assert!(event.get(required.as_str().unwrap()).is_some(), "the event lacks {required}");
    }
    for key in event.as_object().unwrap().keys() {
        assert!(schema["properties"].get(key).is_some(), "the schema does not describe `{key}`");
    }
    let system_schema = &schema["properties"]["systems"]["items"];
    for system in event["systems"].as_array().into_iter().flatten() {
        for key in system.as_object().unwrap().keys() {
            assert!(system_schema["properties"].get(key).is_some(), "the schema does not describe systems[].{key}");
        }
        let outcomes = system_schema["properties"]["outcome"]["enum"].as_array().unwrap();
        assert!(outcomes.contains(&system["outcome"]));
    }
}
