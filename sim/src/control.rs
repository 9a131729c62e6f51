//! The control API (`/_sim/...`): seed webhook systems, re-create erased records (resurfacing),
//! inject faults and outages, make erasures asynchronous, read the calls a system received.

use crate::fault::Fault;
use crate::harness::{Call, Harness};
use axum::extract::{Query, State as AxumState};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use std::sync::Arc;
use std::time::Duration;

type Shared = AxumState<Arc<Harness>>;

pub(crate) fn router(harness: Arc<Harness>) -> Router {
    Router::new()
        .route("/_sim/health", get(|| async { "ok" }))
        .route("/_sim/seed", post(seed))
        .route("/_sim/resurface", post(resurface))
        .route("/_sim/faults", post(faults))
        .route("/_sim/outage", post(outage))
        .route("/_sim/async", post(set_async))
        .route("/_sim/calls", get(calls))
        .route("/_sim/spans", get(spans))
        .with_state(harness)
}

#[derive(Deserialize)]
struct SeedBody {
    system: String,
    identifiers: Vec<String>,
    records: u64,
}

async fn seed(AxumState(state): Shared, Json(body): Json<SeedBody>) -> &'static str {
    for identifier in &body.identifiers {
        state.seed(&body.system, identifier, body.records);
    }
    "ok"
}

/// `POST /_sim/resurface {"system", "identifiers", "records"}`: the records an erasure removed
/// come back (see `Sim::resurface`). 409 when an identifier had no records erased: nothing is
/// re-created then.
async fn resurface(AxumState(state): Shared, Json(body): Json<SeedBody>) -> (StatusCode, &'static str) {
    let never_erased = body.identifiers.iter().any(|i| !state.with(&body.system, |s| s.erased.contains(i)));
    if never_erased {
        return (StatusCode::CONFLICT, "an identifier had no records erased: use /_sim/seed");
    }
    for identifier in &body.identifiers {
        state.resurface(&body.system, identifier, body.records);
    }
    (StatusCode::OK, "ok")
}

#[derive(Deserialize)]
struct FaultsBody {
    system: String,
    faults: Vec<Fault>,
    /// Aim the faults at the calls whose action starts with this (see `Sim::aim_fault`).
    #[serde(default)]
    on: Option<String>,
}

async fn faults(AxumState(state): Shared, Json(body): Json<FaultsBody>) -> &'static str {
    match &body.on {
        Some(prefix) => body.faults.into_iter().for_each(|fault| state.aim_fault(&body.system, prefix, fault)),
        None => state.push_faults(&body.system, body.faults),
    }
    "ok"
}

#[derive(Deserialize)]
struct OutageBody {
    system: String,
    fault: Option<Fault>,
}

async fn outage(AxumState(state): Shared, Json(body): Json<OutageBody>) -> &'static str {
    state.set_outage(&body.system, body.fault);
    "ok"
}

#[derive(Deserialize)]
struct AsyncBody {
    system: String,
    delay_ms: Option<u64>,
}

async fn set_async(AxumState(state): Shared, Json(body): Json<AsyncBody>) -> &'static str {
    state.set_async(&body.system, body.delay_ms.map(Duration::from_millis));
    "ok"
}

#[derive(Deserialize)]
struct CallsQuery {
    system: String,
}

async fn calls(AxumState(state): Shared, Query(q): Query<CallsQuery>) -> Json<Vec<Call>> {
    Json(state.calls(&q.system))
}

/// `GET /_sim/spans`: every span the OTLP receiver (`POST /v1/traces`) was sent, in order.
async fn spans(AxumState(state): Shared) -> Json<Vec<crate::harness::ReceivedSpan>> {
    Json(state.spans())
}
