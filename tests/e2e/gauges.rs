//! The database gauges of `/metrics` are exact and read only open work: a scrape must not cost
//! more as settled requests pile up (issue 12: no full-table scan per scrape).

use crate::support::*;
use chrono::{Duration as Days, Utc};
use erasure_worker::store::gauges::Gauges;
use erasure_worker::store::Store;
use secrecy::SecretString;
use std::collections::BTreeMap;
use std::time::Duration;

const SETTLED: i64 = 30_000;
const OPEN: i64 = 40;
const CONNECTORS: [&str; 3] = ["accounts", "helpdesk", "chat"];

/// `OPEN` in-progress requests (one pending, one running, one erased task each) and `SETTLED`
/// completed ones (three erased tasks each), by plain SQL, so the triggers see them as any
/// writer's rows. Twenty-five open requests are overdue.
async fn fill(db: &tokio_postgres::Client) {
    let now = Utc::now();
    db.execute(
        "INSERT INTO requests (id, state, body_sha256, subject_hash, identifier_hashes, requested_at, received_at,
                               deadline_at, finished_at)
         SELECT gen_random_uuid(), CASE WHEN n <= $2 THEN 'in_progress' ELSE 'completed' END, '\\x00', 'h', '{}',
                $1, $1, CASE WHEN n <= 25 THEN $1::timestamptz - interval '1 day' ELSE $1::timestamptz + interval '20 days' END,
                CASE WHEN n <= $2 THEN NULL ELSE $1 END
         FROM generate_series(1, $2::bigint + $3::bigint) AS n",
        &[&now, &OPEN, &SETTLED],
    )
    .await
    .unwrap();
    db.execute(
        "INSERT INTO tasks (request_id, connector, kind, state, max_attempts, next_attempt_at)
         SELECT r.id, c.connector,
                'webhook',
                CASE WHEN r.state = 'completed' OR c.connector = 'chat' THEN 'erased'
                     WHEN c.connector = 'accounts' THEN 'pending' ELSE 'running' END,
                5, $1
         FROM requests r CROSS JOIN unnest($2::text[]) AS c (connector)",
        &[&now, &CONNECTORS.to_vec()],
    )
    .await
    .unwrap();
    db.batch_execute("ANALYZE").await.unwrap();
}

/// The same numbers, counted the slow way.
async fn truth(db: &tokio_postgres::Client) -> (BTreeMap<String, i64>, BTreeMap<(String, String), i64>, i64) {
    let requests = db
        .query("SELECT state, count(*) FROM requests GROUP BY state", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let tasks = db
        .query("SELECT connector, state, count(*) FROM tasks GROUP BY connector, state", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| ((r.get(0), r.get(1)), r.get(2)))
        .collect();
    let overdue = db
        .query_one(
            "SELECT count(*) FROM requests WHERE state IN ('received', 'scheduled', 'in_progress', 'failed')
             AND deadline_at < now()",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    (requests, tasks, overdue)
}

fn as_maps(g: &Gauges) -> (BTreeMap<String, i64>, BTreeMap<(String, String), i64>) {
    (
        g.requests_by_state.iter().cloned().collect(),
        g.tasks_by_connector_state.iter().map(|(c, s, n)| ((c.clone(), s.clone()), *n)).collect(),
    )
}

/// Rows and index entries read from the tables that grow, by every backend of this database.
async fn rows_read(db: &tokio_postgres::Client) -> i64 {
    let tables = "ARRAY['requests', 'tasks', 'outbox', 'dead_letters', 'audit_log']";
    let seq: i64 = db
        .query_one(
            &format!(
                "SELECT COALESCE(sum(seq_tup_read), 0)::bigint FROM pg_stat_user_tables WHERE relname = ANY({tables})"
            ),
            &[],
        )
        .await
        .unwrap()
        .get(0);
    let idx: i64 = db
        .query_one(
            &format!(
                "SELECT COALESCE(sum(idx_tup_read), 0)::bigint FROM pg_stat_user_indexes WHERE relname = ANY({tables})"
            ),
            &[],
        )
        .await
        .unwrap()
        .get(0);
    seq + idx
}

/// A store of one connection; dropping it ends the backend, which flushes its statistics.
async fn one_connection_store(stack: &Stack) -> Store {
    Store::connect(&SecretString::from(stack.db_url.clone()), 1, &stack.postgres_tls()).unwrap()
}

async fn wait_for_no_other_backend(db: &tokio_postgres::Client) {
    wait_until(Duration::from_secs(10), "the store's backend has ended", || async {
        let others: i64 = db
            .query_one(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()",
                &[],
            )
            .await
            .unwrap()
            .get(0);
        others == 0
    })
    .await;
}

#[tokio::test]
async fn gauges_read_only_open_work() {
    let stack = Stack::new().await;
    let store = one_connection_store(&stack).await;
    store.migrate().await.unwrap();
    drop(store);
    {
        let loader = stack.db().await;
        fill(&loader).await;
    }
    let store = one_connection_store(&stack).await;
    store.fold_settled_counts().await.unwrap();
    drop(store);
    let db = stack.db().await;
    wait_for_no_other_backend(&db).await;
    let before = rows_read(&db).await;

    let store = one_connection_store(&stack).await;
    let gauges = store.gauges(Utc::now()).await.unwrap();
    drop(store);
    wait_for_no_other_backend(&db).await;
    // A backend's statistics reach the shared counters as it exits: give them a moment.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let read = rows_read(&db).await - before;

    let (requests, tasks, overdue) = truth(&db).await;
    assert_eq!(as_maps(&gauges), (requests, tasks), "the gauges are exact");
    assert_eq!(gauges.overdue, overdue);
    assert_eq!(gauges.overdue, 25);
    assert!(
        read < 1_000,
        "a scrape read {read} rows or index entries with {OPEN} open and {SETTLED} settled requests: it must read only open work"
    );
}

/// Every way a state changes (settling, a retry out of `failed`, a cancellation, a deletion)
/// keeps the counts exact, before and after the changes are folded.
#[tokio::test]
async fn settled_counts_follow_every_change() {
    let stack = Stack::new().await;
    let store = one_connection_store(&stack).await;
    store.migrate().await.unwrap();
    let db = stack.db().await;
    let now = Utc::now();
    db.execute(
        "INSERT INTO requests (id, state, body_sha256, subject_hash, identifier_hashes, requested_at, received_at, deadline_at)
         SELECT gen_random_uuid(), 'in_progress', '\\x00', 'h', '{}', $1, $1, $2 FROM generate_series(1, 20)",
        &[&now, &(now + Days::days(30))],
    )
    .await
    .unwrap();
    db.execute(
        "INSERT INTO tasks (request_id, connector, kind, state, max_attempts, next_attempt_at)
         SELECT id, 'accounts', 'webhook', 'pending', 5, $1 FROM requests",
        &[&now],
    )
    .await
    .unwrap();
    let steps = [
        "UPDATE tasks SET state = 'erased' WHERE request_id IN (SELECT id FROM requests ORDER BY id LIMIT 12)",
        "UPDATE requests SET state = 'completed' WHERE id IN (SELECT request_id FROM tasks WHERE state = 'erased')",
        "UPDATE tasks SET state = 'failed' WHERE state = 'pending' AND request_id IN (SELECT id FROM requests WHERE state = 'in_progress' ORDER BY id LIMIT 5)",
        "UPDATE requests SET state = 'failed' WHERE id IN (SELECT request_id FROM tasks WHERE state = 'failed')",
        // An operator's retry: out of `failed` and back to open work.
        "UPDATE tasks SET state = 'retrying' WHERE state = 'failed' AND request_id IN (SELECT id FROM requests WHERE state = 'failed' ORDER BY id LIMIT 2)",
        "UPDATE requests SET state = 'in_progress' WHERE id IN (SELECT request_id FROM tasks WHERE state = 'retrying')",
        "UPDATE requests SET state = 'cancelled' WHERE state = 'in_progress' AND id NOT IN (SELECT request_id FROM tasks WHERE state = 'retrying')",
        "UPDATE tasks SET state = 'nothing_to_erase' WHERE state = 'pending'",
        "DELETE FROM tasks WHERE request_id IN (SELECT id FROM requests WHERE state = 'completed' ORDER BY id LIMIT 3)",
        "DELETE FROM requests WHERE state = 'completed' AND id NOT IN (SELECT request_id FROM tasks)",
    ];
    for (i, step) in steps.iter().enumerate() {
        db.batch_execute(step).await.unwrap();
        if i % 3 == 1 {
            store.fold_settled_counts().await.unwrap();
        }
        let gauges = store.gauges(Utc::now()).await.unwrap();
        let (requests, tasks, _) = truth(&db).await;
        assert_eq!(as_maps(&gauges), (requests, tasks), "after step {i}: {step}");
    }
    assert!(store.fold_settled_counts().await.unwrap() > 0, "the last steps left changes to fold");
    assert_eq!(store.fold_settled_counts().await.unwrap(), 0, "folding twice finds nothing new");
    let changes: i64 = db.query_one("SELECT count(*) FROM settled_count_changes", &[]).await.unwrap().get(0);
    assert_eq!(changes, 0);
}
