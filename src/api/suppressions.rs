//! `POST /v1/suppressions` with `{"email": ...}` (or `GET /v1/suppressions?email=...`), scope
//! `suppression`: did this person ask to be erased? For products, before an import re-creates
//! someone. The identifier is hashed here and never stored or logged; every lookup is audited (the
//! caller and the hashes). POST keeps the identifier out of URLs, which proxies and access logs
//! record; `erasure suppressed` uses it.

use super::auth::Caller;
use super::error::ApiError;
use super::ApiState;
use crate::model::RequestState;
use crate::store::suppressions::Match;
use axum::extract::{Query, State};
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SuppressionQuery {
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    phone: Option<String>,
    #[serde(default)]
    user_id: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct Suppression {
    /// A request for this person exists that was not cancelled: do not re-create them.
    pub suppressed: bool,
    /// One of them completed (or was closed): the person was erased.
    pub erased: bool,
    /// The matching requests, newest first: ids, states and dates, never an identifier.
    pub requests: Vec<Match>,
}

pub async fn check(
    State(s): State<ApiState>,
    Extension(caller): Extension<Caller>,
    Query(q): Query<SuppressionQuery>,
) -> Result<Json<Suppression>, ApiError> {
    lookup(&s, &caller, q).await
}

/// The same lookup with the identifier in a JSON body.
pub async fn check_body(
    State(s): State<ApiState>,
    Extension(caller): Extension<Caller>,
    Json(q): Json<SuppressionQuery>,
) -> Result<Json<Suppression>, ApiError> {
    lookup(&s, &caller, q).await
}

async fn lookup(s: &ApiState, caller: &Caller, q: SuppressionQuery) -> Result<Json<Suppression>, ApiError> {
    let raw = erasure_connector::subject::RawSubject {
        user_id: q.user_id,
        emails: q.email.into_iter().collect(),
        phones: q.phone.into_iter().collect(),
        ..Default::default()
    };
    let subject = erasure_connector::Subject::new(raw)
        .map_err(|e| ApiError::Invalid { reason: "invalid_subject", detail: e.to_string() })?;
    let hashes = s.app.hasher.identifiers(&subject);
    let requests = s.app.store.suppression_lookup(&caller.actor(), &hashes, s.app.clock.now()).await?;
    Ok(Json(answer(requests)))
}

fn answer(requests: Vec<Match>) -> Suppression {
    let states: Vec<Option<RequestState>> = requests.iter().map(|m| RequestState::parse(&m.state)).collect();
    Suppression {
        suppressed: states.iter().any(|s| *s != Some(RequestState::Cancelled)),
        erased: states.iter().any(|s| matches!(s, Some(RequestState::Completed | RequestState::Closed))),
        requests,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(states: &[&str]) -> Suppression {
        let now = chrono::Utc::now();
        answer(
            states
                .iter()
                .map(|s| Match {
                    request_id: uuid::Uuid::nil(),
                    state: s.to_string(),
                    received_at: now,
                    finished_at: None,
                })
                .collect(),
        )
    }

    #[test]
    fn a_cancelled_request_alone_suppresses_nothing_and_a_completed_or_closed_one_was_an_erasure() {
        assert!(!with(&[]).suppressed);
        assert!(!with(&["cancelled"]).suppressed);
        let open = with(&["cancelled", "in_progress"]);
        assert!(open.suppressed && !open.erased);
        assert!(with(&["closed"]).erased && with(&["completed"]).erased);
        assert!(!with(&["failed"]).erased && with(&["failed"]).suppressed);
    }
}
