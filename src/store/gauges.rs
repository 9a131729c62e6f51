//! The numbers `/metrics` reads from the database at scrape time: the same in every worker
//! process (alert on `max`).

use super::{Store, StoreError};
use chrono::{DateTime, Utc};

#[derive(Debug, Default)]
pub struct Gauges {
    pub requests_by_state: Vec<(String, i64)>,
    pub tasks_by_connector_state: Vec<(String, String, i64)>,
    pub overdue: i64,
    pub due_within_7_days: i64,
    /// Per connector: seconds since the oldest due task (pending, retrying, waiting) became due.
    pub oldest_due_task_age: Vec<(String, f64)>,
    pub outbox_unsent: i64,
    pub outbox_lag_seconds: f64,
    pub dead_letters: i64,
}

impl Store {
    pub async fn gauges(&self, now: DateTime<Utc>) -> Result<Gauges, StoreError> {
        let client = self.client().await?;
        let mut g = Gauges::default();
        for r in client.query("SELECT state, count(*) FROM requests GROUP BY state", &[]).await? {
            g.requests_by_state.push((r.get(0), r.get(1)));
        }
        for r in client.query("SELECT connector, state, count(*) FROM tasks GROUP BY connector, state", &[]).await? {
            g.tasks_by_connector_state.push((r.get(0), r.get(1), r.get(2)));
        }
        let row = client
            .query_one(
                "SELECT count(*) FILTER (WHERE deadline_at < $1),
                        count(*) FILTER (WHERE deadline_at >= $1 AND deadline_at < $1 + interval '7 days')
                 FROM requests WHERE state IN ('received', 'scheduled', 'in_progress', 'failed')",
                &[&now],
            )
            .await?;
        (g.overdue, g.due_within_7_days) = (row.get(0), row.get(1));
        for r in client
            .query(
                "SELECT connector, extract(epoch FROM $1 - min(next_attempt_at))::float8 FROM tasks
                 WHERE state IN ('pending', 'retrying', 'waiting') AND next_attempt_at <= $1 GROUP BY connector",
                &[&now],
            )
            .await?
        {
            g.oldest_due_task_age.push((r.get(0), r.get(1)));
        }
        let row = client
            .query_one(
                "SELECT count(*), COALESCE(extract(epoch FROM $1 - min(created_at))::float8, 0)
                 FROM outbox WHERE sent_at IS NULL",
                &[&now],
            )
            .await?;
        (g.outbox_unsent, g.outbox_lag_seconds) = (row.get(0), row.get(1));
        g.dead_letters = client
            .query_one("SELECT count(*) FROM dead_letters WHERE replayed_at IS NULL AND discarded_at IS NULL", &[])
            .await?
            .get(0);
        Ok(g)
    }
}
