//! The HTTP API: authentication and scopes, submission, status, lists, search, and every action
//! with its audit event.

use crate::support::*;
use erasure_sim::Fault;
use erasure_worker::clock::{Clock, ManualClock};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

const OPS: &str = "ops-token-0123456789abcdefghijklmnop";
const READER: &str = "reader-token-0123456789abcdefghijklmnop";
const PRODUCT: &str = "product-token-0123456789abcdefghijklmnop";

struct Api {
    base: String,
    http: reqwest::Client,
}

impl Api {
    async fn get(&self, path: &str, token: Option<&str>) -> (StatusCode, Value) {
        let mut request = self.http.get(format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.unwrap();
        (response.status(), response.json().await.unwrap_or(Value::Null))
    }

    async fn post(&self, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
        let response =
            self.http.post(format!("{}{path}", self.base)).bearer_auth(token).json(&body).send().await.unwrap();
        (response.status(), response.json().await.unwrap_or(Value::Null))
    }
}

async fn start(stack: &Stack, clock: Arc<ManualClock>, systems: &[Instance<'_>]) -> (Worker, Api) {
    let tokens = [
        Token { name: "ops", env: "E2E_OPS_TOKEN", value: OPS, scopes: &["read", "operate"] },
        Token { name: "dashboard", env: "E2E_READER_TOKEN", value: READER, scopes: &["read"] },
        Token { name: "shop", env: "E2E_PRODUCT_TOKEN", value: PRODUCT, scopes: &["submit"] },
    ];
    let (worker, base) = start_with_api(stack, clock, systems, &tokens, "").await;
    (worker, Api { base, http: reqwest::Client::new() })
}

fn message(id: Uuid, email: &str, clock: &ManualClock) -> Value {
    request(id, email, clock.now())
}

#[tokio::test]
async fn no_token_is_401_a_token_without_the_scope_is_403() {
    let stack = Stack::new().await;
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    let (worker, api) = start(&stack, clock.clone(), &[Instance { name: "accounts", extra: "" }]).await;
    let id = Uuid::new_v4();

    assert_eq!(api.get("/healthz", None).await.0, StatusCode::OK);
    // Ready once the intake consumes (it may still be connecting when the API answers).
    poll(Duration::from_secs(15), "the worker to be ready", || async {
        (api.get("/readyz", None).await.0 == StatusCode::OK).then_some(())
    })
    .await;
    let (status, body) = api.get(&format!("/v1/requests/{id}"), None).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::UNAUTHORIZED, Some("unauthenticated")));
    assert_eq!(api.get("/v1/requests", Some("not-a-token")).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(
        api.post(&format!("/v1/requests/{id}/cancel"), READER, json!({ "reason": "x" })).await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(api.post("/v1/requests", READER, message(id, "a@example.com", &clock)).await.0, StatusCode::FORBIDDEN);
    assert_eq!(api.get("/v1/requests", Some(PRODUCT)).await.0, StatusCode::FORBIDDEN);
    assert_eq!(api.get(&format!("/v1/requests/{id}"), Some(READER)).await.0, StatusCode::NOT_FOUND);
    worker.stop().await;
}

#[tokio::test]
async fn submit_over_http_with_the_queues_validation_and_idempotency_then_follow_it() {
    let stack = Stack::new().await;
    stack.sim.seed("accounts", "wes@example.com", 2);
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    let (worker, api) = start(&stack, clock.clone(), &[Instance { name: "accounts", extra: "" }]).await;
    let id = Uuid::new_v4();
    let body = message(id, "Wes@Example.com", &clock);

    let (status, created) = api.post("/v1/requests", PRODUCT, body.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(api.post("/v1/requests", PRODUCT, body.clone()).await.0, StatusCode::OK, "a duplicate is a no-op");
    let mut other = body.clone();
    other["subject"]["emails"] = json!(["someone-else@example.com"]);
    assert_eq!(api.post("/v1/requests", PRODUCT, other).await.0, StatusCode::CONFLICT);
    let mut invalid = message(Uuid::new_v4(), "x@example.com", &clock);
    invalid["subject"]["phones"] = json!(["0612"]);
    let (status, refused) = api.post("/v1/requests", PRODUCT, invalid).await;
    assert_eq!((status, refused["error"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_subject")));

    stack.wait_for_state(id, "completed", Duration::from_secs(20)).await;
    let (status, detail) = api.get(&format!("/v1/requests/{id}"), Some(READER)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(detail["state"], "completed");
    assert_eq!(detail["tasks"][0]["system"], "accounts");
    assert_eq!(detail["tasks"][0]["evidence"]["counts"]["records"], 2);
    assert!(detail["deadline_at"].as_str().is_some());
    assert_eq!(detail["timeline"].as_array().unwrap().last().unwrap()["event"], "request.completed");
    assert!(!detail.to_string().contains("wes@"), "responses show subjects only as a keyed hash");

    let (_, found) = api.post("/v1/requests/search", READER, json!({ "email": " WES@example.com" })).await;
    assert_eq!(found["requests"][0]["id"], id.to_string());
    let (_, none) = api.post("/v1/requests/search", READER, json!({ "email": "nobody@example.com" })).await;
    assert_eq!(none["requests"], json!([]));
    worker.stop().await;
}

#[tokio::test]
async fn lists_page_with_a_stable_cursor_and_filter() {
    let stack = Stack::new().await;
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    let (worker, api) = start(&stack, clock.clone(), &[Instance { name: "accounts", extra: "" }]).await;
    let mut ids = Vec::new();
    for i in 0..5 {
        let id = Uuid::new_v4();
        assert_eq!(
            api.post("/v1/requests", PRODUCT, message(id, &format!("p{i}@example.com"), &clock)).await.0,
            StatusCode::CREATED
        );
        clock.advance(chrono::Duration::seconds(1));
        ids.push(id);
    }
    for id in &ids {
        stack.wait_for_state(*id, "completed", Duration::from_secs(20)).await;
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/v1/requests?limit=2&cursor={c}"),
            None => "/v1/requests?limit=2".to_string(),
        };
        let (status, page) = api.get(&path, Some(READER)).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        seen.extend(page["requests"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap().to_string()));
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_string()),
            None => break,
        }
    }
    assert_eq!(seen, ids.iter().map(Uuid::to_string).collect::<Vec<_>>(), "every request once, in order");
    let (_, failed) = api.get("/v1/requests?state=failed", Some(READER)).await;
    assert_eq!(failed["requests"], json!([]));
    let (_, overdue) = api.get("/v1/requests?overdue=true", Some(READER)).await;
    assert_eq!(overdue["requests"], json!([]));
    assert_eq!(api.get("/v1/requests?cursor=garbage", Some(READER)).await.0, StatusCode::UNPROCESSABLE_ENTITY);
    worker.stop().await;
}

#[tokio::test]
async fn retry_a_failed_system_after_fixing_it() {
    let stack = Stack::new().await;
    stack.sim.push_faults("accounts", [Fault::Status { status: 401, retry_after: None }]);
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    let (worker, api) = start(&stack, clock.clone(), &[Instance { name: "accounts", extra: "" }]).await;
    let id = Uuid::new_v4();
    api.post("/v1/requests", PRODUCT, message(id, "xan@example.com", &clock)).await;
    stack.wait_for_state(id, "failed", Duration::from_secs(20)).await;

    let (status, body) =
        api.post(&format!("/v1/requests/{id}/retry"), OPS, json!({ "reason": "rotated the API token" })).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    stack.wait_for_state(id, "completed", Duration::from_secs(20)).await;
    let events = stack.audit_events(id).await;
    assert!(events.iter().any(|(actor, event, detail)| actor == "api:ops"
        && event == "request.retried"
        && detail["reason"] == "rotated the API token"));
    let (_, detail) = api.get(&format!("/v1/requests/{id}"), Some(OPS)).await;
    assert_eq!(detail["generation"], 2, "a retried request is a new generation (new event ids)");
    assert_eq!(
        api.post(&format!("/v1/requests/{id}/retry"), OPS, json!({ "reason": "again" })).await.0,
        StatusCode::CONFLICT
    );
    worker.stop().await;
}

#[tokio::test]
async fn holds_are_a_set_and_a_held_request_waits() {
    let stack = Stack::new().await;
    stack.sim.push_faults("accounts", [Fault::Throttle { retry_after: Some(60) }]);
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    let (worker, api) = start(&stack, clock.clone(), &[Instance { name: "accounts", extra: "" }]).await;
    let id = Uuid::new_v4();
    api.post("/v1/requests", PRODUCT, message(id, "yan@example.com", &clock)).await;
    wait_until(Duration::from_secs(15), "the throttled first call", || async {
        stack.sim.calls("accounts").len() == 1
    })
    .await;

    let hold = |kind: &'static str| json!({ "kind": kind, "reason": "litigation 42" });
    assert_eq!(api.post(&format!("/v1/requests/{id}/hold"), OPS, hold("legal")).await.0, StatusCode::OK);
    assert_eq!(
        api.post(&format!("/v1/requests/{id}/hold"), OPS, json!({ "reason": "checking" })).await.0,
        StatusCode::OK
    );
    assert_eq!(api.post(&format!("/v1/requests/{id}/hold"), OPS, hold("legal")).await.0, StatusCode::CONFLICT);
    let (_, detail) = api.get(&format!("/v1/requests/{id}"), Some(READER)).await;
    assert_eq!(detail["holds"].as_array().unwrap().len(), 2);

    clock.advance(chrono::Duration::seconds(61));
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(stack.sim.calls("accounts").len(), 1, "a held request waits");
    api.post(&format!("/v1/requests/{id}/release"), OPS, json!({ "kind": "operator", "reason": "checked" })).await;
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(stack.sim.calls("accounts").len(), 1, "still held by the legal hold");
    api.post(&format!("/v1/requests/{id}/release"), OPS, json!({ "kind": "legal", "reason": "case closed" })).await;
    stack.wait_for_state(id, "completed", Duration::from_secs(15)).await;
    let events: Vec<String> = stack.audit_events(id).await.into_iter().map(|(_, e, _)| e).collect();
    assert_eq!(events.iter().filter(|e| *e == "request.held").count(), 2);
    assert_eq!(events.iter().filter(|e| *e == "request.released").count(), 2);
    worker.stop().await;
}

#[tokio::test]
async fn a_cancelled_request_never_reaches_the_connector_again_and_the_product_is_told() {
    let stack = Stack::new().await;
    stack.sim.push_faults("accounts", [Fault::Throttle { retry_after: Some(60) }]);
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    let mut events = stack.events().await;
    let (worker, api) = start(&stack, clock.clone(), &[Instance { name: "accounts", extra: "" }]).await;
    let id = Uuid::new_v4();
    api.post("/v1/requests", PRODUCT, message(id, "zed@example.com", &clock)).await;
    wait_until(Duration::from_secs(15), "the throttled first call", || async {
        stack.sim.calls("accounts").len() == 1
    })
    .await;

    let (status, _) =
        api.post(&format!("/v1/requests/{id}/cancel"), OPS, json!({ "reason": "the person changed their mind" })).await;
    assert_eq!(status, StatusCode::OK);
    let event = events.next(Duration::from_secs(10)).await.expect("erasure.cancelled");
    assert_eq!(event.routing_key, "erasure.cancelled");
    crate::pipeline::assert_matches_event_schema(&event.body);
    clock.advance(chrono::Duration::seconds(120));
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(stack.sim.calls("accounts").len(), 1);
    assert_eq!(stack.request_state(id).await.as_deref(), Some("cancelled"));
    assert_eq!(
        api.post(&format!("/v1/requests/{id}/cancel"), OPS, json!({ "reason": "again" })).await.0,
        StatusCode::CONFLICT
    );
    worker.stop().await;
}

#[tokio::test]
async fn an_exemption_with_a_legal_reason_completes_the_request_and_says_what_was_kept() {
    let stack = Stack::new().await;
    stack.sim.push_faults("billing", [Fault::Status { status: 403, retry_after: None }]);
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    let mut events = stack.events().await;
    let systems = [Instance { name: "accounts", extra: "" }, Instance { name: "billing", extra: "" }];
    let (worker, api) = start(&stack, clock.clone(), &systems).await;
    let id = Uuid::new_v4();
    api.post("/v1/requests", PRODUCT, message(id, "amy@example.com", &clock)).await;
    let failed = events.next(Duration::from_secs(20)).await.expect("erasure.failed");
    assert_eq!(failed.routing_key, "erasure.failed");

    let reason = "invoices kept 10 years (French commercial code art. L123-22), GDPR art. 17(3)(b)";
    let path = format!("/v1/requests/{id}/tasks/billing/exempt");
    assert_eq!(api.post(&path, OPS, json!({ "reason": reason })).await.0, StatusCode::OK);
    let completed = events.next(Duration::from_secs(10)).await.expect("erasure.completed");
    assert_eq!(completed.routing_key, "erasure.completed");
    assert_eq!(completed.body["generation"], 2);
    assert_eq!(completed.body["kept"], json!([{ "system": "billing", "reason": reason }]));
    // The settle histogram counts both settlements: the runner's failure and the operator's completion.
    let metrics = api.http.get(format!("{}/metrics", api.base)).send().await.unwrap().text().await.unwrap();
    for state in ["failed", "completed"] {
        let line = format!(r#"erasure_request_settle_seconds_count{{state="{state}"}} 1"#);
        assert!(metrics.lines().any(|l| l == line), "no `{line}`:\n{metrics}");
    }
    assert_eq!(api.post(&path, OPS, json!({ "reason": reason })).await.0, StatusCode::CONFLICT);
    assert_eq!(
        api.post(&format!("/v1/requests/{id}/tasks/nope/exempt"), OPS, json!({ "reason": "x" })).await.0,
        StatusCode::NOT_FOUND
    );
    let events = stack.audit_events(id).await;
    assert!(events.iter().any(|(actor, event, detail)| actor == "api:ops"
        && event == "task.exempt"
        && detail["legal_reason"] == reason));
    worker.stop().await;
}

#[tokio::test]
async fn the_deadline_is_extended_once_with_a_reason_and_the_product_is_told() {
    let stack = Stack::new().await;
    stack.sim.push_faults("accounts", [Fault::Throttle { retry_after: Some(600) }]);
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    let mut events = stack.events().await;
    let (worker, api) = start(&stack, clock.clone(), &[Instance { name: "accounts", extra: "" }]).await;
    let id = Uuid::new_v4();
    let requested_at = clock.now();
    api.post("/v1/requests", PRODUCT, request(id, "ben@example.com", requested_at)).await;
    wait_until(Duration::from_secs(15), "the throttled first call", || async {
        stack.sim.calls("accounts").len() == 1
    })
    .await;

    let path = format!("/v1/requests/{id}/extend");
    assert_eq!(api.post(&path, OPS, json!({ "months": 3, "reason": "x" })).await.0, StatusCode::UNPROCESSABLE_ENTITY);
    let reason = "the vendor's archive restore takes weeks";
    assert_eq!(api.post(&path, OPS, json!({ "months": 2, "reason": reason })).await.0, StatusCode::OK);
    assert_eq!(
        api.post(&path, OPS, json!({ "months": 1, "reason": reason })).await.0,
        StatusCode::CONFLICT,
        "once only"
    );
    let event = events.next(Duration::from_secs(10)).await.expect("erasure.deadline_extended");
    assert_eq!(event.routing_key, "erasure.deadline_extended");
    crate::pipeline::assert_matches_event_schema(&event.body);
    let expected = requested_at.checked_add_months(chrono::Months::new(3)).unwrap();
    let deadline: chrono::DateTime<chrono::Utc> = event.body["deadline_at"].as_str().unwrap().parse().unwrap();
    assert_eq!(deadline, expected, "one month plus two");
    assert_eq!(event.body["extension_reason"], reason);
    let (_, detail) = api.get(&format!("/v1/requests/{id}"), Some(READER)).await;
    assert!(detail["deadline_extended_at"].is_string());
    worker.stop().await;
}

#[tokio::test]
async fn dead_letters_are_listed_with_bodies_only_for_operators_and_replayed_after_a_fix() {
    let stack = Stack::new().await;
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    let (worker, api) = start(&stack, clock.clone(), &[Instance { name: "accounts", extra: "" }]).await;
    let id = Uuid::new_v4();
    let mut body = message(id, "cat@example.com", &clock);
    body["systems"] = json!(["payroll"]);
    stack.publish(&bytes(&body), None).await;
    let letters = poll(Duration::from_secs(15), "the dead letter", || async {
        let (_, list) = api.get("/v1/dead-letters", Some(READER)).await;
        list["dead_letters"].as_array().filter(|l| !l.is_empty()).cloned()
    })
    .await;
    assert_eq!(letters[0]["reason"], "unknown_system");
    assert_eq!(letters[0]["request_id"], id.to_string());
    assert!(letters[0].get("body").is_none(), "no body for the read scope");
    let (_, with_bodies) = api.get("/v1/dead-letters", Some(OPS)).await;
    assert!(with_bodies["dead_letters"][0]["body"].as_str().unwrap().contains("payroll"));
    let letter = letters[0]["id"].as_i64().unwrap();
    let replay = format!("/v1/dead-letters/{letter}/replay");
    let (status, refused) = api.post(&replay, OPS, json!({})).await;
    assert_eq!((status, refused["error"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("unknown_system")));
    worker.stop().await;

    // The fix: the system is configured now.
    let (worker, api) = start(
        &stack,
        clock.clone(),
        &[Instance { name: "accounts", extra: "" }, Instance { name: "payroll", extra: "" }],
    )
    .await;
    let (status, replayed) = api.post(&replay, OPS, json!({})).await;
    assert_eq!(status, StatusCode::OK, "{replayed}");
    assert_eq!(replayed["status"], "received");
    stack.wait_for_state(id, "completed", Duration::from_secs(20)).await;
    assert_eq!(api.post(&replay, OPS, json!({})).await.0, StatusCode::CONFLICT, "replayed once");
    worker.stop().await;
}

#[tokio::test]
async fn metrics_show_states_attempts_and_an_overdue_request() {
    let stack = Stack::new().await;
    stack.sim.push_faults("accounts", [Fault::Status { status: 401, retry_after: None }]);
    stack.sim.push_faults("billing", [Fault::Throttle { retry_after: Some(3600) }]);
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    let systems = [Instance { name: "accounts", extra: "" }, Instance { name: "billing", extra: "" }];
    let (worker, api) = start(&stack, clock.clone(), &systems).await;
    let failed = Uuid::new_v4();
    let mut body = message(failed, "dan@example.com", &clock);
    body["systems"] = json!(["accounts"]);
    api.post("/v1/requests", PRODUCT, body).await;
    let late = Uuid::new_v4();
    let mut body = request(late, "eva@example.com", clock.now() - chrono::Duration::days(40));
    body["systems"] = json!(["billing"]);
    api.post("/v1/requests", PRODUCT, body).await;
    stack.wait_for_state(failed, "failed", Duration::from_secs(20)).await;
    // The throttled call is answered, then recorded: wait for the row, not for the vendor.
    wait_until(Duration::from_secs(15), "the throttled call to be recorded", || async {
        stack.tasks(late).await.first().is_some_and(|t| t.state == "retrying")
    })
    .await;

    let text = api.http.get(format!("{}/metrics", api.base)).send().await.unwrap().text().await.unwrap();
    for line in [
        "erasure_requests{state=\"failed\"} 1",
        "erasure_requests{state=\"in_progress\"} 1",
        "erasure_tasks{connector=\"accounts\",state=\"failed\"} 1",
        "erasure_tasks{connector=\"billing\",state=\"retrying\"} 1",
        "erasure_requests_overdue 1",
        "erasure_task_attempts_total{connector=\"accounts\",outcome=\"failed\"} 1",
        "erasure_outbox_unsent 1", // erasure.failed, unroutable: no queue is bound in this test
    ] {
        assert!(text.lines().any(|l| l == line), "missing `{line}` in:\n{text}");
    }
    assert!(text.contains("erasure_task_attempt_seconds_bucket{connector=\"accounts\""));
    assert!(!text.contains("dan@") && !text.contains("eva@"));
    worker.stop().await;
}

/// Found by Schemathesis (scripts/contracts): a NUL character in a filter or a reason reached
/// PostgreSQL, which refuses it, and the caller got 503 as if the database were down.
#[tokio::test]
async fn a_value_the_database_refuses_is_422_not_503() {
    let stack = Stack::new().await;
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    let (worker, api) = start(&stack, clock, &[Instance { name: "accounts", extra: "" }]).await;
    for filter in ["connector=acc%00ounts", "state=fail%00ed"] {
        let (status, body) = api.get(&format!("/v1/requests?{filter}"), Some(OPS)).await;
        assert_eq!((status, body["error"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("unstorable")), "{body}");
    }
    let (status, _) = api.get("/v1/requests?connector=accounts", Some(OPS)).await;
    assert_eq!(status, StatusCode::OK, "the API still answers");
    worker.stop().await;
}

#[tokio::test]
async fn every_operation_in_the_openapi_document_is_served() {
    let doc: Value = serde_json::from_str(include_str!("../../docs/openapi.json")).unwrap();
    let stack = Stack::new().await;
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    let (worker, api) = start(&stack, clock, &[Instance { name: "accounts", extra: "" }]).await;
    let mut served = 0;
    for (path, operations) in doc["paths"].as_object().unwrap() {
        let concrete = path.replace("{id}", &Uuid::new_v4().to_string()).replace("{system}", "accounts");
        let numeric = path.starts_with("/v1/dead-letters/") || path.starts_with("/v1/legal-holds/");
        let concrete = if numeric { path.replace("{id}", "999") } else { concrete };
        for method in operations.as_object().unwrap().keys() {
            let request = match method.as_str() {
                "get" => api.http.get(format!("{}{concrete}", api.base)),
                "post" => api.http.post(format!("{}{concrete}", api.base)).json(&json!({})),
                other => panic!("unexpected method {other}"),
            };
            let response = request.bearer_auth(OPS).send().await.unwrap();
            let status = response.status();
            let body = response.text().await.unwrap();
            // axum answers an unknown route 404 and a wrong method 405, both with an empty body;
            // every handler of ours answers with a body.
            assert!(
                status != StatusCode::METHOD_NOT_ALLOWED && !body.is_empty(),
                "{method} {path} is not served: {status}"
            );
            served += 1;
        }
    }
    assert_eq!(served, 23, "the document lists every operation of `api::router` (update both together)");
    worker.stop().await;
}

#[tokio::test]
async fn the_mass_deletion_brake_holds_requests_beyond_the_rate_until_an_operator_releases_them() {
    let stack = Stack::new().await;
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    // SAFETY: set before the worker starts; each test runs in its own process.
    unsafe {
        std::env::set_var("E2E_OPS_TOKEN", OPS);
        std::env::set_var("E2E_PRODUCT_TOKEN", PRODUCT);
        std::env::set_var("E2E_READER_TOKEN", READER);
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let extra = format!(
        "[intake]\nbrake_max_requests = 3\nbrake_window = \"10m\"\n[api]\nlisten = \"127.0.0.1:{port}\"\ntokens = [{{ name = \"ops\", token_env = \"E2E_OPS_TOKEN\", scopes = [\"read\", \"operate\", \"submit\"] }}]\n"
    );
    let settings = stack.settings(&[Instance { name: "accounts", extra: "" }], &extra);
    stack.declare_queues(&settings).await;
    let worker = Worker::start(settings, clock.clone());
    let api = Api { base: format!("http://127.0.0.1:{port}"), http: reqwest::Client::new() };
    poll(Duration::from_secs(15), "the API", || async {
        api.http.get(format!("{}/healthz", api.base)).send().await.ok().filter(|r| r.status().is_success())
    })
    .await;

    let ids: Vec<Uuid> = (0..5).map(|_| Uuid::new_v4()).collect();
    for (i, id) in ids.iter().enumerate() {
        stack.publish(&bytes(&message(*id, &format!("brake{i}@example.com"), &clock)), None).await;
    }
    for id in &ids[..3] {
        stack.wait_for_state(*id, "completed", Duration::from_secs(20)).await;
    }
    let held = poll(Duration::from_secs(10), "the held requests", || async {
        let (_, detail) = api.get(&format!("/v1/requests/{}", ids[4]), Some(OPS)).await;
        (detail["holds"][0]["kind"] == "brake").then_some(detail)
    })
    .await;
    assert_eq!(held["state"], "received");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(stack.sim.calls("accounts").len(), 3, "held requests reach no connector");
    let metrics = api.http.get(format!("{}/metrics", api.base)).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains("erasure_brake_holds_total 2"), "{metrics}");

    for id in &ids[3..] {
        let (status, _) = api
            .post(
                &format!("/v1/requests/{id}/release"),
                OPS,
                json!({ "kind": "brake", "reason": "verified with the product team" }),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
    }
    for id in &ids[3..] {
        stack.wait_for_state(*id, "completed", Duration::from_secs(20)).await;
    }
    worker.stop().await;
}
