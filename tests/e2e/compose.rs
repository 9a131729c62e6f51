//! `deploy/compose.yaml` end to end (`scripts/compose-test` brings it up and runs this; ignored by
//! a plain `scripts/test`): a signed request published to the stack's RabbitMQ is erased at the
//! simulator and confirmed, the worker is ready and scraped, and Prometheus loaded the alert rules
//! and scrapes the worker. Without `ERASURE_TEST_COMPOSE` it fails rather than pass unseen.

use crate::support::{bytes, poll, request};
use erasure_worker::intake::signature::{sign, KEY_ID_HEADER, SIGNATURE_HEADER};
use futures_util::StreamExt;
use lapin::options::*;
use lapin::types::{AMQPValue, FieldTable};
use lapin::{BasicProperties, Connection, ConnectionProperties};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::time::Duration;
use uuid::Uuid;

/// The defaults of deploy/compose.yaml, or the variables it reads.
fn setting(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_string())
}

fn port(name: &str, default: u16) -> u16 {
    setting(name, &default.to_string()).parse().expect("a port number")
}

#[tokio::test]
#[ignore = "needs deploy/compose.yaml up: scripts/compose-test brings it up and runs this"]
async fn the_compose_stack_erases_a_signed_request_confirms_and_is_scraped_with_its_alert_rules() {
    assert!(std::env::var_os("ERASURE_TEST_COMPOSE").is_some(), "run scripts/compose-test, which brings the stack up");
    let probes = format!("http://127.0.0.1:{}", port("ERASURE_PROBES_PORT", 9090));
    let sim = format!("http://127.0.0.1:{}", port("ERASURE_SIM_PORT", 18089));
    let prometheus = format!("http://127.0.0.1:{}", port("ERASURE_PROMETHEUS_PORT", 9091));
    let amqp = format!(
        "amqp://erasure:{}@127.0.0.1:{}/%2f",
        setting("ERASURE_AMQP_PASSWORD", "erasure-compose"),
        port("ERASURE_AMQP_PORT", 5672)
    );
    let signing_key = setting("ERASURE_SIGNING_KEY", "compose-signing-key-change-me-0123456789");
    let http = reqwest::Client::new();
    let get = |url: String| {
        let http = http.clone();
        async move {
            let response = http.get(url).send().await.ok()?;
            Some((response.status(), response.text().await.unwrap_or_default()))
        }
    };

    poll(Duration::from_secs(180), "the worker to be ready", || async {
        get(format!("{probes}/readyz")).await.filter(|(status, _)| *status == StatusCode::OK)
    })
    .await;
    let email = format!("compose-{}@example.com", Uuid::new_v4().simple());
    let seeded = http
        .post(format!("{sim}/_sim/seed"))
        .json(&json!({ "system": "accounts", "identifiers": [email], "records": 2 }))
        .send()
        .await
        .expect("the simulator answers");
    assert!(seeded.status().is_success());

    let connection = Connection::connect(&amqp, ConnectionProperties::default()).await.expect("the compose RabbitMQ");
    let channel = connection.create_channel().await.unwrap();
    let queue = channel
        .queue_declare("".into(), QueueDeclareOptions { exclusive: true, ..Default::default() }, FieldTable::default())
        .await
        .unwrap();
    channel
        .queue_bind(
            queue.name().clone(),
            "erasure.events".into(),
            "#".into(),
            Default::default(),
            FieldTable::default(),
        )
        .await
        .expect("the worker declared erasure.events");
    let mut events = channel
        .basic_consume(
            queue.name().clone(),
            "compose-test".into(),
            BasicConsumeOptions { no_ack: true, ..Default::default() },
            FieldTable::default(),
        )
        .await
        .unwrap();

    let id = Uuid::new_v4();
    let body = bytes(&request(id, &email, chrono::Utc::now()));
    let mut headers = FieldTable::default();
    headers.insert(KEY_ID_HEADER.into(), AMQPValue::LongString("compose".into()));
    let signature = sign(signing_key.as_bytes(), None, &body);
    headers.insert(SIGNATURE_HEADER.into(), AMQPValue::LongString(signature.as_str().into()));
    channel.confirm_select(ConfirmSelectOptions::default()).await.unwrap();
    let properties = BasicProperties::default().with_headers(headers).with_delivery_mode(2);
    let options = BasicPublishOptions { mandatory: true, ..Default::default() };
    let confirm = channel
        .basic_publish("".into(), "erasure.requests".into(), options, &body, properties)
        .await
        .unwrap()
        .await
        .unwrap();
    assert!(confirm.is_ack() && confirm.take_message().is_none(), "the request was queued");

    let completed = tokio::time::timeout(Duration::from_secs(120), async {
        while let Some(Ok(delivery)) = events.next().await {
            let event: Value = serde_json::from_slice(&delivery.data).unwrap();
            if delivery.routing_key.as_str() == "erasure.completed" && event["request_id"] == id.to_string() {
                return event;
            }
        }
        panic!("the events consumer ended")
    })
    .await
    .expect("the confirmation within two minutes");
    let systems = completed["systems"].as_array().unwrap();
    assert!(systems.iter().any(|s| s["system"] == "accounts" && s["outcome"] == "erased"), "{completed}");
    let calls: Value =
        serde_json::from_str(&get(format!("{sim}/_sim/calls?system=accounts")).await.unwrap().1).unwrap();
    assert!(calls.as_array().unwrap().iter().any(|c| c["action"] == "erase"), "the simulator was called: {calls}");

    let (status, metrics) = get(format!("{probes}/metrics")).await.unwrap();
    assert_eq!(status, StatusCode::OK);
    assert!(metrics.contains("erasure_task_attempts_total{connector=\"accounts\",outcome=\"erased\"}"), "{metrics}");

    let rules: Value = serde_json::from_str(&get(format!("{prometheus}/api/v1/rules")).await.unwrap().1).unwrap();
    let groups = rules["data"]["groups"].as_array().unwrap();
    assert!(groups.iter().any(|g| g["name"] == "erasure-worker"), "deploy/alerts.yml is loaded: {rules}");
    poll(Duration::from_secs(60), "Prometheus to scrape the worker", || async {
        // A counter of the worker's process, as Prometheus scraped it from the probes listener.
        let query = format!(
            "{prometheus}/api/v1/query?query=sum(erasure_task_attempts_total%7Bconnector%3D%22accounts%22%2Coutcome%3D%22erased%22%7D)"
        );
        let answer: Value = serde_json::from_str(&get(query).await?.1).ok()?;
        let value = answer["data"]["result"][0]["value"][1].as_str()?.parse::<f64>().ok()?;
        (value >= 1.0).then_some(())
    })
    .await;
    connection.close(200, "done".into()).await.ok();
}
