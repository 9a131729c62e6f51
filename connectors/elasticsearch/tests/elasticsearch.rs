//! The elasticsearch connector against the simulator: the query it sends, the task it follows,
//! the rounds it starts, and how it classifies what the cluster answers.

mod common;

use common::{drive, log_line, settle};
use erasure_connector::subject::RawSubject;
use erasure_connector::{Connector, Ctx, FailureKind, Outcome, Pending, Secrets, Subject};
use erasure_connector_elasticsearch::{Config, Elasticsearch};
use erasure_sim::{Fault, Sim};
use serde_json::json;
use std::collections::BTreeMap;
use std::time::Duration;

async fn setup() -> (Sim, Elasticsearch, Ctx) {
    let sim = common::sim().await;
    let http = common::http();
    let connector = common::connector(&sim.vendor_url("elasticsearch"), http.clone());
    (sim, connector, Ctx::standalone("logs", http))
}

fn ana() -> Subject {
    Subject::new(RawSubject {
        user_id: Some("u_ana".into()),
        emails: vec!["ana@example.com".into()],
        phones: vec!["+33612345678".into()],
        ..RawSubject::default()
    })
    .unwrap()
}

fn seed(sim: &Sim, subject: &Subject, n: u64) {
    for i in 0..n {
        sim.elasticsearch().index(if i % 2 == 0 { "logs-app-1" } else { "logs-app-2" }, log_line(subject, i));
    }
}

fn remaining(sim: &Sim) -> u64 {
    sim.elasticsearch().matching("logs-*", "user.email", "ana@example.com")
        + sim.elasticsearch().matching("logs-*", "user.id", "u_ana")
        + sim.elasticsearch().matching("logs-*", "client.phone", "+33612345678")
}

fn actions(sim: &Sim) -> Vec<String> {
    sim.calls("elasticsearch").into_iter().map(|c| c.action).collect()
}

fn reason_of(outcome: &Outcome) -> &str {
    match outcome {
        Outcome::Retry { reason, .. } | Outcome::Failed { reason } => reason,
        other => panic!("no reason in {other:?}"),
    }
}

#[tokio::test]
async fn erases_with_one_task_then_proves_nothing_is_left() {
    let (sim, es, ctx) = setup().await;
    seed(&sim, &ana(), 3);
    let someone = sim.elasticsearch().index("logs-app-1", json!({ "user": { "email": "bob@example.com" } }));
    sim.elasticsearch().index("metrics-1", json!({ "user": { "email": "ana@example.com" } }));
    sim.elasticsearch().index("logs-app-1", json!({ "message": "mail to ana@example.com bounced" }));

    let Outcome::Pending(pending) = es.erase(&ctx, &ana()).await else { panic!("an accepted task") };
    assert_eq!(pending.state, json!({ "task": "simnode:1", "round": 1 }));
    assert_eq!(pending.evidence.vendor_refs, ["simnode:1"]);
    assert_eq!(pending.check_after, Duration::from_secs(1));
    let outcome = drive_from(&es, &ctx, pending).await;
    let Outcome::Erased(evidence) = outcome else { panic!("erased: {outcome:?}") };
    assert_eq!(evidence.counts, BTreeMap::from([("documents".to_string(), 3)]));
    assert_eq!(evidence.vendor_refs, ["simnode:1"]);
    assert_eq!(remaining(&sim), 0);
    assert!(!someone.is_empty());
    assert_eq!(sim.elasticsearch().total(), 3, "bob, the index outside the pattern and the free text stay");

    let requests = sim.elasticsearch().requests();
    let query = json!({ "query": { "bool": { "should": [
        { "terms": { "user.email": ["u_ana", "ana@example.com", "+33612345678"] } },
        { "terms": { "user.id": ["u_ana", "ana@example.com", "+33612345678"] } },
        { "terms": { "client.phone": ["u_ana", "ana@example.com", "+33612345678"] } },
    ], "minimum_should_match": 1 } } });
    assert_eq!(requests[0]["action"], "GET /logs-*/_mapping/field/user.email,user.id,client.phone");
    assert_eq!(requests[1], json!({ "action": "POST /logs-*/_count", "auth": "Basic", "body": query }));
    assert_eq!(requests[2]["action"], "POST /logs-*/_delete_by_query");
    assert_eq!(requests[2]["body"], query);
    let actions = actions(&sim);
    assert!(actions.iter().any(|a| a == "GET /_tasks/simnode:1"), "{actions:?}");
    assert_eq!(actions.last().unwrap(), "POST /logs-*/_count", "a count proves the erasure");
}

const MAPPING: &str = "GET /logs-*/_mapping/field/user.email,user.id,client.phone";

/// A `text` field holds analysed tokens (`ana`, `example.com`): a terms query on the whole address
/// finds nothing there. The mapping is checked first, and such a field fails the erasure instead
/// of telling the person there was nothing to erase.
#[tokio::test]
async fn a_text_field_fails_naming_the_field_never_nothing_to_erase() {
    let (sim, es, ctx) = setup().await;
    // No explicit mapping: dynamic mapping makes `user.email` a `text` field (with `.keyword`).
    sim.elasticsearch().index("logs-web-1", json!({ "user": { "email": "ana@example.com", "id": "u_ana" } }));
    let outcome = es.erase(&ctx, &ana()).await;
    let Outcome::Failed { reason } = &outcome else { panic!("a permanent failure: {outcome:?}") };
    assert_eq!(
        reason,
        "elasticsearch: fields must be keyword fields, but `user.email` is `text` in index logs-web-1; `user.id` \
         is `text` in index logs-web-1; `client.phone` is not mapped in index logs-web-1: a terms query finds whole \
         identifiers only in keyword fields (with dynamic mapping, configure `<field>.keyword`)"
    );
    assert!(!reason.contains("ana@") && !reason.contains("u_ana"), "no identifier in the reason");
    assert_eq!(actions(&sim), [MAPPING], "no count, no deletion");
    assert_eq!(sim.elasticsearch().matching("logs-*", "user.email", "ana@example.com"), 1);
    let failure = es.healthcheck().await.unwrap_err();
    assert_eq!((failure.kind, failure.reason.as_str()), (FailureKind::Permanent, reason.as_str()));
    assert_eq!(es.lookup(&ctx, &ana()).await.unwrap_err().kind, FailureKind::Permanent);
}

#[tokio::test]
async fn the_mapping_is_checked_once_per_instance() {
    let (sim, es, ctx) = setup().await;
    seed(&sim, &ana(), 2);
    assert!(matches!(drive(&es, &ctx, &ana()).await, Outcome::Erased(_)));
    assert!(matches!(es.erase(&ctx, &ana()).await, Outcome::NothingToErase));
    let checks = actions(&sim).iter().filter(|a| a.contains("/_mapping/")).count();
    assert_eq!(checks, 1);
}

/// A task started with `wait_for_completion=false` leaves its result in the `.tasks` index; the
/// connector deletes it once it has read it.
#[tokio::test]
async fn finished_tasks_leave_no_result_in_the_tasks_index() {
    let (sim, es, ctx) = setup().await;
    seed(&sim, &ana(), 3);
    let Outcome::Pending(pending) = es.erase(&ctx, &ana()).await else { panic!("pending") };
    sim.elasticsearch().index("logs-app-2", log_line(&ana(), 0));
    let Outcome::Pending(second) = settle(&es, &ctx, &ana(), &pending).await else { panic!("a second round") };
    assert_eq!(sim.elasticsearch().stored_task_results(), Vec::<String>::new(), "round 1's result is deleted");
    let Outcome::Erased(evidence) = settle(&es, &ctx, &ana(), &second).await else { panic!("erased") };
    assert_eq!(evidence.counts["documents"], 4);
    assert!(sim.elasticsearch().stored_task_results().is_empty());
    let actions = actions(&sim);
    for task in ["simnode:1", "simnode:2"] {
        assert!(actions.contains(&format!("DELETE /.tasks/_doc/{task}")), "{task}: {actions:?}");
    }
    // A check repeated after a crash finds the task and its result gone: another round, later.
    let Outcome::Pending(again) = es.check(&ctx, &ana(), &second).await else { panic!("another round") };
    assert_eq!(again.state, json!({ "task": null, "round": 3 }));
}

/// Elasticsearch 8 refuses `.tasks` to a role without `allow_restricted_indices`: the task result
/// would stay, so the erasure fails for an operator (the documents are already deleted).
#[tokio::test]
async fn a_key_that_may_not_touch_the_tasks_index_fails_for_an_operator() {
    let (sim, es, ctx) = setup().await;
    seed(&sim, &ana(), 2);
    sim.elasticsearch().restrict_system_indices(true);
    assert_eq!(
        drive(&es, &ctx, &ana()).await,
        Outcome::failed(
            "the finished task's result could not be deleted from .tasks: elasticsearch answered HTTP 403 \
             (security_exception) (the key needs `delete` on .tasks, with allow_restricted_indices on Elasticsearch 8)"
        )
    );
    assert_eq!(remaining(&sim), 0);
    assert_eq!(sim.elasticsearch().stored_task_results(), ["simnode:1"]);
}

#[tokio::test]
async fn nothing_to_erase_starts_no_task() {
    let (sim, es, ctx) = setup().await;
    seed(&sim, &ana(), 2);
    let nobody = Subject::new(RawSubject { emails: vec!["nobody@example.com".into()], ..RawSubject::default() });
    assert_eq!(es.erase(&ctx, &nobody.unwrap()).await, Outcome::NothingToErase);
    assert_eq!(actions(&sim), [MAPPING, "POST /logs-*/_count"]);
}

#[tokio::test]
async fn only_this_systems_id_is_matched() {
    let (sim, es, ctx) = setup().await;
    let mine = sim.elasticsearch().index("logs-app-1", json!({ "user": { "id": "L-7" } }));
    sim.elasticsearch().index("logs-app-1", json!({ "user": { "id": "42" } }));
    let subject = Subject::new(RawSubject {
        emails: vec!["zed@example.com".into()],
        ids: BTreeMap::from([("logs".into(), "L-7".into()), ("helpdesk".into(), "42".into())]),
        ..RawSubject::default()
    })
    .unwrap();
    assert!(matches!(drive(&es, &ctx, &subject).await, Outcome::Erased(_)));
    assert_eq!(sim.elasticsearch().matching("logs-*", "user.id", "L-7"), 0, "{mine} erased");
    assert_eq!(sim.elasticsearch().matching("logs-*", "user.id", "42"), 1, "the helpdesk's id is not ours");
}

#[tokio::test]
async fn hostile_identifiers_reach_the_cluster_as_whole_values() {
    let (sim, es, ctx) = setup().await;
    seed(&sim, &ana(), 2);
    let odd = sim.elasticsearch().index("logs-app-1", json!({ "user": { "email": "*@example.com" } }));
    let hostile = Subject::new(RawSubject {
        user_id: Some("*\" OR \"\"=\"".into()),
        emails: vec!["*@example.com".into(), "a\"b@example.com".into(), "ana*@example.com".into()],
        ..RawSubject::default()
    })
    .unwrap();
    let Outcome::Erased(evidence) = drive(&es, &ctx, &hostile).await else { panic!("the odd address is erased") };
    assert_eq!(evidence.counts["documents"], 1, "{odd} only");
    assert_eq!(remaining(&sim), 2, "ana's documents stay");
    let seen = &sim.calls("elasticsearch")[1].identifiers;
    for value in ["*\" OR \"\"=\"", "*@example.com", "a\"b@example.com", "ana*@example.com"] {
        assert!(seen.iter().any(|s| s == value), "{value} arrived intact: {seen:?}");
    }
}

#[tokio::test]
async fn documents_written_during_a_task_get_another_round() {
    let (sim, es, ctx) = setup().await;
    seed(&sim, &ana(), 3);
    let Outcome::Pending(pending) = es.erase(&ctx, &ana()).await else { panic!("pending") };
    sim.elasticsearch().index("logs-app-2", log_line(&ana(), 0));
    let Outcome::Pending(second) = settle(&es, &ctx, &ana(), &pending).await else { panic!("a second round") };
    assert_eq!(second.state, json!({ "task": "simnode:2", "round": 2 }));
    assert_eq!(second.evidence.counts["documents"], 3);
    let Outcome::Erased(evidence) = settle(&es, &ctx, &ana(), &second).await else { panic!("erased") };
    assert_eq!(evidence.counts["documents"], 4);
    assert_eq!(evidence.vendor_refs, ["simnode:1", "simnode:2"]);
    assert_eq!(remaining(&sim), 0);
}

#[tokio::test]
async fn version_conflicts_are_evidence_and_the_changed_document_goes_next_round() {
    let (sim, es, ctx) = setup().await;
    sim.elasticsearch().set_batches(1, Duration::from_millis(300));
    let ids: Vec<String> = (0..3).map(|i| sim.elasticsearch().index("logs-app-1", log_line(&ana(), i))).collect();
    let Outcome::Pending(pending) = es.erase(&ctx, &ana()).await else { panic!("pending") };
    sim.elasticsearch().update("logs-app-1", &ids[2]);
    let Outcome::Erased(evidence) = drive_from(&es, &ctx, pending).await else { panic!("erased") };
    assert_eq!(evidence.counts["version_conflicts"], 1);
    assert_eq!(evidence.counts["documents"], 3);
    assert_eq!(evidence.vendor_refs.len(), 2);
    assert_eq!(remaining(&sim), 0);
}

#[tokio::test]
async fn rejected_deletions_get_another_round_later() {
    let (sim, es, ctx) = setup().await;
    seed(&sim, &ana(), 3);
    sim.elasticsearch().fail_next_task(429, "es_rejected_execution_exception");
    let Outcome::Pending(pending) = es.erase(&ctx, &ana()).await else { panic!("pending") };
    let Outcome::Pending(later) = settle(&es, &ctx, &ana(), &pending).await else { panic!("another round, later") };
    assert_eq!(later.state, json!({ "task": null, "round": 2 }));
    assert_eq!(later.check_after, Duration::from_secs(1));
    let note = later.evidence.note.clone().unwrap();
    assert!(note.contains("es_rejected_execution_exception, HTTP 429"), "{note}");
    assert!(!note.contains("ana") && !note.contains("doc-"), "no identifiers or document ids: {note}");
    assert_eq!(remaining(&sim), 3);
    let Outcome::Pending(next) = es.check(&ctx, &ana(), &later).await else { panic!("round 2 starts") };
    assert_eq!(next.state, json!({ "task": "simnode:2", "round": 2 }));
    let Outcome::Erased(evidence) = drive_from(&es, &ctx, next).await else { panic!("erased") };
    assert_eq!(evidence.counts["documents"], 3);
    assert_eq!(remaining(&sim), 0);
}

#[tokio::test]
async fn a_write_block_fails_for_a_human() {
    let (sim, es, ctx) = setup().await;
    seed(&sim, &ana(), 2);
    sim.elasticsearch().fail_next_task(403, "cluster_block_exception");
    let outcome = drive(&es, &ctx, &ana()).await;
    assert_eq!(
        outcome,
        Outcome::failed(
            "the delete-by-query task stopped on 2 failure(s) (cluster_block_exception, HTTP 403) \
             after deleting 0 document(s)"
        )
    );
    assert_eq!(remaining(&sim), 2);
}

#[tokio::test]
async fn a_failed_or_lost_task_is_started_again() {
    let (sim, es, ctx) = setup().await;
    seed(&sim, &ana(), 2);
    sim.elasticsearch().break_next_task("task_cancelled_exception");
    let Outcome::Erased(evidence) = drive(&es, &ctx, &ana()).await else { panic!("erased") };
    assert_eq!(evidence.vendor_refs, ["simnode:1", "simnode:2"]);
    assert!(evidence.note.unwrap().contains("task_cancelled_exception"));

    seed(&sim, &ana(), 2);
    let Outcome::Pending(pending) = es.erase(&ctx, &ana()).await else { panic!("pending") };
    sim.elasticsearch().forget_tasks();
    let Outcome::Pending(later) = es.check(&ctx, &ana(), &pending).await else { panic!("started again") };
    assert_eq!(later.state, json!({ "task": null, "round": 2 }));
    assert!(matches!(drive_from(&es, &ctx, later).await, Outcome::Erased(_)));
    assert_eq!(remaining(&sim), 0);
}

#[tokio::test]
async fn documents_that_keep_coming_fail_after_five_rounds() {
    let (sim, es, ctx) = setup().await;
    seed(&sim, &ana(), 1);
    let mut outcome = es.erase(&ctx, &ana()).await;
    for _ in 0..10 {
        let Outcome::Pending(pending) = &outcome else { break };
        sim.elasticsearch().index("logs-app-1", log_line(&ana(), 0));
        outcome = settle(&es, &ctx, &ana(), pending).await;
    }
    assert_eq!(
        outcome,
        Outcome::failed("1 document(s) still match after 5 delete-by-query tasks: are they still being written?")
    );
}

#[tokio::test]
async fn a_count_some_shards_missed_is_never_nothing_to_erase() {
    let (sim, es, ctx) = setup().await;
    seed(&sim, &ana(), 2);
    sim.elasticsearch().fail_shards_once();
    let outcome = es.erase(&ctx, &ana()).await;
    assert!(matches!(outcome, Outcome::Retry { throttled: false, .. }), "{outcome:?}");
    assert_eq!(reason_of(&outcome), "elasticsearch: 1 of 2 shards did not answer the count");
    sim.elasticsearch().fail_shards_once();
    let failure = es.lookup(&ctx, &ana()).await.unwrap_err();
    assert_eq!(failure.kind, FailureKind::Transient { after: None });
}

#[tokio::test]
async fn a_cluster_with_full_queues_is_throttling() {
    let (sim, es, ctx) = setup().await;
    seed(&sim, &ana(), 1);
    sim.elasticsearch().rate_limit(2, Duration::from_secs(60));
    let outcome = es.erase(&ctx, &ana()).await;
    assert_eq!(
        outcome,
        Outcome::Retry {
            after: None,
            reason: "elasticsearch answered HTTP 429 (es_rejected_execution_exception)".into(),
            throttled: true
        }
    );
    assert_eq!(actions(&sim), [MAPPING, "POST /logs-*/_count", "POST /logs-*/_delete_by_query"]);
}

#[tokio::test]
async fn a_check_that_fails_keeps_the_task_and_is_harmless_to_repeat() {
    let (sim, es, ctx) = setup().await;
    seed(&sim, &ana(), 2);
    let Outcome::Pending(pending) = es.erase(&ctx, &ana()).await else { panic!("pending") };
    sim.push_faults(
        "elasticsearch",
        [Fault::Throttle { retry_after: Some(7) }, Fault::Status { status: 502, retry_after: None }],
    );
    let throttled = es.check(&ctx, &ana(), &pending).await;
    assert!(matches!(throttled, Outcome::Retry { throttled: true, after: Some(d), .. } if d == Duration::from_secs(7)));
    assert!(matches!(es.check(&ctx, &ana(), &pending).await, Outcome::Retry { throttled: false, .. }));
    let Outcome::Erased(evidence) = settle(&es, &ctx, &ana(), &pending).await else { panic!("erased") };
    assert_eq!(evidence.counts["documents"], 2);
}

#[tokio::test]
async fn api_keys_basic_auth_and_bad_credentials() {
    let (sim, _, ctx) = setup().await;
    seed(&sim, &ana(), 1);
    let url = sim.vendor_url("elasticsearch");
    let api_key_config =
        Config { username: None, password_env: None, api_key_env: Some("ES_API_KEY".into()), ..common::config(&url) };
    let with_key =
        Elasticsearch::new(api_key_config.clone(), &Secrets::one("api_key_env", common::API_KEY), common::http());
    with_key.unwrap().healthcheck().await.unwrap();
    assert_eq!(sim.elasticsearch().requests()[0]["auth"], "ApiKey");
    assert_eq!(sim.elasticsearch().requests()[0]["body"], json!({ "query": { "match_none": {} } }));

    let wrong_key = Elasticsearch::new(api_key_config, &Secrets::one("api_key_env", "nope"), common::http()).unwrap();
    let failure = wrong_key.healthcheck().await.unwrap_err();
    assert_eq!(failure.kind, FailureKind::Permanent);
    assert_eq!(failure.reason, "elasticsearch answered HTTP 401 (security_exception)");
    let wrong_password =
        Elasticsearch::new(common::config(&url), &Secrets::one("password_env", "nope"), common::http()).unwrap();
    assert_eq!(
        wrong_password.erase(&ctx, &ana()).await,
        Outcome::failed("elasticsearch answered HTTP 401 (security_exception)")
    );
    assert_eq!(remaining(&sim), 1);
}

#[tokio::test]
async fn a_missing_index_is_a_configuration_error() {
    let (sim, _, ctx) = setup().await;
    let config = Config { index: "audit".into(), ..common::config(&sim.vendor_url("elasticsearch")) };
    let es = Elasticsearch::new(config, &Secrets::one("password_env", common::PASSWORD), common::http()).unwrap();
    assert_eq!(
        es.erase(&ctx, &ana()).await,
        Outcome::failed("elasticsearch answered HTTP 404 (index_not_found_exception)")
    );
}

#[tokio::test]
async fn lookup_counts_and_healthcheck_touches_nothing() {
    let (sim, es, ctx) = setup().await;
    seed(&sim, &ana(), 4);
    let found = es.lookup(&ctx, &ana()).await.unwrap();
    assert!(found.present);
    assert_eq!(found.count, Some(4));
    es.healthcheck().await.unwrap();
    assert_eq!(sim.elasticsearch().total(), 4);
    assert!(matches!(drive(&es, &ctx, &ana()).await, Outcome::Erased(_)));
    assert_eq!(es.lookup(&ctx, &ana()).await.unwrap().count, Some(0));
}

#[tokio::test]
async fn configuration_mistakes_are_refused() {
    let url = "http://127.0.0.1:9200";
    let password = Secrets::one("password_env", "p");
    let refused = |config: Config, secrets: &Secrets| {
        Elasticsearch::new(config, secrets, common::http()).err().unwrap().to_string()
    };
    let both = Config { api_key_env: Some("K".into()), ..common::config(url) };
    assert!(refused(both, &Secrets::one("password_env", "p").with("api_key_env", "k")).contains("not both"));
    let none = Config { username: None, password_env: None, ..common::config(url) };
    assert!(refused(none, &password).contains("api_key_env"));
    let half = Config { password_env: None, ..common::config(url) };
    assert!(refused(half, &password).contains("password_env"));
    assert!(refused(Config { fields: vec![], ..common::config(url) }, &password).contains("fields"));
    assert!(refused(Config { fields: vec!["user.*".into()], ..common::config(url) }, &password).contains("fields"));
    for index in ["", "logs/_doc", "_security", "logs,", "a b", "logs?x"] {
        let config = Config { index: index.into(), ..common::config(url) };
        assert!(refused(config, &password).contains("index"), "{index:?}");
    }
    for base_url in ["ftp://x", "not a url", "http://x/?a=b"] {
        let config = Config { base_url: base_url.into(), ..common::config(url) };
        assert!(refused(config, &password).contains("base_url"), "{base_url:?}");
    }
    let missing_secret = Secrets::default();
    assert!(refused(common::config(url), &missing_secret).contains("password_env"));
    let unknown: Result<Config, _> = serde_json::from_value(json!({
        "base_url": url, "index": "logs-*", "fields": ["user.email"], "api_key_env": "K", "query": "*"
    }));
    assert!(unknown.is_err(), "unknown keys are refused");
}

/// Check from `pending` until the outcome is no longer `Pending`.
async fn drive_from(es: &Elasticsearch, ctx: &Ctx, mut pending: Pending) -> Outcome {
    for _ in 0..200 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        match es.check(ctx, &ana(), &pending).await {
            Outcome::Pending(next) => pending = next,
            other => return other,
        }
    }
    panic!("still pending")
}
