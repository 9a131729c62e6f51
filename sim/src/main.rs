//! `erasure-sim`: run the vendor simulator on its own (the demo stack, benchmarks).
//!
//! Usage: erasure-sim [--listen 127.0.0.1:18089] [--secret-env SIM_WEBHOOK_SECRET]
//!                    [--seed seed.json] [--latency-ms N]
//! A seed file is `{"systems": {"accounts": {"ana@example.com": 3}}, "zendesk": ..., ...}`
//! (see `Sim::seed_json`).

use erasure_sim::{Sim, SimOptions};
use std::time::Duration;

#[tokio::main]
async fn main() {
    if let Err(message) = run().await {
        eprintln!("erasure-sim: {message}");
        std::process::exit(2);
    }
}

async fn run() -> Result<(), String> {
    let mut listen = "127.0.0.1:18089".to_string();
    let mut secret_env = "SIM_WEBHOOK_SECRET".to_string();
    let mut seed = None;
    let mut latency_ms = 0;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--listen" => listen = value()?,
            "--secret-env" => secret_env = value()?,
            "--seed" => seed = Some(value()?),
            "--latency-ms" => latency_ms = value()?.parse().map_err(|_| "--latency-ms takes a number".to_string())?,
            other => return Err(format!("unknown argument {other}")),
        }
    }
    let secret = std::env::var(&secret_env).map_err(|_| format!("the environment variable {secret_env} is not set"))?;
    let addr = listen.parse().map_err(|_| format!("--listen {listen} is not an address"))?;
    let options = SimOptions { webhook_secret: secret, latency: Duration::from_millis(latency_ms) };
    let sim = Sim::start(addr, options).await.map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    if let Some(path) = seed {
        let text = std::fs::read_to_string(&path).map_err(|e| format!("cannot read {path}: {e}"))?;
        let seed: serde_json::Value = serde_json::from_str(&text).map_err(|e| format!("{path}: {e}"))?;
        sim.seed_json(&seed).map_err(|e| format!("{path}: {e}"))?;
    }
    println!("erasure-sim listening on http://{}", sim.addr());
    tokio::signal::ctrl_c().await.map_err(|e| e.to_string())?;
    Ok(())
}
