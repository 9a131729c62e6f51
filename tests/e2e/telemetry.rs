//! OpenTelemetry traces (issue 15): a real `erasure` process exports over OTLP/HTTP to the
//! simulator's collector; one trace runs from the intake message to the webhook call.

use crate::support::*;
use erasure_sim::ReceivedSpan;
use lapin::types::{AMQPValue, FieldTable};
use std::time::Duration;
use uuid::Uuid;

const UPSTREAM: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

/// A worker process exporting to the simulator; the request for `email` erased at `accounts`.
async fn erase_through_a_traced_worker(stack: &Stack, email: &str, headers: FieldTable) -> (Uuid, Process) {
    let extra = format!("[telemetry]\notlp_endpoint = \"{}\"\n", stack.sim.otlp_endpoint());
    let config = stack.config_file(&[Instance { name: "accounts", extra: "" }], &extra);
    let settings = erasure_worker::config::Settings::load_with_env(Some(&config), Default::default()).unwrap();
    stack.declare_queues(&settings).await;
    stack.sim.seed("accounts", email, 2);
    // Export every 100 ms instead of every 5 s (the SDK's standard variable).
    let worker = Process::start_with_env(&config, &stack.dir.join("worker.log"), &[("OTEL_BSP_SCHEDULE_DELAY", "100")]);
    let id = Uuid::new_v4();
    stack.publish_with_headers(&bytes(&request(id, email, chrono::Utc::now())), None, headers).await;
    stack.wait_for_state(id, "completed", Duration::from_secs(30)).await;
    (id, worker)
}

/// The spans of `trace_id` once both the intake and the attempt span arrived.
async fn spans_of(stack: &Stack, trace_id: &str) -> Vec<ReceivedSpan> {
    poll(Duration::from_secs(15), "the intake and attempt spans at the collector", || async {
        let spans: Vec<ReceivedSpan> = stack.sim.spans().into_iter().filter(|s| s.trace_id == trace_id).collect();
        let has = |name: &str| spans.iter().any(|s| s.name == name);
        (has("intake") && has("attempt")).then_some(spans)
    })
    .await
}

fn named<'a>(spans: &'a [ReceivedSpan], name: &str) -> &'a ReceivedSpan {
    spans.iter().find(|s| s.name == name).unwrap_or_else(|| panic!("no {name} span in {spans:#?}"))
}

/// Intake is a child of the message's context, the attempt a child of intake, and the webhook
/// call's `traceparent` names the attempt as its parent; no span attribute repeats the person.
fn assert_one_trace(spans: &[ReceivedSpan], stack: &Stack, id: Uuid, email: &str) -> (String, String) {
    let user_id = format!("u_{}", &id.simple().to_string()[..8]);
    let intake = named(spans, "intake");
    let attempt = named(spans, "attempt");
    assert_eq!(attempt.parent_span_id, intake.span_id, "the attempt continues intake's span");
    assert_eq!(intake.service, "erasure-worker");
    for span in spans {
        for (key, value) in &span.attributes {
            assert!(
                !value.contains(email) && !value.contains(&user_id),
                "{} carries personal data in {key}",
                span.name
            );
        }
    }
    let calls = stack.sim.calls("accounts");
    let erase = calls.iter().find(|c| c.action == "erase").expect("the erase call");
    let traceparent = erase.traceparent.as_deref().expect("the webhook call carries a traceparent");
    let expected = format!("00-{}-{}-01", attempt.trace_id, attempt.span_id);
    assert_eq!(traceparent, expected, "the webhook call is a child of the attempt");
    (intake.parent_span_id.clone(), attempt.trace_id.clone())
}

#[tokio::test]
async fn the_messages_traceparent_is_continued_from_intake_to_the_webhook_call() {
    let stack = Stack::new().await;
    let mut headers = FieldTable::default();
    headers.insert("traceparent".into(), AMQPValue::LongString(UPSTREAM.into()));
    let (id, worker) = erase_through_a_traced_worker(&stack, "trace@example.com", headers).await;

    let spans = spans_of(&stack, "4bf92f3577b34da6a3ce929d0e0e4736").await;
    let (intake_parent, _) = assert_one_trace(&spans, &stack, id, "trace@example.com");
    assert_eq!(intake_parent, "00f067aa0ba902b7", "intake is a child of the producer's span");
    let stored: Option<String> =
        stack.db().await.query_one("SELECT traceparent FROM requests WHERE id = $1", &[&id]).await.unwrap().get(0);
    let stored = stored.expect("the request keeps its trace context");
    assert!(stored.starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-"), "{stored}");
    assert_eq!(&stored[36..52], named(&spans, "intake").span_id, "what attempts continue is intake's span");
    worker.terminate(Duration::from_secs(15)).await;
}

#[tokio::test]
async fn without_a_traceparent_intake_starts_the_trace_and_the_attempt_continues_it() {
    let stack = Stack::new().await;
    let mut headers = FieldTable::default();
    // Invalid (uppercase): ignored as the W3C spec says, and a trace is started.
    headers.insert("traceparent".into(), AMQPValue::LongString(UPSTREAM.to_uppercase().as_str().into()));
    let (id, worker) = erase_through_a_traced_worker(&stack, "untraced@example.com", headers).await;

    let stored: String =
        stack.db().await.query_one("SELECT traceparent FROM requests WHERE id = $1", &[&id]).await.unwrap().get(0);
    let trace_id = &stored[3..35];
    assert_ne!(trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
    let spans = spans_of(&stack, trace_id).await;
    let (intake_parent, _) = assert_one_trace(&spans, &stack, id, "untraced@example.com");
    assert_eq!(intake_parent, "", "intake's span is the root of the new trace");
    worker.terminate(Duration::from_secs(15)).await;
}

#[tokio::test]
async fn with_tracing_off_the_submitted_traceparent_is_stored_and_sent_on_as_it_came() {
    let stack = Stack::new().await;
    let token = Token {
        name: "shop",
        env: "E2E_TRACE_SUBMIT",
        value: "submit-token-0123456789abcdef-0123456789",
        scopes: &["submit"],
    };
    let systems = [Instance { name: "accounts", extra: "" }];
    let clock = std::sync::Arc::new(erasure_worker::clock::SystemClock);
    let (worker, base) = start_with_api(&stack, clock, &systems, &[token], "").await;
    stack.sim.seed("accounts", "http-trace@example.com", 1);
    let id = Uuid::new_v4();
    let answer = reqwest::Client::new()
        .post(format!("{base}/v1/requests"))
        .bearer_auth("submit-token-0123456789abcdef-0123456789")
        .header("traceparent", UPSTREAM)
        .json(&request(id, "http-trace@example.com", chrono::Utc::now()))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), reqwest::StatusCode::CREATED);
    stack.wait_for_state(id, "completed", Duration::from_secs(20)).await;
    let stored: Option<String> =
        stack.db().await.query_one("SELECT traceparent FROM requests WHERE id = $1", &[&id]).await.unwrap().get(0);
    assert_eq!(stored.as_deref(), Some(UPSTREAM), "no exporter: the producer's context is what continues");
    let calls = stack.sim.calls("accounts");
    let erase = calls.iter().find(|c| c.action == "erase").expect("the erase call");
    assert_eq!(erase.traceparent.as_deref(), Some(UPSTREAM));
    assert!(stack.sim.spans().is_empty(), "nothing is exported without an endpoint");
    worker.stop().await;
}
