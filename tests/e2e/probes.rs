//! Every process serves `/healthz`, `/readyz` and `/metrics` on `probes.listen`, whatever its
//! `--only` set, and `/readyz` says whether this process's own loops run: real `erasure` processes.

use crate::support::*;
use reqwest::StatusCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

async fn get(url: &str) -> Option<(StatusCode, String)> {
    let response = reqwest::get(url).await.ok()?;
    Some((response.status(), response.text().await.unwrap_or_default()))
}

/// The reason `/readyz` gives when it answers 503 (problem+json `detail`).
async fn not_ready(base: &str) -> Option<String> {
    let (status, body) = get(&format!("{base}/readyz")).await?;
    let problem: serde_json::Value = serde_json::from_str(&body).ok()?;
    assert_eq!(problem["error"], "not_ready", "{body}");
    (status == StatusCode::SERVICE_UNAVAILABLE).then(|| problem["detail"].as_str().unwrap().to_string())
}

/// `/readyz` until it answers `status`; returns its body.
async fn readyz_until(base: &str, status: StatusCode) -> String {
    poll(Duration::from_secs(30), &format!("/readyz to answer {status}"), || async {
        get(&format!("{base}/readyz")).await.filter(|(s, _)| *s == status).map(|(_, body)| body)
    })
    .await
}

#[tokio::test]
async fn a_runner_only_process_serves_probes_and_metrics_on_a_listener_of_its_own() {
    let stack = Stack::new().await;
    let port = free_port();
    let extra = format!("[probes]\nlisten = \"127.0.0.1:{port}\"\nstale_after = \"2s\"\n");
    let config = stack.config_file(&[Instance { name: "accounts", extra: "" }], &extra);
    let worker = Process::start_only(&config, &stack.dir.join("runner.log"), "runner");
    let base = format!("http://127.0.0.1:{port}");

    assert_eq!(readyz_until(&base, StatusCode::OK).await, "ready");
    assert_eq!(get(&format!("{base}/healthz")).await, Some((StatusCode::OK, "ok".into())));
    let (status, metrics) = get(&format!("{base}/metrics")).await.unwrap();
    assert_eq!(status, StatusCode::OK);
    assert!(metrics.contains("# TYPE erasure_requests gauge"), "{metrics}");
    assert!(metrics.contains("erasure_outbox_unsent 0"), "{metrics}");
    // Still ready well past `stale_after`: the idle runner keeps beating.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(get(&format!("{base}/readyz")).await, Some((StatusCode::OK, "ready".into())));
    assert!(worker.terminate(Duration::from_secs(15)).await.success());
}

#[tokio::test]
async fn readyz_names_an_intake_that_is_not_consuming_even_when_the_broker_port_answers() {
    let stack = Stack::new().await;
    let port = free_port();
    // A port that accepts TCP but speaks HTTP, not AMQP: the intake can never consume.
    let not_amqp = format!("amqp://guest:guest@{}/%2f", stack.sim.addr());
    let extra =
        format!("[probes]\nlisten = \"127.0.0.1:{port}\"\nstale_after = \"1s\"\n[amqp]\nurls = [\"{not_amqp}\"]\n");
    let config = stack.config_file(&[], &extra);
    let worker = Process::start_only(&config, &stack.dir.join("intake.log"), "intake,runner");
    let base = format!("http://127.0.0.1:{port}");

    // The runner of the same process runs: once the database is migrated, only the intake is named.
    poll(Duration::from_secs(30), "/readyz to name the intake alone", || async {
        (not_ready(&base).await.as_deref() == Some("not running: intake")).then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(not_ready(&base).await.as_deref(), Some("not running: intake"));
    assert_eq!(get(&format!("{base}/healthz")).await, Some((StatusCode::OK, "ok".into())), "alive all the same");
    worker.kill().await;
}

#[tokio::test]
async fn an_intake_that_consumes_is_ready() {
    let stack = Stack::new().await;
    let port = free_port();
    let extra = format!("[probes]\nlisten = \"127.0.0.1:{port}\"\nstale_after = \"1s\"\n");
    let config = stack.config_file(&[], &extra);
    let worker = Process::start_only(&config, &stack.dir.join("intake.log"), "intake");
    let base = format!("http://127.0.0.1:{port}");
    assert_eq!(readyz_until(&base, StatusCode::OK).await, "ready");
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(get(&format!("{base}/readyz")).await, Some((StatusCode::OK, "ready".into())), "past stale_after");
    assert!(worker.terminate(Duration::from_secs(15)).await.success());
}

#[tokio::test]
async fn readyz_reaches_an_amqps_broker_named_without_a_port_on_5671() {
    let stack = Stack::new().await;
    // Something that accepts TCP on the amqps port, counting who connects.
    let broker = tokio::net::TcpListener::bind("127.0.0.1:5671").await.expect("port 5671 is free for this test");
    let accepted = Arc::new(AtomicUsize::new(0));
    let counter = accepted.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = broker.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            drop(stream);
        }
    });
    let port = free_port();
    let extra =
        format!("[probes]\nlisten = \"127.0.0.1:{port}\"\n[amqp]\nurls = [\"amqps://guest:guest@127.0.0.1/%2f\"]\n");
    let config = stack.config_file(&[], &extra);
    let worker = Process::start_only(&config, &stack.dir.join("runner.log"), "runner");
    let base = format!("http://127.0.0.1:{port}");
    assert_eq!(readyz_until(&base, StatusCode::OK).await, "ready");
    assert!(accepted.load(Ordering::SeqCst) >= 1, "the readiness check connected to 5671");
    assert!(worker.terminate(Duration::from_secs(15)).await.success());
}
