//! `/v1/dead-letters`: what intake refused and why; a replay after a fix (a system configured,
//! a producer corrected) runs the stored message through intake's admission again.

use super::auth::{Caller, Scope};
use super::error::ApiError;
use super::ApiState;
use crate::intake::admit::{admit, Envelope, Source};
use crate::store::dead_letters::DeadLetter;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::{Extension, Json};
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
    if letter.replayed_at.is_some() {
        return Err(ApiError::Conflict("this dead letter was already replayed".into()));
    }
    let envelope = Envelope { body: &letter.raw_body, headers: None, reply_to: letter.reply_to.as_deref() };
    let admitted = admit(&s.app, &envelope, Source::Replay).await?;
    let (request_id, now) = (admitted.request_id(), s.app.clock.now());
    s.app.store.mark_replayed(id, &caller.actor(), now).await?;
    tracing::info!(dead_letter = id, %request_id, actor = %caller.actor(), "Dead letter replayed.");
    Ok(Json(json!({ "request_id": request_id, "status": admitted.status() })))
}
