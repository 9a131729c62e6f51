//! Secrets never appear in logs, errors or the API: run a real worker with known secret values,
//! make it go through its error paths, and scan everything it printed or answered.

use crate::support::*;
use erasure_sim::{Fault, Sim, SimOptions};
use std::time::Duration;
use uuid::Uuid;

const HASH_KEY: &str = "hk-SECRET-7f3a9c1e5b2d4f6a8c0e";
const WEBHOOK_SECRET: &str = "wh-SECRET-2b4d6f8a0c1e3a5c7e9f";
const DB_PASSWORD: &str = "db-SECRET-9e8d7c6b5a4f3e2d1c0b";
const API_TOKEN: &str = "api-SECRET-1a2b3c4d5e6f7a8b9c0d-0123456789";

#[tokio::test]
async fn no_secret_value_is_ever_printed_or_answered() {
    let stack = Stack::new().await;
    let sim = Sim::start(
        "127.0.0.1:0".parse().unwrap(),
        SimOptions { webhook_secret: WEBHOOK_SECRET.into(), ..SimOptions::default() },
    )
    .await
    .unwrap();
    sim.seed("accounts", "kay@example.com", 1);
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let extra = format!(
        r#"
[database]
password_env = "E2E_DB_PASSWORD"
[security]
hash_key_env = "E2E_HASH_KEY"
[log]
level = "debug,lapin=info,tokio_postgres=info,hyper=info,reqwest=info"
[api]
listen = "127.0.0.1:{port}"
tokens = [{{ name = "ops", token_env = "E2E_API_TOKEN", scopes = ["read", "operate", "submit"] }}]
[connectors.accounts]
url = "{url}"
secret_env = "E2E_WEBHOOK_SECRET"
"#,
        url = sim.webhook_url("accounts")
    );
    let config = stack.config_file(&[Instance { name: "accounts", extra: "" }], &extra);
    let settings = erasure_worker::config::Settings::load_with_env(Some(&config), Default::default()).unwrap();
    // The database password is set but the test server trusts loopback: the worker still runs.
    // SAFETY: set before any worker starts; each test runs in its own process.
    unsafe { std::env::set_var("E2E_DB_PASSWORD", DB_PASSWORD) };
    stack.declare_queues(&settings).await;
    let log = stack.dir.join("secrets.log");
    let env = [
        ("E2E_DB_PASSWORD", DB_PASSWORD),
        ("E2E_HASH_KEY", HASH_KEY),
        ("E2E_API_TOKEN", API_TOKEN),
        ("E2E_WEBHOOK_SECRET", WEBHOOK_SECRET),
    ];
    let run = |args: &[&str]| {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_erasure"));
        command.arg("--config").arg(&config).args(args).envs(env);
        command
    };
    let check = run(&["check-config"]).output().unwrap();
    assert!(check.status.success(), "{check:?}");
    let connector = run(&["connector", "check", "accounts"]).output().unwrap();
    let missing = run(&["check-config"]).env_remove("E2E_WEBHOOK_SECRET").output().unwrap();
    assert!(!missing.status.success());
    assert!(
        String::from_utf8_lossy(&missing.stderr).contains("E2E_WEBHOOK_SECRET is not set"),
        "a missing secret stops start-up clearly"
    );
    // `run` too refuses to start half-configured: before it touches the database or the broker.
    let started = std::time::Instant::now();
    let refused = run(&["run"]).env_remove("E2E_WEBHOOK_SECRET").output().unwrap();
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success(), "the worker ran without its connector's secret");
    assert!(
        stderr.contains("connectors.accounts.secret_env") && stderr.contains("E2E_WEBHOOK_SECRET is not set"),
        "{stderr}"
    );
    assert!(started.elapsed() < Duration::from_secs(10), "it stops at once, without retrying anything");

    let worker_log = std::fs::File::create(&log).unwrap();
    let mut worker = tokio::process::Command::from(run(&["run"]))
        .stdout(worker_log.try_clone().unwrap())
        .stderr(worker_log)
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let http = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}");
    poll(Duration::from_secs(20), "the API", || async {
        http.get(format!("{base}/readyz")).send().await.ok().filter(|r| r.status().is_success())
    })
    .await;
    sim.push_faults("accounts", [Fault::Status { status: 401, retry_after: None }]);
    let id = Uuid::new_v4();
    let submitted = http
        .post(format!("{base}/v1/requests"))
        .bearer_auth(API_TOKEN)
        .json(&request(id, "kay@example.com", chrono::Utc::now()))
        .send()
        .await
        .unwrap();
    assert_eq!(submitted.status(), 201);
    stack.publish(b"{not json", None).await;
    stack.wait_for_state(id, "failed", Duration::from_secs(20)).await;
    let mut answers = Vec::new();
    for token in [API_TOKEN, "wrong", &format!("{API_TOKEN}x")] {
        let response = http.get(format!("{base}/v1/requests/{id}")).bearer_auth(token).send().await.unwrap();
        let headers = format!("{:?}", response.headers());
        answers.push(format!("{headers} {}", response.text().await.unwrap()));
    }
    answers.push(http.get(format!("{base}/metrics")).send().await.unwrap().text().await.unwrap());
    let dead =
        http.get(format!("{base}/v1/dead-letters")).bearer_auth(API_TOKEN).send().await.unwrap().text().await.unwrap();
    answers.push(dead);
    std::process::Command::new("kill").args(["-TERM", &worker.id().unwrap().to_string()]).status().unwrap();
    tokio::time::timeout(Duration::from_secs(15), worker.wait()).await.unwrap().unwrap();

    let mut everything = std::fs::read_to_string(&log).unwrap();
    for output in [&check, &connector, &missing] {
        everything.push_str(&String::from_utf8_lossy(&output.stdout));
        everything.push_str(&String::from_utf8_lossy(&output.stderr));
    }
    everything.push_str(&answers.join("\n"));
    assert!(everything.len() > 2000, "the worker said something ({} bytes)", everything.len());
    // The data keys (inherited from the stack's environment), key by key.
    let data_keys: Vec<&str> = DATA_KEYS.split(',').filter_map(|k| k.split_once(':')).map(|(_, key)| key).collect();
    for secret in [HASH_KEY, WEBHOOK_SECRET, DB_PASSWORD, API_TOKEN].into_iter().chain(data_keys) {
        assert!(!everything.contains(secret), "a secret leaked: {}", &secret[..6]);
    }
    assert!(!everything.contains("kay@example.com"), "no identifier in logs or answers");
}
