//! TLS to PostgreSQL (`sslmode=require` + `database.ca_file`) and RabbitMQ (`amqps://` +
//! `amqp.ca_file`) against the stack's real servers, which `scripts/stack.sh` gives a throwaway
//! CA: a request goes through end to end, the connections are shown to be TLS, and a wrong or
//! unreadable CA stops the worker with an error that names it and prints no password.

use crate::support::*;
use erasure_worker::clock::SystemClock;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

const APP_NAME: &str = "erasure-tls-e2e";
const DB_PASSWORD: &str = "db-SECRET-tls-5c4b3a29181706f5";

/// Worker connections of this test's database: (ssl, last query) for each.
async fn worker_connections(stack: &Stack, application_name: &str) -> Vec<(bool, String)> {
    let rows = stack
        .db()
        .await
        .query(
            "SELECT s.ssl, a.query FROM pg_stat_activity a JOIN pg_stat_ssl s USING (pid) \
             WHERE a.datname = current_database() AND a.application_name = $1",
            &[&application_name],
        )
        .await
        .unwrap();
    rows.iter().map(|r| (r.get(0), r.get(1))).collect()
}

fn with_param(url: &str, key: &str, value: &str) -> String {
    let mut url = url::Url::parse(url).unwrap();
    url.query_pairs_mut().append_pair(key, value);
    url.to_string()
}

/// A second throwaway CA that signed nothing the servers present.
fn other_ca(dir: &Path) -> PathBuf {
    let (key, cert) = (dir.join("other-ca.key"), dir.join("other-ca.pem"));
    let status = std::process::Command::new("openssl")
        .args(["req", "-x509", "-new", "-noenc", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"])
        .args(["-days", "2", "-subj", "/CN=not the stack's CA", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stderr(std::process::Stdio::null())
        .status()
        .expect("run openssl");
    assert!(status.success(), "openssl made the other CA");
    cert
}

fn erasure(config: &Path, args: &[&str], env: &[(&str, &str)]) -> std::process::Command {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_erasure"));
    command
        .arg("--config")
        .arg(config)
        .args(args)
        .envs(env.iter().copied())
        .env(HASH_KEY_ENV, "test-hash-key-0123456789abcdef");
    command
}

fn printed(output: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
}

#[tokio::test]
async fn a_worker_given_only_tls_urls_erases_and_confirms_over_tls() {
    let stack = Stack::new().await.over_tls();
    let url = with_param(&stack.db_url, "application_name", APP_NAME);
    // Two amqps nodes, the first one down: fail-over works over TLS too.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let extra = format!(
        "[database]\nurl = \"{url}\"\n[amqp]\nurls = [\"amqps://guest:guest@localhost:{closed}/%2f\", \"{}\"]\n",
        stack.amqp_url
    );
    let settings = stack.settings(&[Instance { name: "accounts", extra: "" }], &extra);
    assert!(settings.database.url.contains("sslmode=require"));
    assert!(
        settings.amqp.urls.iter().all(|u| u.starts_with("amqps://")),
        "only TLS listeners: {:?}",
        settings.amqp.urls
    );
    assert!(!settings.amqp.urls.contains(&std::env::var("ERASURE_TEST_AMQP_URL").unwrap()));
    stack.declare_queues(&settings).await;
    stack.sim.seed("accounts", "tess@example.com", 2);
    let mut events = stack.events().await;
    let worker = Worker::start(settings, Arc::new(SystemClock));

    let id = Uuid::new_v4();
    stack.publish(&bytes(&request(id, "tess@example.com", chrono::Utc::now())), None).await;
    let event = events.next(Duration::from_secs(30)).await.expect("a confirmation event over amqps");
    assert_eq!(event.routing_key, "erasure.completed");
    assert_eq!(event.body["request_id"], id.to_string());
    assert_eq!(stack.request_state(id).await.as_deref(), Some("completed"));
    assert_eq!(stack.sim.records("accounts", "tess@example.com"), 0);

    // The pool's connections and the LISTEN connection: all of them TLS.
    let connections = worker_connections(&stack, APP_NAME).await;
    assert!(!connections.is_empty(), "the worker's connections are visible");
    assert!(connections.iter().all(|(ssl, _)| *ssl), "every worker connection is TLS: {connections:?}");
    assert!(connections.iter().any(|(_, q)| q.starts_with("LISTEN")), "LISTEN is among them: {connections:?}");

    // The check tells plain from TLS: a plain connection shows up as such.
    let control = with_param(&with_param(&stack.db_url, "sslmode", "disable"), "application_name", "erasure-plain");
    let (plain, connection) = tokio_postgres::connect(&control, tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(connection);
    plain.execute("SELECT 1", &[]).await.unwrap();
    assert_eq!(worker_connections(&stack, "erasure-plain").await.first().map(|c| c.0), Some(false));
    worker.stop().await;
}

#[tokio::test]
async fn a_database_certificate_from_another_ca_stops_the_worker_without_printing_the_password() {
    let stack = Stack::new().await.over_tls();
    let wrong = other_ca(&stack.dir);
    let extra = format!("[database]\npassword_env = \"E2E_TLS_DB_PASSWORD\"\nca_file = \"{}\"\n", wrong.display());
    let config = stack.config_file(&[], &extra);
    let output = erasure(&config, &["migrate"], &[("E2E_TLS_DB_PASSWORD", DB_PASSWORD)]).output().unwrap();
    let text = printed(&output);
    assert!(!output.status.success(), "{text}");
    assert!(text.contains("could not migrate the database"), "{text}");
    assert!(text.contains("certificate") && text.contains("UnknownIssuer"), "the reason is given: {text}");
    assert!(!text.contains(DB_PASSWORD), "the password never prints: {text}");

    // The stack's own CA: the same command works.
    let extra =
        format!("[database]\npassword_env = \"E2E_TLS_DB_PASSWORD\"\nca_file = \"{}\"\n", stack.tls_ca.display());
    let config = stack.config_file(&[], &extra);
    let output = erasure(&config, &["migrate"], &[("E2E_TLS_DB_PASSWORD", DB_PASSWORD)]).output().unwrap();
    assert!(output.status.success(), "{}", printed(&output));
}

#[tokio::test]
async fn a_broker_certificate_from_another_ca_is_refused_and_logged_without_the_password() {
    let stack = Stack::new().await.over_tls();
    let wrong = other_ca(&stack.dir);
    let extra = format!("[amqp]\npassword_env = \"E2E_TLS_AMQP_PASSWORD\"\nca_file = \"{}\"\n", wrong.display());
    let config = stack.config_file(&[], &extra);
    let log = stack.dir.join("worker.log");
    let file = std::fs::File::create(&log).unwrap();
    let mut child = erasure(&config, &["run", "--only", "intake"], &[("E2E_TLS_AMQP_PASSWORD", "guest")])
        .stdout(file.try_clone().unwrap())
        .stderr(file)
        .spawn()
        .unwrap();
    let read = || std::fs::read_to_string(&log).unwrap_or_default();
    wait_until(Duration::from_secs(30), "the refused broker connection to be logged", || async {
        read().matches("Cannot connect to RabbitMQ.").count() >= 2
    })
    .await;
    child.kill().unwrap();
    child.wait().unwrap();
    let text = read();
    let line = text.lines().find(|l| l.contains("Cannot connect to RabbitMQ.")).unwrap();
    assert!(line.contains("certificate") || line.contains("UnknownIssuer"), "the reason is given: {line}");
    assert!(!text.contains("guest:guest"), "the password never prints: {text}");
    assert!(!text.contains("Connected to RabbitMQ."), "{text}");
}

#[tokio::test]
async fn an_unreadable_ca_file_stops_start_up_naming_the_key_and_the_file() {
    let stack = Stack::new().await;
    let missing = stack.dir.join("no-such-ca.pem");
    for key in ["database", "amqp"] {
        let config = stack.config_file(&[], &format!("[{key}]\nca_file = \"{}\"\n", missing.display()));
        let output = erasure(&config, &["check-config"], &[]).output().unwrap();
        let text = printed(&output);
        assert!(!output.status.success(), "{text}");
        assert!(text.contains(&format!("`{key}.ca_file`")), "the key is named: {text}");
        assert!(text.contains(config.to_str().unwrap()), "the config file is named: {text}");
        assert!(text.contains(missing.to_str().unwrap()), "the CA file is named: {text}");
    }
    let garbage = stack.dir.join("garbage.pem");
    std::fs::write(&garbage, "this is not PEM\n").unwrap();
    let config = stack.config_file(&[], &format!("[database]\nca_file = \"{}\"\n", garbage.display()));
    let text = printed(&erasure(&config, &["check-config"], &[]).output().unwrap());
    assert!(text.contains("`database.ca_file`") && text.contains("holds no certificate"), "{text}");
}

/// The `sql` connector through the worker, against a database that refuses plain connections:
/// it connects as a member of the stack's `erasure_tls_only` role (`hostnossl ... reject` in
/// pg_hba.conf), with no `sslmode` (loopback: `prefer`) and `connectors.NAME.ca_file` naming the
/// stack's CA, and erases the person's rows. A bad `ca_file` stops start-up naming that key.
#[tokio::test]
async fn the_sql_connector_erases_from_a_database_that_requires_tls_with_its_ca_file() {
    let stack = Stack::new().await;
    let role = format!("tls_{}", &Uuid::new_v4().simple().to_string()[..12]);
    let db = stack.db().await;
    db.batch_execute(&format!(
        "CREATE ROLE {role} LOGIN IN ROLE erasure_tls_only; CREATE TABLE customers (email text);
         GRANT ALL ON customers TO {role};
         INSERT INTO customers VALUES ('tess@example.com'), ('tess@example.com'), ('other@example.com')"
    ))
    .await
    .unwrap();
    let mut url = url::Url::parse(&stack.db_url).unwrap();
    url.set_username(&role).unwrap();
    url.set_query(None);
    let plain = with_param(url.as_str(), "sslmode", "disable");
    assert!(tokio_postgres::connect(&plain, tokio_postgres::NoTls).await.is_err(), "the role is refused plain");

    let orders = |ca_file: &Path| {
        format!(
            "[connectors.orders]\nkind = \"sql\"\nurl = \"{url}\"\nca_file = \"{}\"\n\
             lookup = \"SELECT count(*) FROM customers WHERE email = ANY($1)\"\n\
             erase = [\"DELETE FROM customers WHERE email = ANY($1)\"]\n",
            ca_file.display()
        )
    };
    let missing = stack.dir.join("no-such-orders-ca.pem");
    let config = stack.config_file(&[], &orders(&missing));
    let text = printed(&erasure(&config, &["check-config"], &[]).output().unwrap());
    assert!(text.contains("`connectors.orders.ca_file`") && text.contains("no-such-orders-ca.pem"), "{text}");

    let settings = stack.settings(&[], &orders(&stack.tls_ca));
    stack.declare_queues(&settings).await;
    let worker = Worker::start(settings, Arc::new(SystemClock));
    let id = Uuid::new_v4();
    stack.publish(&bytes(&request(id, "tess@example.com", chrono::Utc::now())), None).await;
    stack.wait_for_state(id, "completed", Duration::from_secs(30)).await;
    let left: Vec<String> =
        db.query("SELECT email FROM customers", &[]).await.unwrap().iter().map(|r| r.get(0)).collect();
    assert_eq!(left, ["other@example.com"]);
    worker.stop().await;
}
