//! What a deployment relies on: `erasure migrate` needs only the database settings (a migration
//! Job holds no other secret), `database.direct_url` carries LISTEN and the migrations' lock
//! (a pooler in transaction mode breaks both), and the least-privilege roles of
//! `deploy/sql/roles.sql` (a runtime without DDL rights) run the whole path.

use crate::support::*;
use erasure_worker::clock::SystemClock;
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

const ROLES_SQL: &str = include_str!("../../deploy/sql/roles.sql");

/// `erasure migrate` with `config`, and no secret in the environment but what `env` adds.
async fn migrate(stack: &Stack, config: &std::path::Path, env: &[(&str, &str)]) -> std::process::Output {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_erasure"))
        .args(["--config", config.to_str().unwrap(), "migrate"])
        .env_remove(HASH_KEY_ENV)
        .env_remove(DATA_KEYS_ENV)
        .env_remove(WEBHOOK_SECRET_ENV)
        .envs(env.iter().copied())
        .env("ERASURE__LOG__LEVEL", "warn")
        .current_dir(&stack.dir)
        .output()
        .await
        .unwrap()
}

async fn migrations_applied(stack: &Stack) -> i64 {
    let db = stack.db().await;
    let exists: bool = db.query_one("SELECT to_regclass('schema_migrations') IS NOT NULL", &[]).await.unwrap().get(0);
    if !exists {
        return 0;
    }
    db.query_one("SELECT count(*) FROM schema_migrations", &[]).await.unwrap().get(0)
}

/// `stack.db_url` with another user (the stack's PostgreSQL trusts loopback logins).
fn url_as(stack: &Stack, user: &str) -> String {
    let mut url = url::Url::parse(&stack.db_url).unwrap();
    url.set_username(user).unwrap();
    url.to_string()
}

#[tokio::test]
async fn migrate_needs_only_the_database_settings_and_takes_the_direct_url() {
    let stack = Stack::new().await;
    // `url` (the pooler's) answers nothing; only `direct_url` reaches PostgreSQL. The connector's
    // secret, the hash key and the data keys are all unset.
    let extra =
        format!("[database]\nurl = \"postgres://postgres@127.0.0.1:1/nowhere\"\ndirect_url = \"{}\"\n", stack.db_url);
    let config = stack.config_file(&[Instance { name: "accounts", extra: "" }], &extra);
    let output = migrate(&stack, &config, &[]).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let applied = migrations_applied(&stack).await;
    assert!(applied >= 13, "every migration applied, {applied}");
    assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), format!("applied {applied} migration(s)"));

    let again = migrate(&stack, &config, &[]).await;
    assert!(again.status.success());
    assert_eq!(String::from_utf8_lossy(&again.stdout).trim(), "applied 0 migration(s)");
}

#[tokio::test]
async fn listen_takes_the_direct_url_and_the_pool_the_url() {
    let stack = Stack::new().await;
    let mut direct = url::Url::parse(&stack.db_url).unwrap();
    direct.query_pairs_mut().append_pair("application_name", "erasure-direct");
    let extra = format!("[database]\ndirect_url = \"{direct}\"\n");
    let settings = stack.settings(&[Instance { name: "accounts", extra: "" }], &extra);
    stack.declare_queues(&settings).await;
    let worker = Worker::start(settings, Arc::new(SystemClock));
    let db = stack.db().await;
    let db_name = url::Url::parse(&stack.db_url).unwrap().path().trim_start_matches('/').to_string();
    let listening = poll(Duration::from_secs(15), "LISTEN on the direct connection", || async {
        let rows = db
            .query(
                "SELECT query FROM pg_stat_activity
                 WHERE datname = $1 AND application_name = 'erasure-direct' AND query LIKE 'LISTEN %'",
                &[&db_name],
            )
            .await
            .unwrap();
        (rows.len() >= 2).then_some(rows.len())
    })
    .await;
    assert!(listening >= 2, "the runner's and the outbox's LISTEN");
    // The pool's connections (the ordinary statements) do not use the direct URL.
    let id = Uuid::new_v4();
    stack.publish(&bytes(&request(id, "lee@example.com", chrono::Utc::now())), None).await;
    stack.wait_for_state(id, "completed", Duration::from_secs(20)).await;
    let direct_non_listen: i64 = db
        .query_one(
            "SELECT count(*) FROM pg_stat_activity
             WHERE datname = $1 AND application_name = 'erasure-direct' AND query NOT LIKE 'LISTEN %'",
            &[&db_name],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(direct_non_listen, 0, "only LISTEN (and the finished migration) used the direct URL");
    worker.stop().await;
}

#[tokio::test]
async fn a_runtime_role_without_ddl_rights_runs_the_whole_path_after_the_migrator_migrated() {
    let stack = Stack::new().await;
    stack.db().await.batch_execute(ROLES_SQL).await.expect("roles.sql runs");
    stack.db().await.batch_execute(ROLES_SQL).await.expect("roles.sql runs again");

    // The runtime cannot migrate a fresh database: it has no CREATE on the schema.
    let runtime_extra = format!("[database]\nurl = \"{}\"\n", url_as(&stack, "erasure_runtime"));
    let runtime_config = stack.config_file(&[Instance { name: "accounts", extra: "" }], &runtime_extra);
    let refused = migrate(&stack, &runtime_config, &[]).await;
    assert!(!refused.status.success(), "the runtime role migrated");
    assert!(String::from_utf8_lossy(&refused.stderr).contains("permission denied"), "{refused:?}");

    let migrator_extra = format!("[database]\nurl = \"{}\"\n", url_as(&stack, "erasure_migrator"));
    let migrator_config = stack.config_file(&[], &migrator_extra);
    let migrated = migrate(&stack, &migrator_config, &[]).await;
    assert!(migrated.status.success(), "{}", String::from_utf8_lossy(&migrated.stderr));

    let (runtime, connection) =
        tokio_postgres::connect(&url_as(&stack, "erasure_runtime"), stack.postgres_tls().connector()).await.unwrap();
    tokio::spawn(connection);
    let ddl = runtime.batch_execute("CREATE TABLE sneaky (id int)").await.unwrap_err();
    assert_eq!(ddl.code(), Some(&tokio_postgres::error::SqlState::INSUFFICIENT_PRIVILEGE));
    let alter = runtime.batch_execute("ALTER TABLE requests ADD COLUMN sneaky int").await.unwrap_err();
    assert_eq!(alter.code(), Some(&tokio_postgres::error::SqlState::INSUFFICIENT_PRIVILEGE));

    let settings = stack.settings(&[Instance { name: "accounts", extra: "" }], &runtime_extra);
    stack.declare_queues(&settings).await;
    stack.sim.seed("accounts", "kim@example.com", 2);
    let worker = Worker::start(settings, Arc::new(SystemClock));
    let id = Uuid::new_v4();
    stack.publish(&bytes(&request(id, "kim@example.com", chrono::Utc::now())), None).await;
    stack.wait_for_state(id, "completed", Duration::from_secs(20)).await;
    assert_eq!(stack.sim.records("accounts", "kim@example.com"), 0);
    worker.stop().await;
}
