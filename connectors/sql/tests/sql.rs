//! The sql connector against a real PostgreSQL (started by scripts/test): the conformance
//! kit's checks that apply to a database (the HTTP fault checks do not), and how SQL errors are
//! classified.

use erasure_connector::testkit::{Kit, Mock, MockFault};
use erasure_connector::{async_trait, Connector, Ctx, HttpClient, Outcome, Secrets, Subject};
use erasure_connector_sql::{Config, Sql};
use std::sync::Arc;
use std::time::Duration;

const SCHEMA: &str =
    "CREATE TABLE customers (id serial PRIMARY KEY, email text, phone text, user_id text, ext_id text);
                      CREATE TABLE notes (customer_email text, body text)";

async fn database() -> String {
    let admin = std::env::var("ERASURE_TEST_DATABASE_URL").expect("ERASURE_TEST_DATABASE_URL: run scripts/test");
    let (client, connection) = tokio_postgres::connect(&admin, tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(connection);
    let name = format!("sql_{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
    client.batch_execute(&format!("CREATE DATABASE {name}")).await.unwrap();
    let mut url = url::Url::parse(&admin).unwrap();
    url.set_path(&name);
    let (db, connection) = tokio_postgres::connect(url.as_str(), tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(connection);
    db.batch_execute(SCHEMA).await.unwrap();
    url.to_string()
}

fn config(url: &str) -> Config {
    Config {
        url: url.to_string(),
        // The test server offers TLS, so `prefer` (loopback) takes it and verifies it.
        ca_file: Some(std::env::var("ERASURE_TEST_TLS_CA").expect("ERASURE_TEST_TLS_CA: run scripts/test").into()),
        password_env: None,
        lookup:
            "SELECT count(*) FROM customers WHERE email = ANY($1) OR phone = ANY($2) OR user_id = $3 OR ext_id = $4"
                .into(),
        erase: vec![
            "DELETE FROM notes WHERE customer_email = ANY($1)".into(),
            "DELETE FROM customers WHERE email = ANY($1) OR phone = ANY($2) OR user_id = $3 OR ext_id = $4".into(),
        ],
        max_connections: 2,
    }
}

fn sql(config: Config) -> Sql {
    Sql::new(config, &Secrets::default(), HttpClient::unlimited("sql", Duration::from_secs(5))).unwrap()
}

struct Database {
    url: String,
}

impl Database {
    async fn client(&self) -> tokio_postgres::Client {
        let (client, connection) = tokio_postgres::connect(&self.url, tokio_postgres::NoTls).await.unwrap();
        tokio::spawn(connection);
        client
    }
}

#[async_trait]
impl Mock for Database {
    async fn seed(&self, subject: &Subject, records: u64) {
        let client = self.client().await;
        for _ in 0..records {
            client.execute("INSERT INTO customers (email) VALUES ($1)", &[&subject.emails()[0]]).await.unwrap();
            client
                .execute("INSERT INTO notes (customer_email, body) VALUES ($1, 'x')", &[&subject.emails()[0]])
                .await
                .unwrap();
        }
    }

    async fn remaining(&self, subject: &Subject) -> u64 {
        let row = self
            .client()
            .await
            .query_one("SELECT count(*) FROM customers WHERE email = $1", &[&subject.emails()[0]])
            .await
            .unwrap();
        row.get::<_, i64>(0) as u64
    }

    async fn inject(&self, fault: MockFault) {
        panic!("a database has no HTTP faults to inject ({fault:?})");
    }

    fn is_async(&self) -> bool {
        false
    }

    fn more_than_a_page(&self) -> u64 {
        250
    }
}

#[tokio::test]
async fn the_conformance_checks_that_apply_to_a_database() {
    let url = database().await;
    let http = HttpClient::unlimited("sql", Duration::from_secs(5));
    let connector = Arc::new(sql(config(&url)));
    let kit = Kit::new(connector, Arc::new(Database { url }), http);
    kit.erases_when_present().await;
    kit.nothing_to_erase_when_absent().await;
    kit.a_second_erase_is_harmless().await;
    kit.pagination_beyond_one_page().await;
    kit.lookup_sees_data_then_none().await;
    kit.hostile_identifiers_never_widen_the_erasure().await;
}

#[tokio::test]
async fn every_statement_runs_in_one_transaction_and_reports_its_rows() {
    let url = database().await;
    let db = Database { url: url.clone() };
    let client = db.client().await;
    client
        .batch_execute(
            "INSERT INTO customers (email, user_id) VALUES ('a@x.io', 'u1'), (NULL, 'u1'), ('b@x.io', NULL);
                          INSERT INTO notes VALUES ('a@x.io', 'n1'), ('a@x.io', 'n2')",
        )
        .await
        .unwrap();
    let subject = Subject::new(erasure_connector::subject::RawSubject {
        user_id: Some("u1".into()),
        emails: vec!["A@X.IO".into()],
        ..Default::default()
    })
    .unwrap();
    let connector = sql(config(&url));
    let ctx = Ctx::standalone("orders", HttpClient::unlimited("sql", Duration::from_secs(5)));
    let Outcome::Erased(evidence) = connector.erase(&ctx, &subject).await else { panic!("erased") };
    assert_eq!(evidence.counts["statement_1_rows"], 2);
    assert_eq!(evidence.counts["statement_2_rows"], 2);
    assert_eq!(evidence.counts["rows"], 4);
    let left: i64 = client.query_one("SELECT count(*) FROM customers", &[]).await.unwrap().get(0);
    assert_eq!(left, 1, "only b@x.io is left");

    let mut broken = config(&url);
    broken.erase.push("DELETE FROM no_such_table WHERE x = $3".into());
    client
        .batch_execute("INSERT INTO customers (email) VALUES ('c@x.io'); INSERT INTO notes VALUES ('c@x.io', 'n')")
        .await
        .unwrap();
    let c =
        Subject::new(erasure_connector::subject::RawSubject { emails: vec!["c@x.io".into()], ..Default::default() })
            .unwrap();
    match sql(broken).erase(&ctx, &c).await {
        Outcome::Failed { reason } => {
            assert!(reason.contains("42P01") && !reason.contains("c@x.io"), "{reason}");
        }
        other => panic!("a missing table needs a human: {other:?}"),
    }
    let notes: i64 =
        client.query_one("SELECT count(*) FROM notes WHERE customer_email = 'c@x.io'", &[]).await.unwrap().get(0);
    assert_eq!(notes, 1, "the failed transaction erased nothing");
}

/// PostgreSQL quotes a value it cannot read (`invalid input syntax for type integer: "..."`);
/// the failure reason carries the SQLSTATE and a fixed sentence, never that message.
#[tokio::test]
async fn a_failure_reason_never_quotes_the_servers_message() {
    let url = database().await;
    let db = Database { url: url.clone() };
    db.client().await.batch_execute("INSERT INTO customers (user_id) VALUES ('u-secret-77')").await.unwrap();
    let mut typed = config(&url);
    typed.erase = vec!["DELETE FROM customers WHERE id = ($3)::int".into()];
    let subject = Subject::new(erasure_connector::subject::RawSubject {
        user_id: Some("u-secret-77".into()),
        ..Default::default()
    })
    .unwrap();
    let ctx = Ctx::standalone("orders", HttpClient::unlimited("sql", Duration::from_secs(5)));
    match sql(typed).erase(&ctx, &subject).await {
        Outcome::Failed { reason } => {
            assert!(reason.contains("22P02"), "{reason}");
            assert!(!reason.contains("u-secret-77") && !reason.contains("invalid input"), "{reason}");
        }
        other => panic!("a value the statement cannot read needs a human: {other:?}"),
    }
}

#[tokio::test]
async fn an_unreachable_database_is_a_retry_and_a_bad_statement_fails_the_healthcheck() {
    let url = database().await;
    let mut unreachable = url::Url::parse(&url).unwrap();
    unreachable.set_port(Some(1)).unwrap();
    let connector = sql(config(unreachable.as_str()));
    let ctx = Ctx::standalone("orders", HttpClient::unlimited("sql", Duration::from_secs(5)));
    let subject =
        Subject::new(erasure_connector::subject::RawSubject { emails: vec!["d@x.io".into()], ..Default::default() })
            .unwrap();
    assert!(matches!(connector.erase(&ctx, &subject).await, Outcome::Retry { throttled: false, .. }));

    let mut typo = config(&url);
    typo.lookup = "SELEC count(*) FROM customers".into();
    let failure = sql(typo).healthcheck().await.unwrap_err();
    assert!(failure.reason.contains("42601"), "{}", failure.reason);
    sql(config(&url)).healthcheck().await.unwrap();
}

/// A database only a role in `erasure_tls_only` may use: `scripts/stack.sh` puts that group in
/// `pg_hba.conf` as refused unless the connection is TLS (`hostnossl ... reject`). Returns the
/// connector's URL (that role, `sslmode=require`) and a plain admin URL of the same database.
async fn tls_only_database() -> (String, String) {
    let admin = std::env::var("ERASURE_TEST_DATABASE_URL").expect("ERASURE_TEST_DATABASE_URL: run scripts/test");
    let (client, connection) = tokio_postgres::connect(&admin, tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(connection);
    let id = &uuid::Uuid::new_v4().simple().to_string()[..12];
    let (role, name) = (format!("tls_{id}"), format!("sql_tls_{id}"));
    client.batch_execute(&format!("CREATE ROLE {role} LOGIN IN ROLE erasure_tls_only")).await.unwrap();
    client.batch_execute(&format!("CREATE DATABASE {name}")).await.unwrap();
    let mut admin_url = url::Url::parse(&admin).unwrap();
    admin_url.set_path(&name);
    let (db, connection) = tokio_postgres::connect(admin_url.as_str(), tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(connection);
    db.batch_execute(SCHEMA).await.unwrap();
    db.batch_execute(&format!(
        "GRANT ALL ON ALL TABLES IN SCHEMA public TO {role}; GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO {role}"
    ))
    .await
    .unwrap();
    let mut url = admin_url.clone();
    url.set_username(&role).unwrap();
    url.query_pairs_mut().append_pair("sslmode", "require");
    (url.to_string(), admin_url.to_string())
}

/// A second throwaway CA that signed nothing the server presents.
fn other_ca() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("erasure-sql-tls-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
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

fn ana() -> Subject {
    Subject::new(erasure_connector::subject::RawSubject { emails: vec!["ana@x.io".into()], ..Default::default() })
        .unwrap()
}

async fn seed_ana(admin_url: &str) -> tokio_postgres::Client {
    let client = Database { url: admin_url.to_string() }.client().await;
    client
        .batch_execute("INSERT INTO customers (email) VALUES ('ana@x.io'); INSERT INTO notes VALUES ('ana@x.io', 'n')")
        .await
        .unwrap();
    client
}

/// The server refuses this role any plain connection, so the erasure below happened over TLS,
/// verified against `ca_file` (the stack's CA). Before the connector used the SDK's TLS
/// connector it connected with `NoTls` and could not reach such a database at all.
#[tokio::test]
async fn a_database_that_requires_tls_is_erased_over_tls_verified_with_the_ca_file() {
    let (url, admin_url) = tls_only_database().await;
    let client = seed_ana(&admin_url).await;
    let mut plain = url::Url::parse(&url).unwrap();
    plain.query_pairs_mut().clear().append_pair("sslmode", "disable");
    let refused = tokio_postgres::connect(plain.as_str(), tokio_postgres::NoTls).await.err();
    assert!(refused.is_some(), "the server refuses this role a plain connection");

    let connector = sql(config(&url));
    connector.healthcheck().await.unwrap();
    let ctx = Ctx::standalone("orders", HttpClient::unlimited("sql", Duration::from_secs(5)));
    let Outcome::Erased(evidence) = connector.erase(&ctx, &ana()).await else { panic!("erased over TLS") };
    assert_eq!(evidence.counts["rows"], 2);
    let left: i64 = client.query_one("SELECT count(*) FROM customers", &[]).await.unwrap().get(0);
    assert_eq!(left, 0);
}

/// A certificate that does not chain to `ca_file` is refused: the erasure fails for a human to
/// look at, with a fixed sentence that names the key to check and quotes nothing (no password,
/// role, host or database name), and nothing is erased.
#[tokio::test]
async fn a_database_certificate_from_another_ca_is_refused_with_a_clear_reason_that_quotes_nothing() {
    let (url, admin_url) = tls_only_database().await;
    let client = seed_ana(&admin_url).await;
    let password = "db-SECRET-sql-tls-8e7d6c5b";
    let mut wrong = config(&url);
    wrong.ca_file = Some(other_ca());
    wrong.password_env = Some("SQL_TLS_PASSWORD".into());
    let connector =
        Sql::new(wrong, &Secrets::one("password_env", password), HttpClient::unlimited("sql", Duration::from_secs(5)))
            .unwrap();
    let ctx = Ctx::standalone("orders", HttpClient::unlimited("sql", Duration::from_secs(5)));
    let Outcome::Failed { reason } = connector.erase(&ctx, &ana()).await else { panic!("a wrong CA needs a human") };
    assert_eq!(
        reason,
        "no database connection: the server's TLS certificate is not signed by a trusted CA (check ca_file)"
    );
    let failure = connector.healthcheck().await.unwrap_err();
    assert_eq!(failure.reason, reason);
    let role = url::Url::parse(&url).unwrap().username().to_string();
    for value in [password, role.as_str(), "127.0.0.1", "sql_tls_"] {
        assert!(!reason.contains(value), "{reason}");
    }
    let left: i64 = client.query_one("SELECT count(*) FROM customers", &[]).await.unwrap().get(0);
    assert_eq!(left, 1, "nothing was erased");
}
