//! What the dashboard's overview adds to the gauges of `/metrics`: the connector instances with
//! failed or retrying tasks, and the requests whose deadline has passed or is near. Lists and
//! single requests come from `status.rs`.

use super::{Store, StoreError};
use chrono::{DateTime, Utc};
use uuid::Uuid;

#[derive(Debug, Clone)]
pub struct ConnectorHealth {
    pub connector: String,
    pub failed: i64,
    pub retrying: i64,
    /// The most recent error among those tasks, and when the last of them changed.
    pub last_error: Option<String>,
    pub last_change_at: DateTime<Utc>,
}

/// A request not yet erased everywhere (open, or failed) whose deadline is before `soon`.
#[derive(Debug, Clone)]
pub struct AtRisk {
    pub id: Uuid,
    pub state: String,
    pub subject_hash: String,
    pub deadline_at: DateTime<Utc>,
}

impl Store {
    /// Instances with failed or retrying tasks, the most failures first.
    pub async fn failing_connectors(&self) -> Result<Vec<ConnectorHealth>, StoreError> {
        let rows = self
            .client()
            .await?
            .query(
                "SELECT connector,
                        count(*) FILTER (WHERE state = 'failed') AS failed,
                        count(*) FILTER (WHERE state = 'retrying') AS retrying,
                        (array_agg(last_error ORDER BY updated_at DESC) FILTER (WHERE last_error IS NOT NULL))[1],
                        max(updated_at)
                 FROM tasks WHERE state IN ('failed', 'retrying')
                 GROUP BY connector
                 ORDER BY failed DESC, retrying DESC, connector",
                &[],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| ConnectorHealth {
                connector: r.get(0),
                failed: r.get(1),
                retrying: r.get(2),
                last_error: r.get(3),
                last_change_at: r.get(4),
            })
            .collect())
    }

    /// The most urgent requests first: the states and deadlines that `gauges.rs` counts as
    /// overdue or due within 7 days, so the page and `/metrics` agree.
    pub async fn at_risk(&self, soon: DateTime<Utc>, limit: i64) -> Result<Vec<AtRisk>, StoreError> {
        let rows = self
            .client()
            .await?
            .query(
                "SELECT id, state, subject_hash, deadline_at FROM requests
                 WHERE state IN ('received', 'scheduled', 'in_progress', 'failed') AND deadline_at < $1
                 ORDER BY deadline_at, id LIMIT $2",
                &[&soon, &limit],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| AtRisk { id: r.get(0), state: r.get(1), subject_hash: r.get(2), deadline_at: r.get(3) })
            .collect())
    }
}
