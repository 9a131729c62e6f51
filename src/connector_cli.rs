//! `erasure connector check|erase`: run one connector instance by hand, for debugging a new
//! integration. No database or broker is needed; calls are not rate-limited across processes.

use crate::config::Settings;
use crate::registry;
use anyhow::{bail, Context};
use erasure_connector::subject::RawSubject;
use erasure_connector::{Ctx, FailureKind, Outcome, Subject};
use std::time::{Duration, Instant};

/// How `erase` ended, as an exit status: 0 erased or nothing to erase, 1 failed, 2 retry later,
/// 3 still pending when `wait` ran out.
pub type ExitStatus = i32;

pub async fn check(settings: &Settings, instance: &str) -> anyhow::Result<()> {
    let instance = build(settings, instance)?;
    let started = Instant::now();
    match instance.connector.healthcheck().await {
        Ok(()) => {
            println!("{}: healthy ({} ms)", instance.name, started.elapsed().as_millis());
            Ok(())
        }
        Err(failure) if failure.kind == FailureKind::NotVerifiable => {
            bail!("{}: not checked: {}", instance.name, failure.reason)
        }
        Err(failure) => bail!("{}: unhealthy: {}", instance.name, failure.reason),
    }
}

pub struct EraseArgs {
    pub subject: RawSubject,
    pub dry_run: bool,
    pub wait: Duration,
}

pub async fn erase(settings: &Settings, instance: &str, args: EraseArgs) -> anyhow::Result<ExitStatus> {
    let instance = build(settings, instance)?;
    let subject = Subject::new(args.subject).context("invalid subject")?;
    let ctx = Ctx::standalone(&instance.name, instance.http.clone());
    if args.dry_run {
        let found = instance.connector.lookup(&ctx, &subject).await.map_err(|f| anyhow::anyhow!(f.reason))?;
        let count = found.count.map(|n| format!(" ({n} records)")).unwrap_or_default();
        match found.present {
            true => println!("{}: would erase: data found{count}", instance.name),
            false => println!("{}: nothing to erase", instance.name),
        }
        return Ok(0);
    }
    let deadline = Instant::now() + args.wait;
    let mut outcome = instance.connector.erase(&ctx, &subject).await;
    while let Outcome::Pending(pending) = &outcome {
        println!("{}: accepted; checking again in {:?}", instance.name, pending.check_after);
        if Instant::now() + pending.check_after > deadline {
            println!(
                "{}: still pending after {:?}: {}",
                instance.name,
                args.wait,
                serde_json::to_string(&pending.state)?
            );
            return Ok(3);
        }
        tokio::time::sleep(pending.check_after).await;
        outcome = instance.connector.check(&ctx, &subject, pending).await;
    }
    Ok(match outcome {
        Outcome::Erased(evidence) => {
            println!("{}: erased: {}", instance.name, serde_json::to_string(&evidence)?);
            0
        }
        Outcome::NothingToErase => {
            println!("{}: nothing to erase", instance.name);
            0
        }
        Outcome::Retry { after, reason, throttled } => {
            let when = after.map(|a| format!(" after {a:?}")).unwrap_or_default();
            let kind = if throttled { "rate limited" } else { "transient error" };
            println!("{}: {kind}, retry{when}: {reason}", instance.name);
            2
        }
        Outcome::Failed { reason } => {
            println!("{}: failed: {reason}", instance.name);
            1
        }
        Outcome::Pending(_) => unreachable!("pending outcomes are followed above"),
    })
}

fn build(settings: &Settings, name: &str) -> anyhow::Result<registry::Instance> {
    if !settings.connectors.contains_key(name) {
        let known: Vec<&str> = settings.connectors.keys().map(String::as_str).collect();
        bail!("no connector instance `{name}` in the configuration; configured: {}", known.join(", "));
    }
    Ok(registry::build_one(settings, name, None)?)
}
