//! Shared call slots for rate-limited connector instances (GCRA without burst): the table holds
//! the next free slot; a worker leases `count` consecutive slots `1/rate` apart in one statement.

use super::{Prepared, Store, StoreError};
use chrono::{DateTime, Utc};

impl Store {
    /// Lease `count` slots spaced `spacing_secs` apart; returns the first slot's time.
    pub async fn lease_call_slots(
        &self,
        connector: &str,
        count: i32,
        spacing_secs: f64,
        now: DateTime<Utc>,
    ) -> Result<DateTime<Utc>, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_one(
                &client.prepared("INSERT INTO rate_limits AS r (connector, next_slot, updated_at)
                 VALUES ($1, $2::timestamptz + make_interval(secs => $3::float8 * $4::float8), $2)
                 ON CONFLICT (connector) DO UPDATE
                   SET next_slot = GREATEST(r.next_slot, $2::timestamptz) + make_interval(secs => $3::float8 * $4::float8), updated_at = $2
                 RETURNING next_slot - make_interval(secs => $3::float8 * $4::float8)").await?,
                &[&connector, &now, &f64::from(count), &spacing_secs],
            )
            .await?;
        Ok(row.get(0))
    }
}
