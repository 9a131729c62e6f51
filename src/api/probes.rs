//! The probes and metrics every process serves, whatever its `--only` set: `/healthz` (the
//! process answers), `/readyz` (its loops are running and the database and a broker answer) and
//! `/metrics`, on `api.listen` with the API and on `probes.listen`, a small listener of their own.

use super::error::problem;
use super::server;
use crate::app::App;
use crate::shutdown::Shutdown;
use axum::extract::State;
use axum::http::{header, HeaderName, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use std::sync::Arc;

/// `/healthz` and `/readyz`.
pub(super) fn health_routes(app: Arc<App>) -> Router {
    Router::new().route("/healthz", get(|| async { "ok" })).route("/readyz", get(readyz)).with_state(app)
}

/// `/metrics`.
pub(super) fn metrics_routes(app: Arc<App>) -> Router {
    Router::new().route("/metrics", get(metrics)).with_state(app)
}

/// Serve the probes on `probes.listen` until shutdown (a failure to bind is logged: the process
/// runs on without them, as it does without its API).
pub async fn run(app: Arc<App>, listen: String, shutdown: Shutdown) {
    let settings = app.settings.api.clone();
    let Some(listener) = super::bind(&listen, "probes").await else { return };
    let router = server::harden(health_routes(app.clone()).merge(metrics_routes(app)), &settings);
    super::serve(listener, router, &settings, shutdown).await;
}

/// `200 ready`, else 503 problem+json with `error` `not_ready` and what is not in `detail`.
async fn readyz(State(app): State<Arc<App>>) -> Response {
    match crate::readiness::check(&app).await {
        Ok(()) => (StatusCode::OK, "ready").into_response(),
        Err(why) => problem(StatusCode::SERVICE_UNAVAILABLE, "not_ready", &why),
    }
}

/// Prometheus text format; no token (expose the port to the scraper only).
/// Answers while the database is down too (`erasure_database_up 0`).
async fn metrics(State(app): State<Arc<App>>) -> ([(HeaderName, &'static str); 1], String) {
    let text = crate::metrics::render(&app).await;
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text)
}
