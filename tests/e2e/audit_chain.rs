//! The tamper-evident audit log: every row is chained per request (operator chain for rows
//! with no request), and `erasure audit verify` finds a row modified behind the service's back
//! (the append-only trigger switched off, as a database owner could), naming the row.

use crate::support::*;
use erasure_worker::clock::{Clock, ManualClock};
use std::process::Output;
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

async fn audit_verify(config: &std::path::Path, id: Option<Uuid>) -> Output {
    let mut args = vec!["--config".to_string(), config.to_str().unwrap().to_string(), "audit".into(), "verify".into()];
    args.extend(id.map(|id| id.to_string()));
    tokio::process::Command::new(env!("CARGO_BIN_EXE_erasure"))
        .args(&args)
        .env(HASH_KEY_ENV, "test-hash-key-0123456789abcdef")
        .output()
        .await
        .expect("run erasure audit verify")
}

fn stdout(output: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
}

#[tokio::test]
async fn audit_verify_holds_on_an_untouched_log_and_names_a_modified_row() {
    let stack = Stack::new().await;
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    let systems = [Instance { name: "accounts", extra: "" }, Instance { name: "billing", extra: "" }];
    let settings = stack.settings(&systems, "");
    stack.declare_queues(&settings).await;
    let worker = Worker::start(settings, clock.clone());
    let (first, second) = (Uuid::new_v4(), Uuid::new_v4());
    stack.publish(&bytes(&request(first, "ann@example.com", clock.now())), None).await;
    stack.publish(&bytes(&request(second, "bob@example.com", clock.now())), None).await;
    stack.wait_for_state(first, "completed", Duration::from_secs(20)).await;
    stack.wait_for_state(second, "completed", Duration::from_secs(20)).await;
    worker.stop().await;

    let db = stack.db().await;
    // The two tasks of a request claimed by two connector instances at once appended to one
    // chain without forking it: positions 1..n, each row linked to the one before.
    let rows = db
        .query("SELECT seq, prev_hash, hash FROM audit_log WHERE request_id = $1 ORDER BY seq", &[&first])
        .await
        .unwrap();
    assert!(rows.len() >= 6, "received, two claims, two outcomes, completed: {}", rows.len());
    for (i, row) in rows.iter().enumerate() {
        assert_eq!(row.get::<_, i64>(0), i as i64 + 1);
        if i > 0 {
            assert_eq!(row.get::<_, Vec<u8>>(1), rows[i - 1].get::<_, Vec<u8>>(2));
        }
    }

    let config = stack.config_file(&systems, "");
    let clean = audit_verify(&config, None).await;
    assert!(clean.status.success(), "{}", stdout(&clean));
    assert!(stdout(&clean).contains("every chain holds"), "{}", stdout(&clean));

    // A database owner rewrites one outcome of the first request.
    let target: i64 = db
        .query_one(
            "SELECT id FROM audit_log WHERE request_id = $1 AND event = 'task.running' ORDER BY id LIMIT 1",
            &[&first],
        )
        .await
        .unwrap()
        .get(0);
    db.batch_execute(&format!(
        "ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only;
         UPDATE audit_log SET detail = '{{\"attempt\": 2}}' WHERE id = {target};
         ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only;"
    ))
    .await
    .unwrap();

    let broken = audit_verify(&config, None).await;
    assert_eq!(broken.status.code(), Some(1), "{}", stdout(&broken));
    let report = stdout(&broken);
    assert!(report.contains(&format!("request {first}")) && report.contains(&format!("row {target} ")), "{report}");
    assert!(report.contains("modified") && report.contains("1 broken"), "{report}");
    assert!(!report.contains(&second.to_string()), "the other chain holds: {report}");

    let one = audit_verify(&config, Some(first)).await;
    assert_eq!(one.status.code(), Some(1), "{}", stdout(&one));
    let other = audit_verify(&config, Some(second)).await;
    assert!(other.status.success(), "{}", stdout(&other));
}

/// Rows written before migration V11 are chained by it, in id order per chain, and the trigger
/// goes on from each chain's head.
#[tokio::test]
async fn rows_written_before_the_chain_existed_are_chained_by_the_migration() {
    let stack = Stack::new().await;
    let db = stack.db().await;
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/store/migrations");
    let mut before: Vec<(i32, String, std::path::PathBuf)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter_map(|path| {
            let file = path.file_stem()?.to_str()?.to_string();
            let (version, name) = file.strip_prefix('V')?.split_once("__")?;
            let version: i32 = version.parse().ok()?;
            (version < 11).then(|| (version, name.to_string(), path.clone()))
        })
        .collect();
    before.sort();
    assert_eq!(before.len(), 10);
    let from_v11 = std::fs::read_dir(&dir).unwrap().count() - before.len();
    db.batch_execute(
        "CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL,
                                         applied_at timestamptz NOT NULL DEFAULT now())",
    )
    .await
    .unwrap();
    for (version, name, path) in &before {
        db.batch_execute(&std::fs::read_to_string(path).unwrap()).await.unwrap();
        db.execute("INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", &[version, name]).await.unwrap();
    }
    let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
    db.execute(
        "INSERT INTO audit_log (request_id, at, actor, event, detail) VALUES
             ($1, now(), 'intake', 'request.received', '{}'), (NULL, now(), 'api:ops', 'searched', '{\"found\": 0}'),
             ($2, now(), 'intake', 'request.received', '{}'), ($1, now(), 'runner', 'task.running', '{\"attempt\": 1}')",
        &[&a, &b],
    )
    .await
    .unwrap();

    let url = secrecy::SecretString::from(stack.db_url.clone());
    let store = erasure_worker::store::Store::connect(&url, 2, &stack.postgres_tls()).unwrap();
    assert_eq!(store.migrate().await.unwrap(), from_v11, "V11 and the migrations after it are pending");
    let report = erasure_worker::audit::verify::run(&store, None).await.unwrap();
    assert_eq!((report.chains, report.rows, report.breaks.len()), (3, 4, 0), "{:?}", report.lines());

    db.execute(
        "INSERT INTO audit_log (request_id, at, actor, event) VALUES ($1, now(), 'runner', 'task.erased')",
        &[&a],
    )
    .await
    .unwrap();
    let positions: Vec<i64> = db
        .query("SELECT seq FROM audit_log WHERE request_id = $1 ORDER BY id", &[&a])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(positions, [1, 2, 3]);
    let report = erasure_worker::audit::verify::run(&store, Some(a)).await.unwrap();
    assert_eq!((report.chains, report.rows, report.breaks.len()), (1, 3, 0), "{:?}", report.lines());
}

/// Appends to one chain from many transactions at once take turns on the chain's head: every
/// row gets the next position and links to the row before it, and nothing is refused as a fork.
#[tokio::test]
async fn concurrent_appends_to_one_chain_never_fork_it() {
    let stack = Stack::new().await;
    let url = secrecy::SecretString::from(stack.db_url.clone());
    let store = erasure_worker::store::Store::connect(&url, 2, &stack.postgres_tls()).unwrap();
    store.migrate().await.unwrap();
    let request = Uuid::new_v4();
    let mut writers = tokio::task::JoinSet::new();
    for writer in 0..8 {
        let db = stack.db().await;
        writers.spawn(async move {
            for row in 0..25 {
                db.batch_execute(&format!(
                    "BEGIN;
                     INSERT INTO audit_log (request_id, at, actor, event, detail)
                         VALUES ('{request}', now(), 'test', 'appended', '{{\"writer\": {writer}, \"row\": {row}}}');
                     INSERT INTO audit_log (request_id, at, actor, event) VALUES (NULL, now(), 'test', 'appended');
                     COMMIT;"
                ))
                .await
                .unwrap();
            }
        });
    }
    while let Some(done) = writers.join_next().await {
        done.unwrap();
    }
    let db = stack.db().await;
    let length: i64 =
        db.query_one("SELECT length FROM audit_chains WHERE chain = $1", &[&request]).await.unwrap().get(0);
    assert_eq!(length, 200);
    let report = erasure_worker::audit::verify::run(&store, None).await.unwrap();
    assert_eq!((report.chains, report.rows, report.breaks.len()), (2, 400, 0), "{:?}", report.lines());
}
