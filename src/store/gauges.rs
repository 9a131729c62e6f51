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
    /// Verification checks not done yet (`scheduled`), and those of them due now (`due`; their
    /// request completed or not), from the partial index of undone checks.
    pub checks_scheduled: i64,
    pub checks_due: i64,
    /// Messages to the person neither sent nor refused (the mail backlog), and the age of the
    /// oldest, from the partial index of due messages.
    pub mail_unsent: i64,
    pub mail_lag_seconds: f64,
}

/// The connection pool as this process sees it (no query).
#[derive(Debug, Clone, Copy, Default)]
pub struct PoolState {
    pub max: usize,
    pub open: usize,
    pub idle: usize,
    /// Callers waiting for a connection.
    pub waiting: usize,
}

/// An arbitrary key for the advisory lock that lets one process at a time fold the changes.
const FOLD_LOCK: i64 = 0x6572_6173_7572_6531;

impl Store {
    /// Every query reads open work from partial indexes, or the settled counts: none reads a
    /// table that grows for ever (the test `gauges_read_only_open_work` measures it).
    pub async fn gauges(&self, now: DateTime<Utc>) -> Result<Gauges, StoreError> {
        let client = self.client().await?;
        let mut g = Gauges::default();
        for r in client
            .query(
                "SELECT state, count(*) FROM requests WHERE state IN ('received', 'scheduled', 'in_progress') GROUP BY state
                 UNION ALL
                 SELECT state, sum(n)::bigint FROM (
                     SELECT state, count AS n FROM settled_counts WHERE entity = 'request'
                     UNION ALL SELECT state, delta FROM settled_count_changes WHERE entity = 'request') s
                 GROUP BY state",
                &[],
            )
            .await?
        {
            g.requests_by_state.push((r.get(0), r.get(1)));
        }
        for r in client
            .query(
                "SELECT connector, state, count(*) FROM tasks
                 WHERE state IN ('pending', 'running', 'waiting', 'retrying') GROUP BY connector, state
                 UNION ALL
                 SELECT connector, state, sum(n)::bigint FROM (
                     SELECT connector, state, count AS n FROM settled_counts WHERE entity = 'task'
                     UNION ALL SELECT connector, state, delta FROM settled_count_changes WHERE entity = 'task') s
                 GROUP BY connector, state",
                &[],
            )
            .await?
        {
            g.tasks_by_connector_state.push((r.get(0), r.get(1), r.get(2)));
        }
        let row = client
            .query_one(
                "SELECT count(*) FILTER (WHERE deadline_at < $1), count(*) FILTER (WHERE deadline_at >= $1)
                 FROM requests
                 WHERE state IN ('received', 'scheduled', 'in_progress', 'failed') AND deadline_at < $1 + interval '7 days'",
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
        let row = client
            .query_one(
                "SELECT count(*), count(*) FILTER (WHERE due_at <= $1) FROM verification_checks WHERE done_at IS NULL",
                &[&now],
            )
            .await?;
        (g.checks_scheduled, g.checks_due) = (row.get(0), row.get(1));
        let row = client
            .query_one(
                "SELECT count(*), COALESCE(extract(epoch FROM $1 - min(created_at))::float8, 0)
                 FROM mail_outbox WHERE sent_at IS NULL AND refused_at IS NULL",
                &[&now],
            )
            .await?;
        (g.mail_unsent, g.mail_lag_seconds) = (row.get(0), row.get(1));
        g.requests_by_state.retain(|(_, n)| *n != 0);
        g.tasks_by_connector_state.retain(|(_, _, n)| *n != 0);
        Ok(g)
    }

    pub fn pool_state(&self) -> PoolState {
        let status = self.pool.status();
        PoolState { max: status.max_size, open: status.size, idle: status.available, waiting: status.waiting }
    }

    /// Fold the recorded changes into the settled counts, so the gauges read a short list; a
    /// process that finds another folding skips. Returns how many changes were folded.
    pub async fn fold_settled_counts(&self) -> Result<u64, StoreError> {
        let mut client = self.client().await?;
        let tx = self.begin(&mut client).await?;
        let locked: bool = tx.query_one("SELECT pg_try_advisory_xact_lock($1)", &[&FOLD_LOCK]).await?.get(0);
        if !locked {
            return Ok(0);
        }
        let folded: i64 = tx
            .query_one(
                "WITH folded AS (DELETE FROM settled_count_changes RETURNING entity, connector, state, delta),
                      sums AS (SELECT entity, connector, state, sum(delta)::bigint AS delta, count(*) AS changes
                               FROM folded GROUP BY entity, connector, state),
                      applied AS (
                          INSERT INTO settled_counts (entity, connector, state, count)
                          SELECT entity, connector, state, delta FROM sums
                          ON CONFLICT (entity, connector, state) DO UPDATE SET count = settled_counts.count + EXCLUDED.count)
                 SELECT COALESCE(sum(changes), 0)::bigint FROM sums",
                &[],
            )
            .await?
            .get(0);
        tx.commit().await?;
        Ok(folded as u64)
    }
}
