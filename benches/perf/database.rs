//! What the benchmark reads from PostgreSQL: statement and transaction counts
//! (`pg_stat_statements`, `pg_stat_database`) and the correctness checks (every request
//! completed, every task done once, no task claimed twice).

use serde::Serialize;
use tokio_postgres::Client;

/// Counters of one database at one instant.
pub struct Counters {
    commits: i64,
}

/// Reset `pg_stat_statements` (the whole cluster: one scenario runs at a time) and read the
/// database's commit count.
pub async fn start(admin: &Client, db_name: &str) -> Counters {
    admin.execute("SELECT pg_stat_statements_reset()", &[]).await.expect("reset pg_stat_statements");
    Counters { commits: commits(admin, db_name).await }
}

async fn commits(admin: &Client, db_name: &str) -> i64 {
    // Statistics reach the shared view when a backend goes idle, at most a second late.
    admin.execute("SELECT pg_stat_clear_snapshot()", &[]).await.unwrap();
    admin
        .query_one("SELECT xact_commit FROM pg_stat_database WHERE datname = $1", &[&db_name])
        .await
        .expect("read pg_stat_database")
        .get(0)
}

/// Statements and transactions per request, and the statements that cost the most.
#[derive(Serialize, Clone, Default)]
pub struct Statements {
    /// Every statement executed, nested ones (in functions and triggers) included.
    pub statements_per_request: f64,
    /// Statements the clients sent.
    pub top_level_statements_per_request: f64,
    pub transactions_per_request: f64,
    /// The 15 statements with the most execution time: calls per request, milliseconds, query.
    pub top: Vec<(f64, f64, String)>,
}

pub async fn finish(admin: &Client, db_name: &str, start: &Counters, requests: u64) -> Statements {
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let commits = commits(admin, db_name).await - start.commits;
    let per = |n: f64| n / requests.max(1) as f64;
    let row = admin
        .query_one(
            "SELECT coalesce(sum(calls), 0)::float8, coalesce(sum(calls) FILTER (WHERE toplevel), 0)::float8
             FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = $1)",
            &[&db_name],
        )
        .await
        .expect("read pg_stat_statements");
    let top = admin
        .query(
            "SELECT calls::float8, total_exec_time, left(regexp_replace(query, '\\s+', ' ', 'g'), 200)
             FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = $1)
             ORDER BY total_exec_time DESC LIMIT 15",
            &[&db_name],
        )
        .await
        .expect("read pg_stat_statements");
    Statements {
        statements_per_request: per(row.get(0)),
        top_level_statements_per_request: per(row.get(1)),
        transactions_per_request: per(commits as f64),
        top: top.iter().map(|r| (per(r.get(0)), (r.get::<_, f64>(1) * 10.0).round() / 10.0, r.get(2))).collect(),
    }
}

/// What the database says about the scenario's requests and tasks.
#[derive(Serialize, Clone, Default, Debug)]
pub struct Audit {
    pub requests: i64,
    pub requests_completed: i64,
    pub tasks: i64,
    pub tasks_done: i64,
    /// Tasks with more than one attempt (a lease lost, a transient error): not a duplicate.
    pub tasks_retried: i64,
    /// A task claimed again while a claim of it was still running: two `task.running` audit
    /// rows with no outcome between them.
    pub duplicate_claims: i64,
}

pub async fn audit(db: &Client) -> Audit {
    let requests = db
        .query_one("SELECT count(*), count(*) FILTER (WHERE state IN ('completed', 'closed')) FROM requests", &[])
        .await
        .expect("count requests");
    let tasks = db
        .query_one(
            "SELECT count(*), count(*) FILTER (WHERE state IN ('erased', 'nothing_to_erase')),
                    count(*) FILTER (WHERE attempt > 1) FROM tasks",
            &[],
        )
        .await
        .expect("count tasks");
    let duplicates = db
        .query_one(
            "SELECT count(*) FROM (
                 SELECT event, lag(event) OVER (PARTITION BY task_id ORDER BY id) AS before
                 FROM audit_log WHERE task_id IS NOT NULL) x
             WHERE event = 'task.running' AND before = 'task.running'",
            &[],
        )
        .await
        .expect("read the audit log");
    Audit {
        requests: requests.get(0),
        requests_completed: requests.get(1),
        tasks: tasks.get(0),
        tasks_done: tasks.get(1),
        tasks_retried: tasks.get(2),
        duplicate_claims: duplicates.get(0),
    }
}

impl Audit {
    /// The failures, if any: every one of `expected` requests completed, every task erased or
    /// found with nothing to erase, no task claimed twice.
    pub fn failures(&self, expected: u64, tasks_per_request: u64) -> Vec<String> {
        let mut failures = Vec::new();
        let expected = expected as i64;
        if self.requests != expected || self.requests_completed != expected {
            failures.push(format!(
                "{} of {expected} requests in the database, {} completed",
                self.requests, self.requests_completed
            ));
        }
        let tasks = expected * tasks_per_request as i64;
        if self.tasks != tasks || self.tasks_done != tasks {
            failures.push(format!("{} tasks of {tasks} expected, {} done", self.tasks, self.tasks_done));
        }
        if self.duplicate_claims != 0 {
            failures.push(format!("{} task claims while the task was already claimed", self.duplicate_claims));
        }
        failures
    }
}
