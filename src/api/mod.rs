//! The operators' and products' HTTP API (axum): status, lists, actions, submission over HTTP,
//! health. Every `/v1` route needs a bearer token with the right scope (`auth.rs`); responses
//! show subjects only as a keyed hash.

mod auth;
mod dashboard;
mod dead_letters;
mod error;
mod legal_holds;
mod requests;

pub use auth::{Scope, Tokens};
pub use error::ApiError;

use crate::app::App;
use crate::shutdown::Shutdown;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;
use std::sync::Arc;

#[derive(Clone)]
pub struct ApiState {
    pub app: Arc<App>,
    pub tokens: Arc<Tokens>,
}

pub fn router(state: ApiState) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/v1/requests", get(requests::list).post(requests::submit))
        .route("/v1/requests/search", post(requests::search))
        .route("/v1/requests/{id}", get(requests::detail))
        .route("/v1/requests/{id}/retry", post(requests::retry))
        .route("/v1/requests/{id}/cancel", post(requests::cancel))
        .route("/v1/requests/{id}/hold", post(requests::hold))
        .route("/v1/requests/{id}/release", post(requests::release))
        .route("/v1/requests/{id}/tasks/{system}/exempt", post(requests::exempt))
        .route("/v1/requests/{id}/extend", post(requests::extend))
        .route("/v1/legal-holds", get(legal_holds::list).post(legal_holds::add))
        .route("/v1/legal-holds/{id}/release", post(legal_holds::release))
        .route("/v1/dead-letters", get(dead_letters::list))
        .route("/v1/dead-letters/{id}/replay", post(dead_letters::replay))
        .route("/v1/dead-letters/{id}/discard", post(dead_letters::discard))
        .route("/dashboard", get(dashboard::overview))
        .route("/dashboard/search", post(dashboard::search))
        .route("/dashboard/requests/{id}", get(dashboard::request))
        .route("/dashboard/login", get(dashboard::login_form).post(dashboard::login))
        .route("/dashboard/logout", post(dashboard::logout))
        .with_state(state)
}

/// Serve until shutdown.
pub async fn run(app: Arc<App>, tokens: Arc<Tokens>, shutdown: Shutdown) {
    let listen = app.settings.api.listen.clone();
    let listener = match tokio::net::TcpListener::bind(&listen).await {
        Ok(listener) => listener,
        Err(error) => {
            tracing::error!(%listen, %error, "The API cannot listen; it is not served.");
            return;
        }
    };
    tracing::info!(%listen, "API listening.");
    let app = router(ApiState { app, tokens });
    let stop = shutdown.clone();
    if let Err(error) = axum::serve(listener, app).with_graceful_shutdown(async move { stop.wait().await }).await {
        tracing::error!(%error, "The API server stopped.");
    }
    tracing::info!("API stopped.");
}

/// Ready when the database answers and a broker node accepts a connection.
async fn readyz(State(state): State<ApiState>) -> (StatusCode, &'static str) {
    if state.app.store.ping().await.is_err() {
        return (StatusCode::SERVICE_UNAVAILABLE, "database unreachable");
    }
    for url in &state.app.settings.amqp.urls {
        let Ok(parsed) = url::Url::parse(url) else { continue };
        let (Some(host), port) = (parsed.host_str(), parsed.port().unwrap_or(5672)) else { continue };
        let connect = tokio::net::TcpStream::connect((host, port));
        if let Ok(Ok(_)) = tokio::time::timeout(std::time::Duration::from_secs(2), connect).await {
            return (StatusCode::OK, "ready");
        }
    }
    (StatusCode::SERVICE_UNAVAILABLE, "broker unreachable")
}

/// Prometheus text format; no token (expose the port to the scraper only).
async fn metrics(
    State(state): State<ApiState>,
) -> Result<([(axum::http::HeaderName, &'static str); 1], String), ApiError> {
    let text = crate::metrics::render(&state.app).await?;
    Ok(([(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4")], text))
}
