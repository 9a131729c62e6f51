//! The vendor simulator: plays the external systems for the demo, the tests and the benchmarks.
//!
//! It speaks the webhook protocol (`connectors/webhook/README.md`) at `/webhook/{system}`, with
//! seeded data, latency, async jobs and fault injection (errors, 429 with Retry-After, hangs),
//! and records every call it receives so tests can assert on what a system saw.
//!
//! Vendors, each under its own prefix with the vendor's own paths (`Sim::vendor_url`), or alone at
//! the root of a port of its own (`Sim::serve_vendor_at_root`, for a spec-validating proxy):
//! `/zendesk` (`zendesk/`), `/intercom`, `/twilio`, `/elasticsearch`, `/loki`, `/mailchimp`,
//! `/hubspot`. Faults are
//! queued per vendor name with `push_faults("zendesk", ...)`, or aimed at the next call of one
//! action with `aim_fault` (a `SlowAnswer` there is "do the work, then lose the answer"); calls
//! are recorded the same way.
//!
//! Tests see and change a vendor's data through its handle: `sim.zendesk().user(..)`,
//! `sim.loki().lines(..)`, ...
//!
//! Control API (JSON, `control.rs`): `POST /_sim/seed`, `POST /_sim/resurface` (`{"system",
//! "identifiers", "records"}`: records an erasure removed come back, for verification tests; 409
//! if one was never erased), `POST /_sim/faults` (`"on": "DELETE /api/v2/..."` aims
//! them), `POST /_sim/outage` (a fault on
//! every call until `{"fault": null}`), `POST /_sim/async`,
//! `GET /_sim/calls?system=NAME`, `GET /_sim/spans`, `GET /_sim/health`.
//!
//! An RFC 6749 authorization server (client credentials grant) at `POST /oauth2/token`
//! (`oauth2.rs`), for the `http` connector's OAuth2 tests; no simulated vendor accepts its tokens.
//!
//! OpenTelemetry: an OTLP/HTTP trace receiver (JSON encoding) at `POST /v1/traces` (`otlp.rs`);
//! `Sim::otlp_endpoint` is the base URL a worker's `[telemetry] otlp_endpoint` takes, and
//! `Sim::spans` what it received.

mod answer;
mod control;
mod elasticsearch;
mod fault;
mod harness;
mod hubspot;
mod index;
mod intercom;
mod loki;
#[cfg(test)]
mod lookup_cost_tests;
mod mailchimp;
mod oauth2;
mod otlp;
mod seed;
mod state;
mod text;
mod twilio;
mod webhook;
#[cfg(test)]
mod wire;
mod zendesk;

pub use elasticsearch::Elasticsearch;
pub use fault::Fault;
pub use harness::{Call, ReceivedSpan, SimOptions};
pub use hubspot::Hubspot;
pub use intercom::Intercom;
pub use loki::{DeletionMode as LokiDeletionMode, Loki};
pub use mailchimp::{subscriber_hash as mailchimp_subscriber_hash, Mailchimp};
pub use oauth2::AuthorizationServer;
pub use twilio::{Holdings as TwilioHoldings, Twilio};
pub use zendesk::Zendesk;

use axum::Router;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// A running simulator.
#[derive(Clone)]
pub struct Sim {
    state: Arc<state::State>,
    addr: SocketAddr,
    oauth2: AuthorizationServer,
}

impl Sim {
    /// The agent e-mail of the simulated Zendesk account's API token.
    pub const ZENDESK_EMAIL: &'static str = zendesk::EMAIL;
    /// The Zendesk API token (Basic `{email}/token:{token}`).
    pub const ZENDESK_TOKEN: &'static str = zendesk::TOKEN;
    /// The Zendesk OAuth access token (Bearer).
    pub const ZENDESK_OAUTH_TOKEN: &'static str = zendesk::OAUTH_TOKEN;
    /// The simulated Twilio account (in every path, and the Basic auth user with the auth token).
    pub const TWILIO_ACCOUNT_SID: &'static str = twilio::ACCOUNT_SID;
    pub const TWILIO_AUTH_TOKEN: &'static str = twilio::AUTH_TOKEN;
    /// An API key of the Twilio account, the Basic auth user with its secret.
    pub const TWILIO_API_KEY_SID: &'static str = twilio::API_KEY_SID;
    pub const TWILIO_API_KEY_SECRET: &'static str = twilio::API_KEY_SECRET;
    /// The Loki tenant helpers and the seed use unless told otherwise.
    pub const LOKI_TENANT: &'static str = loki::TENANT;
    /// The bearer token the simulated Loki accepts.
    pub const LOKI_TOKEN: &'static str = loki::TOKEN;
    /// The Basic auth user and password the simulated Loki accepts.
    pub const LOKI_USER: &'static str = loki::USER;
    pub const LOKI_PASSWORD: &'static str = loki::PASSWORD;
    /// The Mailchimp API key (the password of HTTP Basic, any user name).
    pub const MAILCHIMP_API_KEY: &'static str = mailchimp::API_KEY;
    /// A Mailchimp OAuth access token (Bearer).
    pub const MAILCHIMP_OAUTH_TOKEN: &'static str = mailchimp::OAUTH_TOKEN;
    /// The HubSpot private app access token (Bearer).
    pub const HUBSPOT_TOKEN: &'static str = hubspot::TOKEN;

    /// Bind `addr` (port 0 for any) and serve in the background.
    pub async fn start(addr: SocketAddr, options: SimOptions) -> std::io::Result<Sim> {
        let state = Arc::new(state::State::new(options));
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let oauth2 = AuthorizationServer::default();
        let app = router(&state).merge(oauth2::router(oauth2.clone()));
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Sim { state, addr, oauth2 })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// An RFC 6749 authorization server (client credentials only) at `/oauth2/token`: not a
    /// vendor; see `oauth2.rs`.
    pub fn oauth2(&self) -> &AuthorizationServer {
        &self.oauth2
    }

    /// The client id and secret the authorization server knows.
    pub const OAUTH2_CLIENT_ID: &'static str = oauth2::CLIENT_ID;
    pub const OAUTH2_CLIENT_SECRET: &'static str = oauth2::CLIENT_SECRET;

    /// `http://127.0.0.1:PORT/oauth2/token`.
    pub fn oauth2_token_url(&self) -> String {
        format!("http://{}/oauth2/token", self.addr)
    }

    /// The simulated Zendesk account.
    pub fn zendesk(&self) -> Zendesk<'_> {
        Zendesk(&self.state.zendesk)
    }

    /// The simulated Intercom workspace.
    pub fn intercom(&self) -> Intercom<'_> {
        Intercom(&self.state.intercom)
    }

    /// The simulated Twilio account.
    pub fn twilio(&self) -> Twilio<'_> {
        Twilio(&self.state.twilio)
    }

    /// The simulated Elasticsearch cluster.
    pub fn elasticsearch(&self) -> Elasticsearch<'_> {
        Elasticsearch(&self.state.elasticsearch)
    }

    /// The simulated Loki.
    pub fn loki(&self) -> Loki<'_> {
        Loki(&self.state.loki)
    }

    /// The simulated Mailchimp account.
    pub fn mailchimp(&self) -> Mailchimp<'_> {
        Mailchimp(&self.state.mailchimp)
    }

    /// The simulated HubSpot account.
    pub fn hubspot(&self) -> Hubspot<'_> {
        Hubspot(&self.state.hubspot)
    }

    /// `http://127.0.0.1:PORT/webhook/{system}`.
    pub fn webhook_url(&self, system: &str) -> String {
        format!("http://{}/webhook/{system}", self.addr)
    }

    /// Give `system` `records` records about the person known by `identifier`.
    pub fn seed(&self, system: &str, identifier: &str, records: u64) {
        self.state.harness.seed(system, identifier, records);
    }

    /// Resurfacing, for verification tests: `system` holds `records` records about
    /// `identifier` again after an erasure removed them (a sync or an import that re-creates the
    /// person). The webhook protocol lets a service hold data again at any time, which is why the
    /// worker asks it `lookup` ("does the service still hold data about the subject?",
    /// connectors/webhook/README.md) after the erasure. `false`, and nothing changes, when no
    /// erasure removed records about `identifier` (that is `seed`).
    pub fn resurface(&self, system: &str, identifier: &str, records: u64) -> bool {
        self.state.harness.resurface(system, identifier, records)
    }

    /// Queue faults: each of the next calls to `system` gets the next fault.
    pub fn push_faults(&self, system: &str, faults: impl IntoIterator<Item = Fault>) {
        self.state.harness.push_faults(system, faults);
    }

    /// The next call to `system` whose action (`"DELETE /api/v2/tickets/destroy_many"`, as
    /// `calls` records it) starts with `action_prefix` gets `fault`, before any queued one. With
    /// `Fault::SlowAnswer` longer than the caller's timeout: the work is done, the answer lost.
    pub fn aim_fault(&self, system: &str, action_prefix: &str, fault: Fault) {
        self.state.harness.aim_fault(system, action_prefix, fault);
    }

    /// Every call to `system` gets `fault` (after any queued ones) until `set_outage(system, None)`.
    pub fn set_outage(&self, system: &str, fault: Option<Fault>) {
        self.state.harness.set_outage(system, fault);
    }

    /// Erasures on `system` are accepted (202 pending) and finish after `delay`.
    pub fn set_async(&self, system: &str, delay: Option<Duration>) {
        self.state.harness.set_async(system, delay);
    }

    pub fn set_latency(&self, system: &str, latency: Duration) {
        self.state.harness.set_latency(system, latency);
    }

    /// Every call `system` received, in order.
    pub fn calls(&self, system: &str) -> Vec<Call> {
        self.state.harness.calls(system)
    }

    /// `http://127.0.0.1:PORT`: the OTLP base URL (`/v1/traces` is appended by the exporter).
    pub fn otlp_endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every span the OTLP receiver was sent, in order.
    pub fn spans(&self) -> Vec<ReceivedSpan> {
        self.state.harness.spans()
    }

    /// Records `system` still holds about `identifier`.
    pub fn records(&self, system: &str, identifier: &str) -> u64 {
        self.state.harness.records(system, identifier)
    }

    /// `http://127.0.0.1:PORT/{vendor}`: the base URL a connector of that vendor is given.
    pub fn vendor_url(&self, vendor: &str) -> String {
        format!("http://{}/{vendor}", self.addr)
    }

    /// Serve one vendor at the root of a new port, sharing this simulator's state; returns its
    /// base URL. For a proxy that validates paths against the vendor's spec.
    pub async fn serve_vendor_at_root(&self, vendor: &str) -> std::io::Result<String> {
        let app =
            self.state.vendor_router(vendor).ok_or_else(|| std::io::Error::other(format!("no vendor {vendor}")))?;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
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
                vendor => match self.state.seed_vendor(vendor, value) {
                    Some(seeded) => seeded?,
                    None => return Err(format!("unknown seed section `{vendor}`")),
                },
            }
        }
        Ok(())
    }
}

fn router(state: &state::State) -> Router {
    let mut router = Router::new();
    for vendor in state::VENDORS {
        router = router.nest(&format!("/{vendor}"), state.vendor_router(vendor).expect("a known vendor"));
    }
    router
        .merge(webhook::router(state.harness.clone()))
        .merge(otlp::router(state.harness.clone()))
        .merge(control::router(state.harness.clone()))
}
