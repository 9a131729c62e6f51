//! `/v1/legal-holds`: the legal hold list. An identifier is normalised and hashed on arrival and
//! never stored or answered in clear.

use super::auth::Caller;
use super::error::ApiError;
use super::ApiState;
use crate::store::actions::Refused;
use crate::store::legal_holds::{LegalHoldView, NewLegalHold};
use axum::extract::{Path, State};
use axum::{Extension, Json};
use erasure_connector::subject::RawSubject;
use erasure_connector::Subject;
use serde::Deserialize;
use serde_json::json;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewEntry {
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    phone: Option<String>,
    #[serde(default)]
    user_id: Option<String>,
    /// A per-system id, as in a subject's `ids` (whichever system it is for).
    #[serde(default)]
    id: Option<String>,
    reason: String,
    owner: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReleaseBody {
    reason: String,
}

fn text<'a>(value: &'a str, field: &'static str) -> Result<&'a str, ApiError> {
    let value = value.trim();
    if value.is_empty() || value.len() > 1000 {
        return Err(ApiError::Invalid {
            reason: "invalid_body",
            detail: format!("`{field}` must be 1 to 1000 characters"),
        });
    }
    Ok(value)
}

/// The kind and keyed hash of the one identifier of the body, normalised as intake does.
/// The hash is made under the current hash key, whose id is returned with it.
fn identifier_hash(s: &ApiState, entry: &NewEntry) -> Result<(&'static str, String, String), ApiError> {
    let mut raw = RawSubject::default();
    let kind = match (&entry.email, &entry.phone, &entry.user_id, &entry.id) {
        (Some(email), None, None, None) => {
            raw.emails = vec![email.clone()];
            "email"
        }
        (None, Some(phone), None, None) => {
            raw.phones = vec![phone.clone()];
            "phone"
        }
        (None, None, Some(user_id), None) => {
            raw.user_id = Some(user_id.clone());
            "user_id"
        }
        (None, None, None, Some(id)) => {
            // Intake hashes every id of `subject.ids` with the kind `id`, whatever its system.
            raw.ids.insert("id".into(), id.clone());
            "id"
        }
        _ => {
            return Err(ApiError::Invalid {
                reason: "invalid_identifier",
                detail: "give exactly one of `email`, `phone`, `user_id` or `id`".into(),
            })
        }
    };
    let subject = Subject::new(raw).map_err(|e| {
        let detail = match kind {
            "id" => "`id` is empty, too long or holds control characters".into(),
            _ => e.to_string(),
        };
        ApiError::Invalid { reason: "invalid_identifier", detail }
    })?;
    let (key_id, hash) = s.app.hasher.single_identifier(&subject).expect("one identifier");
    Ok((kind, hash, key_id))
}

pub async fn add(
    State(s): State<ApiState>,
    Extension(caller): Extension<Caller>,
    Json(body): Json<NewEntry>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let (identifier_kind, identifier_hash, hash_key_id) = identifier_hash(&s, &body)?;
    let new = NewLegalHold {
        identifier_kind,
        identifier_hash,
        hash_key_id,
        reason: text(&body.reason, "reason")?,
        owner: text(&body.owner, "owner")?,
    };
    let (id, held) = s.app.store.add_legal_hold(&new, &caller.actor(), s.app.clock.now()).await?;
    tracing::info!(legal_hold_id = id, held, "Legal hold added to the list.");
    Ok(Json(json!({ "id": id, "identifier_hash": new.identifier_hash, "held_requests": held })))
}

pub async fn list(State(s): State<ApiState>) -> Result<Json<serde_json::Value>, ApiError> {
    let entries: Vec<LegalHoldView> = s.app.store.legal_holds().await?;
    Ok(Json(json!({ "legal_holds": entries })))
}

pub async fn release(
    State(s): State<ApiState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<i64>,
    Json(body): Json<ReleaseBody>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let reason = text(&body.reason, "reason")?;
    match s.app.store.release_legal_hold(id, &caller.actor(), reason, s.app.clock.now()).await? {
        Ok(()) => {
            tracing::info!(legal_hold_id = id, "Legal hold released.");
            Ok(Json(json!({ "ok": true })))
        }
        Err(Refused::NotFound) => Err(ApiError::NotFound),
        Err(Refused::Conflict(why)) => Err(ApiError::Conflict(why)),
    }
}
