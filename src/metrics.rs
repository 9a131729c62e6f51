//! Prometheus metrics. Counters and histograms are per process (`metrics` crate); the state of
//! requests, tasks, deadlines, the outbox, mail and dead letters is read from the database at
//! scrape time, with the pool, readiness and build info. Each `record_*` function is called from
//! the one place that also logs the event. Counters are registered at zero for every label set
//! known at start-up (`register_known`), so `increase()` sees the first event.

use crate::app::App;
use crate::config::Settings;
use crate::model::{CheckResult, RequestState, TaskState};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::fmt::Write;
use std::sync::OnceLock;

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Seconds: from a fast webhook to a slow vendor job.
const LATENCY_BUCKETS: &[f64] = &[0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0];

/// Seconds from intake to settled: minutes for webhooks, hours to days for vendors' async jobs
/// and retries, up to the one-month legal deadline.
const SETTLE_BUCKETS: &[f64] =
    &[1.0, 5.0, 15.0, 60.0, 300.0, 900.0, 3600.0, 21_600.0, 86_400.0, 259_200.0, 604_800.0, 1_209_600.0, 2_592_000.0];

/// The intake-to-settled histogram: the service's main SLI.
pub const SETTLE_SECONDS: &str = "erasure_request_settle_seconds";

/// Install the process-wide recorder (once).
pub fn install() -> Option<&'static PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets(LATENCY_BUCKETS)
                .ok()?
                .set_buckets_for_metric(Matcher::Full(SETTLE_SECONDS.into()), SETTLE_BUCKETS)
                .ok()?;
            builder.install_recorder().ok()
        })
        .as_ref()
}

/// Fold the histograms' recent samples into their buckets every few seconds, until shutdown.
/// The recorder keeps every sample until it is folded (at a scrape, or here): a worker nobody
/// scraped grew by about 100 bytes per request (the 200,000 backlog: 80 -> 100 MB).
pub async fn upkeep(shutdown: crate::shutdown::Shutdown) {
    let Some(handle) = HANDLE.get().and_then(Option::as_ref) else {
        return;
    };
    loop {
        tokio::select! {
            _ = shutdown.wait() => return,
            _ = tokio::time::sleep(std::time::Duration::from_secs(5)) => handle.run_upkeep(),
        }
    }
}

/// Every counter at zero for the label sets known now: connectors from the config, and each
/// fixed outcome, result and reason.
pub fn register_known(settings: &Settings) {
    let attempt_outcomes =
        [TaskState::Erased, TaskState::NothingToErase, TaskState::Waiting, TaskState::Retrying, TaskState::Failed];
    let check_results = [CheckResult::Absent, CheckResult::Found, CheckResult::NotVerifiable, CheckResult::Error];
    for connector in settings.connectors.keys() {
        let c = || ("connector", connector.clone());
        for outcome in attempt_outcomes {
            metrics::counter!("erasure_task_attempts_total", &[c(), ("outcome", outcome.as_str().to_string())])
                .increment(0);
        }
        for result in check_results {
            metrics::counter!("erasure_verification_checks_total", &[c(), ("result", result.as_str().to_string())])
                .increment(0);
        }
        metrics::counter!("erasure_resurfaced_total", &[c()]).increment(0);
        metrics::counter!("erasure_rate_limit_waits_total", &[c()]).increment(0);
    }
    for result in ["accepted", "duplicate", "cancelled", "dead_lettered"] {
        metrics::counter!("erasure_intake_messages_total", "result" => result).increment(0);
    }
    for reason in crate::intake::message::Reason::ALL {
        metrics::counter!("erasure_dead_lettered_total", "reason" => reason.as_str()).increment(0);
    }
    metrics::counter!("erasure_brake_holds_total").increment(0);
    for result in ["sent", "unsent"] {
        metrics::counter!("erasure_outbox_publications_total", "result" => result).increment(0);
    }
    for result in ["sent", "retry", "refused", "no_address"] {
        metrics::counter!("erasure_mail_messages_total", "result" => result).increment(0);
    }
    for reason in ["bad_token", "rate_limited"] {
        metrics::counter!("erasure_dashboard_login_refused_total", "reason" => reason).increment(0);
    }
    for limit in ["login", "search"] {
        metrics::counter!("erasure_api_rate_limited_total", "limit" => limit).increment(0);
    }
    for state in [RequestState::Completed, RequestState::Failed] {
        let _ = metrics::histogram!(SETTLE_SECONDS, "state" => state.as_str());
    }
}

/// A request settled (`completed` or `failed`) this long after intake committed it.
pub fn record_settled(state: &str, seconds: f64) {
    metrics::histogram!(SETTLE_SECONDS, "state" => state.to_string()).record(seconds);
}

/// Whether `component` (`intake`, `outbox`) holds a broker connection.
pub fn set_amqp_connected(component: &str, connected: bool) {
    metrics::gauge!("erasure_amqp_connected", "component" => component.to_string()).set(f64::from(u8::from(connected)));
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

/// The text of `GET /metrics`. Answers while the database is down too: `erasure_database_up`
/// and `erasure_ready` then say so, without the database gauges.
pub async fn render(app: &App) -> String {
    let mut out = String::new();
    gauge_header(&mut out, "erasure_build_info", "The running build (always 1).");
    let _ = writeln!(out, "erasure_build_info{{version=\"{}\"}} 1", env!("CARGO_PKG_VERSION"));
    let ready = crate::readiness::check(app).await.is_ok();
    gauge_header(&mut out, "erasure_ready", "1 when the process is ready (database and broker reachable), as /readyz.");
    let _ = writeln!(out, "erasure_ready {}", u8::from(ready));
    pool(&mut out, app.store.pool_state());
    let gauges = app.store.gauges(app.clock.now()).await;
    gauge_header(&mut out, "erasure_database_up", "1 when this scrape could read the database gauges.");
    let _ = writeln!(out, "erasure_database_up {}", u8::from(gauges.is_ok()));
    match gauges {
        Ok(g) => database_gauges(&mut out, &g, &app.settings),
        Err(error) => tracing::warn!(%error, "The database gauges could not be read for /metrics."),
    }
    if let Some(handle) = install() {
        out.push_str(&handle.render());
    }
    out
}

fn pool(out: &mut String, pool: crate::store::gauges::PoolState) {
    gauge_header(out, "erasure_database_pool_connections", "Connections of this process's pool: in use, and idle.");
    let _ =
        writeln!(out, "erasure_database_pool_connections{{state=\"in_use\"}} {}", pool.open.saturating_sub(pool.idle));
    let _ = writeln!(out, "erasure_database_pool_connections{{state=\"idle\"}} {}", pool.idle);
    gauge_header(out, "erasure_database_pool_max", "The pool's size limit (database.pool_size).");
    let _ = writeln!(out, "erasure_database_pool_max {}", pool.max);
    gauge_header(out, "erasure_database_pool_waiting", "Callers waiting for a pool connection.");
    let _ = writeln!(out, "erasure_database_pool_waiting {}", pool.waiting);
}

fn database_gauges(out: &mut String, g: &crate::store::gauges::Gauges, settings: &Settings) {
    gauge_header(out, "erasure_requests", "Requests by state.");
    for (state, n) in &g.requests_by_state {
        let _ = writeln!(out, "erasure_requests{{state=\"{state}\"}} {n}");
    }
    gauge_header(out, "erasure_tasks", "Tasks by connector instance and state (retrying = the retry backlog).");
    for (connector, state, n) in &g.tasks_by_connector_state {
        let _ = writeln!(out, "erasure_tasks{{connector=\"{}\",state=\"{state}\"}} {n}", label(connector));
    }
    gauge_header(out, "erasure_requests_overdue", "Unsettled requests past their legal deadline.");
    let _ = writeln!(out, "erasure_requests_overdue {}", g.overdue);
    gauge_header(out, "erasure_requests_due_within_7_days", "Unsettled requests whose deadline is within 7 days.");
    let _ = writeln!(out, "erasure_requests_due_within_7_days {}", g.due_within_7_days);
    gauge_header(
        out,
        "erasure_oldest_due_task_age_seconds",
        "Age of the oldest due task, per connector instance (0: none due).",
    );
    let mut ages: std::collections::BTreeMap<&str, f64> =
        settings.connectors.keys().map(|c| (c.as_str(), 0.0)).collect();
    ages.extend(g.oldest_due_task_age.iter().map(|(c, age)| (c.as_str(), *age)));
    for (connector, age) in ages {
        let _ = writeln!(out, "erasure_oldest_due_task_age_seconds{{connector=\"{}\"}} {age}", label(connector));
    }
    gauge_header(out, "erasure_outbox_unsent", "Events not yet published.");
    let _ = writeln!(out, "erasure_outbox_unsent {}", g.outbox_unsent);
    gauge_header(out, "erasure_outbox_lag_seconds", "Age of the oldest unpublished event.");
    let _ = writeln!(out, "erasure_outbox_lag_seconds {}", g.outbox_lag_seconds);
    gauge_header(out, "erasure_mail_unsent", "Messages to the person neither sent nor refused (the mail backlog).");
    let _ = writeln!(out, "erasure_mail_unsent {}", g.mail_unsent);
    gauge_header(out, "erasure_mail_lag_seconds", "Age of the oldest message to the person not yet sent.");
    let _ = writeln!(out, "erasure_mail_lag_seconds {}", g.mail_lag_seconds);
    gauge_header(out, "erasure_dead_letters", "Dead letters kept and not replayed.");
    let _ = writeln!(out, "erasure_dead_letters {}", g.dead_letters);
    gauge_header(out, "erasure_verification_checks", "Verification checks not done yet: scheduled, and due now.");
    let _ = writeln!(out, "erasure_verification_checks{{state=\"scheduled\"}} {}", g.checks_scheduled);
    let _ = writeln!(out, "erasure_verification_checks{{state=\"due\"}} {}", g.checks_due);
}

fn gauge_header(out: &mut String, name: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge");
}

/// Instance names are `[a-z0-9_-]` (checked at start-up); escape anyway.
fn label(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}
