//! The figures: printed as a table as each scenario ends, and written as one JSON document.

use crate::scenarios::{Backlog, Burst, Latency, RateLimit, VENDORS, ZENDESK_DOCUMENTED_DELETIONS};
use crate::usage::Cpu;
use crate::Options;
use serde::Serialize;
use std::path::{Path, PathBuf};

#[derive(Serialize)]
pub struct Report {
    pub date: String,
    pub command: String,
    pub cores: usize,
    pub git_commit: String,
    pub notes: Vec<String>,
    pub burst: Option<Burst>,
    pub latency: Option<Latency>,
    pub backlog: Option<Backlog>,
    pub ratelimit: Option<RateLimit>,
    /// (worker processes, the drain).
    pub scaleout: Vec<(usize, Backlog)>,
    pub failures: Vec<String>,
}

impl Report {
    pub fn new(options: &Options) -> Report {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let git_commit = std::process::Command::new("git")
            .args(["rev-parse", "--short", "HEAD"])
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .map(|s| s.trim().to_string())
            .unwrap_or_default();
        let mut command = String::from("scripts/bench");
        if options.short {
            command.push_str(" --short");
        }
        command.push_str(&format!(" --scenario {} {}", options.scenarios.join(","), options.burst));
        let mut notes = vec![
            format!(
                "{VENDORS} erasure tasks per request (zendesk, intercom, twilio, elasticsearch), the simulator answering at once, as its own erasure-sim process"
            ),
            "PostgreSQL durable (fsync, synchronous_commit, full_page_writes on) over TLS on loopback; quorum queues, publisher confirms, signed intake, data keys, verification on".into(),
            format!(
                "Zendesk documents {ZENDESK_DOCUMENTED_DELETIONS} permanent user deletions per 10 minutes: the simulator enforces it, raised above each scenario's size (twice its people); against a real account that limit alone bounds erasures to about 1.2 people/s"
            ),
            "the four vendors have no requests_per_second (the shared limiter runs in the rate-limit scenario only)".into(),
        ];
        if options.scenarios.iter().any(|s| s == "scaleout") {
            notes.push(format!(
                "scale-out runs every process on the same {cores} cores as PostgreSQL, RabbitMQ and the simulator: the gain of more workers is bounded by the machine, not by the design"
            ));
        }
        Report {
            date: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            command,
            cores,
            git_commit,
            notes,
            burst: None,
            latency: None,
            backlog: None,
            ratelimit: None,
            scaleout: Vec::new(),
            failures: Vec::new(),
        }
    }

    pub fn print_header(&self) {
        println!(
            "erasure-worker benchmark, {} ({}), {} cores, commit {}",
            self.date, self.command, self.cores, self.git_commit
        );
        for note in &self.notes {
            println!("  - {note}");
        }
    }

    pub fn print_burst(&self) {
        let Some(b) = &self.burst else { return };
        println!("  {:<28} {} requests x {VENDORS} systems", "burst", b.requests);
        row(
            "throughput",
            format!("{:.0} requests/s, {:.0} erasure tasks/s", b.requests_per_second, b.tasks_per_second),
        );
        row("first publish -> last outcome", format!("{:.1} s (published in {:.1} s)", b.seconds, b.publish_seconds));
        cpu_rows(&b.cpu);
        row("worker peak RSS", format!("{:.0} MB", b.worker_peak_rss_mb));
        row(
            "per request",
            format!(
                "{:.1} statements ({:.1} sent by clients), {:.1} transactions",
                b.statements.statements_per_request,
                b.statements.top_level_statements_per_request,
                b.statements.transactions_per_request
            ),
        );
    }

    pub fn print_latency(&self) {
        let Some(l) = &self.latency else { return };
        println!(
            "  {:<28} {:.0} requests/s offered for {:.0} s ({} requests)",
            "latency", l.offered_per_second, l.seconds, l.requests
        );
        row(
            "publish -> outcome",
            format!("p50 {:.0} ms, p90 {:.0} ms, p99 {:.0} ms, max {:.0} ms", l.p50_ms, l.p90_ms, l.p99_ms, l.max_ms),
        );
        cpu_rows(&l.cpu);
    }

    pub fn print_backlog(&self) {
        let Some(b) = &self.backlog else { return };
        println!("  {:<28} {} requests queued (in {:.1} s), then the worker", "backlog", b.requests, b.publish_seconds);
        drain_rows(b);
        row("worker RSS every second (MB)", compact(&b.rss_mb));
    }

    pub fn print_ratelimit(&self) {
        let Some(r) = &self.ratelimit else { return };
        println!(
            "  {:<28} {} requests, one webhook system limited to {}/s",
            "rate limit", r.requests, r.limit_per_second
        );
        row("most calls in one second", format!("{} (limit {})", r.max_per_second, r.limit_per_second));
        row(
            "seconds at >= 95% of limit",
            format!("{:.0}% of {} backlogged seconds", r.share_at_95_percent * 100.0, r.backlogged_seconds),
        );
        let burst =
            self.backlog.as_ref().map_or(String::new(), |b| format!(" (backlog drain: {:.0})", b.tasks_per_second));
        row("other systems' tasks/s", format!("{:.0}{burst}", r.other_tasks_per_second));
    }

    pub fn print_scaleout(&self) {
        println!(
            "  {:<28} {} requests queued each time",
            "scale-out",
            self.scaleout.first().map_or(0, |(_, b)| b.requests)
        );
        let one = self.scaleout.first().map_or(1.0, |(_, b)| b.requests_per_second);
        for (workers, b) in &self.scaleout {
            row(
                &format!("{workers} worker process(es)"),
                format!(
                    "{:.0} requests/s ({:.2}x), {} tasks retried, {} duplicate claims, {} of {} completed",
                    b.requests_per_second,
                    b.requests_per_second / one,
                    b.audit.tasks_retried,
                    b.audit.duplicate_claims,
                    b.audit.requests_completed,
                    b.requests
                ),
            );
        }
        row("", format!("{} cores for every process: the gain of more workers is bounded here", self.cores));
    }

    /// Write `target/bench/bench-DATE.json` and `target/bench/latest.json`; returns the first.
    pub fn write(&self, dir: &Path) -> PathBuf {
        let text = serde_json::to_string_pretty(self).expect("the report serialises");
        let path = dir.join(format!("bench-{}.json", self.date.replace(':', "")));
        std::fs::write(&path, &text).expect("write the JSON report");
        std::fs::write(dir.join("latest.json"), &text).expect("write latest.json");
        path
    }
}

fn row(name: &str, value: String) {
    println!("    {name:<28} {value}");
}

fn cpu_rows(cpu: &Cpu) {
    let per = |role: &str| cpu.per_1000_tasks.get(role).copied().unwrap_or(0.0);
    row(
        "CPU s per 1,000 tasks",
        format!(
            "stack {:.2} = worker {:.2} + PostgreSQL {:.2} + RabbitMQ {:.2} + simulator {:.2} (bench's producer {:.2})",
            cpu.stack_per_1000_tasks,
            per("worker"),
            per("postgresql"),
            per("rabbitmq"),
            per("simulator"),
            per("bench")
        ),
    );
}

fn drain_rows(b: &Backlog) {
    row(
        "drain",
        format!(
            "{:.0} requests/s, {:.0} erasure tasks/s ({:.1} s)",
            b.requests_per_second, b.tasks_per_second, b.drain_seconds
        ),
    );
    cpu_rows(&b.cpu);
    row("worker peak RSS", format!("{:.0} MB", b.worker_peak_rss_mb));
}

/// At most 20 values, evenly spaced, with the peak.
fn compact(samples: &[f64]) -> String {
    if samples.is_empty() {
        return "none".into();
    }
    let step = samples.len().div_ceil(20);
    let shown: Vec<String> = samples.iter().step_by(step).map(|v| format!("{v:.0}")).collect();
    let peak = samples.iter().copied().fold(0.0, f64::max);
    format!("{} (every {step} s; peak {peak:.0})", shown.join(" "))
}
