//! `/v1/dead-letters`: what intake refused and why; a replay after a fix (a system configured,
//! a producer corrected) runs the stored message through intake's validation again.

use super::auth::Scope;
use super::error::ApiError;
use super::ApiState;
use crate::message;
use crate::store::dead_letters::DeadLetter;
use crate::store::requests::Inserted;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::Json;
use serde_json::json;

/// The newest 200; bodies (which can hold personal data) only for the operate scope.
pub async fn list(State(s): State<ApiState>, headers: HeaderMap) -> Result<Json<serde_json::Value>, ApiError> {
    s.tokens.authorize(&headers, Scope::Read)?;
    let with_bodies = s.tokens.authorize(&headers, Scope::Operate).is_ok();
    let letters: Vec<DeadLetter> = s.app.store.dead_letters(200, with_bodies).await?;
    Ok(Json(json!({ "dead_letters": letters })))
}

pub async fn replay(
    State(s): State<ApiState>,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let caller = s.tokens.authorize(&headers, Scope::Operate)?;
    let letter = s.app.store.dead_letter(id).await?.ok_or(ApiError::NotFound)?;
    if letter.replayed_at.is_some() {
        return Err(ApiError::Conflict("this dead letter was already replayed".into()));
    }
    let now = s.app.clock.now();
    let message = message::decode(&letter.raw_body, &crate::intake::rules(&s.app, now))
        .map_err(|r| ApiError::Invalid { reason: r.reason.as_str(), detail: r.detail })?;
    let new = crate::intake::new_request(&s.app, &message, letter.reply_to.clone());
    if new.tasks.is_empty() {
        return Err(ApiError::Invalid {
            reason: message::Reason::NoEnabledSystem.as_str(),
            detail: "no enabled connector instance would erase anything for this request".into(),
        });
    }
    let status = match s.app.store.insert_request(&new, now).await? {
        Inserted::Created => "received",
        Inserted::Braked => {
            crate::intake::braked(&message.request_id);
            "held"
        }
        Inserted::Duplicate => "duplicate",
        Inserted::Conflict => {
            return Err(ApiError::Conflict("this request_id was already used for a different request".into()))
        }
    };
    s.app.store.mark_replayed(id, &caller.actor(), now).await?;
    tracing::info!(dead_letter = id, request_id = %message.request_id, actor = %caller.actor(), "Dead letter replayed.");
    Ok(Json(json!({ "request_id": message.request_id, "status": status })))
}
