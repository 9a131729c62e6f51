//! Prometheus metrics. Counters and histograms are per process (`metrics` crate); the state of
//! requests, tasks, deadlines, the outbox and dead letters is read from the database at scrape
//! time. Each `record_*` function is called from the one place that also logs the event.

use crate::app::App;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use std::fmt::Write;
use std::sync::OnceLock;

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Seconds: from a fast webhook to a slow vendor job.
const LATENCY_BUCKETS: &[f64] = &[0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0];

/// Install the process-wide recorder (once).
pub fn install() -> Option<&'static PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new().set_buckets(LATENCY_BUCKETS).ok()?;
            builder.install_recorder().ok()
        })
        .as_ref()
}

/// One connector attempt and how it ended (`erased`, `retrying`, `failed`, ...).
pub fn record_attempt(connector: &str, outcome: &str, seconds: f64) {
    let labels = [("connector", connector.to_string()), ("outcome", outcome.to_string())];
    metrics::counter!("erasure_task_attempts_total", &labels).increment(1);
    metrics::histogram!("erasure_task_attempt_seconds", "connector" => connector.to_string()).record(seconds);
}

/// Time a call waited for the shared rate limit.
pub fn record_rate_limit_wait(connector: &str, seconds: f64) {
    metrics::counter!("erasure_rate_limit_waits_total", "connector" => connector.to_string()).increment(1);
    metrics::histogram!("erasure_rate_limit_wait_seconds", "connector" => connector.to_string()).record(seconds);
}

/// A verification check and its result (`absent`, `found`, `not_verifiable`, `error`).
pub fn record_check(connector: &str, result: &str) {
    let labels = [("connector", connector.to_string()), ("result", result.to_string())];
    metrics::counter!("erasure_verification_checks_total", &labels).increment(1);
}

/// A subject found again after its erasure: the request reopened.
pub fn record_resurfaced(connector: &str) {
    metrics::counter!("erasure_resurfaced_total", "connector" => connector.to_string()).increment(1);
}

/// An intake message: `accepted`, `duplicate` or `dead_lettered` (with its reason).
pub fn record_intake(result: &str, reason: Option<&str>) {
    metrics::counter!("erasure_intake_messages_total", "result" => result.to_string()).increment(1);
    if let Some(reason) = reason {
        metrics::counter!("erasure_dead_lettered_total", "reason" => reason.to_string()).increment(1);
    }
}

/// An outbox publication: `sent` or `unsent` (unroutable, refused, broken connection).
pub fn record_publication(result: &str, count: u64) {
    metrics::counter!("erasure_outbox_publications_total", "result" => result.to_string()).increment(count);
}

/// A message to the person: `sent`, `retry` (temporary failure), `refused` or `no_address`.
pub fn record_mail(result: &str) {
    metrics::counter!("erasure_mail_messages_total", "result" => result.to_string()).increment(1);
}

/// A refused dashboard sign-in (`bad_token`, or `rate_limited` for an address over its limit).
pub fn record_login_refused(reason: &str) {
    metrics::counter!("erasure_dashboard_login_refused_total", "reason" => reason.to_string()).increment(1);
}

/// An API call refused by a rate limit (`login`, `search`).
pub fn record_api_rate_limited(limit: &str) {
    metrics::counter!("erasure_api_rate_limited_total", "limit" => limit.to_string()).increment(1);
}

/// The text of `GET /metrics`.
pub async fn render(app: &App) -> Result<String, crate::store::StoreError> {
    let g = app.store.gauges(app.clock.now()).await?;
    let mut out = String::new();
    gauge_header(&mut out, "erasure_requests", "Requests by state.");
    for (state, n) in &g.requests_by_state {
        let _ = writeln!(out, "erasure_requests{{state=\"{state}\"}} {n}");
    }
    gauge_header(&mut out, "erasure_tasks", "Tasks by connector instance and state (retrying = the retry backlog).");
    for (connector, state, n) in &g.tasks_by_connector_state {
        let _ = writeln!(out, "erasure_tasks{{connector=\"{}\",state=\"{state}\"}} {n}", label(connector));
    }
    gauge_header(&mut out, "erasure_requests_overdue", "Unsettled requests past their legal deadline.");
    let _ = writeln!(out, "erasure_requests_overdue {}", g.overdue);
    gauge_header(&mut out, "erasure_requests_due_within_7_days", "Unsettled requests whose deadline is within 7 days.");
    let _ = writeln!(out, "erasure_requests_due_within_7_days {}", g.due_within_7_days);
    gauge_header(
        &mut out,
        "erasure_oldest_due_task_age_seconds",
        "Age of the oldest due task, per connector instance.",
    );
    for (connector, age) in &g.oldest_due_task_age {
        let _ = writeln!(out, "erasure_oldest_due_task_age_seconds{{connector=\"{}\"}} {age}", label(connector));
    }
    gauge_header(&mut out, "erasure_outbox_unsent", "Events not yet published.");
    let _ = writeln!(out, "erasure_outbox_unsent {}", g.outbox_unsent);
    gauge_header(&mut out, "erasure_outbox_lag_seconds", "Age of the oldest unpublished event.");
    let _ = writeln!(out, "erasure_outbox_lag_seconds {}", g.outbox_lag_seconds);
    gauge_header(&mut out, "erasure_dead_letters", "Dead letters kept and not replayed.");
    let _ = writeln!(out, "erasure_dead_letters {}", g.dead_letters);
    gauge_header(&mut out, "erasure_verification_checks", "Verification checks not done yet: scheduled, and due now.");
    let _ = writeln!(out, "erasure_verification_checks{{state=\"scheduled\"}} {}", g.checks_scheduled);
    let _ = writeln!(out, "erasure_verification_checks{{state=\"due\"}} {}", g.checks_due);
    if let Some(handle) = install() {
        out.push_str(&handle.render());
    }
    Ok(out)
}

fn gauge_header(out: &mut String, name: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge");
}

/// Instance names are `[a-z0-9_-]` (checked at start-up); escape anyway.
fn label(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}
