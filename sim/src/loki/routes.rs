//! Loki's paths: every call is recorded, delayed, faulted, authenticated (its tenant found) and
//! rate-limited, then answered for the caller's tenant.

use super::data::Data;
use super::{Params, PASSWORD, SYSTEM, TOKEN, USER};
use crate::harness::{with_retry_after, ErrorShape, Vendor};
use crate::text::basic_auth;
use axum::extract::{Query, State as AxumState};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use std::sync::Arc;
use std::time::Instant;

type Shared = Arc<Vendor<Data>>;

/// Routes at Loki's own paths (nested under `/loki` by the simulator).
pub(crate) fn router(vendor: Shared) -> Router {
    Router::new()
        .route("/loki/api/v1/delete", get(deletes).post(deletes).put(deletes).delete(deletes))
        .route("/loki/api/v1/query_range", get(query_range))
        .with_state(vendor)
}

impl ErrorShape for Data {
    const SYSTEM: &'static str = SYSTEM;

    fn injected_status(status: u16, retry_after: Option<u64>) -> Response {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        error(status, "injected fault", retry_after)
    }

    fn injected_throttle(retry_after: Option<u64>) -> Response {
        error(StatusCode::TOO_MANY_REQUESTS, "too many outstanding requests", retry_after)
    }
}

async fn deletes(
    AxumState(vendor): AxumState<Shared>,
    method: Method,
    headers: HeaderMap,
    Query(params): Query<Params>,
) -> Response {
    let action = format!("{method} /loki/api/v1/delete");
    if method == Method::GET {
        call(&vendor, action, &headers, &params, |data, tenant| Json(data.tenant(tenant).list()).into_response()).await
    } else if method == Method::DELETE {
        call(&vendor, action, &headers, &params, |data, tenant| data.cancel(tenant, &params, Instant::now())).await
    } else {
        call(&vendor, action, &headers, &params, |data, tenant| data.create(tenant, &params)).await
    }
}

async fn query_range(
    AxumState(vendor): AxumState<Shared>,
    headers: HeaderMap,
    Query(params): Query<Params>,
) -> Response {
    let action = "GET /loki/api/v1/query_range".to_string();
    call(&vendor, action, &headers, &params, |data, tenant| data.query_range(tenant, &params)).await
}

/// One call: record it (with its LogQL query as the identifier), wait the latency, apply an injected
/// fault, authenticate, count it against the rate limit, then do `work` for the caller's tenant.
async fn call(
    vendor: &Vendor<Data>,
    action: String,
    headers: &HeaderMap,
    params: &Params,
    work: impl FnOnce(&mut Data, &str) -> Response,
) -> Response {
    let identifiers = params.get("query").cloned().into_iter().collect();
    let call = match vendor.harness.open::<Data>(action, identifiers).await {
        Ok(call) => call,
        Err(refused) => return refused,
    };
    let response = {
        let mut data = vendor.data();
        data.advance(Instant::now());
        match data.admit(headers) {
            Ok(tenant) => work(&mut data, &tenant),
            Err((status, message, retry_after)) => error(status, message, retry_after),
        }
    };
    call.answer(response).await
}

/// A plain-text error, as Loki writes them.
pub(super) fn error(status: StatusCode, message: &str, retry_after: Option<u64>) -> Response {
    with_retry_after((status, format!("{message}\n")).into_response(), retry_after)
}

pub(super) fn bad_request(message: impl std::fmt::Display) -> Response {
    error(StatusCode::BAD_REQUEST, &message.to_string(), None)
}

impl Data {
    /// The caller's tenant, after authentication and the rate limit; `Err` with the error to answer.
    fn admit(&mut self, headers: &HeaderMap) -> Result<String, (StatusCode, &'static str, Option<u64>)> {
        let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        let basic_user = match text(header::AUTHORIZATION.as_str()) {
            Some(auth) if auth == format!("Bearer {TOKEN}") => None,
            Some(auth) if auth == basic_auth(USER, PASSWORD) => Some(USER),
            _ if !self.require_auth => None,
            _ => return Err((StatusCode::UNAUTHORIZED, "unauthorized", None)),
        };
        let tenant = text("x-scope-orgid").filter(|t| !t.is_empty()).or(basic_user);
        let Some(tenant) = tenant else {
            return Err((StatusCode::UNAUTHORIZED, "no org id", None));
        };
        if let Some(Err(secs)) = self.rate_limit.as_mut().map(|window| window.take(Instant::now())) {
            return Err((StatusCode::TOO_MANY_REQUESTS, "too many requests", Some(secs)));
        }
        Ok(tenant.to_string())
    }
}
