//! Signed receipts: a settled request's receipt fetched from the API verifies offline with the
//! auditor's Python script (`tools/verify_receipt.py`, only the `cryptography` package) and with
//! `erasure receipt verify`, against the keys of `/.well-known/erasure-keys`; one changed byte
//! fails both. Before it settles there is no receipt.

use crate::support::*;
use erasure_worker::clock::{Clock, ManualClock};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::path::Path;
use std::process::Output;
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

const READER: &str = "receipt-reader-token-0123456789abcdef";
const PRODUCT: &str = "receipt-product-token-0123456789abcdef";
/// A 32-byte Ed25519 seed in base64url (the bytes 0..=31).
const SEED: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";

fn python_verify(receipt: &Path, key: &Path) -> Output {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tools/verify_receipt.py");
    // Debian's python3 with python3-cryptography (scripts/test installs it).
    std::process::Command::new("/usr/bin/python3").arg(script).arg(receipt).arg(key).output().expect("run python3")
}

/// The binary, awaited: the in-process worker's API runs on this test's runtime.
async fn cli(args: &[&str], env: &[(&str, &str)]) -> Output {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_erasure"))
        .args(args)
        .env_remove("ERASURE_CONFIG")
        .env_remove("ERASURE_API_TOKEN")
        .envs(env.iter().copied())
        .output()
        .await
        .expect("run the erasure binary")
}

fn text(output: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
}

#[tokio::test]
async fn a_settled_requests_receipt_verifies_offline_and_fails_after_one_byte_changes() {
    let stack = Stack::new().await;
    stack.sim.seed("accounts", "rita@example.com", 2);
    // SAFETY: set before the worker starts; each test runs in its own process.
    unsafe { std::env::set_var("E2E_RECEIPT_KEY", SEED) };
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    let tokens = [
        Token { name: "auditor", env: "E2E_RECEIPT_READER", value: READER, scopes: &["read"] },
        Token { name: "shop", env: "E2E_RECEIPT_PRODUCT", value: PRODUCT, scopes: &["submit"] },
    ];
    let extra = "[requests]\ngrace_period = \"1h\"\n\n\
                 [receipts]\nsigning_key_env = \"E2E_RECEIPT_KEY\"\nkey_id = \"receipts-e2e\"\n";
    let (worker, base) =
        start_with_api(&stack, clock.clone(), &[Instance { name: "accounts", extra: "" }], &tokens, extra).await;
    let http = reqwest::Client::new();
    let get = |path: String, token: Option<&'static str>| {
        let mut request = http.get(format!("{base}{path}"));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        async move {
            let response = request.send().await.unwrap();
            (response.status(), response.json::<Value>().await.unwrap_or(Value::Null))
        }
    };

    let id = Uuid::new_v4();
    let sent = http.post(format!("{base}/v1/requests")).bearer_auth(PRODUCT).json(&request(
        id,
        "rita@example.com",
        clock.now(),
    ));
    assert_eq!(sent.send().await.unwrap().status(), StatusCode::CREATED);
    stack.wait_for_state(id, "scheduled", Duration::from_secs(15)).await;
    let (status, body) = get(format!("/v1/requests/{id}/receipt"), Some(READER)).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::CONFLICT, Some("conflict")),
        "no receipt before it settles"
    );
    assert_eq!(get(format!("/v1/requests/{}/receipt", Uuid::new_v4()), Some(READER)).await.0, StatusCode::NOT_FOUND);
    assert_eq!(get(format!("/v1/requests/{id}/receipt"), Some(PRODUCT)).await.0, StatusCode::FORBIDDEN);

    clock.advance(chrono::Duration::hours(2));
    stack.wait_for_state(id, "completed", Duration::from_secs(20)).await;

    let (status, keys) = get("/.well-known/erasure-keys".into(), None).await;
    assert_eq!(status, StatusCode::OK, "the public keys need no token");
    assert_eq!(keys["keys"][0]["kid"], "receipts-e2e");
    assert_eq!((keys["keys"][0]["kty"].as_str(), keys["keys"][0]["crv"].as_str()), (Some("OKP"), Some("Ed25519")));
    let (status, envelope) = get(format!("/v1/requests/{id}/receipt"), Some(READER)).await;
    assert_eq!(status, StatusCode::OK, "{envelope}");
    let receipt = &envelope["receipt"];
    assert_eq!(receipt["request_id"], id.to_string());
    assert_eq!(receipt["state"], "completed");
    assert_eq!(receipt["systems"][0]["system"], "accounts");
    assert_eq!(receipt["systems"][0]["outcome"], "erased");
    assert_eq!(receipt["systems"][0]["evidence"]["counts"]["records"], 2);
    assert_eq!(receipt["systems"][0]["checks"], json!([]));
    assert!(receipt["systems"][0]["first_attempt_at"].is_string() && receipt["finished_at"].is_string());
    assert_eq!(receipt["audit_chain"]["length"], stack.audit_events(id).await.len());
    assert_eq!(envelope["signature"]["key_id"], "receipts-e2e");
    assert!(!envelope.to_string().contains("rita@"), "a receipt carries no identifier");

    // As an auditor gets them: the receipt pretty-printed, the key set from the well-known URL.
    let file = stack.dir.join("receipt.json");
    let keys_file = stack.dir.join("erasure-keys.json");
    std::fs::write(&file, serde_json::to_string_pretty(&envelope).unwrap()).unwrap();
    std::fs::write(&keys_file, keys.to_string()).unwrap();
    let python = python_verify(&file, &keys_file);
    assert!(python.status.success() && text(&python).starts_with("valid"), "{}", text(&python));
    let x = keys["keys"][0]["x"].as_str().unwrap();
    let ours = cli(&["receipt", "verify", file.to_str().unwrap(), "--public-key", x], &[]).await;
    assert!(ours.status.success() && text(&ours).starts_with("valid"), "{}", text(&ours));

    // The operators' command prints the same receipt.
    let printed = cli(&["receipt", &id.to_string(), "--api", &base], &[("ERASURE_API_TOKEN", READER)]).await;
    assert!(printed.status.success(), "{}", text(&printed));
    assert_eq!(serde_json::from_slice::<Value>(&printed.stdout).unwrap(), envelope);

    // One byte changed: "completed" becomes "completes".
    let original = std::fs::read(&file).unwrap();
    let at = original.windows(11).position(|w| w == b"\"completed\"").expect("the state is in the file") + 9;
    let mut changed = original.clone();
    changed[at] = b's';
    assert_eq!(original.iter().zip(&changed).filter(|(a, b)| a != b).count(), 1);
    std::fs::write(&file, &changed).unwrap();
    let python = python_verify(&file, &keys_file);
    assert_eq!(python.status.code(), Some(1), "{}", text(&python));
    assert!(text(&python).contains("NOT valid"), "{}", text(&python));
    let ours =
        cli(&["receipt", "verify", file.to_str().unwrap(), "--public-key", keys_file.to_str().unwrap()], &[]).await;
    assert_eq!(ours.status.code(), Some(1), "{}", text(&ours));
    worker.stop().await;
}

#[tokio::test]
async fn without_a_signing_key_receipts_are_not_served_and_no_key_is_published() {
    let stack = Stack::new().await;
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    let tokens = [Token { name: "auditor", env: "E2E_RECEIPT_READER", value: READER, scopes: &["read"] }];
    let extra = "[receipts]\nsigning_key_env = \"E2E_RECEIPT_KEY_NEVER_SET\"\n";
    let (worker, base) =
        start_with_api(&stack, clock.clone(), &[Instance { name: "accounts", extra: "" }], &tokens, extra).await;
    let id = Uuid::new_v4();
    stack.publish(&bytes(&request(id, "sam@example.com", clock.now())), None).await;
    stack.wait_for_state(id, "completed", Duration::from_secs(20)).await;
    let http = reqwest::Client::new();
    let response = http.get(format!("{base}/v1/requests/{id}/receipt")).bearer_auth(READER).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "receipts_not_configured");
    let keys: Value = http.get(format!("{base}/.well-known/erasure-keys")).send().await.unwrap().json().await.unwrap();
    assert_eq!(keys, json!({ "keys": [] }));
    worker.stop().await;
}
