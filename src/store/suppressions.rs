//! Suppression lookups: whether a person (by the keyed hashes of their identifiers) asked to be
//! erased, so a product stops an old import from re-creating them. Read from the tombstones as
//! well as open requests; every lookup is audited.

use super::{Store, StoreError};
use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

/// One request that matched: ids, state and dates only.
#[derive(Debug, Clone, Serialize)]
pub struct Match {
    pub request_id: Uuid,
    pub state: String,
    pub received_at: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<DateTime<Utc>>,
}

impl Store {
    /// The requests any of whose identifier hashes is in `hashes` (newest first, at most 50),
    /// and the audit row of the lookup (the caller, the hashes and the answer), in one transaction.
    pub async fn suppression_lookup(
        &self,
        actor: &str,
        hashes: &[String],
        now: DateTime<Utc>,
    ) -> Result<Vec<Match>, StoreError> {
        let mut client = self.client().await?;
        let tx = self.begin(&mut client).await?;
        let matches: Vec<Match> = tx
            .query(
                "SELECT id, state, received_at, finished_at FROM requests
                 WHERE identifier_hashes && $1::text[] ORDER BY received_at DESC LIMIT 50",
                &[&hashes],
            )
            .await?
            .iter()
            .map(|r| Match { request_id: r.get(0), state: r.get(1), received_at: r.get(2), finished_at: r.get(3) })
            .collect();
        let detail = serde_json::json!({ "identifier_hashes": hashes, "found": matches.len() });
        tx.execute(
            "INSERT INTO audit_log (request_id, at, actor, event, detail) VALUES (NULL, $1, $2, 'suppression.checked', $3)",
            &[&now, &actor, &detail],
        )
        .await?;
        tx.commit().await?;
        Ok(matches)
    }
}
