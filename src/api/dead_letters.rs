//! `/v1/dead-letters`: what intake refused and why. A replay after a fix (a system configured, a
//! producer corrected) runs the stored message through intake's admission again, its signature
//! included; a discard sets a letter aside, with a reason, and clears its alert.

use super::auth::{Caller, Scope};
use super::error::ApiError;
use super::ApiState;
use crate::intake::admit::{admit, Envelope, Source};
use crate::intake::message::Reason;
use crate::intake::properties::Properties;
use crate::intake::signature::{KEY_ID_HEADER, SIGNATURE_HEADER};
use crate::store::dead_letters::DeadLetter;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::{Extension, Json};
use lapin::types::{AMQPValue, FieldTable};
use serde::Deserialize;
use serde_json::json;

/// The newest 200; bodies (which can hold personal data) only for the operate scope.
/// The route needs the read scope (`auth::require`); the bodies need operate too.
pub async fn list(State(s): State<ApiState>, headers: HeaderMap) -> Result<Json<serde_json::Value>, ApiError> {
    let with_bodies = s.tokens.authorize(&headers, Scope::Operate).is_ok();
    let letters: Vec<DeadLetter> = s.app.store.dead_letters(200, with_bodies).await?;
    Ok(Json(json!({ "dead_letters": letters })))
}

pub async fn replay(
    State(s): State<ApiState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<i64>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let letter = s.app.store.dead_letter(id).await?.ok_or(ApiError::NotFound)?;
    if letter.replayed_at.is_some() || letter.discarded_at.is_some() {
        return Err(ApiError::Conflict("this dead letter was already replayed or discarded".into()));
    }
    if letter.reason == Reason::BadSignature.as_str() {
        return Err(ApiError::NotAllowed {
            reason: "bad_signature",
            detail: "a message refused for its signature cannot be replayed: the producer must publish it again, \
                     signed with an active key"
                .into(),
        });
    }
    let signature = signature_headers(&letter);
    let properties =
        Properties { reply_to: letter.reply_to.as_deref(), headers: Some(&signature), ..Properties::default() };
    let envelope = Envelope { body: &letter.raw_body, properties };
    let admitted = admit(&s.app, &envelope, Source::Replay).await?;
    let (request_id, now) = (admitted.request_id(), s.app.clock.now());
    s.app.store.mark_replayed(id, &caller.actor(), now).await?;
    tracing::info!(dead_letter = id, %request_id, actor = %caller.actor(), "Dead letter replayed.");
    Ok(Json(json!({ "request_id": request_id, "status": admitted.status() })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Discard {
    reason: String,
}

/// Set a letter aside for good (`{"reason": "..."}`): audited, no longer counted or alerted on.
pub async fn discard(
    State(s): State<ApiState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<i64>,
    body: Bytes,
) -> Result<Json<serde_json::Value>, ApiError> {
    let Discard { reason } = serde_json::from_slice(&body).map_err(|_| invalid_reason())?;
    let reason = reason.trim();
    if reason.is_empty() || reason.chars().count() > 500 || reason.chars().any(char::is_control) {
        return Err(invalid_reason());
    }
    s.app.store.dead_letter(id).await?.ok_or(ApiError::NotFound)?;
    if !s.app.store.discard_dead_letter(id, &caller.actor(), reason, s.app.clock.now()).await? {
        return Err(ApiError::Conflict("this dead letter was already replayed or discarded".into()));
    }
    tracing::info!(dead_letter = id, actor = %caller.actor(), "Dead letter discarded.");
    Ok(Json(json!({ "id": id, "status": "discarded" })))
}

fn invalid_reason() -> ApiError {
    ApiError::Invalid {
        reason: "invalid_body",
        detail: "the body must be {\"reason\": \"...\"}: 1 to 500 characters, no control characters".into(),
    }
}

/// The signature headers the message came with, as the queue delivered them.
fn signature_headers(letter: &DeadLetter) -> FieldTable {
    let mut headers = FieldTable::default();
    for (name, value) in [(KEY_ID_HEADER, &letter.signing_key_id), (SIGNATURE_HEADER, &letter.signature)] {
        if let Some(value) = value {
            headers.insert(name.into(), AMQPValue::LongString(value.as_str().into()));
        }
    }
    headers
}
