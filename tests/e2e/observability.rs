//! `/metrics` of a running worker (issue 15): build info, readiness, connection and pool state,
//! the mail backlog, the intake-to-settled histogram, counters at zero before any event; and
//! every metric the Grafana dashboard (`deploy/grafana/erasure.json`) and the alert rules
//! (`deploy/alerts.yml`) query exists in that scrape.

use crate::support::*;
use erasure_worker::clock::SystemClock;
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

/// Series Prometheus makes itself, not the worker.
const PROMETHEUS_OWN: &[&str] = &["up"];

/// Keywords, and aggregation operators (which may be followed by `by (...)` instead of `(`).
const PROMQL_WORDS: &[&str] = &[
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "offset",
    "bool",
    "and",
    "or",
    "unless",
    "inf",
    "nan",
    "sum",
    "min",
    "max",
    "avg",
    "group",
    "stddev",
    "stdvar",
    "count",
    "count_values",
    "bottomk",
    "topk",
    "quantile",
    "limitk",
    "limit_ratio",
];

/// The metric names a PromQL expression reads: identifiers that are not functions (followed by
/// `(`), keywords, label matchers (`{...}`), ranges (`[...]`), grouping labels or strings.
fn metric_names(expr: &str) -> BTreeSet<String> {
    let mut plain = String::new();
    let (mut depth_brace, mut depth_bracket, mut in_string) = (0, 0, false);
    for c in expr.chars() {
        match c {
            '"' if depth_brace == 0 => in_string = !in_string,
            _ if in_string => {}
            '{' => depth_brace += 1,
            '}' => depth_brace -= 1,
            '[' => depth_bracket += 1,
            ']' => depth_bracket -= 1,
            _ if depth_brace > 0 || depth_bracket > 0 => {}
            c => plain.push(c),
        }
        if depth_brace > 0 || depth_bracket > 0 {
            plain.push(' ');
        }
    }
    let is_word = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == ':';
    let mut names = BTreeSet::new();
    let mut rest = plain.as_str();
    let mut grouping = false;
    while let Some(start) = rest.find(|c: char| is_word(c)) {
        let after = &rest[start..];
        let end = after.find(|c: char| !is_word(c)).unwrap_or(after.len());
        let word = &after[..end];
        let next = after[end..].trim_start();
        rest = &after[end..];
        if grouping {
            // The label list of `by (...)` / `without (...)`: skip to its `)`.
            if let Some(close) = rest.find(')') {
                rest = &rest[close..];
            }
            grouping = false;
            continue;
        }
        if ["by", "without", "on", "ignoring", "group_left", "group_right"].contains(&word) && next.starts_with('(') {
            grouping = true;
            continue;
        }
        let number = word.chars().next().is_some_and(|c| c.is_ascii_digit());
        if next.starts_with('(') || number || PROMQL_WORDS.contains(&word) {
            continue;
        }
        names.insert(word.to_string());
    }
    names
}

#[test]
fn metric_names_are_read_from_promql() {
    let names = metric_names(
        r#"histogram_quantile(0.95, sum by (le, connector) (rate(a_bucket{x="y(z)"}[$__rate_interval]))) > 3600 or absent(up{job="w"}) or max without (i) (b) == 0"#,
    );
    assert_eq!(names, ["a_bucket", "b", "up"].into_iter().map(String::from).collect());
}

/// The metric names of a Prometheus text scrape.
fn scraped_names(text: &str) -> BTreeSet<String> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| l.split(['{', ' ']).next().unwrap().to_string())
        .collect()
}

fn dashboard_exprs() -> Vec<String> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/grafana/erasure.json");
    let dashboard: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut exprs = Vec::new();
    for panel in dashboard["panels"].as_array().unwrap() {
        for target in panel["targets"].as_array().into_iter().flatten() {
            exprs.push(target["expr"].as_str().expect("every target has an expr").to_string());
        }
    }
    exprs
}

fn alert_exprs() -> Vec<String> {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/alerts.yml")).unwrap();
    text.lines().filter_map(|l| l.trim().strip_prefix("expr:")).map(|e| e.trim().to_string()).collect()
}

#[tokio::test]
async fn metrics_are_there_from_the_start_and_every_dashboard_and_alert_query_finds_its_metric() {
    let stack = Stack::new().await;
    let systems = [Instance { name: "accounts", extra: "" }];
    let (worker, base) = start_with_api(&stack, Arc::new(SystemClock), &systems, &[], "").await;
    let http = reqwest::Client::new();
    let scrape = || async { http.get(format!("{base}/metrics")).send().await.unwrap().text().await.unwrap() };

    // Ready once every loop runs (intake consuming, runner and outbox polling): the same answer as /readyz.
    let before = poll(Duration::from_secs(15), "both broker connections and every loop running", || async {
        let text = scrape().await;
        let both = text.contains(r#"erasure_amqp_connected{component="intake"} 1"#)
            && text.contains(r#"erasure_amqp_connected{component="outbox"} 1"#)
            && text.lines().any(|l| l == "erasure_ready 1");
        both.then_some(text)
    })
    .await;
    for line in [
        format!(r#"erasure_build_info{{version="{}"}} 1"#, env!("CARGO_PKG_VERSION")),
        "erasure_ready 1".into(),
        "erasure_database_up 1".into(),
        "erasure_database_pool_max 8".into(),
        "erasure_mail_unsent 0".into(),
        "erasure_brake_holds_total 0".into(),
        r#"erasure_task_attempts_total{connector="accounts",outcome="failed"} 0"#.into(),
        r#"erasure_resurfaced_total{connector="accounts"} 0"#.into(),
        r#"erasure_dead_lettered_total{reason="bad_signature"} 0"#.into(),
        r#"erasure_mail_messages_total{result="refused"} 0"#.into(),
    ] {
        assert!(before.lines().any(|l| l == line), "no `{line}` before any event:\n{before}");
    }

    stack.sim.seed("accounts", "gauge@example.com", 1);
    let id = Uuid::new_v4();
    stack.publish(&bytes(&request(id, "gauge@example.com", chrono::Utc::now())), None).await;
    stack.wait_for_state(id, "completed", Duration::from_secs(20)).await;
    let after = poll(Duration::from_secs(10), "the settle histogram", || async {
        let text = scrape().await;
        text.contains(r#"erasure_request_settle_seconds_count{state="completed"} 1"#).then_some(text)
    })
    .await;
    assert!(after.contains(r#"erasure_task_attempts_total{connector="accounts",outcome="erased"} 1"#), "{after}");

    let scraped = scraped_names(&after);
    let (dashboard, alerts) = (dashboard_exprs(), alert_exprs());
    assert!(
        dashboard.len() >= 20 && alerts.len() >= 12,
        "{} dashboard and {} alert queries",
        dashboard.len(),
        alerts.len()
    );
    for (source, expr) in dashboard.iter().map(|e| ("dashboard", e)).chain(alerts.iter().map(|e| ("alerts.yml", e))) {
        let names = metric_names(expr);
        assert!(!names.is_empty(), "{source}: no metric in `{expr}`");
        for name in names.iter().filter(|n| !PROMETHEUS_OWN.contains(&n.as_str())) {
            assert!(scraped.contains(name), "{source}: `{name}` (in `{expr}`) is not in a real scrape");
        }
    }
    for needed in
        ["erasure_ready", "erasure_request_settle_seconds_bucket", "erasure_mail_unsent", "erasure_amqp_connected"]
    {
        assert!(dashboard.iter().any(|e| e.contains(needed)), "the dashboard shows {needed}");
    }
    assert!(alerts.iter().any(|e| e.contains("up{job=")), "an alert for a missing target");
    assert!(alerts.iter().any(|e| e.contains("erasure_ready")), "an alert for an unready process");
    worker.stop().await;
}
