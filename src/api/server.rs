//! The API's listeners: hyper's HTTP/1 server with a header read timeout (a client that sends
//! its headers slowly is cut off), the peer address for the handlers (`ConnectInfo`), graceful
//! shutdown; and the layers every route gets: a body limit, a concurrency cap (one more request
//! is answered 503 at once, with `Retry-After`), a whole-request timeout (408), and problem+json
//! for every error answer.

use super::error::{problem, problems};
use crate::config::ApiSettings;
use crate::shutdown::Shutdown;
use axum::body::Body;
use axum::extract::{ConnectInfo, DefaultBodyLimit, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::{from_fn, from_fn_with_state, Next};
use axum::response::Response;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;
use tower::ServiceExt;

/// The concurrency cap and the time a request may take.
#[derive(Clone)]
struct Limits {
    slots: Arc<Semaphore>,
    timeout: Duration,
}

/// `router` with the limits of `settings` and problem+json errors.
pub fn harden(router: Router, settings: &ApiSettings) -> Router {
    let limits = Limits {
        slots: Arc::new(Semaphore::new(settings.max_concurrent_requests)),
        timeout: settings.request_timeout.0,
    };
    router
        .layer(DefaultBodyLimit::max(settings.max_body_bytes))
        .layer(from_fn_with_state(limits, limit))
        .layer(from_fn(problems))
}

async fn limit(State(limits): State<Limits>, request: Request, next: Next) -> Response {
    let Ok(_slot) = limits.slots.try_acquire_owned() else {
        let mut busy = problem(
            StatusCode::SERVICE_UNAVAILABLE,
            "busy",
            "the API is answering as many requests as it may; try again",
        );
        busy.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        return busy;
    };
    match tokio::time::timeout(limits.timeout, next.run(request)).await {
        Ok(response) => response,
        Err(_) => problem(StatusCode::REQUEST_TIMEOUT, "timeout", "the request took longer than this API allows"),
    }
}

/// Serve `router` on `listener` until shutdown, then let open requests finish (at most `grace`).
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    header_timeout: Duration,
    grace: Duration,
    shutdown: Shutdown,
) {
    let mut connections = tokio::task::JoinSet::new();
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = shutdown.wait() => break,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(error) => {
                // Out of file descriptors and the like: wait a little rather than spin.
                tracing::warn!(%error, "The API could not accept a connection.");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        connections.spawn(connection(stream, peer, router.clone(), header_timeout, shutdown.clone()));
        while connections.try_join_next().is_some() {}
    }
    let drained = async { while connections.join_next().await.is_some() {} };
    if tokio::time::timeout(grace, drained).await.is_err() {
        tracing::warn!("API connections were still open at shutdown; they were closed.");
    }
}

async fn connection(
    stream: tokio::net::TcpStream,
    peer: SocketAddr,
    router: Router,
    header_timeout: Duration,
    shutdown: Shutdown,
) {
    let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
        request.extensions_mut().insert(ConnectInfo(peer));
        router.clone().oneshot(request.map(Body::new))
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder.timer(TokioTimer::new()).header_read_timeout(header_timeout);
    let conn = builder.serve_connection(TokioIo::new(stream), service);
    let mut conn = std::pin::pin!(conn);
    tokio::select! {
        _ = conn.as_mut() => return,
        _ = shutdown.wait() => conn.as_mut().graceful_shutdown(),
    }
    let _ = conn.await;
}
