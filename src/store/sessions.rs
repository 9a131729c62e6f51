//! Dashboard sessions (`dashboard_sessions`): rows keyed by the SHA-256 of the cookie's random
//! id, so the table alone cannot be replayed as cookies.

use super::{Store, StoreError};
use chrono::{DateTime, Utc};

/// The token a session was opened with.
pub struct StoredSession {
    pub token_name: String,
    pub token_sha256: Vec<u8>,
}

impl Store {
    /// Record a new session; expired ones are deleted on the way.
    pub async fn create_session(
        &self,
        id_sha256: &[u8],
        token_name: &str,
        token_sha256: &[u8],
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let client = self.client().await?;
        client.execute("DELETE FROM dashboard_sessions WHERE expires_at <= $1", &[&now]).await?;
        client
            .execute(
                "INSERT INTO dashboard_sessions (id_sha256, token_name, token_sha256, expires_at)
                 VALUES ($1, $2, $3, $4)",
                &[&id_sha256, &token_name, &token_sha256, &expires_at],
            )
            .await?;
        Ok(())
    }

    /// The unexpired session with this id hash.
    pub async fn session(&self, id_sha256: &[u8], now: DateTime<Utc>) -> Result<Option<StoredSession>, StoreError> {
        let row = self
            .client()
            .await?
            .query_opt(
                "SELECT token_name, token_sha256 FROM dashboard_sessions WHERE id_sha256 = $1 AND expires_at > $2",
                &[&id_sha256, &now],
            )
            .await?;
        Ok(row.map(|r| StoredSession { token_name: r.get(0), token_sha256: r.get(1) }))
    }

    pub async fn delete_session(&self, id_sha256: &[u8]) -> Result<(), StoreError> {
        self.client().await?.execute("DELETE FROM dashboard_sessions WHERE id_sha256 = $1", &[&id_sha256]).await?;
        Ok(())
    }
}
