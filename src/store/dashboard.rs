//! The dashboard's overview: requests by state, deadlines at risk, and connector instances with
//! failed or retrying tasks. Lists and single requests come from `status.rs`.

use super::{Store, StoreError};
use chrono::{DateTime, Utc};

#[derive(Debug, Clone, Default)]
pub struct Summary {
    /// Requests by state, only the states that have some.
    pub states: Vec<(String, i64)>,
    /// Unfinished requests past their deadline.
    pub overdue: i64,
    /// Unfinished requests whose deadline falls between now and `soon`.
    pub due_soon: i64,
    /// Instances with failed or retrying tasks, the most failures first.
    pub connectors: Vec<ConnectorHealth>,
}

#[derive(Debug, Clone)]
pub struct ConnectorHealth {
    pub connector: String,
    pub failed: i64,
    pub retrying: i64,
    /// The most recent error among those tasks, and when that task last changed.
    pub last_error: Option<String>,
    pub last_change_at: DateTime<Utc>,
}

impl Store {
    pub async fn dashboard_summary(&self, now: DateTime<Utc>, soon: DateTime<Utc>) -> Result<Summary, StoreError> {
        let client = self.client().await?;
        let states = client
            .query("SELECT state, count(*) FROM requests GROUP BY state", &[])
            .await?
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect();
        let deadlines = client
            .query_one(
                "SELECT count(*) FILTER (WHERE deadline_at < $1),
                        count(*) FILTER (WHERE deadline_at >= $1 AND deadline_at < $2)
                 FROM requests WHERE finished_at IS NULL",
                &[&now, &soon],
            )
            .await?;
        let connectors = client
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
            .await?
            .iter()
            .map(|r| ConnectorHealth {
                connector: r.get(0),
                failed: r.get(1),
                retrying: r.get(2),
                last_error: r.get(3),
                last_change_at: r.get(4),
            })
            .collect();
        Ok(Summary { states, overdue: deadlines.get(0), due_soon: deadlines.get(1), connectors })
    }
}
