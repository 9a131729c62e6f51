//! Test support: a fresh database and fresh queue names per test on the real PostgreSQL and
//! RabbitMQ that `scripts/test` starts, the vendor simulator in-process, and the worker either
//! in-process (injected clock) or as a real `erasure` process (for kill and signal tests).

use erasure_sim::{Sim, SimOptions};
use erasure_worker::clock::Clock;
use erasure_worker::config::Settings;
use erasure_worker::shutdown::Shutdown;
use erasure_worker::Components;
use futures_util::StreamExt;
use lapin::options::*;
use lapin::types::FieldTable;
use lapin::{BasicProperties, Connection, ConnectionProperties};
use std::collections::BTreeMap;
use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

pub const HASH_KEY_ENV: &str = "ERASURE_TEST_HASH_KEY";
pub const DATA_KEYS_ENV: &str = "ERASURE_TEST_DATA_KEYS";
/// Two data keys (`id:base64` of 32 bytes), the first sealing; worker processes inherit them.
pub const DATA_KEYS: &str =
    "t2:dGVzdC1kYXRhLWtleS10d28tMDEyMzQ1Njc4OWFiY2Q=,t1:dGVzdC1kYXRhLWtleS1vbmUtMDEyMzQ1Njc4OWFiY2Q=";
pub const WEBHOOK_SECRET_ENV: &str = "ERASURE_TEST_WEBHOOK_SECRET";
pub const WEBHOOK_SECRET: &str = "test-webhook-secret-0123456789";

fn required_env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: run the tests with scripts/test, which starts PostgreSQL and RabbitMQ")
    })
}

/// One test's world: its own database, queue names and simulator.
pub struct Stack {
    pub db_url: String,
    pub amqp_url: String,
    pub prefix: String,
    pub sim: Sim,
    pub dir: PathBuf,
    /// The stack's throwaway CA (`ERASURE_TEST_TLS_CA`): it signed both servers' certificate.
    /// Every worker config names it as `database.ca_file`, since the server offers TLS and
    /// the default `sslmode=prefer` then verifies.
    pub tls_ca: PathBuf,
}

/// A connector instance for the test config: name, extra TOML lines.
pub struct Instance<'a> {
    pub name: &'a str,
    pub extra: &'a str,
}

impl Stack {
    pub async fn new() -> Stack {
        // SAFETY: each test runs in its own process (nextest); set before any thread reads them.
        unsafe {
            std::env::set_var(HASH_KEY_ENV, "test-hash-key-0123456789abcdef");
            std::env::set_var(DATA_KEYS_ENV, DATA_KEYS);
            std::env::set_var(WEBHOOK_SECRET_ENV, WEBHOOK_SECRET);
        }
        let admin_url = required_env("ERASURE_TEST_DATABASE_URL");
        let amqp_url = required_env("ERASURE_TEST_AMQP_URL");
        let id = Uuid::new_v4().simple().to_string();
        let db_name = format!("t_{}", &id[..16]);
        let tls_ca = PathBuf::from(required_env("ERASURE_TEST_TLS_CA"));
        let (admin, connection) =
            tokio_postgres::connect(&admin_url, tokio_postgres::NoTls).await.expect("connect to the test PostgreSQL");
        tokio::spawn(connection);
        admin.batch_execute(&format!("CREATE DATABASE {db_name}")).await.expect("create the test database");
        let mut db_url = url::Url::parse(&admin_url).expect("database URL");
        db_url.set_path(&db_name);
        let sim = Sim::start(
            "127.0.0.1:0".parse().unwrap(),
            SimOptions { webhook_secret: WEBHOOK_SECRET.into(), ..SimOptions::default() },
        )
        .await
        .expect("start the simulator");
        let dir = std::env::temp_dir().join(format!("erasure-test-{id}"));
        std::fs::create_dir_all(&dir).unwrap();
        Stack { db_url: db_url.to_string(), amqp_url, prefix: format!("t{}.", &id[..8]), sim, dir, tls_ca }
    }

    /// Everything over TLS: the database URL gets `sslmode=require`, and the broker URL is the
    /// TLS listener's (`ERASURE_TEST_AMQPS_URL`) for the worker and for this test's own
    /// publishing and reading alike.
    pub fn over_tls(mut self) -> Stack {
        let mut db_url = url::Url::parse(&self.db_url).unwrap();
        db_url.query_pairs_mut().append_pair("sslmode", "require");
        self.db_url = db_url.to_string();
        self.amqp_url = required_env("ERASURE_TEST_AMQPS_URL");
        self
    }

    /// The TLS connector for this stack's PostgreSQL (trusts its CA only).
    pub fn postgres_tls(&self) -> erasure_connector::tls::PostgresTls {
        erasure_connector::tls::PostgresTls::new(Some(&self.tls_ca)).expect("the stack's CA loads")
    }

    pub fn requests_queue(&self) -> String {
        format!("{}erasure.requests", self.prefix)
    }

    pub fn dead_letter_queue(&self) -> String {
        format!("{}erasure.requests.dlq", self.prefix)
    }

    pub fn events_exchange(&self) -> String {
        format!("{}erasure.events", self.prefix)
    }

    /// The test config, as a TOML file layered over the defaults (the real loader reads it).
    /// `extra` is TOML merged over the test's base, key by key. Verification is off in the base
    /// (completed requests stay completed, as tests of other things expect); the verification
    /// tests turn it on with `[verification] enabled = true`.
    pub fn config_file(&self, instances: &[Instance<'_>], extra: &str) -> PathBuf {
        let mut base = format!(
            "[database]\nurl = \"{}\"\npool_size = 8\nca_file = \"{}\"\n\n[amqp]\nurls = [\"{}\"]\nca_file = \"{}\"\nrequests_queue = \"{}\"\ndead_letter_queue = \"{}\"\nevents_exchange = \"{}\"\nreconnect_max_delay = \"1s\"\n\n\
             [runner]\npoll_interval = \"100ms\"\nretry_base = \"10s\"\nretry_cap = \"10m\"\ndrain_timeout = \"5s\"\n\n\
             [intake]\nrequire_signature = false\n\n[verification]\nenabled = false\n\n[outbox]\npoll_interval = \"100ms\"\n\n[api]\nlisten = \"127.0.0.1:0\"\n\n[security]\nhash_key_env = \"{HASH_KEY_ENV}\"\n\n[encryption]\nkeys_env = \"{DATA_KEYS_ENV}\"\n\n[log]\nformat = \"text\"\nlevel = \"info\"\n",
            self.db_url,
            self.tls_ca.display(),
            self.amqp_url,
            self.tls_ca.display(),
            self.requests_queue(),
            self.dead_letter_queue(),
            self.events_exchange(),
        );
        for i in instances {
            base.push_str(&format!(
                "\n[connectors.{}]\nkind = \"webhook\"\nurl = \"{}\"\nsecret_env = \"{WEBHOOK_SECRET_ENV}\"\ntimeout = \"2s\"\nallow_insecure_http = true\n",
                i.name,
                self.sim.webhook_url(i.name),
            ));
        }
        let mut table: toml::Table = base.parse().unwrap();
        merge(&mut table, extra.parse().expect("the extra config is TOML"));
        for i in instances {
            let connector = table["connectors"][i.name].as_table().unwrap().clone();
            let mut connector = connector;
            merge(&mut connector, i.extra.parse().expect("the instance config is TOML"));
            table["connectors"].as_table_mut().unwrap().insert(i.name.to_string(), toml::Value::Table(connector));
        }
        let path = self.dir.join(format!("config-{}.toml", Uuid::new_v4().simple()));
        std::fs::write(&path, toml::to_string(&table).unwrap()).unwrap();
        path
    }

    pub fn settings(&self, instances: &[Instance<'_>], extra: &str) -> Settings {
        let path = self.config_file(instances, extra);
        Settings::load_with_env(Some(&path), BTreeMap::new()).expect("the test config loads")
    }

    pub async fn db(&self) -> tokio_postgres::Client {
        let (client, connection) = tokio_postgres::connect(&self.db_url, self.postgres_tls().connector())
            .await
            .expect("connect to the test database");
        tokio::spawn(connection);
        client
    }

    pub async fn amqp(&self) -> Connection {
        let tls = erasure_worker::tls::amqp_tls(Some(&self.tls_ca)).expect("the stack's CA loads");
        let runtime = lapin::runtime::default_runtime().unwrap();
        Connection::connect_with_config(&self.amqp_url, ConnectionProperties::default(), tls, runtime)
            .await
            .expect("connect to the test RabbitMQ")
    }

    /// Publish an intake message the way a product does (persistent, confirmed, mandatory).
    pub async fn publish(&self, body: &[u8], reply_to: Option<&str>) {
        self.publish_with_headers(body, reply_to, FieldTable::default()).await
    }

    pub async fn publish_with_headers(&self, body: &[u8], reply_to: Option<&str>, headers: FieldTable) {
        let mut properties = BasicProperties::default().with_headers(headers);
        if let Some(reply_to) = reply_to {
            properties = properties.with_reply_to(reply_to.into());
        }
        self.publish_with_properties(body, properties).await
    }

    /// Publish with these AMQP properties (persistent and JSON are added).
    pub async fn publish_with_properties(&self, body: &[u8], properties: BasicProperties) {
        let connection = self.amqp().await;
        let channel = connection.create_channel().await.unwrap();
        channel.confirm_select(ConfirmSelectOptions::default()).await.unwrap();
        let properties = properties.with_delivery_mode(2).with_content_type("application/json".into());
        let options = BasicPublishOptions { mandatory: true, ..BasicPublishOptions::default() };
        let confirm = channel
            .basic_publish("".into(), self.requests_queue().as_str().into(), options, body, properties)
            .await
            .unwrap()
            .await
            .unwrap();
        assert!(confirm.is_ack() && confirm.take_message().is_none(), "the intake queue must exist before publishing");
        connection.close(200, "done".into()).await.ok();
    }

    /// An exclusive queue bound to every event, to read what products receive.
    pub async fn events(&self) -> Events {
        let connection = self.amqp().await;
        let channel = connection.create_channel().await.unwrap();
        let options = ExchangeDeclareOptions { durable: true, ..ExchangeDeclareOptions::default() };
        channel
            .exchange_declare(
                self.events_exchange().as_str().into(),
                lapin::ExchangeKind::Topic,
                options,
                FieldTable::default(),
            )
            .await
            .unwrap();
        let queue = channel
            .queue_declare(
                "".into(),
                QueueDeclareOptions { exclusive: true, ..QueueDeclareOptions::default() },
                FieldTable::default(),
            )
            .await
            .unwrap();
        channel
            .queue_bind(
                queue.name().clone(),
                self.events_exchange().as_str().into(),
                "#".into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await
            .unwrap();
        let consumer = channel
            .basic_consume(
                queue.name().clone(),
                "test-events".into(),
                BasicConsumeOptions { no_ack: true, ..BasicConsumeOptions::default() },
                FieldTable::default(),
            )
            .await
            .unwrap();
        Events { _connection: connection, consumer, queue: queue.name().as_str().to_string() }
    }

    /// Declare the worker's queues and migrate its database before the worker starts, so tests
    /// can publish and query at once.
    pub async fn declare_queues(&self, settings: &Settings) {
        let store = erasure_worker::store::Store::connect(
            &settings.database_url().unwrap(),
            2,
            &settings.database_tls().unwrap(),
        )
        .unwrap();
        store.migrate().await.expect("migrate the test database");
        let connection = self.amqp().await;
        let channel = connection.create_channel().await.unwrap();
        let broker = erasure_worker::amqp::Broker::new(settings.amqp_urls().unwrap(), settings.amqp.clone());
        broker.declare_topology(&channel).await.unwrap();
        connection.close(200, "done".into()).await.ok();
    }

    /// Messages in the dead-letter queue: (reason header, body).
    pub async fn dead_letters(&self) -> Vec<(Option<String>, Vec<u8>)> {
        let connection = self.amqp().await;
        let channel = connection.create_channel().await.unwrap();
        let mut out = Vec::new();
        while let Some(message) =
            channel.basic_get(self.dead_letter_queue().as_str().into(), BasicGetOptions { no_ack: true }).await.unwrap()
        {
            out.push((
                erasure_worker::intake::dead_letter_reason(&message.delivery.properties),
                message.delivery.data.clone(),
            ));
        }
        out
    }

    pub async fn request_state(&self, id: Uuid) -> Option<String> {
        let row = self.db().await.query_opt("SELECT state FROM requests WHERE id = $1", &[&id]).await.unwrap();
        row.map(|r| r.get(0))
    }

    /// Wait until the request reaches `state`, or fail after `timeout`.
    pub async fn wait_for_state(&self, id: Uuid, state: &str, timeout: Duration) {
        let db = self.db().await;
        wait_until(timeout, &format!("request to be {state}"), || async {
            let row = db.query_opt("SELECT state FROM requests WHERE id = $1", &[&id]).await.ok().flatten();
            row.map(|r| r.get::<_, String>(0) == state).unwrap_or(false)
        })
        .await;
    }

    /// A request's audit trail: (actor, event, detail), oldest first.
    pub async fn audit_events(&self, id: Uuid) -> Vec<(String, String, serde_json::Value)> {
        let rows = self
            .db()
            .await
            .query("SELECT actor, event, detail FROM audit_log WHERE request_id = $1 ORDER BY id", &[&id])
            .await
            .unwrap();
        rows.iter().map(|r| (r.get(0), r.get(1), r.get(2))).collect()
    }

    /// A store on the test database that seals and opens identifiers with the test's data keys.
    pub fn store(&self, pool_size: usize) -> erasure_worker::store::Store {
        let url = secrecy::SecretString::from(self.db_url.clone());
        erasure_worker::store::Store::connect(&url, pool_size, &self.postgres_tls())
            .unwrap()
            .with_vault(erasure_worker::vault::Vault::parse(DATA_KEYS).unwrap())
    }

    /// A request's subject and reply_to as the worker reads them (opened with the test's keys).
    pub async fn identifiers(&self, id: Uuid) -> Option<erasure_worker::store::sealed::Identifiers> {
        self.store(1).request_identifiers(id).await.unwrap()
    }

    /// Tasks of a request: (connector, state, attempt, next_attempt_at, last_error).
    pub async fn tasks(&self, id: Uuid) -> Vec<TaskRow> {
        let rows = self
            .db()
            .await
            .query(
                "SELECT id, connector, state, attempt, next_attempt_at, last_error, evidence, errors FROM tasks WHERE request_id = $1 ORDER BY connector",
                &[&id],
            )
            .await
            .unwrap();
        rows.iter()
            .map(|r| TaskRow {
                id: r.get(0),
                connector: r.get(1),
                state: r.get(2),
                attempt: r.get(3),
                next_attempt_at: r.get(4),
                last_error: r.get(5),
                evidence: r.get(6),
                errors: r.get(7),
            })
            .collect()
    }
}

#[derive(Debug, Clone)]
pub struct TaskRow {
    pub id: i64,
    pub connector: String,
    pub state: String,
    pub attempt: i32,
    pub next_attempt_at: chrono::DateTime<chrono::Utc>,
    pub last_error: Option<String>,
    pub evidence: Option<serde_json::Value>,
    pub errors: serde_json::Value,
}

pub struct Events {
    _connection: Connection,
    consumer: lapin::Consumer,
    pub queue: String,
}

/// An event as a product receives it.
#[derive(Debug, Clone)]
pub struct Event {
    pub routing_key: String,
    pub message_id: Option<String>,
    pub body: serde_json::Value,
}

impl Events {
    pub async fn next(&mut self, timeout: Duration) -> Option<Event> {
        let delivery = tokio::time::timeout(timeout, self.consumer.next()).await.ok()??.ok()?;
        Some(Event {
            routing_key: delivery.routing_key.as_str().to_string(),
            message_id: delivery.properties.message_id().as_ref().map(|m| m.as_str().to_string()),
            body: serde_json::from_slice(&delivery.data).expect("events are JSON"),
        })
    }
}

/// A worker running in this process.
pub struct Worker {
    shutdown: Shutdown,
    handle: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Worker {
    pub fn start(settings: Settings, clock: Arc<dyn Clock>) -> Worker {
        Worker::start_only(settings, clock, Components::ALL)
    }

    pub fn start_only(settings: Settings, clock: Arc<dyn Clock>, components: Components) -> Worker {
        let shutdown = Shutdown::default();
        let handle = tokio::spawn(erasure_worker::run(settings, clock, components, shutdown.clone()));
        Worker { shutdown, handle }
    }

    pub async fn stop(self) {
        self.shutdown.trigger();
        self.handle.await.expect("the worker task").expect("the worker ran cleanly");
    }
}

/// An API token of the test config; its value goes into the environment variable `env`.
pub struct Token<'a> {
    pub name: &'a str,
    pub env: &'a str,
    pub value: &'a str,
    pub scopes: &'a [&'a str],
}

/// An in-process worker with the API on a free port and these tokens (and `extra` config), once
/// `/healthz` answers; returns the worker and the API's base URL.
pub async fn start_with_api(
    stack: &Stack,
    clock: Arc<dyn Clock>,
    systems: &[Instance<'_>],
    tokens: &[Token<'_>],
    extra: &str,
) -> (Worker, String) {
    start_with_api_keys(stack, clock, systems, tokens, extra, "").await
}

/// `start_with_api` with more `[api]` keys (`api_keys`: TOML lines).
pub async fn start_with_api_keys(
    stack: &Stack,
    clock: Arc<dyn Clock>,
    systems: &[Instance<'_>],
    tokens: &[Token<'_>],
    extra: &str,
    api_keys: &str,
) -> (Worker, String) {
    for token in tokens {
        // SAFETY: set before the worker starts; each test runs in its own process.
        unsafe { std::env::set_var(token.env, token.value) };
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let tokens: Vec<String> = tokens
        .iter()
        .map(|t| format!("{{ name = \"{}\", token_env = \"{}\", scopes = {:?} }}", t.name, t.env, t.scopes))
        .collect();
    let extra =
        format!("{extra}\n[api]\nlisten = \"127.0.0.1:{port}\"\ntokens = [{}]\n{api_keys}\n", tokens.join(", "));
    let settings = stack.settings(systems, &extra);
    stack.declare_queues(&settings).await;
    let worker = Worker::start(settings, clock);
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    poll(Duration::from_secs(15), "the API to listen", || async {
        http.get(format!("{base}/healthz")).send().await.ok().filter(|r| r.status().is_success())
    })
    .await;
    (worker, base)
}

/// A worker running as its own `erasure` process.
pub struct Process {
    pub child: tokio::process::Child,
}

impl Process {
    pub fn start(config: &std::path::Path, log: &std::path::Path) -> Process {
        Process::start_with_env(config, log, &[])
    }

    /// Start with more environment variables (the secrets the config's `*_env` keys name).
    pub fn start_with_env(config: &std::path::Path, log: &std::path::Path, env: &[(&str, &str)]) -> Process {
        Process::spawn(config, log, &[], env)
    }

    /// Start with `--only` these loops (`intake,runner,...`).
    pub fn start_only(config: &std::path::Path, log: &std::path::Path, only: &str) -> Process {
        Process::spawn(config, log, &["--only", only], &[])
    }

    fn spawn(config: &std::path::Path, log: &std::path::Path, run_args: &[&str], env: &[(&str, &str)]) -> Process {
        let log = std::fs::OpenOptions::new().create(true).append(true).open(log).unwrap();
        let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_erasure"))
            .args(["--config", config.to_str().unwrap(), "run"])
            .args(run_args)
            .env(HASH_KEY_ENV, "test-hash-key-0123456789abcdef")
            .env(WEBHOOK_SECRET_ENV, WEBHOOK_SECRET)
            .envs(env.iter().copied())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .expect("start the erasure binary");
        Process { child }
    }

    pub fn pid(&self) -> u32 {
        self.child.id().expect("the process is running")
    }

    pub async fn kill(mut self) {
        self.child.kill().await.expect("SIGKILL the worker");
    }

    /// SIGTERM, then wait for the exit; returns the exit status.
    pub async fn terminate(mut self, within: Duration) -> std::process::ExitStatus {
        let status = std::process::Command::new("kill").args(["-TERM", &self.pid().to_string()]).status().unwrap();
        assert!(status.success());
        tokio::time::timeout(within, self.child.wait())
            .await
            .expect("the worker exits after SIGTERM within the bound")
            .unwrap()
    }
}

pub async fn wait_until<F, Fut>(timeout: Duration, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if check().await {
            return;
        }
        assert!(tokio::time::Instant::now() < deadline, "timed out after {timeout:?} waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A valid v1 message for `email`, with optional extra top-level fields.
pub fn request(id: Uuid, email: &str, requested_at: chrono::DateTime<chrono::Utc>) -> serde_json::Value {
    serde_json::json!({
        "version": 1,
        "request_id": id,
        "subject": { "user_id": format!("u_{}", &id.simple().to_string()[..8]), "emails": [email] },
        "requested_at": requested_at,
        "locale": "fr"
    })
}

pub fn bytes(value: &serde_json::Value) -> Vec<u8> {
    serde_json::to_vec(value).unwrap()
}

/// Poll until `f` yields a value, or fail after `timeout`.
pub async fn poll<T, F, Fut>(timeout: Duration, what: &str, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(value) = f().await {
            return value;
        }
        assert!(tokio::time::Instant::now() < deadline, "timed out after {timeout:?} waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

impl Stack {
    /// Read dead letters until there are `n`.
    pub async fn wait_dead_letters(&self, n: usize, timeout: Duration) -> Vec<(Option<String>, Vec<u8>)> {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut all = Vec::new();
        while all.len() < n {
            assert!(
                tokio::time::Instant::now() < deadline,
                "timed out waiting for {n} dead letters, got {}",
                all.len()
            );
            all.extend(self.dead_letters().await);
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        all
    }
}

fn merge(into: &mut toml::Table, from: toml::Table) {
    for (key, value) in from {
        match (into.get_mut(&key), value) {
            (Some(toml::Value::Table(a)), toml::Value::Table(b)) => merge(a, b),
            (_, value) => {
                into.insert(key, value);
            }
        }
    }
}

/// A request as intake would store it, with one webhook task (5 attempts) per named system.
pub fn new_request(
    id: Uuid,
    systems: &[&str],
    now: chrono::DateTime<chrono::Utc>,
) -> erasure_worker::store::requests::NewRequest {
    use erasure_worker::store::requests::{NewRequest, NewTask};
    NewRequest {
        id,
        body_sha256: vec![1],
        subject: serde_json::json!({ "emails": ["q@example.com"] }),
        subject_hash: "h".into(),
        identifier_hashes: vec![],
        hash_key_ids: vec![],
        locale: None,
        reply_to: None,
        signing_key_id: None,
        requested_at: now,
        deadline_at: now,
        starts_at: None,
        tasks: systems
            .iter()
            .map(|system| NewTask { connector: system.to_string(), kind: "webhook".into(), max_attempts: 5 })
            .collect(),
        traceparent: None,
        brake: None,
    }
}
