//! `erasure rehash`: read requests' stored subjects in pages, replace identifier hashes that the
//! current normalisation computes differently, and count the legal hold list's entries.

use super::legal_holds::hold_matching;
use super::sealed::{identifiers_from, IDENTIFIER_COLUMNS};
use super::{Store, StoreError};
use chrono::{DateTime, Utc};
use uuid::Uuid;

/// One request's stored subject (`None` once it was forgotten) and identifier hashes.
#[derive(Debug, Clone)]
pub struct StoredSubject {
    pub id: Uuid,
    pub subject: Option<serde_json::Value>,
    pub identifier_hashes: Vec<String>,
    /// The hash keys that made them (`None`: recorded before key ids).
    pub hash_key_ids: Option<Vec<String>>,
}

/// The legal hold list by identifier kind: active entries, and how many were released.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LegalHoldCounts {
    pub active: Vec<(String, i64)>,
    pub released: i64,
}

impl Store {
    /// Up to `limit` requests with an id above `after` (all of them from the start when `None`),
    /// by id.
    pub async fn stored_subjects(&self, after: Option<Uuid>, limit: i64) -> Result<Vec<StoredSubject>, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query(
                &format!(
                    "SELECT id, identifier_hashes, hash_key_ids, {IDENTIFIER_COLUMNS} FROM requests r
                     WHERE $1::uuid IS NULL OR id > $1 ORDER BY id LIMIT $2"
                ),
                &[&after, &limit],
            )
            .await?;
        rows.iter()
            .map(|r| {
                let id = r.get(0);
                let subject = identifiers_from(self.vault(), id, r, 3)?.map(|i| i.subject);
                Ok(StoredSubject { id, subject, identifier_hashes: r.get(1), hash_key_ids: r.get(2) })
            })
            .collect()
    }

    /// In one transaction, replace each request's identifier hashes (made under the keys
    /// `key_ids`) where they are still `old` (a request forgotten in between is left alone), then
    /// put the legal hold list's holds on those an active entry now matches. Returns how many were
    /// updated and how many held.
    pub async fn replace_identifier_hashes(
        &self,
        updates: &[(Uuid, Vec<String>, Vec<String>)],
        key_ids: &[String],
        now: DateTime<Utc>,
    ) -> Result<(u64, u64), StoreError> {
        let mut client = self.client().await?;
        let tx = self.begin(&mut client).await?;
        let (mut updated, mut held) = (0, 0);
        for (id, old, new) in updates {
            let changed = tx
                .execute(
                    "UPDATE requests SET identifier_hashes = $3, hash_key_ids = $4
                     WHERE id = $1 AND identifier_hashes = $2 AND forgotten_at IS NULL
                       AND (identifiers_sealed IS NOT NULL OR subject IS NOT NULL)",
                    &[id, old, new, &key_ids],
                )
                .await?;
            if changed == 1 {
                updated += 1;
                held += hold_matching(&tx, Some(&[*id]), now).await?;
            }
        }
        tx.commit().await?;
        Ok((updated, held))
    }

    pub async fn legal_hold_counts(&self) -> Result<LegalHoldCounts, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query(
                "SELECT identifier_kind, count(*) FILTER (WHERE released_at IS NULL), count(*) FILTER (WHERE released_at IS NOT NULL)
                 FROM legal_holds GROUP BY identifier_kind ORDER BY identifier_kind",
                &[],
            )
            .await?;
        let mut counts = LegalHoldCounts::default();
        for row in rows {
            let (kind, active, released): (String, i64, i64) = (row.get(0), row.get(1), row.get(2));
            if active > 0 {
                counts.active.push((kind, active));
            }
            counts.released += released;
        }
        Ok(counts)
    }
}
