//! The webhook protocol, as an internal service would implement it.

use crate::state::{now_ms, Call, Fault, Job, State};
use axum::body::Bytes;
use axum::extract::{Path, State as AxumState};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::json;
use std::sync::Arc;
use std::time::{Duration, Instant};

const SIGNATURE_HEADER: &str = "x-erasure-signature";
const TIMESTAMP_HEADER: &str = "x-erasure-timestamp";

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

/// `POST /webhook/{system}`: erase, lookup or ping.
pub async fn call(
    AxumState(state): AxumState<Arc<State>>,
    Path(system): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some((parsed, call)) = admit(&state, &system, &headers, &body).await else {
        return (StatusCode::UNAUTHORIZED, Json(json!({ "error": "bad signature" }))).into_response();
    };
    if let Some(response) = injected_fault(&state, &system, &call).await {
        return response;
    }
    let identifiers = parsed.subject.unwrap_or_default().identifiers();
    let response = state.with(&system, |s| match parsed.action.as_str() {
        "ping" => (StatusCode::OK, Json(json!({ "ok": true }))),
        "lookup" => {
            let count: u64 = identifiers.iter().filter_map(|i| s.data.get(i)).sum();
            (StatusCode::OK, Json(json!({ "found": count > 0, "count": count })))
        }
        "erase" => {
            let records: u64 = identifiers.iter().filter_map(|i| s.data.remove(i)).sum();
            match s.async_delay {
                Some(delay) if records > 0 => {
                    s.next_job += 1;
                    let job = format!("job-{}", s.next_job);
                    s.jobs.insert(job.clone(), Job { ready_at: Instant::now() + delay, records });
                    let check_url = format!("/webhook/{system}/jobs/{job}");
                    (StatusCode::ACCEPTED, Json(json!({ "status": "pending", "check_url": check_url, "check_after_seconds": 1, "reference": job })))
                }
                _ if records > 0 => (StatusCode::OK, Json(json!({ "status": "erased", "counts": { "records": records } }))),
                _ => (StatusCode::OK, Json(json!({ "status": "nothing_to_erase" }))),
            }
        }
        _ => (StatusCode::BAD_REQUEST, Json(json!({ "error": "unknown action" }))),
    });
    record(&state, &system, call, response.0);
    response.into_response()
}

/// `POST /webhook/{system}/jobs/{job}`: is the accepted erasure finished?
pub async fn check(
    AxumState(state): AxumState<Arc<State>>,
    Path((system, job)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some((_, call)) = admit(&state, &system, &headers, &body).await else {
        return (StatusCode::UNAUTHORIZED, Json(json!({ "error": "bad signature" }))).into_response();
    };
    if let Some(response) = injected_fault(&state, &system, &call).await {
        return response;
    }
    let response = state.with(&system, |s| match s.jobs.get(&job) {
        None => (StatusCode::NOT_FOUND, Json(json!({ "error": "no such job" }))),
        Some(j) if j.ready_at <= Instant::now() => {
            (StatusCode::OK, Json(json!({ "status": "erased", "counts": { "records": j.records }, "reference": job })))
        }
        Some(_) => {
            let check_url = format!("/webhook/{system}/jobs/{job}");
            (StatusCode::ACCEPTED, Json(json!({ "status": "pending", "check_url": check_url, "check_after_seconds": 1 })))
        }
    });
    record(&state, &system, call, response.0);
    response.into_response()
}

/// Verify the signature and start the call's record; `None` (and a recorded 401) if it is bad.
async fn admit(state: &State, system: &str, headers: &HeaderMap, body: &[u8]) -> Option<(Body, Call)> {
    let header = |name| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    let signature_ok = verify(state.options.webhook_secret.as_bytes(), &header(TIMESTAMP_HEADER), &header(SIGNATURE_HEADER), body);
    let parsed: Option<Body> = serde_json::from_slice(body).ok();
    let call = Call {
        at_ms: now_ms(),
        action: parsed.as_ref().map(|b| b.action.clone()).unwrap_or_else(|| "check".into()),
        identifiers: parsed.as_ref().and_then(|b| b.subject.as_ref()).map(Subject::identifiers).unwrap_or_default(),
        idempotency_key: headers.get("idempotency-key").and_then(|v| v.to_str().ok()).map(str::to_string),
        signature_ok,
        status: 0,
    };
    let latency = state.with(system, |s| s.latency).unwrap_or(state.options.latency);
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    match (signature_ok, parsed) {
        (true, Some(parsed)) => Some((parsed, call)),
        _ => {
            record(state, system, call, StatusCode::UNAUTHORIZED);
            None
        }
    }
}

async fn injected_fault(state: &State, system: &str, call: &Call) -> Option<Response> {
    let fault = state.with(system, |s| s.faults.pop_front())?;
    let (status, retry_after) = match fault {
        Fault::Hang { millis } => {
            tokio::time::sleep(Duration::from_millis(millis)).await;
            return None;
        }
        Fault::Status { status, retry_after } => (StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR), retry_after),
        Fault::Throttle { retry_after } => (StatusCode::TOO_MANY_REQUESTS, retry_after),
    };
    record(state, system, call.clone(), status);
    let mut response = (status, Json(json!({ "error": "injected fault" }))).into_response();
    if let Some(secs) = retry_after {
        response.headers_mut().insert("retry-after", secs.to_string().parse().expect("digits are a header value"));
    }
    Some(response)
}

fn record(state: &State, system: &str, mut call: Call, status: StatusCode) {
    call.status = status.as_u16();
    state.with(system, |s| s.calls.push(call));
}

fn verify(secret: &[u8], timestamp: &str, signature: &str, body: &[u8]) -> bool {
    use hmac::{Hmac, Mac};
    let Some(given) = signature.strip_prefix("v1=").and_then(|h| hex::decode(h).ok()) else { return false };
    let Ok(ts) = timestamp.parse::<u64>() else { return false };
    if ts.abs_diff(now_ms() / 1000) > 300 {
        return false;
    }
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    mac.verify_slice(&given).is_ok()
}
