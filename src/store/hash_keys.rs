//! Which hash keys the stored hashes were made under: what `erasure keys hashes` reports before
//! a retired key leaves `[security] retired_hash_keys_env`, and the one-time attribution of hashes
//! stored before key ids were recorded.

use super::{Store, StoreError};

/// What depends on one hash key.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HashKeyUse {
    pub key_id: String,
    /// Requests with hashes under this key.
    pub requests: i64,
    /// Of those, requests with no hash under the current key and their subject still stored:
    /// `erasure rehash` hashes them under the current key.
    pub rehashable: i64,
    /// Forgotten requests (tombstones) with no hash under the current key: only this key finds
    /// them, for as long as the tombstone is kept.
    pub tombstones: i64,
    /// Active legal hold entries made under this key: re-enter them to move them to the current key.
    pub legal_holds: i64,
}

/// Every key found in the database or configured, and what was stored before key ids.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HashKeyReport {
    pub keys: Vec<HashKeyUse>,
    pub unrecorded_requests: i64,
    pub unrecorded_legal_holds: i64,
}

impl Store {
    /// How the stored hashes spread over hash keys, `current` being the key that hashes now.
    pub async fn hash_key_report(&self, current: &str) -> Result<HashKeyReport, StoreError> {
        let client = self.client().await?;
        let mut report = HashKeyReport::default();
        let rows = client
            .query(
                "SELECT k, count(*),
                        count(*) FILTER (WHERE NOT $1 = ANY (hash_key_ids) AND forgotten_at IS NULL),
                        count(*) FILTER (WHERE NOT $1 = ANY (hash_key_ids) AND forgotten_at IS NOT NULL)
                 FROM requests, unnest(hash_key_ids) AS k GROUP BY k ORDER BY k",
                &[&current],
            )
            .await?;
        for r in rows {
            let key_id: String = r.get(0);
            let (rehashable, tombstones) = if key_id == current { (0, 0) } else { (r.get(2), r.get(3)) };
            report.keys.push(HashKeyUse { key_id, requests: r.get(1), rehashable, tombstones, legal_holds: 0 });
        }
        let holds = client
            .query(
                "SELECT hash_key_id, count(*) FROM legal_holds
                 WHERE released_at IS NULL GROUP BY hash_key_id ORDER BY hash_key_id",
                &[],
            )
            .await?;
        for r in holds {
            let (key_id, n): (Option<String>, i64) = (r.get(0), r.get(1));
            match key_id {
                None => report.unrecorded_legal_holds = n,
                Some(key_id) => match report.keys.iter_mut().find(|k| k.key_id == key_id) {
                    Some(k) => k.legal_holds = n,
                    None => report.keys.push(HashKeyUse { key_id, legal_holds: n, ..HashKeyUse::default() }),
                },
            }
        }
        report.unrecorded_requests =
            client.query_one("SELECT count(*) FROM requests WHERE hash_key_ids IS NULL", &[]).await?.get(0);
        Ok(report)
    }

    /// Record `key_id` as the key of the hashes stored before key ids were recorded, in batches.
    /// Only right while that key is the only one configured: before any rotation, one key made
    /// them all. Returns how many requests and legal hold entries were attributed.
    pub async fn attribute_unrecorded_hashes(&self, key_id: &str) -> Result<(u64, u64), StoreError> {
        let client = self.client().await?;
        let mut requests = 0;
        loop {
            let n = client
                .execute(
                    "UPDATE requests SET hash_key_ids = ARRAY[$1::text]
                     WHERE id IN (SELECT id FROM requests WHERE hash_key_ids IS NULL
                                  LIMIT 5000 FOR UPDATE SKIP LOCKED)",
                    &[&key_id],
                )
                .await?;
            requests += n;
            if n == 0 {
                break;
            }
        }
        let holds =
            client.execute("UPDATE legal_holds SET hash_key_id = $1 WHERE hash_key_id IS NULL", &[&key_id]).await?;
        Ok((requests, holds))
    }
}
