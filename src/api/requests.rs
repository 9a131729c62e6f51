//! `/v1/requests`: read one or many, find a person's, act on one, submit one.

use super::auth::Caller;
use super::error::ApiError;
use super::ApiState;
use crate::intake::admit::{admit, Admitted, Envelope, Source};
use crate::model::HoldKind;
use crate::store::actions::{ActionResult, Refused};
use crate::store::status::{ListFilter, RequestDetail, RequestView};
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

const MAX_PAGE: i64 = 200;

pub async fn detail(State(s): State<ApiState>, Path(id): Path<Uuid>) -> Result<Json<RequestDetail>, ApiError> {
    s.app.store.request_detail(id, s.app.clock.now()).await?.map(Json).ok_or(ApiError::NotFound)
}

#[derive(Debug, Deserialize)]
pub struct ListQuery {
    state: Option<String>,
    connector: Option<String>,
    overdue: Option<bool>,
    due_before: Option<DateTime<Utc>>,
    cursor: Option<String>,
    limit: Option<i64>,
}

#[derive(Debug, Serialize)]
pub struct Page {
    requests: Vec<RequestView>,
    /// Pass it as `cursor` to get the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    next_cursor: Option<String>,
}

pub async fn list(State(s): State<ApiState>, Query(q): Query<ListQuery>) -> Result<Json<Page>, ApiError> {
    let after = q.cursor.as_deref().map(parse_cursor).transpose()?;
    let limit = q.limit.unwrap_or(50).clamp(1, MAX_PAGE);
    let filter = ListFilter {
        state: q.state,
        connector: q.connector,
        overdue: q.overdue,
        due_before: q.due_before,
        identifier_hashes: Vec::new(),
        after,
        limit,
        ..ListFilter::default()
    };
    page(&s, filter).await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SearchBody {
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    phone: Option<String>,
    #[serde(default)]
    user_id: Option<String>,
}

/// A person's requests, by identifier. The identifier is hashed here and never stored or logged.
/// The search tells whether a person asked to be forgotten: each one is rate-limited per caller
/// and audited (the caller and the identifier hashes) before it is answered.
pub async fn search(
    State(s): State<ApiState>,
    Extension(caller): Extension<Caller>,
    Json(body): Json<SearchBody>,
) -> Result<Json<Page>, ApiError> {
    let actor = caller.actor();
    s.search_allowed(&actor)?;
    let raw = erasure_connector::subject::RawSubject {
        user_id: body.user_id,
        emails: body.email.into_iter().collect(),
        phones: body.phone.into_iter().collect(),
        ..Default::default()
    };
    let subject = erasure_connector::Subject::new(raw)
        .map_err(|e| ApiError::Invalid { reason: "invalid_subject", detail: e.to_string() })?;
    let hashes = s.app.hasher.identifiers(&subject);
    let filter = ListFilter { identifier_hashes: hashes.clone(), limit: MAX_PAGE, ..ListFilter::default() };
    let found = page(&s, filter).await?;
    s.app.store.audit_search(&actor, &hashes, found.requests.len(), s.app.clock.now()).await?;
    Ok(found)
}

async fn page(s: &ApiState, filter: ListFilter) -> Result<Json<Page>, ApiError> {
    let limit = filter.limit;
    let requests = s.app.store.list_requests(&filter, s.app.clock.now()).await?;
    let next_cursor = (requests.len() as i64 == limit)
        .then(|| requests.last().map(|r| format!("{}_{}", r.received_at.timestamp_micros(), r.id)))
        .flatten();
    Ok(Json(Page { requests, next_cursor }))
}

fn parse_cursor(cursor: &str) -> Result<(DateTime<Utc>, Uuid), ApiError> {
    let invalid =
        || ApiError::Invalid { reason: "invalid_cursor", detail: "the cursor is not one this API gave".into() };
    let (micros, id) = cursor.split_once('_').ok_or_else(invalid)?;
    let at = micros.parse().ok().and_then(DateTime::from_timestamp_micros).ok_or_else(invalid)?;
    Ok((at, Uuid::parse_str(id).map_err(|_| invalid())?))
}

/// The body of every action: why, and for holds which kind.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionBody {
    reason: String,
    #[serde(default)]
    kind: Option<String>,
}

impl ActionBody {
    fn reason(&self) -> Result<&str, ApiError> {
        let reason = self.reason.trim();
        if reason.is_empty() || reason.len() > 1000 {
            return Err(ApiError::Invalid {
                reason: "invalid_reason",
                detail: "`reason` must be 1 to 1000 characters".into(),
            });
        }
        Ok(reason)
    }

    fn hold_kind(&self) -> Result<HoldKind, ApiError> {
        match self.kind.as_deref() {
            None => Ok(HoldKind::default()),
            Some(kind) => HoldKind::parse(kind).ok_or_else(|| ApiError::Invalid {
                reason: "invalid_kind",
                detail: "`kind` is operator, legal or brake".into(),
            }),
        }
    }
}

fn done(result: ActionResult) -> Result<Json<serde_json::Value>, ApiError> {
    match result? {
        Ok(()) => Ok(Json(json!({ "ok": true }))),
        Err(Refused::NotFound) => Err(ApiError::NotFound),
        Err(Refused::Conflict(why)) => Err(ApiError::Conflict(why)),
    }
}

pub async fn retry(
    State(s): State<ApiState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<Uuid>,
    Json(body): Json<ActionBody>,
) -> Result<Json<serde_json::Value>, ApiError> {
    done(s.app.store.retry_failed(id, &caller.actor(), body.reason()?, s.app.clock.now()).await)
}

pub async fn cancel(
    State(s): State<ApiState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<Uuid>,
    Json(body): Json<ActionBody>,
) -> Result<Json<serde_json::Value>, ApiError> {
    done(s.app.store.cancel(id, &caller.actor(), body.reason()?, s.app.clock.now()).await)
}

pub async fn hold(
    State(s): State<ApiState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<Uuid>,
    Json(body): Json<ActionBody>,
) -> Result<Json<serde_json::Value>, ApiError> {
    done(s.app.store.add_hold(id, body.hold_kind()?, &caller.actor(), body.reason()?, s.app.clock.now()).await)
}

pub async fn release(
    State(s): State<ApiState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<Uuid>,
    Json(body): Json<ActionBody>,
) -> Result<Json<serde_json::Value>, ApiError> {
    done(s.app.store.release_hold(id, body.hold_kind()?, &caller.actor(), body.reason()?, s.app.clock.now()).await)
}

pub async fn exempt(
    State(s): State<ApiState>,
    Extension(caller): Extension<Caller>,
    Path((id, system)): Path<(Uuid, String)>,
    Json(body): Json<ActionBody>,
) -> Result<Json<serde_json::Value>, ApiError> {
    done(s.app.store.exempt(id, &system, &caller.actor(), body.reason()?, s.app.clock.now()).await)
}

/// Submit a request over HTTP: the same admission as the queue (`intake::admit`).
pub async fn submit(State(s): State<ApiState>, body: Bytes) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    let envelope = Envelope { body: &body, properties: Default::default() };
    let admitted = admit(&s.app, &envelope, Source::Http).await?;
    let status = if matches!(admitted, Admitted::Created { .. }) { StatusCode::CREATED } else { StatusCode::OK };
    let mut answer = json!({ "request_id": admitted.request_id(), "status": admitted.status() });
    if let Admitted::Created { deadline_at, .. } | Admitted::Duplicate { deadline_at, .. } = admitted {
        answer["deadline_at"] = json!(deadline_at);
    }
    Ok((status, Json(answer)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExtendBody {
    months: u32,
    reason: String,
}

/// Extend the legal deadline once, by up to two months (GDPR art. 12(3)); the product is told
/// by an `erasure.deadline_extended` event so it can notify the person.
pub async fn extend(
    State(s): State<ApiState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<Uuid>,
    Json(body): Json<ExtendBody>,
) -> Result<Json<serde_json::Value>, ApiError> {
    if !(1..=2).contains(&body.months) {
        return Err(ApiError::Invalid {
            reason: "invalid_months",
            detail: "`months` is 1 or 2 (GDPR art. 12(3))".into(),
        });
    }
    let reason = ActionBody { reason: body.reason, kind: None };
    done(s.app.store.extend_deadline(id, body.months, &caller.actor(), reason.reason()?, s.app.clock.now()).await)
}
