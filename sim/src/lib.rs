//! The vendor simulator: plays the external systems for the demo, the tests and the benchmarks.
//!
//! It speaks the webhook protocol (`connectors/webhook/README.md`) at `/webhook/{system}`, with
//! seeded data, latency, async jobs and fault injection (errors, 429 with Retry-After, hangs),
//! and records every call it receives so tests can assert on what a system saw.
//!
//! Vendors, each under its own prefix with the vendor's own paths (`Sim::vendor_url`), or alone at
//! the root of a port of its own (`Sim::serve_vendor_at_root`, for a spec-validating proxy):
//! `/zendesk` (`zendesk.rs`), `/intercom`, `/twilio`, `/elasticsearch`, `/loki`. Faults are
//! queued per vendor name with `push_faults("zendesk", ...)`, or aimed at the next call of one
//! action with `aim_fault` (a `SlowAnswer` there is "do the work, then lose the answer"); calls
//! are recorded the same way.
//!
//! Control API (JSON): `POST /_sim/seed`, `POST /_sim/faults` (`"on": "DELETE /api/v2/..."` aims
//! them), `POST /_sim/outage` (a fault on
//! every call until `{"fault": null}`), `POST /_sim/async`,
//! `GET /_sim/calls?system=NAME`, `GET /_sim/health`.

mod elasticsearch;
mod intercom;
mod loki;
mod state;
mod twilio;
mod webhook;
mod zendesk;

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

    /// The next call to `system` whose action (`"DELETE /api/v2/tickets/destroy_many"`, as
    /// `calls` records it) starts with `action_prefix` gets `fault`, before any queued one. With
    /// `Fault::SlowAnswer` longer than the caller's timeout: the work is done, the answer lost.
    pub fn aim_fault(&self, system: &str, action_prefix: &str, fault: Fault) {
        self.state.aim_fault(system, action_prefix, fault);
    }

    /// Every call to `system` gets `fault` (after any queued ones) until `set_outage(system, None)`.
    pub fn set_outage(&self, system: &str, fault: Option<Fault>) {
        self.state.set_outage(system, fault);
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

    /// `http://127.0.0.1:PORT/{vendor}`: the base URL a connector of that vendor is given.
    pub fn vendor_url(&self, vendor: &str) -> String {
        format!("http://{}/{vendor}", self.addr)
    }

    /// Serve one vendor at the root of a new port, sharing this simulator's state; returns its
    /// base URL. For a proxy that validates paths against the vendor's spec.
    pub async fn serve_vendor_at_root(&self, vendor: &str) -> std::io::Result<String> {
        let router = vendor_router(vendor).ok_or_else(|| std::io::Error::other(format!("no vendor {vendor}")))?;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let app = router.with_state(self.state.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(format!("http://{addr}"))
    }

    /// Seed from a JSON document: `{"systems": {...webhook...}, "zendesk": ..., "intercom": ...}`
    /// (each vendor's shape is documented in its module).
    pub fn seed_json(&self, seed: &serde_json::Value) -> Result<(), String> {
        for (key, value) in seed.as_object().ok_or("the seed must be a JSON object")? {
            match key.as_str() {
                "systems" => {
                    let systems: std::collections::HashMap<String, std::collections::HashMap<String, u64>> =
                        serde_json::from_value(value.clone()).map_err(|e| format!("systems: {e}"))?;
                    for (system, people) in systems {
                        for (identifier, records) in people {
                            self.seed(&system, &identifier, records);
                        }
                    }
                }
                "zendesk" => zendesk::seed_json(&self.state, value)?,
                "intercom" => intercom::seed_json(&self.state, value)?,
                "twilio" => twilio::seed_json(&self.state, value)?,
                "elasticsearch" => elasticsearch::seed_json(&self.state, value)?,
                "loki" => loki::seed_json(&self.state, value)?,
                other => return Err(format!("unknown seed section `{other}`")),
            }
        }
        Ok(())
    }
}

const VENDORS: &[&str] = &["zendesk", "intercom", "twilio", "elasticsearch", "loki"];

fn vendor_router(vendor: &str) -> Option<Router<Arc<state::State>>> {
    Some(match vendor {
        "zendesk" => zendesk::router(),
        "intercom" => intercom::router(),
        "twilio" => twilio::router(),
        "elasticsearch" => elasticsearch::router(),
        "loki" => loki::router(),
        _ => return None,
    })
}

fn router(state: Arc<state::State>) -> Router {
    let mut router = Router::new();
    for vendor in VENDORS {
        router = router.nest(&format!("/{vendor}"), vendor_router(vendor).expect("a known vendor"));
    }
    router
        .route("/webhook/{system}", post(webhook::call))
        .route("/webhook/{system}/jobs/{job}", post(webhook::check))
        .route("/_sim/health", get(|| async { "ok" }))
        .route("/_sim/seed", post(seed))
        .route("/_sim/faults", post(faults))
        .route("/_sim/outage", post(outage))
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
    /// Aim the faults at the calls whose action starts with this (see `Sim::aim_fault`).
    #[serde(default)]
    on: Option<String>,
}

async fn faults(AxumState(state): AxumState<Arc<state::State>>, Json(body): Json<FaultsBody>) -> &'static str {
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

async fn outage(AxumState(state): AxumState<Arc<state::State>>, Json(body): Json<OutageBody>) -> &'static str {
    state.set_outage(&body.system, body.fault);
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
