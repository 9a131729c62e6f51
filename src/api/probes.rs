//! The probes and metrics every process serves, whatever its `--only` set: `/healthz` (the
//! process answers), `/readyz` (its loops are running and the database and a broker answer) and
//! `/metrics`, on `api.listen` with the API and on `probes.listen`, a small listener of their own.

use super::error::{problem, ApiError};
use super::server;
use crate::app::App;
use crate::shutdown::Shutdown;
use axum::extract::State;
use axum::http::{header, HeaderName, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use std::sync::Arc;
use std::time::Duration;

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
    match readiness(&app).await {
        Ok(()) => (StatusCode::OK, "ready").into_response(),
        Err(why) => problem(StatusCode::SERVICE_UNAVAILABLE, "not_ready", &why),
    }
}

/// Ready when every loop of this process shows life (intake consuming, runner, outbox and mail
/// polling), the database answers and a broker node accepts a connection. The answer names loops
/// and dependencies only.
async fn readiness(app: &App) -> Result<(), String> {
    let stale = app.liveness.stale();
    if !stale.is_empty() {
        return Err(format!("not running: {}", stale.join(", ")));
    }
    if app.store.ping().await.is_err() {
        return Err("database unreachable".into());
    }
    for url in &app.settings.amqp.urls {
        let Ok(parsed) = url::Url::parse(url) else { continue };
        let Some(host) = parsed.host_str() else { continue };
        let connect = tokio::net::TcpStream::connect((host, crate::amqp::port_of(&parsed)));
        if let Ok(Ok(_)) = tokio::time::timeout(Duration::from_secs(2), connect).await {
            return Ok(());
        }
    }
    Err("broker unreachable".into())
}

/// Prometheus text format; no token (expose the port to the scraper only).
async fn metrics(State(app): State<Arc<App>>) -> Result<([(HeaderName, &'static str); 1], String), ApiError> {
    let text = crate::metrics::render(&app).await?;
    Ok(([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text))
}
