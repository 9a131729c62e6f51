//! The operators' and products' HTTP API (axum): status, lists, actions, submission over HTTP,
//! health. Every `/v1` route is in the group of the scope it needs, and that group's middleware
//! (`auth::require`) authorises the bearer token before the handler reads anything; responses
//! show subjects only as a keyed hash. `server.rs` has the listeners and the limits every route
//! gets; errors are problem+json (`error.rs`).

mod auth;
mod dashboard;
mod dead_letters;
mod error;
mod legal_holds;
mod limit;
pub mod probes;
mod receipts;
mod requests;
mod server;
mod suppressions;

pub use auth::{Scope, Tokens};
pub use error::ApiError;

use crate::app::App;
use crate::shutdown::Shutdown;
use auth::Requirement;
use axum::middleware::from_fn_with_state;
use axum::routing::{get, post};
use axum::Router;
use limit::RateLimit;
use std::sync::Arc;
use std::time::Duration;

#[derive(Clone)]
pub struct ApiState {
    pub app: Arc<App>,
    pub tokens: Arc<Tokens>,
    /// Failed dashboard sign-ins, per client address.
    pub login_failures: Arc<RateLimit>,
    /// Searches by identifier, per caller.
    pub searches: Arc<RateLimit>,
}

impl ApiState {
    pub fn new(app: Arc<App>, tokens: Arc<Tokens>) -> ApiState {
        let minute = Duration::from_secs(60);
        let api = &app.settings.api;
        let login_failures = Arc::new(RateLimit::new(api.login_failures_per_minute, minute));
        let searches = Arc::new(RateLimit::new(api.searches_per_minute, minute));
        ApiState { app, tokens, login_failures, searches }
    }
}

impl ApiState {
    /// Count one search by identifier for `actor`; 429 beyond `api.searches_per_minute`.
    pub(crate) fn search_allowed(&self, actor: &str) -> Result<(), ApiError> {
        self.searches.hit(actor).map_err(|retry_after| {
            tracing::warn!(%actor, "Searches by identifier refused: over the per-minute limit.");
            crate::metrics::record_api_rate_limited("search");
            ApiError::TooMany { retry_after }
        })
    }
}

/// Every route, `/metrics` included, with the limits and problem+json errors.
pub fn router(state: ApiState) -> Router {
    let settings = state.app.settings.api.clone();
    let metrics = probes::metrics_routes(state.app.clone());
    server::harden(routes(state).merge(metrics), &settings)
}

/// Every route but `/metrics`.
fn routes(state: ApiState) -> Router {
    let scope = |scope| from_fn_with_state(Requirement { tokens: state.tokens.clone(), scope }, auth::require);
    let read = Router::new()
        .route("/v1/requests", get(requests::list))
        .route("/v1/requests/search", post(requests::search))
        .route("/v1/requests/{id}", get(requests::detail))
        .route("/v1/requests/{id}/receipt", get(receipts::receipt))
        .route("/v1/dead-letters", get(dead_letters::list))
        .route_layer(scope(Scope::Read));
    let submit = Router::new().route("/v1/requests", post(requests::submit)).route_layer(scope(Scope::Submit));
    let operate = Router::new()
        .route("/v1/requests/{id}/retry", post(requests::retry))
        .route("/v1/requests/{id}/cancel", post(requests::cancel))
        .route("/v1/requests/{id}/hold", post(requests::hold))
        .route("/v1/requests/{id}/release", post(requests::release))
        .route("/v1/requests/{id}/tasks/{system}/exempt", post(requests::exempt))
        .route("/v1/requests/{id}/extend", post(requests::extend))
        .route("/v1/dead-letters/{id}/replay", post(dead_letters::replay))
        .route("/v1/dead-letters/{id}/discard", post(dead_letters::discard))
        .route_layer(scope(Scope::Operate));
    let legal = Router::new()
        .route("/v1/legal-holds", get(legal_holds::list).post(legal_holds::add))
        .route("/v1/legal-holds/{id}/release", post(legal_holds::release))
        .route_layer(scope(Scope::Legal));
    let suppression = Router::new()
        .route("/v1/suppressions", get(suppressions::check).post(suppressions::check_body))
        .route_layer(scope(Scope::Suppression));
    let health = probes::health_routes(state.app.clone());
    let open = Router::new()
        .route("/.well-known/erasure-keys", get(receipts::keys))
        .route("/dashboard", get(dashboard::overview))
        .route("/dashboard/search", post(dashboard::search))
        .route("/dashboard/requests/{id}", get(dashboard::request))
        .route("/dashboard/login", get(dashboard::login_form).post(dashboard::login))
        .route("/dashboard/logout", post(dashboard::logout));
    let api = open.merge(read).merge(submit).merge(operate).merge(legal).merge(suppression).with_state(state);
    api.merge(health)
}

/// Serve until shutdown: the API on `api.listen`, with `/metrics` there too unless
/// `api.metrics_listen` gives it a listener of its own.
pub async fn run(app: Arc<App>, tokens: Arc<Tokens>, shutdown: Shutdown) {
    let state = ApiState::new(app, tokens);
    let settings = state.app.settings.api.clone();
    let mut servers = tokio::task::JoinSet::new();
    let main = match &settings.metrics_listen {
        None => router(state),
        Some(listen) => {
            // The same address as `probes.listen` (the image's 9090): the probes serve /metrics there.
            let probes_serve_it = state.app.settings.probes.listen.as_deref() == Some(listen.as_str());
            let listener = match probes_serve_it {
                true => None,
                false => bind(listen, "metrics").await,
            };
            if let Some(listener) = listener {
                let metrics = server::harden(probes::metrics_routes(state.app.clone()), &settings);
                servers.spawn(serve(listener, metrics, &settings, shutdown.clone()));
            }
            server::harden(routes(state), &settings)
        }
    };
    if let Some(listener) = bind(&settings.listen, "API").await {
        servers.spawn(serve(listener, main, &settings, shutdown.clone()));
    }
    while servers.join_next().await.is_some() {}
    tracing::info!("API stopped.");
}

async fn bind(listen: &str, what: &'static str) -> Option<tokio::net::TcpListener> {
    match tokio::net::TcpListener::bind(listen).await {
        Ok(listener) => {
            tracing::info!(%listen, what, "Listening.");
            Some(listener)
        }
        Err(error) => {
            tracing::error!(%listen, what, %error, "Cannot listen; it is not served.");
            None
        }
    }
}

fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    settings: &crate::config::ApiSettings,
    shutdown: Shutdown,
) -> impl std::future::Future<Output = ()> + Send + 'static {
    let (header_timeout, grace) = (settings.header_read_timeout.0, settings.request_timeout.0);
    server::serve(listener, router, header_timeout, grace, shutdown)
}
