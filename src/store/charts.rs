//! The dashboard's pictures: 30 days of requests received and settled, the open task backlog
//! of each connector instance at the end of each day, and open requests by deadline day. Every
//! query is aggregated by day in SQL and reads only the window's rows through an index
//! (`requests_received`, and V17's `requests_finished`, `tasks_finished`), or open work (partial
//! indexes), never a whole table.

use super::{Store, StoreError};
use chrono::{DateTime, Duration, Utc};

/// The states of a request not yet erased everywhere, as the at-risk list and the gauges count.
const UNSETTLED: &str = "('received', 'scheduled', 'in_progress', 'failed')";
/// The states of an open task.
const OPEN_TASK: &str = "('pending', 'running', 'waiting', 'retrying')";

/// One UTC day's flow of requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayFlow {
    pub day: DateTime<Utc>,
    pub received: i64,
    pub settled: i64,
}

/// A connector instance's open tasks at the end of each day of the window (oldest first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backlog {
    pub connector: String,
    pub open: Vec<i64>,
}

/// Unsettled requests by deadline: already overdue at `now`, due on each day from `from` on, and
/// due later than the last of those days.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadlineBuckets {
    pub overdue: i64,
    pub by_day: Vec<i64>,
    pub later: i64,
}

impl Store {
    /// Requests received and settled (their `finished_at`) on each of `days` UTC days from `from`.
    pub async fn daily_flow(&self, from: DateTime<Utc>, days: i32) -> Result<Vec<DayFlow>, StoreError> {
        let rows = self
            .client()
            .await?
            .query(
                "SELECT d,
                        (SELECT count(*) FROM requests WHERE received_at >= d AND received_at < d + interval '24 hours'),
                        (SELECT count(*) FROM requests WHERE finished_at >= d AND finished_at < d + interval '24 hours')
                 FROM generate_series(0, $2::int - 1) AS i, LATERAL (SELECT $1::timestamptz + i * interval '24 hours' AS d) AS days
                 ORDER BY d",
                &[&from, &days],
            )
            .await?;
        Ok(rows.iter().map(|r| DayFlow { day: r.get(0), received: r.get(1), settled: r.get(2) }).collect())
    }

    /// Each connector instance's open tasks at the end of each of `days` UTC days from `from`:
    /// tasks created before that moment and not finished by it. Reads the tasks open now and
    /// those finished since `from`, no others.
    pub async fn open_backlog(&self, from: DateTime<Utc>, days: i32) -> Result<Vec<Backlog>, StoreError> {
        let rows = self
            .client()
            .await?
            .query(
                &format!(
                    "WITH spans AS (
                         SELECT connector, created_at, NULL::timestamptz AS finished_at FROM tasks
                          WHERE state IN {OPEN_TASK}
                         UNION ALL
                         SELECT connector, created_at, finished_at FROM tasks
                          WHERE finished_at >= $1 AND state NOT IN {OPEN_TASK}
                     ),
                     ends AS (
                         SELECT i, $1::timestamptz + (i + 1) * interval '24 hours' AS at
                         FROM generate_series(0, $2::int - 1) AS i
                     )
                     SELECT s.connector, e.i,
                            count(*) FILTER (WHERE s.created_at < e.at AND (s.finished_at IS NULL OR s.finished_at >= e.at))
                     FROM spans s CROSS JOIN ends e
                     GROUP BY s.connector, e.i
                     ORDER BY s.connector, e.i"
                ),
                &[&from, &days],
            )
            .await?;
        let mut out: Vec<Backlog> = Vec::new();
        for row in &rows {
            let connector: String = row.get(0);
            if out.last().is_none_or(|b| b.connector != connector) {
                out.push(Backlog { connector: connector.clone(), open: vec![0; days.max(0) as usize] });
            }
            let day: i32 = row.get(1);
            if let Some(slot) = out.last_mut().and_then(|b| b.open.get_mut(day as usize)) {
                *slot = row.get(2);
            }
        }
        Ok(out)
    }

    /// Unsettled requests by deadline: overdue at `now`, then due on each of `days` UTC days from
    /// `from` (a deadline already passed counts as overdue only), then later.
    pub async fn deadline_buckets(
        &self,
        now: DateTime<Utc>,
        from: DateTime<Utc>,
        days: i32,
    ) -> Result<DeadlineBuckets, StoreError> {
        let until = from + Duration::days(i64::from(days));
        let rows = self
            .client()
            .await?
            .query(
                &format!(
                    "SELECT CASE WHEN deadline_at < $1 THEN -1
                                 WHEN deadline_at >= $3 THEN $4::int
                                 ELSE floor(extract(epoch FROM deadline_at - $2::timestamptz) / 86400)::int END,
                            count(*)
                     FROM requests WHERE state IN {UNSETTLED}
                     GROUP BY 1"
                ),
                &[&now, &from, &until, &days],
            )
            .await?;
        let mut buckets = DeadlineBuckets { overdue: 0, by_day: vec![0; days.max(0) as usize], later: 0 };
        for row in &rows {
            let bucket: i32 = row.get(0);
            let n: i64 = row.get(1);
            match bucket {
                -1 => buckets.overdue += n,
                b if b >= days => buckets.later += n,
                b => buckets.by_day[b.max(0) as usize] += n,
            }
        }
        Ok(buckets)
    }
}
