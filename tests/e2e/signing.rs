//! Signed intake end to end: `v2` binds `reply_to`, `v1` is counted while it is still accepted,
//! a cancellation needs the key that admitted its request, and a dead letter's replay checks the
//! signature it came with again.

use crate::support::*;
use erasure_worker::clock::SystemClock;
use erasure_worker::intake::signature::{sign, sign_v1, KEY_ID_HEADER, SIGNATURE_HEADER};
use lapin::types::{AMQPValue, FieldTable};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

const SHOP_SECRET: &str = "shop-signing-secret-0123456789";
const OTHER_SECRET: &str = "other-signing-secret-0123456789";
const SUPPORT_SECRET: &str = "support-signing-secret-0123456789";
const OPS: &str = "signing-ops-token-0123456789abcdef";

/// Three keys: `shop` and `other` (two products) and `support`, which may cancel any request.
fn signing_config(extra: &str) -> String {
    // SAFETY: set before the worker starts; each test runs in its own process.
    unsafe {
        std::env::set_var("E2E_SHOP_KEY", SHOP_SECRET);
        std::env::set_var("E2E_OTHER_KEY", OTHER_SECRET);
        std::env::set_var("E2E_SUPPORT_KEY", SUPPORT_SECRET);
    }
    format!(
        "{extra}\n[intake]\nrequire_signature = true\nsigning_keys = [\
         {{ id = \"shop\", secret_env = \"E2E_SHOP_KEY\" }}, \
         {{ id = \"other\", secret_env = \"E2E_OTHER_KEY\" }}, \
         {{ id = \"support\", secret_env = \"E2E_SUPPORT_KEY\", can_cancel_any = true }}]\n"
    )
}

fn signed_by(key_id: &str, signature: String) -> FieldTable {
    let mut headers = FieldTable::default();
    headers.insert(KEY_ID_HEADER.into(), AMQPValue::LongString(key_id.into()));
    headers.insert(SIGNATURE_HEADER.into(), AMQPValue::LongString(signature.as_str().into()));
    headers
}

/// A message signed with v2 for `reply_to`.
fn v2(key_id: &str, secret: &str, reply_to: Option<&str>, body: &[u8]) -> FieldTable {
    signed_by(key_id, sign(secret.as_bytes(), reply_to, body))
}

/// A signed request reaches its `reply_to`; the same message captured and published with its
/// events sent elsewhere is refused, as is one with a `reply_to` added. A `v1` message (the body
/// alone) is still executed while `accept_signature_v1` is on, and counted.
#[tokio::test]
async fn a_v2_signature_binds_reply_to_and_v1_is_counted_while_accepted() {
    let stack = Stack::new().await;
    let tokens = [Token { name: "ops", env: "E2E_SIGNING_OPS", value: OPS, scopes: &["read", "operate"] }];
    let instances = [Instance { name: "accounts", extra: "" }];
    let (worker, base) = start_with_api(&stack, Arc::new(SystemClock), &instances, &tokens, &signing_config("")).await;
    let events = stack.events().await;
    let now = chrono::Utc::now();

    let good = Uuid::new_v4();
    let body = bytes(&request(good, "ok@example.com", now));
    let reply_to = events.queue.clone();
    stack.publish_with_headers(&body, Some(&reply_to), v2("shop", SHOP_SECRET, Some(&reply_to), &body)).await;
    stack.publish_with_headers(&body, Some("attacker.replies"), v2("shop", SHOP_SECRET, Some(&reply_to), &body)).await;
    let unbound = Uuid::new_v4();
    let body = bytes(&request(unbound, "ok@example.com", now));
    stack.publish_with_headers(&body, Some("attacker.replies"), v2("shop", SHOP_SECRET, None, &body)).await;
    let legacy = Uuid::new_v4();
    let body = bytes(&request(legacy, "old@example.com", now));
    stack.publish_with_headers(&body, None, signed_by("shop", sign_v1(SHOP_SECRET.as_bytes(), &body))).await;

    stack.wait_for_state(good, "completed", Duration::from_secs(20)).await;
    stack.wait_for_state(legacy, "completed", Duration::from_secs(20)).await;
    let dead = stack.wait_dead_letters(2, Duration::from_secs(10)).await;
    assert!(dead.iter().all(|(reason, _)| reason.as_deref() == Some("bad_signature")), "{dead:?}");
    assert_eq!(stack.request_state(unbound).await, None, "never executed");
    let row = stack.db().await.query_one("SELECT signing_key_id FROM requests WHERE id = $1", &[&good]).await.unwrap();
    let (signer, stored_reply_to): (Option<String>, Option<String>) =
        (row.get(0), stack.identifiers(good).await.unwrap().reply_to);
    assert_eq!(signer.as_deref(), Some("shop"), "the key that admitted the request is recorded");
    assert_eq!(stored_reply_to, Some(reply_to), "events go where the product signed for");
    let metrics = reqwest::get(format!("{base}/metrics")).await.unwrap().text().await.unwrap();
    assert!(metrics.lines().any(|l| l == "erasure_intake_signature_v1_total 1"), "{metrics}");
    worker.stop().await;
}

/// A cancellation signed by another product's key is refused and cancels nothing; the key that
/// admitted the request cancels it, and a key marked `can_cancel_any` cancels any.
#[tokio::test]
async fn a_cancellation_needs_the_key_that_admitted_the_request() {
    let stack = Stack::new().await;
    let settings = stack
        .settings(&[Instance { name: "accounts", extra: "" }], &signing_config("[requests]\ngrace_period = \"7d\"\n"));
    stack.declare_queues(&settings).await;
    let worker = Worker::start(settings, Arc::new(SystemClock));
    let now = chrono::Utc::now();
    let (shops, others) = (Uuid::new_v4(), Uuid::new_v4());
    let body = bytes(&request(shops, "ana@example.com", now));
    stack.publish_with_headers(&body, None, v2("shop", SHOP_SECRET, None, &body)).await;
    let body = bytes(&request(others, "bob@example.com", now));
    stack.publish_with_headers(&body, None, v2("other", OTHER_SECRET, None, &body)).await;
    stack.wait_for_state(shops, "scheduled", Duration::from_secs(15)).await;
    stack.wait_for_state(others, "scheduled", Duration::from_secs(15)).await;

    let cancel = |id: Uuid| bytes(&json!({ "version": 1, "type": "cancel", "request_id": id, "reason": "withdrawn" }));
    let body = cancel(shops);
    stack.publish_with_headers(&body, None, v2("other", OTHER_SECRET, None, &body)).await;
    let dead = stack.wait_dead_letters(1, Duration::from_secs(10)).await;
    assert_eq!(dead[0].0.as_deref(), Some("bad_signature"));
    assert_eq!(stack.request_state(shops).await.as_deref(), Some("scheduled"), "another product cannot cancel it");

    stack.publish_with_headers(&body, None, v2("shop", SHOP_SECRET, None, &body)).await;
    stack.wait_for_state(shops, "cancelled", Duration::from_secs(15)).await;
    let body = cancel(others);
    stack.publish_with_headers(&body, None, v2("support", SUPPORT_SECRET, None, &body)).await;
    stack.wait_for_state(others, "cancelled", Duration::from_secs(15)).await;
    let letters: i64 = stack.db().await.query_one("SELECT count(*) FROM dead_letters", &[]).await.unwrap().get(0);
    assert_eq!(letters, 1, "only the other product's cancellation was refused");
    worker.stop().await;
}

struct Ops {
    base: String,
    http: reqwest::Client,
}

impl Ops {
    async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        let response =
            self.http.post(format!("{}{path}", self.base)).bearer_auth(OPS).json(&body).send().await.unwrap();
        (response.status(), response.json().await.unwrap_or(Value::Null))
    }

    async fn letters(&self) -> Vec<Value> {
        let response = self.http.get(format!("{}/v1/dead-letters", self.base)).bearer_auth(OPS).send().await.unwrap();
        let list: Value = response.json().await.unwrap();
        list["dead_letters"].as_array().unwrap().clone()
    }

    async fn gauge(&self) -> String {
        let metrics = self.http.get(format!("{}/metrics", self.base)).send().await.unwrap().text().await.unwrap();
        metrics.lines().find(|l| l.starts_with("erasure_dead_letters ")).unwrap_or_default().to_string()
    }
}

/// Replay runs the whole admission again, signature included: an unsigned letter, and a forged
/// one that was refused for another reason first (its `reply_to`), are 403 and never executed; a
/// correctly signed letter refused for a system not yet configured is replayed after the fix.
/// Discarding a letter is audited and clears it from the gauge behind the alert; afterwards a
/// valid request still completes within seconds.
#[tokio::test]
async fn a_dead_letter_replay_checks_its_signature_and_a_discard_clears_the_alert() {
    let stack = Stack::new().await;
    let tokens = [Token { name: "ops", env: "E2E_SIGNING_OPS", value: OPS, scopes: &["read", "operate"] }];
    let accounts = [Instance { name: "accounts", extra: "" }];
    let config = signing_config("");
    let (worker, base) = start_with_api(&stack, Arc::new(SystemClock), &accounts, &tokens, &config).await;
    let ops = Ops { base, http: reqwest::Client::new() };
    let now = chrono::Utc::now();

    let (unsigned, forged, later) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
    stack.publish(&bytes(&request(unsigned, "u@example.com", now)), None).await;
    let body = bytes(&request(forged, "f@example.com", now));
    stack
        .publish_with_headers(&body, Some("two words"), v2("shop", "a-guessed-secret", Some("two words"), &body))
        .await;
    let mut needs_payroll = request(later, "p@example.com", now);
    needs_payroll["systems"] = json!(["payroll"]);
    let body = bytes(&needs_payroll);
    stack.publish_with_headers(&body, None, v2("shop", SHOP_SECRET, None, &body)).await;
    stack.wait_dead_letters(3, Duration::from_secs(15)).await;
    let letters = poll(Duration::from_secs(10), "three recorded letters", || async {
        Some(ops.letters().await).filter(|l| l.len() == 3)
    })
    .await;
    let id_of = |reason: &str| letters.iter().find(|l| l["reason"] == reason).unwrap()["id"].as_i64().unwrap();
    let (unsigned_letter, forged_letter, payroll_letter) =
        (id_of("bad_signature"), id_of("invalid_message"), id_of("unknown_system"));
    assert_eq!(ops.gauge().await, "erasure_dead_letters 3");

    let (status, refused) = ops.post(&format!("/v1/dead-letters/{unsigned_letter}/replay"), json!({})).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{refused}");
    assert!(refused.to_string().contains("bad_signature"), "{refused}");
    let (status, refused) = ops.post(&format!("/v1/dead-letters/{forged_letter}/replay"), json!({})).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "the forged signature is checked on replay: {refused}");
    assert_eq!(stack.request_state(unsigned).await, None);
    assert_eq!(stack.request_state(forged).await, None);

    let discard = format!("/v1/dead-letters/{unsigned_letter}/discard");
    assert_eq!(ops.post(&discard, json!({ "reason": "" })).await.0, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, discarded) = ops.post(&discard, json!({ "reason": "an unsigned test message" })).await;
    assert_eq!(status, StatusCode::OK, "{discarded}");
    assert_eq!(ops.post(&discard, json!({ "reason": "again" })).await.0, StatusCode::CONFLICT);
    let listed = ops.letters().await;
    let entry = listed.iter().find(|l| l["id"] == unsigned_letter).unwrap();
    assert_eq!(
        (entry["discarded_by"].as_str(), entry["discard_reason"].as_str()),
        (Some("api:ops"), Some("an unsigned test message"))
    );
    assert_eq!(ops.gauge().await, "erasure_dead_letters 2");
    worker.stop().await;

    // The fix: payroll is configured; the signed letter is replayed and executed.
    let both = [Instance { name: "accounts", extra: "" }, Instance { name: "payroll", extra: "" }];
    let (worker, base) = start_with_api(&stack, Arc::new(SystemClock), &both, &tokens, &config).await;
    let ops = Ops { base, http: reqwest::Client::new() };
    let (status, replayed) = ops.post(&format!("/v1/dead-letters/{payroll_letter}/replay"), json!({})).await;
    assert_eq!(status, StatusCode::OK, "{replayed}");
    stack.wait_for_state(later, "completed", Duration::from_secs(20)).await;
    let signer: Option<String> = stack
        .db()
        .await
        .query_one("SELECT signing_key_id FROM requests WHERE id = $1", &[&later])
        .await
        .unwrap()
        .get(0);
    assert_eq!(signer.as_deref(), Some("shop"), "a replayed request keeps the key that signed it");
    assert_eq!(ops.gauge().await, "erasure_dead_letters 1", "only the forged letter is left");

    let valid = Uuid::new_v4();
    let body = bytes(&request(valid, "v@example.com", chrono::Utc::now()));
    stack.publish_with_headers(&body, None, v2("shop", SHOP_SECRET, None, &body)).await;
    stack.wait_for_state(valid, "completed", Duration::from_secs(15)).await;
    worker.stop().await;
}
