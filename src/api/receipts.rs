//! `GET /v1/requests/{id}/receipt` (scope read): the signed receipt of a settled or closed
//! request; 404 for an unknown request, 409 while it is not settled (or was cancelled), 503 when
//! no signing key is configured. `GET /.well-known/erasure-keys` (no token): the public keys,
//! a JWK set, so that anyone holding a receipt can check it.

use super::{ApiError, ApiState};
use crate::receipt::{signed, NoReceipt};
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::IntoResponse;
use axum::Json;
use uuid::Uuid;

pub async fn receipt(State(s): State<ApiState>, Path(id): Path<Uuid>) -> Result<Json<serde_json::Value>, ApiError> {
    let data = s.app.store.receipt_data(id).await?.ok_or(ApiError::NotFound)?;
    signed(&data, &s.app.settings.retention.copies, &s.app.receipt_keys).map(Json).map_err(|why| match why {
        NoReceipt::NotSettled => {
            ApiError::Conflict("the request has no receipt: it is not settled, or it was cancelled".into())
        }
        NoReceipt::NotConfigured => ApiError::NotConfigured {
            reason: "receipts_not_configured",
            detail: "receipts are not served: no signing key is configured (receipts.signing_key_env)",
        },
        NoReceipt::Unrepresentable => {
            tracing::error!(request_id = %id, "A receipt holds a number beyond 2^53 and cannot be signed.");
            ApiError::Unavailable
        }
    })
}

pub async fn keys(State(s): State<ApiState>) -> impl IntoResponse {
    ([(header::CACHE_CONTROL, "public, max-age=300")], Json(s.app.receipt_keys.jwk_set()))
}
