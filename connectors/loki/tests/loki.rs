//! The loki connector against the simulated Loki: whole-token matching, escaping, tenants, delete
//! requests followed to the end, windows and pages of query_range, and what Loki refuses.

use erasure_connector::subject::RawSubject;
use erasure_connector::{Connector, Ctx, HttpClient, Outcome, Pending, Secrets, Subject};
use erasure_connector_loki::{Config, Loki, Token};
use erasure_sim::{Fault, LokiDeletionMode, Sim, SimOptions};
use serde_json::{json, Value};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const SHOP: &[(&str, &str)] = &[("app", "shop")];
const SELECTOR: &str = "{app=\"shop\"}";

/// A simulated Loki whose delete requests are processed at once (no cancellation period).
async fn sim() -> Sim {
    let sim = Sim::start("127.0.0.1:0".parse().unwrap(), SimOptions::default()).await.unwrap();
    sim.loki().set_cancel_period(Duration::ZERO);
    sim
}

/// A connector with the test defaults, `overrides` replacing or adding config keys.
fn connector(sim: &Sim, overrides: Value) -> Result<Loki, String> {
    let mut config = json!({
        "base_url": sim.vendor_url("loki"),
        "selector": SELECTOR,
        "tenant": Sim::LOKI_TENANT,
        "token_env": "LOKI_TOKEN",
        "lookback": "1d",
        "page_size": 4,
        "check_interval": "1s",
        "delete_request_cancel_period": 0,
    });
    for (key, value) in overrides.as_object().unwrap() {
        match value {
            Value::Null => config.as_object_mut().unwrap().remove(key),
            value => config.as_object_mut().unwrap().insert(key.clone(), value.clone()),
        };
    }
    let config: Config = serde_json::from_value(config).map_err(|e| e.to_string())?;
    let secrets = Secrets::one("token_env", Sim::LOKI_TOKEN).with("password_env", Sim::LOKI_PASSWORD);
    Loki::new(config, &secrets, http()).map_err(|e| e.to_string())
}

fn http() -> HttpClient {
    HttpClient::unlimited("logs", Duration::from_millis(500))
}

fn ctx() -> Ctx {
    Ctx::standalone("logs", http())
}

fn person(user_id: Option<&str>, emails: &[&str]) -> Subject {
    Subject::new(RawSubject {
        user_id: user_id.map(str::to_string),
        emails: emails.iter().map(|e| e.to_string()).collect(),
        ..RawSubject::default()
    })
    .unwrap()
}

/// Erase, then check until the delete requests are processed.
async fn drive(loki: &Loki, subject: &Subject) -> Outcome {
    let ctx = ctx();
    let mut outcome = loki.erase(&ctx, subject).await;
    for _ in 0..50 {
        let Outcome::Pending(pending) = &outcome else { break };
        tokio::time::sleep(Duration::from_millis(100)).await;
        outcome = loki.check(&ctx, subject, pending).await;
    }
    outcome
}

fn lines(sim: &Sim) -> Vec<String> {
    let mut lines = sim.loki().lines(Sim::LOKI_TENANT);
    lines.sort();
    lines
}

/// The queries of the delete requests the simulated Loki accepted.
fn delete_queries(sim: &Sim) -> Vec<String> {
    let calls = sim.calls("loki");
    let accepted = calls.iter().filter(|c| c.action == "POST /loki/api/v1/delete" && c.status == 204);
    accepted.map(|c| c.identifiers[0].clone()).collect()
}

fn now_ns() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos() as i64
}

#[tokio::test]
async fn identifiers_match_as_whole_tokens_only() {
    let sim = sim().await;
    for line in ["user=u_1234 paid", "bye u_1234.", "user=u_12345 paid", "xu_1234 x", "ref u_1234.5", "a.u_1234 b"] {
        sim.loki().push(Sim::LOKI_TENANT, SHOP, line);
    }
    sim.loki().push(Sim::LOKI_TENANT, &[("app", "billing")], "user=u_1234 paid");
    let loki = connector(&sim, json!({})).unwrap();
    let Outcome::Erased(evidence) = drive(&loki, &person(Some("u_1234"), &[])).await else { panic!("erased") };
    assert_eq!(evidence.counts["log_lines"], 2);
    assert_eq!(lines(&sim), ["a.u_1234 b", "ref u_1234.5", "user=u_1234 paid", "user=u_12345 paid", "xu_1234 x"]);
    assert_eq!(
        delete_queries(&sim),
        [r#"{app="shop"} |~ "(^|[^A-Za-z0-9_@.+-])u_1234($|[^A-Za-z0-9_@.+-]|\\.($|[^A-Za-z0-9_@.+-]))""#]
    );
}

#[tokio::test]
async fn emails_match_in_any_case_but_never_a_longer_address() {
    let sim = sim().await;
    for line in ["mail to Ana@Example.COM.", "mail to hana@example.com", "mail to ana@example.com.evil.io"] {
        sim.loki().push(Sim::LOKI_TENANT, SHOP, line);
    }
    let loki = connector(&sim, json!({})).unwrap();
    assert!(matches!(drive(&loki, &person(None, &["ana@example.com"])).await, Outcome::Erased(_)));
    assert_eq!(lines(&sim), ["mail to ana@example.com.evil.io", "mail to hana@example.com"]);
}

#[tokio::test]
async fn hostile_identifiers_are_literals_in_the_query() {
    let sim = sim().await;
    let hostile = r#"a"b\c.*(x)|y@x.io"#;
    sim.loki().push(Sim::LOKI_TENANT, SHOP, &format!("mail to {hostile} ok"));
    for line in ["mail to ab@x.io", "mail to a\"b\\cxx(x)|y@x.io", "user {app=~\".+\"}x"] {
        sim.loki().push(Sim::LOKI_TENANT, SHOP, line);
    }
    let loki = connector(&sim, json!({})).unwrap();
    let subject = person(Some("{app=~\".+\"}"), &[hostile]);
    assert!(matches!(drive(&loki, &subject).await, Outcome::Erased(_)));
    assert_eq!(lines(&sim), ["mail to a\"b\\cxx(x)|y@x.io", "mail to ab@x.io", "user {app=~\".+\"}x"]);
    assert_eq!(delete_queries(&sim), [Token::new(hostile, true).query(SELECTOR)]);
    assert!(delete_queries(&sim)[0].contains(r#"(?i:a\"b\\\\c\\.\\*\\(x\\)\\|y@x\\.io)"#));
}

#[tokio::test]
async fn other_tenants_and_streams_are_left_alone() {
    let sim = sim().await;
    sim.loki().push(Sim::LOKI_TENANT, SHOP, "login ana@example.com");
    sim.loki().push("other-tenant", SHOP, "login ana@example.com");
    sim.loki().push(Sim::LOKI_TENANT, &[("app", "shop-admin")], "login ana@example.com");
    let loki = connector(&sim, json!({})).unwrap();
    assert!(matches!(drive(&loki, &person(None, &["ana@example.com"])).await, Outcome::Erased(_)));
    assert_eq!(lines(&sim), ["login ana@example.com"]);
    assert_eq!(sim.loki().lines("other-tenant"), ["login ana@example.com"]);
}

#[tokio::test]
async fn delete_requests_are_followed_until_processed() {
    let sim = sim().await;
    sim.loki().set_processing_delay(Duration::from_millis(600));
    for i in 0..3 {
        sim.loki().push(Sim::LOKI_TENANT, SHOP, &format!("order {i} by u_1234"));
    }
    let loki = connector(&sim, json!({})).unwrap();
    let subject = person(Some("u_1234"), &["nobody@example.com"]);
    let Outcome::Pending(pending) = loki.erase(&ctx(), &subject).await else { panic!("pending") };
    let requests = sim.loki().delete_requests(Sim::LOKI_TENANT);
    assert_eq!(requests.len(), 1, "one request, for the identifier with lines");
    let id = requests[0]["request_id"].as_str().unwrap().to_string();
    assert_eq!(requests[0]["status"], "received");
    assert_eq!(pending.state, json!({ "delete_requests": [id] }));
    assert_eq!(pending.check_after, Duration::from_secs(1));
    assert_eq!(pending.evidence.counts["log_lines"], 3);
    assert!(!serde_json::to_string(&pending).unwrap().contains("u_1234"), "no identifier in the stored state");
    assert!(matches!(loki.check(&ctx(), &subject, &pending).await, Outcome::Pending(_)));
    tokio::time::sleep(Duration::from_millis(700)).await;
    let Outcome::Erased(evidence) = loki.check(&ctx(), &subject, &pending).await else { panic!("erased") };
    assert_eq!(evidence.vendor_refs, [format!("loki delete request {id}")]);
    assert_eq!(evidence.counts["log_lines"], 3);
    assert!(evidence.note.unwrap().ends_with("every delete request is processed"));
    assert!(lines(&sim).is_empty());
}

#[tokio::test]
async fn a_partly_processed_request_is_still_pending() {
    let sim = sim().await;
    sim.loki().set_processing_delay(Duration::from_millis(1200));
    sim.loki().push_at(Sim::LOKI_TENANT, SHOP, now_ns() - 150 * 60 * 1_000_000_000, "old line of u_1234");
    sim.loki().push(Sim::LOKI_TENANT, SHOP, "new line of u_1234");
    let loki = connector(&sim, json!({ "lookback": "3h", "max_interval": "1h" })).unwrap();
    let subject = person(Some("u_1234"), &[]);
    let Outcome::Pending(pending) = loki.erase(&ctx(), &subject).await else { panic!("pending") };
    tokio::time::sleep(Duration::from_millis(500)).await;
    let status = sim.loki().delete_requests(Sim::LOKI_TENANT)[0]["status"].as_str().unwrap().to_string();
    assert!(status.ends_with("% Complete"), "{status}");
    assert!(matches!(loki.check(&ctx(), &subject, &pending).await, Outcome::Pending(_)));
    assert_eq!(lines(&sim), ["new line of u_1234"], "the oldest shard went first");
    tokio::time::sleep(Duration::from_millis(900)).await;
    assert!(matches!(loki.check(&ctx(), &subject, &pending).await, Outcome::Erased(_)));
    assert!(lines(&sim).is_empty());
}

#[tokio::test]
async fn a_cancelled_request_fails_the_check() {
    let sim = sim().await;
    sim.loki().set_cancel_period(Duration::from_secs(5));
    sim.loki().push(Sim::LOKI_TENANT, SHOP, "login u_1234");
    let loki = connector(&sim, json!({})).unwrap();
    let subject = person(Some("u_1234"), &[]);
    let Outcome::Pending(pending) = loki.erase(&ctx(), &subject).await else { panic!("pending") };
    sim.loki().cancel_delete_requests(Sim::LOKI_TENANT);
    match loki.check(&ctx(), &subject, &pending).await {
        Outcome::Failed { reason } => assert!(reason.contains("was cancelled"), "{reason}"),
        other => panic!("a cancelled request must fail: {other:?}"),
    }
    let broken = Pending { state: json!({}), ..pending };
    assert!(matches!(loki.check(&ctx(), &subject, &broken).await, Outcome::Failed { .. }));
}

#[tokio::test]
async fn a_repeated_erase_follows_the_open_request() {
    let sim = sim().await;
    sim.loki().set_processing_delay(Duration::from_secs(5));
    sim.loki().push(Sim::LOKI_TENANT, SHOP, "login u_1234");
    let loki = connector(&sim, json!({})).unwrap();
    let subject = person(Some("u_1234"), &[]);
    let Outcome::Pending(first) = loki.erase(&ctx(), &subject).await else { panic!("pending") };
    let Outcome::Pending(second) = loki.erase(&ctx(), &subject).await else { panic!("pending again") };
    assert_eq!(first.state, second.state);
    assert_eq!(sim.loki().delete_requests(Sim::LOKI_TENANT).len(), 1, "no second delete request");
}

#[tokio::test]
async fn a_vendor_that_widens_the_filter_gets_no_delete_request() {
    let sim = sim().await;
    sim.loki().widen_filters(true);
    sim.loki().push(Sim::LOKI_TENANT, SHOP, "login u_12345");
    let loki = connector(&sim, json!({})).unwrap();
    match loki.erase(&ctx(), &person(Some("u_1234"), &[])).await {
        Outcome::Failed { reason } => assert!(reason.contains("wider than written"), "{reason}"),
        other => panic!("expected a refusal: {other:?}"),
    }
    assert!(delete_queries(&sim).is_empty());
    assert_eq!(lines(&sim), ["login u_12345"]);
}

#[tokio::test]
async fn basic_auth_bearer_tokens_and_wrong_credentials() {
    let sim = sim().await;
    sim.loki().push(Sim::LOKI_USER, SHOP, "login u_1234");
    let basic = json!({ "token_env": null, "tenant": null, "username": Sim::LOKI_USER, "password_env": "P" });
    let loki = connector(&sim, basic).unwrap();
    loki.healthcheck().await.unwrap();
    assert!(loki.lookup(&ctx(), &person(Some("u_1234"), &[])).await.unwrap().present, "the Basic user is the tenant");
    let config: Config = serde_json::from_value(json!({
        "base_url": sim.vendor_url("loki"), "selector": SELECTOR, "lookback": "1d",
        "username": Sim::LOKI_USER, "password_env": "P",
    }))
    .unwrap();
    let wrong = Loki::new(config, &Secrets::one("password_env", "wrong"), http()).unwrap();
    assert_eq!(wrong.erase(&ctx(), &person(Some("u_1234"), &[])).await, Outcome::failed("logs answered HTTP 401"));
    let err = wrong.healthcheck().await.unwrap_err();
    assert!(err.reason.contains("401"), "{err}");
    let no_tenant = connector(&sim, json!({ "tenant": null })).unwrap();
    assert!(matches!(no_tenant.erase(&ctx(), &person(Some("u_1234"), &[])).await, Outcome::Failed { .. }));
    assert_eq!(sim.loki().lines(Sim::LOKI_USER), ["login u_1234"]);
}

#[tokio::test]
async fn long_lookbacks_are_queried_in_windows() {
    let sim = sim().await;
    sim.loki().set_max_query_length(Duration::from_secs(2 * 3600));
    sim.loki().push_at(Sim::LOKI_TENANT, SHOP, now_ns() - 5 * 3600 * 1_000_000_000, "old login u_1234");
    sim.loki().push(Sim::LOKI_TENANT, SHOP, "new login u_1234");
    let loki = connector(&sim, json!({ "lookback": "10h", "query_window": "2h" })).unwrap();
    let found = loki.lookup(&ctx(), &person(Some("u_1234"), &[])).await.unwrap();
    assert_eq!(found.count, Some(2));
    assert!(matches!(drive(&loki, &person(Some("u_1234"), &[])).await, Outcome::Erased(_)));
    assert!(lines(&sim).is_empty());

    let too_long = connector(&sim, json!({ "lookback": "10h", "query_window": "3h" })).unwrap();
    let err = too_long.lookup(&ctx(), &person(Some("u_1234"), &[])).await.unwrap_err();
    assert!(err.reason.starts_with("logs answered HTTP 400 to query_range") && err.reason.contains("query_window"));
    let too_big = connector(&sim, json!({ "page_size": 6000 })).unwrap();
    assert!(matches!(too_big.erase(&ctx(), &person(Some("u_1234"), &[])).await, Outcome::Failed { .. }));
}

#[tokio::test]
async fn lines_sharing_a_timestamp_across_pages_are_counted_once() {
    let sim = sim().await;
    let t = now_ns() - 1_000_000_000;
    sim.loki().push_at(Sim::LOKI_TENANT, SHOP, t, "x u_1234");
    sim.loki().push_at(Sim::LOKI_TENANT, SHOP, t - 1, "a u_1234");
    sim.loki().push_at(Sim::LOKI_TENANT, SHOP, t - 1, "b u_1234");
    sim.loki().push_at(Sim::LOKI_TENANT, &[("app", "shop"), ("pod", "2")], t - 1, "a u_1234");
    sim.loki().push_at(Sim::LOKI_TENANT, SHOP, t - 2, "y u_1234");
    // Pages of 3: [x, a, b], then [a, b, a of pod 2] of which one line is new, then [y].
    let loki = connector(&sim, json!({ "page_size": 3 })).unwrap();
    let found = loki.lookup(&ctx(), &person(Some("u_1234"), &[])).await.unwrap();
    assert_eq!(found.count, Some(5));
}

#[tokio::test]
async fn a_line_naming_two_identifiers_counts_once() {
    let sim = sim().await;
    sim.loki().push(Sim::LOKI_TENANT, SHOP, "user=u_1234 email=ana@example.com");
    sim.loki().push(Sim::LOKI_TENANT, SHOP, "email=ana@example.com");
    let loki = connector(&sim, json!({})).unwrap();
    let subject = person(Some("u_1234"), &["ana@example.com"]);
    assert_eq!(loki.lookup(&ctx(), &subject).await.unwrap().count, Some(2));
    let Outcome::Erased(evidence) = drive(&loki, &subject).await else { panic!("erased") };
    assert_eq!(evidence.counts["log_lines"], 2);
    assert_eq!(evidence.vendor_refs.len(), 2, "one delete request per identifier");
    assert!(!loki.lookup(&ctx(), &subject).await.unwrap().present);
}

#[tokio::test]
async fn counting_stops_at_the_limit() {
    let sim = sim().await;
    for i in 0..9 {
        sim.loki().push(Sim::LOKI_TENANT, SHOP, &format!("{i} u_1234"));
    }
    let loki = connector(&sim, json!({ "max_lines_counted": 5 })).unwrap();
    let Outcome::Erased(evidence) = drive(&loki, &person(Some("u_1234"), &[])).await else { panic!("erased") };
    assert_eq!(evidence.counts["log_lines"], 5);
    assert!(evidence.note.unwrap().contains("counting stopped at 5 lines per identifier"));
    assert!(lines(&sim).is_empty(), "the delete request is not limited by the count");
}

#[tokio::test]
async fn rate_limits_and_errors_are_classified() {
    let sim = sim().await;
    sim.loki().push(Sim::LOKI_TENANT, SHOP, "login u_1234");
    let loki = connector(&sim, json!({})).unwrap();
    let subject = person(Some("u_1234"), &[]);
    sim.loki().set_rate_limit(Some((2, Duration::from_secs(10))));
    match loki.erase(&ctx(), &subject).await {
        Outcome::Retry { throttled: true, after: Some(after), .. } => assert!(after <= Duration::from_secs(10)),
        other => panic!("the third call is over the window: {other:?}"),
    }
    sim.loki().set_rate_limit(None);
    sim.push_faults("loki", [Fault::Status { status: 500, retry_after: Some(7) }]);
    assert_eq!(
        loki.erase(&ctx(), &subject).await,
        Outcome::Retry {
            after: Some(Duration::from_secs(7)),
            reason: "logs answered HTTP 500".into(),
            throttled: false
        }
    );
    sim.push_faults("loki", [Fault::Status { status: 403, retry_after: None }]);
    assert_eq!(loki.erase(&ctx(), &subject).await, Outcome::failed("logs answered HTTP 403"));
    sim.push_faults("loki", [Fault::Status { status: 404, retry_after: None }]);
    match loki.erase(&ctx(), &subject).await {
        Outcome::Failed { reason } => assert!(reason.starts_with("logs answered HTTP 404 to the list"), "{reason}"),
        other => panic!("{other:?}"),
    }
    assert!(delete_queries(&sim).is_empty());
    assert!(matches!(drive(&loki, &subject).await, Outcome::Erased(_)), "then it goes through");
}

#[tokio::test]
async fn short_identifiers_are_refused_without_quoting_them() {
    let sim = sim().await;
    sim.loki().push(Sim::LOKI_TENANT, SHOP, "took 42424 ms for ana@example.com");
    let loki = connector(&sim, json!({})).unwrap();
    for outcome in [
        loki.erase(&ctx(), &person(Some("u4242"), &["ana@example.com"])).await,
        Outcome::from(loki.lookup(&ctx(), &person(Some("u4242"), &[])).await.unwrap_err()),
    ] {
        let Outcome::Failed { reason } = outcome else { panic!("a permanent failure: {outcome:?}") };
        assert_eq!(
            reason,
            "the subject's user_id is shorter than 6 characters (min_identifier_length): too short to match log \
             lines safely"
        );
    }
    assert!(delete_queries(&sim).is_empty());
    assert_eq!(lines(&sim).len(), 1);
}

/// A number matched as a bare token also matches `latency=123456` in someone else's line: numbers
/// are matched only in the forms the instance declares.
#[tokio::test]
async fn numeric_identifiers_match_only_in_the_declared_forms() {
    let sim = sim().await;
    for line in [
        "level=info user_id=123456 paid",
        r#"{"user_id":"123456","msg":"login"}"#,
        "level=info latency=123456 path=/cart",
        "level=info order=123456 shipped user_id=777777",
        "level=info user_id=1234567 paid",
    ] {
        sim.loki().push(Sim::LOKI_TENANT, SHOP, line);
    }
    let patterns = json!({ "id_patterns": ["user_id={}", "\"user_id\":\"{}\""] });
    let loki = connector(&sim, patterns).unwrap();
    let Outcome::Erased(evidence) = drive(&loki, &person(Some("123456"), &[])).await else { panic!("erased") };
    assert_eq!(evidence.counts["log_lines"], 2);
    assert_eq!(
        lines(&sim),
        [
            "level=info latency=123456 path=/cart",
            "level=info order=123456 shipped user_id=777777",
            "level=info user_id=1234567 paid"
        ]
    );
    assert_eq!(delete_queries(&sim).len(), 2, "one request per declared form");

    // Without declared forms, a number is refused, never matched bare.
    sim.loki().push(Sim::LOKI_TENANT, SHOP, "level=info user_id=654321 paid");
    let bare = connector(&sim, json!({})).unwrap();
    match bare.erase(&ctx(), &person(Some("654321"), &["ana@example.com"])).await {
        Outcome::Failed { reason } => {
            assert!(reason.starts_with("the subject's user_id is a number"), "{reason}");
            assert!(!reason.contains("654321"));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(lines(&sim).len(), 4);
    assert!(refused_config(&sim, json!({ "id_patterns": ["user_id="] })).contains("id_patterns"));
    assert!(refused_config(&sim, json!({ "id_patterns": ["{}"] })).contains("id_patterns"));
}

fn refused_config(sim: &Sim, overrides: Value) -> String {
    connector(sim, overrides).err().unwrap_or_else(|| panic!("accepted"))
}

/// Loki processes a delete request only once its cancellation period is over; the connector
/// waits (`Pending`) until then, and the evidence names the period.
#[tokio::test]
async fn requests_wait_out_the_cancellation_period() {
    let sim = sim().await;
    sim.loki().set_cancel_period(Duration::from_secs(2));
    sim.loki().push(Sim::LOKI_TENANT, SHOP, "login u_1234");
    let loki = connector(&sim, json!({ "delete_request_cancel_period": "2s" })).unwrap();
    let subject = person(Some("u_1234"), &[]);
    let Outcome::Pending(pending) = loki.erase(&ctx(), &subject).await else { panic!("pending") };
    assert_eq!(pending.check_after, Duration::from_secs(2), "the first check waits the period out");
    let note = pending.evidence.note.clone().unwrap();
    assert!(note.contains("cancellable and unprocessed for Loki's delete_request_cancel_period (2s)"), "{note}");
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert!(matches!(loki.check(&ctx(), &subject, &pending).await, Outcome::Pending(_)));
    assert_eq!(sim.loki().delete_requests(Sim::LOKI_TENANT)[0]["status"], "received");
    assert_eq!(lines(&sim), ["login u_1234"], "still stored during the period");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let Outcome::Erased(evidence) = loki.check(&ctx(), &subject, &pending).await else { panic!("erased") };
    assert!(evidence.note.unwrap().ends_with("; every delete request is processed"));
    assert!(lines(&sim).is_empty());
}

/// With `deletion_mode: filter-only`, Loki hides the lines from queries but keeps them stored:
/// the evidence says so.
#[tokio::test]
async fn filter_only_mode_says_the_lines_are_still_stored() {
    let sim = sim().await;
    sim.loki().set_deletion_mode(LokiDeletionMode::FilterOnly);
    sim.loki().push(Sim::LOKI_TENANT, SHOP, "login u_1234");
    let loki = connector(&sim, json!({ "deletion_mode": "filter-only" })).unwrap();
    let subject = person(Some("u_1234"), &[]);
    let Outcome::Erased(evidence) = drive(&loki, &subject).await else { panic!("erased") };
    let note = evidence.note.unwrap();
    assert!(note.contains("Loki's deletion_mode is filter-only: the lines are hidden from queries but still stored"));
    assert!(note.ends_with("the lines are hidden from queries but still stored (deletion_mode filter-only)"));
    assert_eq!(lines(&sim), ["login u_1234"], "stored");
    assert!(!loki.lookup(&ctx(), &subject).await.unwrap().present, "hidden");
    assert!(refused_config(&sim, json!({ "deletion_mode": "disabled" })).contains("deletion_mode"));
}

#[tokio::test]
async fn the_id_for_this_instance_and_the_chosen_kinds() {
    let sim = sim().await;
    sim.loki().push(Sim::LOKI_TENANT, SHOP, "customer=cust-9911 paid");
    sim.loki().push(Sim::LOKI_TENANT, SHOP, "user=u_1234 paid");
    let loki = connector(&sim, json!({ "identifiers": ["id"] })).unwrap();
    let subject = Subject::new(RawSubject {
        user_id: Some("u_1234".into()),
        ids: [("logs".to_string(), "cust-9911".to_string()), ("crm".to_string(), "u_1234".to_string())].into(),
        ..RawSubject::default()
    })
    .unwrap();
    assert!(matches!(drive(&loki, &subject).await, Outcome::Erased(_)));
    assert_eq!(lines(&sim), ["user=u_1234 paid"]);
}

#[tokio::test]
async fn nothing_to_erase_sends_no_delete_request() {
    let sim = sim().await;
    sim.loki().push(Sim::LOKI_TENANT, SHOP, "login u_9999");
    let loki = connector(&sim, json!({})).unwrap();
    assert_eq!(loki.erase(&ctx(), &person(Some("u_1234"), &["ana@example.com"])).await, Outcome::NothingToErase);
    assert!(delete_queries(&sim).is_empty());
    let actions: Vec<String> = sim.calls("loki").into_iter().map(|c| c.action).collect();
    assert_eq!(actions, ["GET /loki/api/v1/delete", "GET /loki/api/v1/query_range", "GET /loki/api/v1/query_range"]);
}

#[tokio::test]
async fn the_seed_file_section() {
    let sim = sim().await;
    let ts = (now_ns() - 60_000_000_000).to_string();
    sim.seed_json(&json!({ "loki": {
        "streams": [ { "stream": { "app": "shop" }, "values": [[ts, "login u_1234"], "logout u_1234"] } ]
    }}))
    .unwrap();
    let loki = connector(&sim, json!({})).unwrap();
    assert_eq!(loki.lookup(&ctx(), &person(Some("u_1234"), &[])).await.unwrap().count, Some(2));
    assert!(sim.seed_json(&json!({ "loki": { "streams": [ { "stream": {}, "values": ["x"] } ] } })).is_err());
    assert!(sim.seed_json(&json!({ "loki": { "lines": [] } })).is_err());
}

#[tokio::test]
async fn the_config_is_checked() {
    let sim = sim().await;
    let refused = |overrides: Value| connector(&sim, overrides).err().unwrap_or_else(|| panic!("accepted"));
    assert!(refused(json!({ "selector": "app=\"shop\"" })).contains("selector"));
    assert!(refused(json!({ "selector": "{app=\"shop\"} |= \"x\"" })).contains("selector"));
    assert!(refused(json!({ "username": "u", "password_env": "P" })).contains("not both"));
    assert!(refused(json!({ "token_env": null, "username": "u" })).contains("go together"));
    assert!(refused(json!({ "max_interval": "2d" })).contains("max_interval"));
    assert!(refused(json!({ "tenant": "a|b" })).contains("tenant"));
    assert!(refused(json!({ "lookback": "soon" })).contains("not a duration"));
    assert!(refused(json!({ "base_url": "ftp://loki" })).contains("http"));
    assert!(refused(json!({ "identifiers": [] })).contains("identifiers"));
    assert!(refused(json!({ "identifiers": ["names"] })).contains("unknown variant"));
    assert!(refused(json!({ "selectors": "{app=\"x\"}" })).contains("unknown field"));
    let config: Config = serde_json::from_value(json!({
        "base_url": "http://loki:3100", "selector": SELECTOR, "lookback": 86400, "token_env": "T",
    }))
    .unwrap();
    assert!(Loki::new(config, &Secrets::default(), http()).err().unwrap().to_string().contains("token_env"));
}
