//! The person's side: the grace period, cancellation by message or API, and the legal hold list.

use crate::support::*;
use erasure_worker::clock::{Clock, ManualClock};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

const OPS: &str = "grace-ops-token-0123456789abcdefghijklmnop";
const PRODUCT: &str = "grace-product-token-0123456789abcdefghijklmnop";
const LEGAL: &str = "grace-legal-token-0123456789abcdefghijklmnop";
const WEEK: chrono::Duration = chrono::Duration::days(7);

struct Api {
    base: String,
    http: reqwest::Client,
}

impl Api {
    async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.get_as(path, OPS).await
    }

    async fn get_as(&self, path: &str, token: &str) -> (StatusCode, Value) {
        let response = self.http.get(format!("{}{path}", self.base)).bearer_auth(token).send().await.unwrap();
        (response.status(), response.json().await.unwrap_or(Value::Null))
    }

    async fn post(&self, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
        let response =
            self.http.post(format!("{}{path}", self.base)).bearer_auth(token).json(&body).send().await.unwrap();
        (response.status(), response.json().await.unwrap_or(Value::Null))
    }
}

/// A worker with the API, one `accounts` connector and `grace` as the grace period.
async fn start(stack: &Stack, clock: Arc<ManualClock>, grace: &str) -> (Worker, Api) {
    // SAFETY: set before the worker starts; each test runs in its own process.
    unsafe {
        std::env::set_var("E2E_GRACE_OPS_TOKEN", OPS);
        std::env::set_var("E2E_GRACE_PRODUCT_TOKEN", PRODUCT);
        std::env::set_var("E2E_GRACE_LEGAL_TOKEN", LEGAL);
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let extra = format!(
        r#"
[requests]
grace_period = "{grace}"

[api]
listen = "127.0.0.1:{port}"
tokens = [
  {{ name = "ops", token_env = "E2E_GRACE_OPS_TOKEN", scopes = ["read", "operate"] }},
  {{ name = "shop", token_env = "E2E_GRACE_PRODUCT_TOKEN", scopes = ["submit"] }},
  {{ name = "counsel", token_env = "E2E_GRACE_LEGAL_TOKEN", scopes = ["read", "legal"] }},
]
"#
    );
    let settings = stack.settings(&[Instance { name: "accounts", extra: "" }], &extra);
    stack.declare_queues(&settings).await;
    let worker = Worker::start(settings, clock);
    let api = Api { base: format!("http://127.0.0.1:{port}"), http: reqwest::Client::new() };
    poll(Duration::from_secs(15), "the API to listen", || async {
        api.http.get(format!("{}/healthz", api.base)).send().await.ok().filter(|r| r.status().is_success())
    })
    .await;
    (worker, api)
}

/// Long enough for several runner polls (100 ms in tests) to have passed.
async fn settle() {
    tokio::time::sleep(Duration::from_millis(800)).await;
}

#[tokio::test]
async fn grace_period_a_request_waits_scheduled_then_starts_by_itself_and_completes() {
    let stack = Stack::new().await;
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    let (worker, _api) = start(&stack, clock.clone(), "7d").await;
    let id = Uuid::new_v4();
    stack.publish(&bytes(&request(id, "gia@example.com", clock.now())), None).await;
    stack.wait_for_state(id, "scheduled", Duration::from_secs(15)).await;
    settle().await;
    assert!(stack.sim.calls("accounts").is_empty(), "no connector call during the grace period");

    clock.advance(WEEK - chrono::Duration::hours(1));
    settle().await;
    assert_eq!(stack.request_state(id).await.as_deref(), Some("scheduled"), "still within the period");
    assert!(stack.sim.calls("accounts").is_empty());

    clock.advance(chrono::Duration::hours(1));
    stack.wait_for_state(id, "completed", Duration::from_secs(15)).await;
    assert_eq!(stack.sim.calls("accounts").len(), 1);
    let events: Vec<String> = stack.audit_events(id).await.into_iter().map(|(_, e, _)| e).collect();
    let position = |name: &str| events.iter().position(|e| e == name).unwrap_or_else(|| panic!("{name} in {events:?}"));
    assert!(position("request.scheduled") < position("request.started"));
    assert!(position("request.started") < position("request.completed"));
    worker.stop().await;
}

#[tokio::test]
async fn grace_a_cancel_message_during_the_period_cancels_and_no_connector_is_ever_called() {
    let stack = Stack::new().await;
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    let (worker, _api) = start(&stack, clock.clone(), "7d").await;
    let mut events = stack.events().await;
    let id = Uuid::new_v4();
    stack.publish(&bytes(&request(id, "hal@example.com", clock.now())), None).await;
    stack.wait_for_state(id, "scheduled", Duration::from_secs(15)).await;

    clock.advance(chrono::Duration::days(2));
    let cancel = json!({ "version": 1, "type": "cancel", "request_id": id, "reason": "withdrawn in the app" });
    stack.publish(&bytes(&cancel), None).await;
    stack.wait_for_state(id, "cancelled", Duration::from_secs(15)).await;
    stack.publish(&bytes(&cancel), None).await;

    clock.advance(WEEK);
    settle().await;
    assert!(stack.sim.calls("accounts").is_empty(), "a cancelled request never reaches a connector");
    assert_eq!(stack.request_state(id).await.as_deref(), Some("cancelled"));
    let audit = stack.audit_events(id).await;
    assert!(audit.iter().any(|(actor, event, detail)| actor == "intake"
        && event == "request.cancelled"
        && detail["reason"] == "withdrawn in the app"));
    assert!(!audit.iter().any(|(_, event, _)| event == "request.started"));
    let mut cancelled = None;
    while let Some(event) = events.next(Duration::from_secs(3)).await {
        if event.routing_key == "erasure.cancelled" {
            cancelled = Some(event);
            break;
        }
    }
    let event = cancelled.expect("an erasure.cancelled event");
    assert_eq!(event.body["request_id"], id.to_string());
    assert!(stack.dead_letters().await.is_empty(), "repeating a cancellation is a no-op, not a dead letter");
    worker.stop().await;
}

#[tokio::test]
async fn grace_an_api_cancel_during_the_period_cancels_and_no_connector_is_ever_called() {
    let stack = Stack::new().await;
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    let (worker, api) = start(&stack, clock.clone(), "7d").await;
    let id = Uuid::new_v4();
    let (status, body) = api.post("/v1/requests", PRODUCT, request(id, "ida@example.com", clock.now())).await;
    assert!(status.is_success(), "{status} {body}");
    stack.wait_for_state(id, "scheduled", Duration::from_secs(15)).await;

    let (status, body) =
        api.post(&format!("/v1/requests/{id}/cancel"), OPS, json!({ "reason": "asked by phone" })).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    clock.advance(WEEK + chrono::Duration::days(1));
    settle().await;
    assert!(stack.sim.calls("accounts").is_empty());
    assert_eq!(stack.request_state(id).await.as_deref(), Some("cancelled"));
    worker.stop().await;
}

#[tokio::test]
async fn grace_a_cancel_for_an_unknown_or_settled_request_is_dead_lettered_with_its_reason() {
    let stack = Stack::new().await;
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    let (worker, _api) = start(&stack, clock.clone(), "0s").await;
    let done = Uuid::new_v4();
    stack.publish(&bytes(&request(done, "jo@example.com", clock.now())), None).await;
    stack.wait_for_state(done, "completed", Duration::from_secs(15)).await;

    let unknown = json!({ "version": 1, "type": "cancel", "request_id": Uuid::new_v4() });
    stack.publish(&bytes(&unknown), None).await;
    stack.publish(&bytes(&json!({ "version": 1, "type": "cancel", "request_id": done })), None).await;
    let reasons: Vec<String> = stack
        .wait_dead_letters(2, Duration::from_secs(10))
        .await
        .into_iter()
        .map(|(reason, _)| reason.unwrap_or_default())
        .collect();
    assert_eq!(reasons, ["cancel_not_applicable", "cancel_not_applicable"]);
    assert_eq!(stack.request_state(done).await.as_deref(), Some("completed"));
    worker.stop().await;
}

#[tokio::test]
async fn grace_legal_hold_holds_a_matching_request_lets_others_proceed_and_resumes_it_on_release() {
    let stack = Stack::new().await;
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    let (worker, api) = start(&stack, clock.clone(), "0s").await;
    let mut events = stack.events().await;
    let entry = json!({ "email": "  Kim@Example.com ", "reason": "litigation 2026-17", "owner": "legal@company" });
    let (status, added) = api.post("/v1/legal-holds", LEGAL, entry).await;
    assert_eq!(status, StatusCode::OK, "{added}");
    assert_eq!(added["held_requests"], 0);

    let (held, free) = (Uuid::new_v4(), Uuid::new_v4());
    stack.publish(&bytes(&request(held, "kim@example.com", clock.now())), None).await;
    stack.publish(&bytes(&request(free, "lee@example.com", clock.now())), None).await;
    stack.wait_for_state(free, "completed", Duration::from_secs(15)).await;
    settle().await;
    assert_eq!(stack.sim.calls("accounts").len(), 1, "only the unrelated request reached the connector");
    assert_eq!(stack.request_state(held).await.as_deref(), Some("received"));
    let (_, detail) = api.get(&format!("/v1/requests/{held}")).await;
    assert_eq!(detail["holds"][0]["kind"], "legal", "operators see the hold: {detail}");

    let id = added["id"].as_i64().unwrap();
    let release = json!({ "reason": "case settled" });
    let (status, body) = api.post(&format!("/v1/legal-holds/{id}/release"), LEGAL, release.clone()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    stack.wait_for_state(held, "completed", Duration::from_secs(15)).await;
    assert_eq!(api.post(&format!("/v1/legal-holds/{id}/release"), LEGAL, release).await.0, StatusCode::CONFLICT);

    let mut seen = Vec::new();
    while let Some(event) = events.next(Duration::from_secs(2)).await {
        seen.push(event);
    }
    assert!(seen.iter().any(|e| e.routing_key == "erasure.completed" && e.body["request_id"] == held.to_string()));
    for event in &seen {
        let text = event.body.to_string();
        assert!(!text.contains("legal") && !text.contains("litigation"), "no event tells of the hold: {text}");
    }
    worker.stop().await;
}

#[tokio::test]
async fn grace_legal_hold_list_holds_open_requests_and_stores_no_identifier_in_clear() {
    let stack = Stack::new().await;
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    let (worker, api) = start(&stack, clock.clone(), "7d").await;
    let id = Uuid::new_v4();
    let user_id = format!("u_{}", &id.simple().to_string()[..8]);
    stack.publish(&bytes(&request(id, "max@example.com", clock.now())), None).await;
    stack.wait_for_state(id, "scheduled", Duration::from_secs(15)).await;

    let entry = json!({ "user_id": user_id, "reason": "tax audit", "owner": "finance" });
    let (status, added) = api.post("/v1/legal-holds", LEGAL, entry).await;
    assert_eq!(status, StatusCode::OK, "{added}");
    assert_eq!(added["held_requests"], 1, "an open request matching a new entry is held");
    let bad = json!({ "email": "max@example.com", "phone": "+33612345678", "reason": "x", "owner": "y" });
    assert_eq!(api.post("/v1/legal-holds", LEGAL, bad).await.0, StatusCode::UNPROCESSABLE_ENTITY);

    let rows = stack.db().await.query("SELECT row_to_json(l)::text FROM legal_holds l", &[]).await.unwrap();
    assert_eq!(rows.len(), 1);
    let stored: String = rows[0].get(0);
    assert!(!stored.contains(&user_id), "the identifier is stored only as a keyed hash: {stored}");
    assert!(stored.contains(added["identifier_hash"].as_str().unwrap()));
    let (status, list) = api.get_as("/v1/legal-holds", LEGAL).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list["legal_holds"][0]["owner"], "finance");
    assert_eq!(list["legal_holds"][0]["holding"], 1);
    assert!(!list.to_string().contains(&user_id));

    clock.advance(WEEK);
    settle().await;
    assert!(stack.sim.calls("accounts").is_empty(), "a held request waits after its grace period too");
    let entry_id = added["id"].as_i64().unwrap();
    api.post(&format!("/v1/legal-holds/{entry_id}/release"), LEGAL, json!({ "reason": "audit closed" })).await;
    stack.wait_for_state(id, "completed", Duration::from_secs(15)).await;
    worker.stop().await;
}

#[tokio::test]
async fn grace_an_unsigned_cancel_is_dead_lettered_and_cancels_nothing() {
    use erasure_worker::intake::signature::{sign, KEY_ID_HEADER, SIGNATURE_HEADER};
    use lapin::types::{AMQPValue, FieldTable};
    // SAFETY: set before the worker starts; each test runs in its own process.
    unsafe { std::env::set_var("E2E_GRACE_KEY", "grace-signing-secret") };
    let stack = Stack::new().await;
    let extra = "[requests]\ngrace_period = \"7d\"\n\n[intake]\nrequire_signature = true\nsigning_keys = [{ id = \"k1\", secret_env = \"E2E_GRACE_KEY\" }]\n";
    let settings = stack.settings(&[Instance { name: "accounts", extra: "" }], extra);
    stack.declare_queues(&settings).await;
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    let worker = Worker::start(settings, clock.clone());
    let signed = |body: &[u8]| {
        let mut headers = FieldTable::default();
        headers.insert(KEY_ID_HEADER.into(), AMQPValue::LongString("k1".into()));
        headers.insert(
            SIGNATURE_HEADER.into(),
            AMQPValue::LongString(sign(b"grace-signing-secret", None, body).as_str().into()),
        );
        headers
    };
    let id = Uuid::new_v4();
    let body = bytes(&request(id, "ned@example.com", clock.now()));
    stack.publish_with_headers(&body, None, signed(&body)).await;
    stack.wait_for_state(id, "scheduled", Duration::from_secs(15)).await;

    stack.publish(&bytes(&json!({ "version": 1, "type": "cancel", "request_id": id })), None).await;
    let dead = stack.wait_dead_letters(1, Duration::from_secs(10)).await;
    assert_eq!(dead[0].0.as_deref(), Some("bad_signature"));
    assert_eq!(stack.request_state(id).await.as_deref(), Some("scheduled"), "a forged cancellation does nothing");

    let body = bytes(&json!({ "version": 1, "type": "cancel", "request_id": id }));
    stack.publish_with_headers(&body, None, signed(&body)).await;
    stack.wait_for_state(id, "cancelled", Duration::from_secs(15)).await;
    clock.advance(WEEK);
    settle().await;
    assert!(stack.sim.calls("accounts").is_empty());
    worker.stop().await;
}

#[tokio::test]
async fn grace_an_email_with_a_zero_width_character_is_found_and_held_by_the_clean_address() {
    let stack = Stack::new().await;
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    let (worker, api) = start(&stack, clock.clone(), "7d").await;
    let id = Uuid::new_v4();
    // A zero-width space and a joiner, and a fullwidth letter: invisible or alike to a person.
    stack.publish(&bytes(&request(id, "ka\u{200b}i@Exa\u{200d}mple.\u{ff43}om", clock.now())), None).await;
    stack.wait_for_state(id, "scheduled", Duration::from_secs(15)).await;

    let (status, found) = api.post("/v1/requests/search", OPS, json!({ "email": "kai@example.com" })).await;
    assert_eq!(status, StatusCode::OK, "{found}");
    assert_eq!(found["requests"][0]["id"], id.to_string(), "the clean address finds it: {found}");

    let entry = json!({ "email": "kai@example.com", "reason": "litigation 2026-31", "owner": "legal@company" });
    let (status, added) = api.post("/v1/legal-holds", LEGAL, entry).await;
    assert_eq!(status, StatusCode::OK, "{added}");
    assert_eq!(added["held_requests"], 1, "the hold list matches it by the clean address");
    worker.stop().await;
}

/// Add a hold-list entry as the `legal` token; its id and hash.
async fn add_entry(api: &Api, entry: Value) -> (i64, String) {
    let (status, added) = api.post("/v1/legal-holds", LEGAL, entry).await;
    assert_eq!(status, StatusCode::OK, "{added}");
    (added["id"].as_i64().unwrap(), added["identifier_hash"].as_str().unwrap().to_string())
}

/// Wait until the request carries the `legal` hold of the list entry `entry_id`.
async fn wait_for_list_hold(stack: &Stack, id: Uuid, entry_id: i64) {
    let db = stack.db().await;
    wait_until(Duration::from_secs(15), "the legal hold of the list entry", || async {
        let row = db
            .query_opt("SELECT legal_hold_id FROM request_holds WHERE request_id = $1 AND kind = 'legal'", &[&id])
            .await
            .unwrap();
        row.is_some_and(|row| row.get::<_, Option<i64>>(0) == Some(entry_id))
    })
    .await;
}

#[tokio::test]
async fn grace_legal_hold_list_needs_the_legal_scope_and_operate_is_not_enough() {
    let stack = Stack::new().await;
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    let (worker, api) = start(&stack, clock, "0s").await;
    let entry = json!({ "email": "di@example.com", "reason": "litigation 2026-20", "owner": "legal@company" });
    let (status, body) = api.post("/v1/legal-holds", OPS, entry.clone()).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::FORBIDDEN, Some("forbidden")), "{body}");
    assert_eq!(api.get_as("/v1/legal-holds", OPS).await.0, StatusCode::FORBIDDEN);
    let (entry_id, _) = add_entry(&api, entry).await;
    let release = json!({ "reason": "case settled" });
    let (status, body) = api.post(&format!("/v1/legal-holds/{entry_id}/release"), OPS, release.clone()).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, list) = api.get_as("/v1/legal-holds", LEGAL).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert!(list["legal_holds"][0].get("released_at").is_none(), "operate released nothing: {list}");
    assert_eq!(api.post(&format!("/v1/legal-holds/{entry_id}/release"), LEGAL, release).await.0, StatusCode::OK);
    let hold = json!({ "reason": "legal is not operate" });
    let (status, _) = api.post(&format!("/v1/requests/{}/hold", Uuid::new_v4()), LEGAL, hold).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "the legal scope does not operate requests");
    worker.stop().await;
}

#[tokio::test]
async fn grace_legal_hold_from_the_list_is_not_released_by_the_generic_release() {
    let stack = Stack::new().await;
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    let (worker, api) = start(&stack, clock.clone(), "0s").await;
    let (entry_id, _) =
        add_entry(&api, json!({ "email": "ada@example.com", "reason": "litigation 2026-18", "owner": "legal" })).await;
    let id = Uuid::new_v4();
    stack.publish(&bytes(&request(id, "ada@example.com", clock.now())), None).await;
    wait_for_list_hold(&stack, id, entry_id).await;

    let path = format!("/v1/legal-holds/{entry_id}/release");
    let body = json!({ "kind": "legal", "reason": "trying a shortcut" });
    let response = api
        .http
        .post(format!("{}/v1/requests/{id}/release", api.base))
        .bearer_auth(OPS)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CONFLICT);
    assert_eq!(response.headers()["content-type"], "application/problem+json");
    let problem: Value = response.json().await.unwrap();
    assert!(problem["detail"].as_str().unwrap().contains(&path), "the detail names the way: {problem}");

    let cli = tokio::process::Command::new(env!("CARGO_BIN_EXE_erasure"))
        .args(["release", &id.to_string(), "--kind", "legal", "--reason", "trying the CLI"])
        .env_remove("ERASURE_CONFIG")
        .env("ERASURE_API_URL", &api.base)
        .env("ERASURE_API_TOKEN", OPS)
        .output()
        .await
        .unwrap();
    assert_ne!(cli.status.code(), Some(0), "{cli:?}");
    assert!(String::from_utf8_lossy(&cli.stderr).contains(&path), "{cli:?}");

    wait_for_list_hold(&stack, id, entry_id).await;
    let events = stack.audit_events(id).await;
    assert!(!events.iter().any(|(_, event, _)| event == "request.released"), "nothing changed: {events:?}");
    settle().await;
    assert!(stack.sim.calls("accounts").is_empty(), "the request is still held");
    assert_eq!(api.post(&path, LEGAL, json!({ "reason": "case settled" })).await.0, StatusCode::OK);
    stack.wait_for_state(id, "completed", Duration::from_secs(15)).await;
    worker.stop().await;
}

#[tokio::test]
async fn grace_legal_hold_entry_blocks_the_claim_even_without_a_hold_row() {
    let stack = Stack::new().await;
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    let (worker, api) = start(&stack, clock.clone(), "0s").await;
    let (entry_id, _) =
        add_entry(&api, json!({ "email": "bo@example.com", "reason": "litigation 2026-19", "owner": "legal" })).await;
    let id = Uuid::new_v4();
    stack.publish(&bytes(&request(id, "bo@example.com", clock.now())), None).await;
    wait_for_list_hold(&stack, id, entry_id).await;

    let db = stack.db().await;
    assert_eq!(db.execute("DELETE FROM request_holds WHERE request_id = $1", &[&id]).await.unwrap(), 1);
    settle().await;
    settle().await;
    assert!(stack.sim.calls("accounts").is_empty(), "the active entry still holds the request");
    assert_eq!(stack.request_state(id).await.as_deref(), Some("received"));
    assert_eq!(stack.tasks(id).await[0].state, "pending");

    let path = format!("/v1/legal-holds/{entry_id}/release");
    assert_eq!(api.post(&path, LEGAL, json!({ "reason": "case settled" })).await.0, StatusCode::OK);
    stack.wait_for_state(id, "completed", Duration::from_secs(15)).await;
    worker.stop().await;
}

#[tokio::test]
async fn grace_legal_hold_entry_by_id_holds_a_request_with_that_id() {
    let stack = Stack::new().await;
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    let (worker, api) = start(&stack, clock.clone(), "0s").await;
    let two = json!({ "id": "cus_LH42", "user_id": "u_1", "reason": "x", "owner": "y" });
    assert_eq!(api.post("/v1/legal-holds", LEGAL, two).await.0, StatusCode::UNPROCESSABLE_ENTITY);
    let entry = json!({ "id": " cus_LH42 ", "reason": "chargeback dispute", "owner": "finance" });
    let (entry_id, hash) = add_entry(&api, entry).await;
    let (_, list) = api.get_as("/v1/legal-holds", LEGAL).await;
    assert_eq!(list["legal_holds"][0]["identifier_kind"], "id", "{list}");
    assert!(!list.to_string().contains("cus_LH42"), "{list}");

    let (held, free) = (Uuid::new_v4(), Uuid::new_v4());
    let mut message = request(held, "cy@example.com", clock.now());
    message["subject"]["ids"] = json!({ "accounts": "cus_LH42" });
    stack.publish(&bytes(&message), None).await;
    stack.publish(&bytes(&request(free, "cy@example.com", clock.now())), None).await;
    stack.wait_for_state(free, "completed", Duration::from_secs(15)).await;
    wait_for_list_hold(&stack, held, entry_id).await;
    let row = stack.db().await.query_one("SELECT identifier_hashes FROM requests WHERE id = $1", &[&held]).await;
    let hashes: Vec<String> = row.unwrap().get(0);
    assert!(hashes.contains(&hash), "the entry's hash is the one intake computed for the id");
    settle().await;
    assert_eq!(stack.sim.calls("accounts").len(), 1, "only the request without the id reached the connector");

    let path = format!("/v1/legal-holds/{entry_id}/release");
    assert_eq!(api.post(&path, LEGAL, json!({ "reason": "dispute closed" })).await.0, StatusCode::OK);
    stack.wait_for_state(held, "completed", Duration::from_secs(15)).await;
    worker.stop().await;
}

#[tokio::test]
async fn grace_legal_hold_releasing_an_operators_legal_hold_hands_the_request_to_the_list() {
    let stack = Stack::new().await;
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    let (worker, api) = start(&stack, clock.clone(), "7d").await;
    let id = Uuid::new_v4();
    stack.publish(&bytes(&request(id, "eve@example.com", clock.now())), None).await;
    stack.wait_for_state(id, "scheduled", Duration::from_secs(15)).await;
    let hold = json!({ "kind": "legal", "reason": "counsel asked by phone" });
    assert_eq!(api.post(&format!("/v1/requests/{id}/hold"), OPS, hold).await.0, StatusCode::OK);
    let entry = json!({ "email": "eve@example.com", "reason": "litigation 2026-21", "owner": "legal" });
    let (status, added) = api.post("/v1/legal-holds", LEGAL, entry).await;
    assert_eq!((status, added["held_requests"].as_i64()), (StatusCode::OK, Some(0)), "the operator's hold is there");

    let release = json!({ "kind": "legal", "reason": "the entry covers it" });
    assert_eq!(api.post(&format!("/v1/requests/{id}/release"), OPS, release).await.0, StatusCode::OK);
    wait_for_list_hold(&stack, id, added["id"].as_i64().unwrap()).await;
    worker.stop().await;
}
