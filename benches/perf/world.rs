//! One scenario's world on the stack `scripts/bench` started: its own database and queue names,
//! the simulator as its own `erasure-sim` process seeded with the scenario's people, the worker
//! config, and the worker processes (`erasure run`, release build).

use crate::people::{self, Person, ES_FIELD, ES_INDEX};
use crate::traffic::{self, Outcomes, SIGNING_KEY, SIGNING_KEY_ID};
use crate::usage::Pids;
use lapin::options::QueueDeclareOptions;
use lapin::types::FieldTable;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const HASH_KEY_ENV: &str = "ERASURE_BENCH_HASH_KEY";
const DATA_KEYS_ENV: &str = "ERASURE_BENCH_DATA_KEYS";
const SIGNING_KEY_ENV: &str = "ERASURE_BENCH_SIGNING_KEY";
const SIM_TOKEN_ENV: &str = "ERASURE_BENCH_SIM_TOKEN";
const ES_PASSWORD_ENV: &str = "ERASURE_BENCH_ES_PASSWORD";
const WEBHOOK_SECRET_ENV: &str = "ERASURE_BENCH_WEBHOOK_SECRET";

/// The secrets the config's `*_env` keys name; the simulator's are its documented credentials.
const SECRETS: [(&str, &str); 6] = [
    (HASH_KEY_ENV, "bench-hash-key-0123456789abcdef"),
    (DATA_KEYS_ENV, "b1:YmVuY2gtZGF0YS1rZXktMDEyMzQ1Njc4OWFiY2RlZjA="),
    (SIGNING_KEY_ENV, SIGNING_KEY),
    (SIM_TOKEN_ENV, "sim-token"),
    (ES_PASSWORD_ENV, "sim-password"),
    (WEBHOOK_SECRET_ENV, "bench-webhook-secret-0123456789"),
];

/// The rate-limited webhook system of the rate-limit scenario.
pub const LIMITED: &str = "limited";

/// What the stack exports (`scripts/stack.sh`) and where the binaries are.
pub struct Env {
    pub admin_url: String,
    pub amqp_url: String,
    pub tls_ca: String,
    pub pids: (u32, u32),
    pub erasure_bin: PathBuf,
    pub sim_bin: PathBuf,
    pub out_dir: PathBuf,
}

impl Env {
    pub fn from_stack() -> Env {
        let var = |name: &str| {
            std::env::var(name)
                .unwrap_or_else(|_| panic!("{name} is not set: run scripts/bench, which starts the stack"))
        };
        let pid = |name: &str| var(name).parse::<u32>().unwrap_or_else(|_| panic!("{name} is not a pid"));
        for (name, value) in SECRETS {
            // SAFETY: set at start, before anything reads the environment; children inherit them.
            unsafe { std::env::set_var(name, value) };
        }
        let out_dir = PathBuf::from(var("ERASURE_BENCH_OUT"));
        std::fs::create_dir_all(&out_dir).expect("create the output directory");
        Env {
            admin_url: var("ERASURE_TEST_DATABASE_URL"),
            amqp_url: var("ERASURE_TEST_AMQP_URL"),
            tls_ca: var("ERASURE_TEST_TLS_CA"),
            pids: (pid("STACK_PG_PID"), pid("STACK_RABBIT_PID")),
            erasure_bin: PathBuf::from(env!("CARGO_BIN_EXE_erasure")),
            sim_bin: PathBuf::from(var("ERASURE_BENCH_SIM_BIN")),
            out_dir,
        }
    }

    pub async fn admin(&self) -> tokio_postgres::Client {
        connect(&self.admin_url).await
    }
}

pub async fn connect(url: &str) -> tokio_postgres::Client {
    let (client, connection) =
        tokio_postgres::connect(url, tokio_postgres::NoTls).await.expect("connect to PostgreSQL");
    tokio::spawn(connection);
    client
}

/// Options of a world.
pub struct Setup {
    /// The webhook system limited to this many calls per second, besides the four vendors.
    pub limited: Option<u32>,
    /// Zendesk's permanent user deletions per 10 minutes in the simulator.
    pub zendesk_deletions: u32,
}

pub struct World {
    pub name: String,
    pub db_name: String,
    pub db_url: String,
    pub prefix: String,
    pub config: PathBuf,
    pub outcomes: Outcomes,
    pub workers: Vec<Child>,
    sim: Child,
    pub sim_url: String,
    dir: PathBuf,
    amqp_url: String,
    postgres: u32,
    rabbitmq: u32,
    erasure_bin: PathBuf,
}

impl World {
    pub async fn new(env: &Env, name: &str, people: &[Person], setup: &Setup) -> World {
        let id = uuid::Uuid::new_v4().simple().to_string();
        let db_name = format!("bench_{name}_{}", &id[..8]);
        env.admin().await.batch_execute(&format!("CREATE DATABASE {db_name}")).await.expect("create the database");
        let mut db_url = url::Url::parse(&env.admin_url).expect("the database URL");
        db_url.set_path(&db_name);
        let dir = env.out_dir.join(name);
        std::fs::create_dir_all(&dir).expect("create the scenario directory");

        let seed_file = dir.join("sim-seed.json");
        let seed = people::seed(people, setup.limited.map(|_| LIMITED), setup.zendesk_deletions);
        std::fs::write(&seed_file, serde_json::to_vec(&seed).unwrap()).expect("write the seed");
        let port = free_port();
        let sim = Command::new(&env.sim_bin)
            .args(["--listen", &format!("127.0.0.1:{port}"), "--secret-env", WEBHOOK_SECRET_ENV, "--seed"])
            .arg(&seed_file)
            .stdout(Stdio::null())
            .stderr(log_file(&dir.join("sim.log")))
            .spawn()
            .expect("start erasure-sim");
        let sim_url = format!("http://127.0.0.1:{port}");
        wait_health(&sim_url).await;
        std::fs::remove_file(&seed_file).ok();

        let prefix = format!("bench{}.", &id[..8]);
        let config = dir.join("worker.toml");
        std::fs::write(&config, config_text(env, db_url.as_str(), &prefix, &sim_url, setup.limited))
            .expect("write the worker config");
        let settings = erasure_worker::config::Settings::load_with_env(Some(&config), Default::default())
            .expect("the benchmark's worker config loads");
        let store = erasure_worker::store::Store::connect(
            &settings.database_url().unwrap(),
            2,
            &settings.database_tls().unwrap(),
        )
        .unwrap();
        store.migrate().await.expect("migrate the benchmark database");
        let connection = traffic::connect(&env.amqp_url).await;
        let channel = connection.create_channel().await.unwrap();
        let broker = erasure_worker::amqp::Broker::new(settings.amqp_urls().unwrap(), settings.amqp.clone());
        broker.declare_topology(&channel).await.expect("declare the queues");
        connection.close(200, "done".into()).await.ok();
        let outcomes = Outcomes::listen(&env.amqp_url, &format!("{prefix}erasure.events")).await;
        World {
            name: name.to_string(),
            db_name,
            db_url: db_url.to_string(),
            prefix,
            config,
            outcomes,
            workers: Vec::new(),
            sim,
            sim_url,
            dir,
            amqp_url: env.amqp_url.clone(),
            postgres: env.pids.0,
            rabbitmq: env.pids.1,
            erasure_bin: env.erasure_bin.clone(),
        }
    }

    pub fn requests_queue(&self) -> String {
        format!("{}erasure.requests", self.prefix)
    }

    pub fn pids(&self) -> Pids {
        Pids {
            workers: self.workers.iter().map(Child::id).collect(),
            postgres: self.postgres,
            rabbitmq: self.rabbitmq,
            simulator: self.sim.id(),
        }
    }

    pub async fn db(&self) -> tokio_postgres::Client {
        connect(&self.db_url).await
    }

    /// Start `n` more worker processes and wait until each consumes the intake queue.
    pub async fn start_workers(&mut self, n: usize) {
        self.start_workers_only(n, None).await
    }

    /// The same, running only these loops (`--only intake`) when given.
    pub async fn start_workers_only(&mut self, n: usize, only: Option<&str>) {
        for _ in 0..n {
            let i = self.workers.len();
            let only: Vec<&str> = only.map(|o| vec!["--only", o]).unwrap_or_default();
            let child = Command::new(&self.erasure_bin)
                .args(["--config", self.config.to_str().unwrap(), "run"])
                .args(&only)
                .stdout(log_file(&self.dir.join(format!("worker-{i}.log"))))
                .stderr(log_file(&self.dir.join(format!("worker-{i}.log"))))
                .spawn()
                .expect("start the erasure binary");
            self.workers.push(child);
        }
        let connection = traffic::connect(&self.amqp_url).await;
        let channel = connection.create_channel().await.unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let options = QueueDeclareOptions { passive: true, ..Default::default() };
            let queue = channel
                .queue_declare(self.requests_queue().as_str().into(), options, FieldTable::default())
                .await
                .expect("the intake queue exists");
            if queue.consumer_count() as usize >= self.workers.len() {
                break;
            }
            for (i, worker) in self.workers.iter_mut().enumerate() {
                if let Ok(Some(status)) = worker.try_wait() {
                    panic!("worker {i} exited with {status}; log in {}", self.dir.display());
                }
            }
            assert!(Instant::now() < deadline, "the workers did not consume the intake queue within 60 s");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        connection.close(200, "done".into()).await.ok();
    }

    /// SIGTERM every worker and wait for each to exit; they must exit cleanly.
    pub async fn stop_workers(&mut self) {
        for worker in &self.workers {
            Command::new("kill").args(["-TERM", &worker.id().to_string()]).status().expect("kill -TERM");
        }
        for (i, mut worker) in std::mem::take(&mut self.workers).into_iter().enumerate() {
            let status = tokio::task::spawn_blocking(move || worker.wait()).await.unwrap().expect("wait for a worker");
            assert!(status.success(), "worker {i} exited with {status} after SIGTERM; log in {}", self.dir.display());
        }
    }

    /// How many calls each second the simulator recorded for `system`, from the first call's
    /// second to the last's: the arrivals it saw.
    pub async fn arrivals_per_second(&self, system: &str) -> Vec<u32> {
        let calls: Vec<serde_json::Value> = reqwest::get(format!("{}/_sim/calls?system={system}", self.sim_url))
            .await
            .expect("ask the simulator for its calls")
            .json()
            .await
            .expect("the calls are JSON");
        let at: Vec<u64> = calls.iter().filter_map(|c| c["at_ms"].as_u64()).map(|ms| ms / 1000).collect();
        let (Some(first), Some(last)) = (at.iter().min(), at.iter().max()) else { return Vec::new() };
        let mut counts = vec![0u32; (last - first + 1) as usize];
        for second in &at {
            counts[(second - first) as usize] += 1;
        }
        counts
    }
}

impl Drop for World {
    fn drop(&mut self) {
        for worker in &mut self.workers {
            let _ = worker.kill();
            let _ = worker.wait();
        }
        let _ = self.sim.kill();
        let _ = self.sim.wait();
    }
}

fn log_file(path: &Path) -> std::fs::File {
    std::fs::OpenOptions::new().create(true).append(true).open(path).expect("open a log file")
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

async fn wait_health(url: &str) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while reqwest::get(format!("{url}/_sim/health")).await.map(|r| r.status().is_success()).ok() != Some(true) {
        assert!(Instant::now() < deadline, "the simulator did not answer within 120 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The worker's config: production settings where they matter (quorum queues, publisher confirms,
/// signed intake, data keys, verification on: all defaults), the four vendors on the simulator
/// without a `requests_per_second` (the simulator does not limit them), and, in the rate-limit
/// scenario, the webhook system limited to `limited` calls per second (the shared limiter).
/// Each vendor system runs 96 attempts at once and claims 64 at a time: the simulator answers at
/// once, so an attempt's time is mostly commits (its progress, the outcome writer's batch), and
/// more attempts in flight share those commits (3,000 burst, 32 at once: 63 requests/s; 96: 87).
fn config_text(env: &Env, db_url: &str, prefix: &str, sim: &str, limited: Option<u32>) -> String {
    let mut text = format!(
        r#"# scripts/bench: the worker's config (everything else is config/default.toml).
[database]
url = "{db_url}"
ca_file = "{ca}"
# Sized for the runner's slots below: with 32 connections, intake (32 deliveries at once) held
# the pool while the runner and the outcome writer waited for it (3,000 burst: 63 requests/s;
# with these sizes 87).
pool_size = 64

[amqp]
urls = ["{amqp}"]
requests_queue = "{prefix}erasure.requests"
dead_letter_queue = "{prefix}erasure.requests.dlq"
events_exchange = "{prefix}erasure.events"
prefetch = 256

[intake]
# Half the pool: intake keeps up (3,000 admitted in under 7 s) and leaves the rest to the runner.
concurrency = 16
signing_keys = [{{ id = "{SIGNING_KEY_ID}", secret_env = "{SIGNING_KEY_ENV}" }}]
# The mass-deletion brake would hold a burst for an operator: above the benchmark's sizes.
brake_max_requests = 100000000

[runner]
claim_batch = 64

[security]
hash_key_env = "{HASH_KEY_ENV}"

[encryption]
keys_env = "{DATA_KEYS_ENV}"

[api]
listen = "127.0.0.1:0"

[log]
format = "json"
level = "warn"

[connectors.zendesk]
kind = "zendesk"
base_url = "{sim}/zendesk"
email = "erasure-bot@sim.invalid"
api_token_env = "{SIM_TOKEN_ENV}"
check_after = "100ms"
concurrency = 96

[connectors.intercom]
kind = "intercom"
base_url = "{sim}/intercom"
access_token_env = "{SIM_TOKEN_ENV}"
concurrency = 96

[connectors.twilio]
kind = "twilio"
base_url = "{sim}/twilio"
account_sid = "AC0123456789abcdef0123456789abcdef"
auth_token_env = "{SIM_TOKEN_ENV}"
concurrency = 96

[connectors.elasticsearch]
kind = "elasticsearch"
base_url = "{sim}/elasticsearch"
index = "{ES_INDEX}"
fields = ["{ES_FIELD}"]
username = "elastic"
password_env = "{ES_PASSWORD_ENV}"
check_after = "100ms"
concurrency = 96
"#,
        ca = env.tls_ca,
        amqp = env.amqp_url,
    );
    if let Some(rate) = limited {
        text.push_str(&format!(
            r#"
[connectors.{LIMITED}]
kind = "webhook"
url = "{sim}/webhook/{LIMITED}"
secret_env = "{WEBHOOK_SECRET_ENV}"
allow_insecure_http = true
concurrency = 96
requests_per_second = {rate}
"#
        ));
    }
    text
}
