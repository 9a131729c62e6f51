//! The legal hold list: entries are keyed hashes of normalised identifiers with a reason and an
//! owner. An open request matching an active entry is held (`legal`) until the entry is released.
//! The entry's reason stays with operators: no event mentions a legal hold.

use super::refused::{ActionResult, Refused};
use super::Tx;
use super::{Channel, Store, StoreError};
use crate::model::HoldKind;
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::json;
use uuid::Uuid;

/// A new entry; `identifier_hash` comes from `Hasher::single_identifier` (a `Subject`'s,
/// normalised, under the current hash key `hash_key_id`).
#[derive(Debug, Clone)]
pub struct NewLegalHold<'a> {
    pub identifier_kind: &'a str,
    pub identifier_hash: String,
    pub hash_key_id: String,
    pub reason: &'a str,
    pub owner: &'a str,
}

/// One entry as operators see it.
#[derive(Debug, Clone, Serialize)]
pub struct LegalHoldView {
    pub id: i64,
    pub identifier_kind: String,
    pub identifier_hash: String,
    /// The hash key that made `identifier_hash` (`None`: recorded before key ids).
    pub hash_key_id: Option<String>,
    pub reason: String,
    pub owner: String,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub released_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub release_reason: Option<String>,
    /// Requests this entry holds now.
    pub holding: i64,
}

const ACTOR: &str = "legal-hold-list";

/// Put a `legal` hold on every open request (or only those of `request_ids`) that matches an active entry
/// and has none yet, with its audit rows; returns how many were held.
pub(crate) async fn hold_matching(
    tx: &Tx<'_>,
    request_ids: Option<&[Uuid]>,
    now: DateTime<Utc>,
) -> Result<u64, StoreError> {
    let held = tx
        .execute(
            "WITH matched AS (
                 SELECT DISTINCT ON (r.id) r.id AS request_id, l.id AS legal_hold_id
                 FROM requests r JOIN legal_holds l
                   ON l.released_at IS NULL AND r.identifier_hashes @> ARRAY[l.identifier_hash]
                 WHERE r.state IN ('received', 'scheduled', 'in_progress', 'failed')
                   AND ($2::uuid[] IS NULL OR r.id = ANY($2))
                 ORDER BY r.id, l.id),
             held AS (
                 INSERT INTO request_holds (request_id, kind, reason, actor, created_at, legal_hold_id)
                 SELECT request_id, 'legal', 'legal hold list entry ' || legal_hold_id, $3, $1, legal_hold_id
                 FROM matched
                 ON CONFLICT (request_id, kind) DO NOTHING
                 RETURNING request_id, legal_hold_id)
             INSERT INTO audit_log (request_id, at, actor, event, detail)
             SELECT request_id, $1, $3, 'request.held', jsonb_build_object('kind', 'legal', 'legal_hold_id', legal_hold_id)
             FROM held",
            &[&now, &request_ids, &ACTOR],
        )
        .await?;
    Ok(held)
}

impl Store {
    /// Add an entry and hold the open requests it matches; returns its id and how many it held.
    pub async fn add_legal_hold(
        &self,
        new: &NewLegalHold<'_>,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<(i64, u64), StoreError> {
        let mut client = self.client().await?;
        let tx = self.begin(&mut client).await?;
        let row = tx
            .query_one(
                "INSERT INTO legal_holds (identifier_kind, identifier_hash, reason, owner, created_by, created_at,
                                          hash_key_id)
                 VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
                &[&new.identifier_kind, &new.identifier_hash, &new.reason, &new.owner, &actor, &now, &new.hash_key_id],
            )
            .await?;
        let id: i64 = row.get(0);
        let held = hold_matching(&tx, None, now).await?;
        tx.commit().await?;
        Ok((id, held))
    }

    /// Every entry, active ones first, newest first.
    pub async fn legal_holds(&self) -> Result<Vec<LegalHoldView>, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query(
                "SELECT l.id, l.identifier_kind, l.identifier_hash, l.reason, l.owner, l.created_by, l.created_at,
                        l.released_at, l.release_reason,
                        (SELECT count(*) FROM request_holds h WHERE h.legal_hold_id = l.id), l.hash_key_id
                 FROM legal_holds l ORDER BY l.released_at IS NOT NULL, l.id DESC",
                &[],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| LegalHoldView {
                id: r.get(0),
                identifier_kind: r.get(1),
                identifier_hash: r.get(2),
                reason: r.get(3),
                owner: r.get(4),
                created_by: r.get(5),
                created_at: r.get(6),
                released_at: r.get(7),
                release_reason: r.get(8),
                holding: r.get(9),
                hash_key_id: r.get(10),
            })
            .collect())
    }

    /// Release an entry: the `legal` holds it put on go (never an operator's), and a request
    /// still matching another active entry is held by that one instead.
    pub async fn release_legal_hold(&self, id: i64, actor: &str, reason: &str, now: DateTime<Utc>) -> ActionResult {
        let mut client = self.client().await?;
        let tx = self.begin(&mut client).await?;
        let Some(row) = tx.query_opt("SELECT released_at FROM legal_holds WHERE id = $1 FOR UPDATE", &[&id]).await?
        else {
            return Ok(Err(Refused::NotFound));
        };
        if row.get::<_, Option<DateTime<Utc>>>(0).is_some() {
            return Ok(Err(Refused::Conflict("the legal hold was already released".into())));
        }
        tx.execute(
            "UPDATE legal_holds SET released_at = $2, released_by = $3, release_reason = $4 WHERE id = $1",
            &[&id, &now, &actor, &reason],
        )
        .await?;
        let released = tx
            .query("DELETE FROM request_holds WHERE legal_hold_id = $1 AND kind = 'legal' RETURNING request_id", &[&id])
            .await?;
        for row in &released {
            let request_id: Uuid = row.get(0);
            let detail = json!({ "kind": HoldKind::Legal.as_str(), "legal_hold_id": id, "reason": reason });
            super::audit(&tx, request_id, None, now, actor, "request.released", detail).await?;
        }
        hold_matching(&tx, None, now).await?;
        tx.wake(Channel::Tasks);
        tx.commit().await?;
        Ok(Ok(()))
    }
}
