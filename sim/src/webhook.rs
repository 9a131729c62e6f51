//! The webhook protocol, as a well-behaved internal service implements it: signed calls only,
//! and a repeated erase with the same `Idempotency-Key` gets the same answer. This service checks
//! both signatures the worker sends (connectors/webhook/README.md): `X-Erasure-Signature`, and the
//! Standard Webhooks one (`webhook-id`, `webhook-timestamp`, `webhook-signature`; spec:
//! <https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md>,
//! "Signature scheme", "Webhook headers" and "Verifying signatures"), so every test that reaches
//! it proves both.

use crate::fault::Fault;
use crate::harness::{now_ms, with_retry_after, Call, Harness, Job, System};
use axum::body::Bytes;
use axum::extract::{Path, State as AxumState};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::{Duration, Instant};

const SIGNATURE_HEADER: &str = "x-erasure-signature";
const TIMESTAMP_HEADER: &str = "x-erasure-timestamp";

pub(crate) fn router(harness: Arc<Harness>) -> Router {
    Router::new()
        .route("/webhook/{system}", post(call))
        .route("/webhook/{system}/jobs/{job}", post(check))
        .with_state(harness)
}

#[derive(Deserialize)]
struct Body {
    action: String,
    #[serde(default)]
    subject: Option<Subject>,
}

#[derive(Deserialize, Default)]
struct Subject {
    #[serde(default)]
    user_id: Option<String>,
    #[serde(default)]
    emails: Vec<String>,
    #[serde(default)]
    phones: Vec<String>,
    #[serde(default)]
    id: Option<String>,
}

impl Subject {
    fn identifiers(&self) -> Vec<String> {
        let mut all: Vec<String> = self.emails.iter().chain(&self.phones).cloned().collect();
        all.extend(self.user_id.clone());
        all.extend(self.id.clone());
        all
    }
}

/// A call admitted past the signature check.
struct Admitted {
    body: Body,
    index: usize,
    idempotency_key: Option<String>,
}

/// `POST /webhook/{system}`: erase, lookup or ping.
async fn call(
    AxumState(state): AxumState<Arc<Harness>>,
    Path(system): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(call) = admit(&state, &system, &headers, &body).await else {
        return (StatusCode::UNAUTHORIZED, Json(json!({ "error": "bad signature" }))).into_response();
    };
    let slow = match injected_fault(&state, &system, call.index).await {
        Err(response) => return response,
        Ok(slow) => slow,
    };
    let identifiers = call.body.subject.as_ref().map(Subject::identifiers).unwrap_or_default();
    let (status, answer) = state.with(&system, |s| match call.body.action.as_str() {
        "ping" => (200, json!({ "ok": true })),
        "lookup" => {
            let count: u64 = identifiers.iter().filter_map(|i| s.data.get(i)).sum();
            (200, json!({ "found": count > 0, "count": count }))
        }
        "erase" => match call.idempotency_key.as_ref().and_then(|k| s.answers.get(k)) {
            Some(previous) => previous.clone(),
            None => {
                let answer = erase(s, &system, &identifiers);
                if let Some(key) = &call.idempotency_key {
                    s.answers.insert(key.clone(), answer.clone());
                }
                answer
            }
        },
        _ => (400, json!({ "error": "unknown action" })),
    });
    if let Some(delay) = slow {
        tokio::time::sleep(delay).await;
    }
    respond(&state, &system, call.index, status, answer)
}

fn erase(s: &mut System, system: &str, identifiers: &[String]) -> (u16, Value) {
    let mut records = 0;
    for identifier in identifiers {
        if let Some(n) = s.data.remove(identifier) {
            records += n;
            s.erased.insert(identifier.clone());
        }
    }
    match s.async_delay {
        Some(delay) if records > 0 => {
            s.next_job += 1;
            let job = format!("job-{}", s.next_job);
            s.jobs.insert(job.clone(), Job { ready_at: Instant::now() + delay, records });
            let check_url = format!("/webhook/{system}/jobs/{job}");
            (202, json!({ "status": "pending", "check_url": check_url, "check_after_seconds": 1, "reference": job }))
        }
        _ if records > 0 => (200, json!({ "status": "erased", "counts": { "records": records } })),
        _ => (200, json!({ "status": "nothing_to_erase" })),
    }
}

/// `POST /webhook/{system}/jobs/{job}`: is the accepted erasure finished?
async fn check(
    AxumState(state): AxumState<Arc<Harness>>,
    Path((system, job)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(call) = admit(&state, &system, &headers, &body).await else {
        return (StatusCode::UNAUTHORIZED, Json(json!({ "error": "bad signature" }))).into_response();
    };
    if let Err(response) = injected_fault(&state, &system, call.index).await {
        return response;
    }
    let (status, answer) = state.with(&system, |s| match s.jobs.get(&job) {
        None => (404, json!({ "error": "no such job" })),
        Some(j) if j.ready_at <= Instant::now() => {
            (200, json!({ "status": "erased", "counts": { "records": j.records }, "reference": job }))
        }
        Some(_) => {
            let check_url = format!("/webhook/{system}/jobs/{job}");
            (202, json!({ "status": "pending", "check_url": check_url, "check_after_seconds": 1 }))
        }
    });
    respond(&state, &system, call.index, status, answer)
}

/// Record the call's arrival and check its signature; `None` (recorded as 401) if bad.
async fn admit(state: &Harness, system: &str, headers: &HeaderMap, body: &[u8]) -> Option<Admitted> {
    let header = |name| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    let secret = &state.options.webhook_secret;
    let signature_ok = verify(secret.as_bytes(), &header(TIMESTAMP_HEADER), &header(SIGNATURE_HEADER), body)
        && verify_standard(
            secret,
            &header("webhook-id"),
            &header("webhook-timestamp"),
            &header("webhook-signature"),
            body,
        );
    let parsed: Option<Body> = serde_json::from_slice(body).ok();
    let idempotency_key = headers.get("idempotency-key").and_then(|v| v.to_str().ok()).map(str::to_string);
    let call = Call {
        at_ms: now_ms(),
        action: parsed.as_ref().map(|b| b.action.clone()).unwrap_or_else(|| "unreadable".into()),
        identifiers: parsed.as_ref().and_then(|b| b.subject.as_ref()).map(Subject::identifiers).unwrap_or_default(),
        idempotency_key: idempotency_key.clone(),
        signature_ok,
        status: 0,
    };
    let index = state.record(system, call);
    let latency = state.latency(system);
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    match (signature_ok, parsed) {
        (true, Some(body)) => Some(Admitted { body, index, idempotency_key }),
        _ => {
            state.finish_call(system, index, 401);
            None
        }
    }
}

/// Apply the next queued fault: `Err` with the response to send instead, or `Ok` with a delay to
/// add after the work is done.
async fn injected_fault(state: &Harness, system: &str, index: usize) -> Result<Option<Duration>, Response> {
    let Some(fault) = state.with(system, |s| s.faults.pop_front()) else {
        return Ok(None);
    };
    let (status, retry_after) = match fault {
        Fault::Hang { millis } => {
            tokio::time::sleep(Duration::from_millis(millis)).await;
            return Ok(None);
        }
        Fault::SlowAnswer { millis } => return Ok(Some(Duration::from_millis(millis))),
        Fault::Status { status, retry_after } => (status, retry_after),
        Fault::Throttle { retry_after } => (429, retry_after),
    };
    Err(with_retry_after(respond(state, system, index, status, json!({ "error": "injected fault" })), retry_after))
}

fn respond(state: &Harness, system: &str, index: usize, status: u16, body: Value) -> Response {
    state.finish_call(system, index, status);
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, Json(body)).into_response()
}

fn verify(secret: &[u8], timestamp: &str, signature: &str, body: &[u8]) -> bool {
    use hmac::{Hmac, Mac};
    let Some(given) = signature.strip_prefix("v1=").and_then(|h| hex::decode(h).ok()) else {
        return false;
    };
    let Ok(ts) = timestamp.parse::<u64>() else {
        return false;
    };
    if ts.abs_diff(now_ms() / 1000) > 300 {
        return false;
    }
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    mac.verify_slice(&given).is_ok()
}

/// The Standard Webhooks check: one of the space-separated `v1,<base64>` signatures is the
/// HMAC-SHA256 of `"{id}.{timestamp}.{body}"`, and the timestamp is within 5 minutes. The key of a
/// `whsec_<base64>` secret is the decoded bytes (the spec's serialisation); of any other secret,
/// its bytes (connectors/webhook/README.md).
fn verify_standard(secret: &str, id: &str, timestamp: &str, signatures: &str, body: &[u8]) -> bool {
    use base64::Engine;
    use hmac::{Hmac, Mac};
    let engine = base64::engine::general_purpose::STANDARD;
    let key = match secret.strip_prefix("whsec_") {
        Some(encoded) => match engine.decode(encoded) {
            Ok(key) => key,
            Err(_) => return false,
        },
        None => secret.as_bytes().to_vec(),
    };
    let Ok(ts) = timestamp.parse::<u64>() else {
        return false;
    };
    if id.is_empty() || ts.abs_diff(now_ms() / 1000) > 300 {
        return false;
    }
    signatures.split(' ').filter_map(|s| s.strip_prefix("v1,")).filter_map(|b| engine.decode(b).ok()).any(|given| {
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(&key).expect("HMAC takes any key length");
        mac.update(id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.as_bytes());
        mac.update(b".");
        mac.update(body);
        mac.verify_slice(&given).is_ok()
    })
}
