//! The vendor simulator: plays the external systems for the demo, the tests and the benchmarks.
//!
//! It speaks the webhook protocol (`connectors/webhook/README.md`) at `/webhook/{system}`, with
//! seeded data, latency, async jobs and fault injection (errors, 429 with Retry-After, hangs),
//! and records every call it receives so tests can assert on what a system saw.
//!
//! Control API (JSON): `POST /_sim/seed`, `POST /_sim/faults`, `POST /_sim/async`,
//! `GET /_sim/calls?system=NAME`, `GET /_sim/health`.

mod state;
mod webhook;

pub use state::{Call, Fault};

use axum::extract::{Query, State as AxumState};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct SimOptions {
    /// The HMAC secret webhook calls must be signed with.
    pub webhook_secret: String,
    /// Added to every answer.
    pub latency: Duration,
}

impl Default for SimOptions {
    fn default() -> Self {
        SimOptions { webhook_secret: "sim-secret".into(), latency: Duration::ZERO }
    }
}

/// A running simulator.
#[derive(Clone)]
pub struct Sim {
    state: Arc<state::State>,
    addr: SocketAddr,
}

impl Sim {
    /// Bind `addr` (port 0 for any) and serve in the background.
    pub async fn start(addr: SocketAddr, options: SimOptions) -> std::io::Result<Sim> {
        let state = Arc::new(state::State::new(options));
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let app = router(state.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Sim { state, addr })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT/webhook/{system}`.
    pub fn webhook_url(&self, system: &str) -> String {
        format!("http://{}/webhook/{system}", self.addr)
    }

    /// Give `system` `records` records about the person known by `identifier`.
    pub fn seed(&self, system: &str, identifier: &str, records: u64) {
        self.state.seed(system, identifier, records);
    }

    /// Queue faults: each of the next calls to `system` gets the next fault.
    pub fn push_faults(&self, system: &str, faults: impl IntoIterator<Item = Fault>) {
        self.state.push_faults(system, faults);
    }

    /// Erasures on `system` are accepted (202 pending) and finish after `delay`.
    pub fn set_async(&self, system: &str, delay: Option<Duration>) {
        self.state.set_async(system, delay);
    }

    pub fn set_latency(&self, system: &str, latency: Duration) {
        self.state.set_latency(system, latency);
    }

    /// Every call `system` received, in order.
    pub fn calls(&self, system: &str) -> Vec<Call> {
        self.state.calls(system)
    }

    /// Records `system` still holds about `identifier`.
    pub fn records(&self, system: &str, identifier: &str) -> u64 {
        self.state.records(system, identifier)
    }
}

fn router(state: Arc<state::State>) -> Router {
    Router::new()
        .route("/webhook/{system}", post(webhook::call))
        .route("/webhook/{system}/jobs/{job}", post(webhook::check))
        .route("/_sim/health", get(|| async { "ok" }))
        .route("/_sim/seed", post(seed))
        .route("/_sim/faults", post(faults))
        .route("/_sim/async", post(set_async))
        .route("/_sim/calls", get(calls))
        .with_state(state)
}

#[derive(Deserialize)]
struct SeedBody {
    system: String,
    identifiers: Vec<String>,
    records: u64,
}

async fn seed(AxumState(state): AxumState<Arc<state::State>>, Json(body): Json<SeedBody>) -> &'static str {
    for identifier in &body.identifiers {
        state.seed(&body.system, identifier, body.records);
    }
    "ok"
}

#[derive(Deserialize)]
struct FaultsBody {
    system: String,
    faults: Vec<Fault>,
}

async fn faults(AxumState(state): AxumState<Arc<state::State>>, Json(body): Json<FaultsBody>) -> &'static str {
    state.push_faults(&body.system, body.faults);
    "ok"
}

#[derive(Deserialize)]
struct AsyncBody {
    system: String,
    delay_ms: Option<u64>,
}

async fn set_async(AxumState(state): AxumState<Arc<state::State>>, Json(body): Json<AsyncBody>) -> &'static str {
    state.set_async(&body.system, body.delay_ms.map(Duration::from_millis));
    "ok"
}

#[derive(Deserialize)]
struct CallsQuery {
    system: String,
}

async fn calls(AxumState(state): AxumState<Arc<state::State>>, Query(q): Query<CallsQuery>) -> Json<Vec<Call>> {
    Json(state.calls(&q.system))
}
