//! The worker's image, run for real against the test stack (`scripts/container-test` builds it
//! with `scripts/image` and names it in `ERASURE_TEST_IMAGE`; CI runs it): the container migrates
//! the database, consumes a signed request, erases through the simulator, confirms, serves
//! `/readyz` and `/metrics`, and exits 0 on SIGTERM. Ignored by a plain `scripts/test` (no image
//! there); without `ERASURE_TEST_IMAGE` it fails rather than pass unseen.

use crate::support::*;
use erasure_worker::intake::signature::{sign, KEY_ID_HEADER, SIGNATURE_HEADER};
use lapin::types::{AMQPValue, FieldTable};
use reqwest::StatusCode;
use std::path::{Path, PathBuf};
use std::time::Duration;
use uuid::Uuid;

const SIGNING_SECRET: &str = "container-signing-secret-0123456789";

/// `scripts/podman/run podman ...`: Podman with the settings of this kind of host.
fn podman() -> tokio::process::Command {
    let wrapper = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/podman/run");
    let mut command = tokio::process::Command::new(wrapper);
    command.arg("podman");
    command
}

async fn podman_output(args: &[&str]) -> String {
    let out = podman().args(args).output().await.expect("run podman");
    assert!(out.status.success(), "podman {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

async fn get(url: &str) -> Option<(StatusCode, String)> {
    let response = reqwest::get(url).await.ok()?;
    Some((response.status(), response.text().await.unwrap_or_default()))
}

/// The image's own settings: non-root, the two ports, OCI labels.
async fn image_is_as_documented(image: &str) {
    let user = podman_output(&["image", "inspect", "--format", "{{.Config.User}}", image]).await;
    assert_eq!(user, "10001", "the image runs as a non-root user");
    let ports = podman_output(&["image", "inspect", "--format", "{{json .Config.ExposedPorts}}", image]).await;
    assert!(ports.contains("8080/tcp") && ports.contains("9090/tcp"), "{ports}");
    let title = podman_output(&[
        "image",
        "inspect",
        "--format",
        "{{index .Config.Labels \"org.opencontainers.image.title\"}}",
        image,
    ])
    .await;
    assert_eq!(title, "erasure-worker");
}

/// Removes the container however the test ends (killing `podman run` leaves it running).
struct Removed(String);

impl Drop for Removed {
    fn drop(&mut self) {
        let wrapper = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/podman/run");
        let _ = std::process::Command::new(wrapper).args(["podman", "rm", "-f", "-t", "0", &self.0]).output();
    }
}

#[tokio::test]
#[ignore = "needs the image: scripts/container-test builds it and runs this"]
async fn the_image_migrates_erases_a_signed_request_confirms_serves_probes_and_stops_on_sigterm() {
    let image = std::env::var("ERASURE_TEST_IMAGE")
        .expect("ERASURE_TEST_IMAGE names the image to test: run scripts/container-test");
    image_is_as_documented(&image).await;
    let stack = Stack::new().await;
    stack.sim.seed("accounts", "cleo@example.com", 2);
    let extra = "[intake]\nrequire_signature = true\nsigning_keys = [{ id = \"shop\", secret_env = \"ERASURE_SIGNING_KEY\" }]\n";
    let config = stack.config_file(&[Instance { name: "accounts", extra: "" }], extra);
    let (api_port, probes_port) = (free_port(), free_port());
    let name = format!("erasure-test-{}", Uuid::new_v4().simple());
    let _removed = Removed(name.clone());
    let log_path = stack.dir.join("container.log");
    let log = std::fs::File::create(&log_path).unwrap();
    // The config and the stack's CA are mounted read-only where the config names them.
    let ca_dir: PathBuf = stack.tls_ca.parent().unwrap().to_path_buf();
    let mounts = [&stack.dir, &ca_dir].map(|dir| format!("{0}:{0}:ro", dir.display()));
    let mut container = podman()
        .args(["run", "--rm", "--name", &name, "--network", "host"])
        .args(["-v", &mounts[0], "-v", &mounts[1]])
        .args(["-e", &format!("ERASURE__API__LISTEN=0.0.0.0:{api_port}")])
        .args(["-e", &format!("ERASURE__PROBES__LISTEN=0.0.0.0:{probes_port}")])
        .args(["-e", &format!("{HASH_KEY_ENV}=test-hash-key-0123456789abcdef")])
        .args(["-e", &format!("{DATA_KEYS_ENV}={DATA_KEYS}")])
        .args(["-e", &format!("{WEBHOOK_SECRET_ENV}={WEBHOOK_SECRET}")])
        .args(["-e", &format!("ERASURE_SIGNING_KEY={SIGNING_SECRET}")])
        .args([&image, "--config", config.to_str().unwrap(), "run"])
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .kill_on_drop(true)
        .spawn()
        .expect("start podman");
    let probes = format!("http://127.0.0.1:{probes_port}");

    // Ready: migrated, intake consuming (so the queues exist), runner and outbox polling.
    let ready = poll(Duration::from_secs(90), "the container to be ready", || {
        if let Ok(Some(status)) = container.try_wait() {
            let log = std::fs::read_to_string(&log_path).unwrap_or_default();
            panic!("the container exited with {status} before it was ready:\n{log}");
        }
        let readyz = format!("{probes}/readyz");
        async move { get(&readyz).await.filter(|(status, _)| *status == StatusCode::OK) }
    })
    .await;
    assert_eq!(ready.1, "ready");
    let api_health = get(&format!("http://127.0.0.1:{api_port}/healthz")).await;
    assert_eq!(api_health, Some((StatusCode::OK, "ok".into())), "the API listens where the variable says");
    let migrations: i64 =
        stack.db().await.query_one("SELECT count(*) FROM schema_migrations", &[]).await.map(|r| r.get(0)).unwrap_or(-1);
    assert!(migrations > 0, "the container migrated the database ({migrations})");

    let mut events = stack.events().await;
    let id = Uuid::new_v4();
    let body = bytes(&request(id, "cleo@example.com", chrono::Utc::now()));
    let mut headers = FieldTable::default();
    headers.insert(KEY_ID_HEADER.into(), AMQPValue::LongString("shop".into()));
    headers.insert(
        SIGNATURE_HEADER.into(),
        AMQPValue::LongString(sign(SIGNING_SECRET.as_bytes(), None, &body).as_str().into()),
    );
    stack.publish_with_headers(&body, None, headers).await;

    let event = events.next(Duration::from_secs(60)).await.expect("a confirmation event");
    assert_eq!(
        (event.routing_key.as_str(), event.body["request_id"].as_str()),
        ("erasure.completed", Some(id.to_string().as_str()))
    );
    assert_eq!(stack.sim.records("accounts", "cleo@example.com"), 0, "erased at the simulated vendor");
    assert!(stack.sim.calls("accounts").iter().any(|c| c.action == "erase"));

    let (status, metrics) = get(&format!("{probes}/metrics")).await.expect("/metrics answers");
    assert_eq!(status, StatusCode::OK);
    assert!(metrics.contains("erasure_requests{state=\"completed\"} 1"), "{metrics}");
    assert!(metrics.contains("erasure_task_attempts_total{connector=\"accounts\",outcome=\"erased\"} 1"), "{metrics}");

    podman_output(&["kill", "--signal", "TERM", &name]).await;
    let status = tokio::time::timeout(Duration::from_secs(60), container.wait())
        .await
        .expect("the container stops within a minute of SIGTERM")
        .unwrap();
    let log = std::fs::read_to_string(&log_path).unwrap_or_default();
    assert!(status.success(), "a clean exit on SIGTERM, got {status}:\n{log}");
    assert!(log.contains("Runner stopped.") && log.contains("Intake stopped."), "drained before exit:\n{log}");
}
