//! HubSpot's paths: every call is recorded, delayed and faulted, counted against the ten-second
//! window when one is set, authenticated, then answered from the account.

use super::answer::Answer;
use super::data::Data;
use super::{SYSTEM, TOKEN, WINDOW};
use crate::harness::{ErrorShape, Vendor};
use axum::body::Bytes;
use axum::extract::{Query, State as AxumState};
use axum::http::{header, HeaderMap, Method, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::Router;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

/// Extra response headers.
type Headers = Vec<(&'static str, String)>;

/// Routes at the vendor's own paths (nested under `/hubspot` by the simulator).
pub(crate) fn router(vendor: Arc<Vendor<Data>>) -> Router {
    Router::new()
        .route("/crm/v3/objects/contacts", any(api))
        .route("/crm/v3/objects/contacts/{*rest}", any(api))
        .with_state(vendor)
}

async fn api(
    AxumState(vendor): AxumState<Arc<Vendor<Data>>>,
    method: Method,
    uri: Uri,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_string();
    let body: Option<serde_json::Value> = if body.is_empty() { None } else { serde_json::from_slice(&body).ok() };
    let identifiers = identifiers(body.as_ref());
    let call = match vendor.harness.open::<Data>(format!("{method} {path}"), identifiers).await {
        Ok(call) => call,
        Err(refused) => return refused,
    };
    let answer = {
        let mut data = vendor.data();
        if !authorised(&headers) {
            // A caller that is not authenticated is counted against no app's limits.
            Answer::unauthorized()
        } else {
            match take_slot(&mut data) {
                Err(limit_headers) => Answer::rate_limited(None).with_headers(limit_headers),
                Ok(limit_headers) => data.serve(&method, &path, &query, body).with_headers(limit_headers),
            }
        }
    };
    call.answer(answer.into_response()).await
}

/// The values a search filters on, or the object a GDPR deletion names.
fn identifiers(body: Option<&serde_json::Value>) -> Vec<String> {
    let Some(body) = body else { return Vec::new() };
    let filters = body["filterGroups"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|g| g["filters"].as_array().into_iter().flatten());
    let values = filters.filter_map(|f| f["value"].as_str().map(str::to_string));
    values.chain(body["objectId"].as_str().map(str::to_string)).collect()
}

/// A private app's access token, sent as a bearer token
/// (<https://developers.hubspot.com/docs/api/private-apps>, "Make API calls with your app's
/// access token": `Authorization: Bearer YOUR_TOKEN`).
fn authorised(headers: &HeaderMap) -> bool {
    headers.get(header::AUTHORIZATION).and_then(|h| h.to_str().ok()) == Some(format!("Bearer {TOKEN}").as_str())
}

/// Count the call against the ten-second window, when one is set: the rate-limit headers
/// HubSpot answers with (<https://developers.hubspot.com/docs/developer-tooling/platform/usage-guidelines>:
/// `X-HubSpot-RateLimit-Interval-Milliseconds`, `-Max`, `-Remaining`), `Err` past the limit.
pub(super) fn take_slot(data: &mut Data) -> Result<Headers, Headers> {
    let Some(window) = data.rate_limit.as_mut() else { return Ok(Vec::new()) };
    let taken = window.take(Instant::now());
    let headers = vec![
        ("x-hubspot-ratelimit-interval-milliseconds", WINDOW.as_millis().to_string()),
        ("x-hubspot-ratelimit-max", window.limit.to_string()),
        ("x-hubspot-ratelimit-remaining", taken.unwrap_or(0).to_string()),
    ];
    taken.map(|_| headers.clone()).map_err(|_| headers)
}

impl ErrorShape for Data {
    const SYSTEM: &'static str = SYSTEM;

    fn injected_status(status: u16, retry_after: Option<u64>) -> Response {
        Answer::for_status(status, retry_after).into_response()
    }

    fn injected_throttle(retry_after: Option<u64>) -> Response {
        let limits = vec![
            ("x-hubspot-ratelimit-interval-milliseconds", WINDOW.as_millis().to_string()),
            ("x-hubspot-ratelimit-max", "100".to_string()),
            ("x-hubspot-ratelimit-remaining", "0".to_string()),
        ];
        Answer::rate_limited(retry_after).with_headers(limits).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::harness::RateWindow;
    use axum::http::HeaderValue;

    #[test]
    fn only_the_private_app_token_as_a_bearer_token_authenticates() {
        let with = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(header::AUTHORIZATION, HeaderValue::from_str(value).unwrap());
            headers
        };
        assert!(authorised(&with(&format!("Bearer {TOKEN}"))));
        assert!(!authorised(&with("Bearer pat-na1-wrong")));
        assert!(!authorised(&with(TOKEN)));
        assert!(!authorised(&HeaderMap::new()));
        let refused = Answer::unauthorized();
        assert_eq!(refused.status, 401);
        assert_eq!(refused.body.unwrap()["category"], "INVALID_AUTHENTICATION");
    }

    /// Past the ten-second limit: 429 with the policy it hit, the window's headers, and no
    /// `Retry-After` (HubSpot documents none for a 429).
    #[test]
    fn past_the_ten_second_limit_a_call_is_refused_with_the_limit_headers() {
        let mut data = Data { rate_limit: Some(RateWindow::new(2, WINDOW)), ..Data::default() };
        let first = take_slot(&mut data).unwrap();
        assert!(first.contains(&("x-hubspot-ratelimit-remaining", "1".to_string())), "{first:?}");
        assert!(first.contains(&("x-hubspot-ratelimit-interval-milliseconds", "10000".to_string())));
        take_slot(&mut data).unwrap();
        let refused = take_slot(&mut data).unwrap_err();
        assert!(refused.contains(&("x-hubspot-ratelimit-remaining", "0".to_string())));
        let answer = Answer::rate_limited(None).with_headers(refused);
        assert_eq!(answer.status, 429);
        assert_eq!(answer.body.as_ref().unwrap()["policyName"], "TEN_SECONDLY_ROLLING");
        assert!(!answer.headers.iter().any(|(name, _)| *name == "retry-after"));
        assert!(take_slot(&mut Data::default()).unwrap().is_empty(), "no window, no headers");
    }
}
