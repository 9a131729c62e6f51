//! The webhook connector against the simulator: every outcome the protocol can produce.

use erasure_connector::subject::RawSubject;
use erasure_connector::{Connector, Ctx, HttpClient, Outcome, Secrets, Subject};
use erasure_connector_webhook::{Config, Webhook};
use erasure_sim::{Fault, Sim, SimOptions};
use std::time::Duration;

const SECRET: &str = "shared-secret";

async fn setup(secret: &str) -> (Sim, Webhook, Ctx) {
    let sim = Sim::start(
        "127.0.0.1:0".parse().unwrap(),
        SimOptions { webhook_secret: SECRET.into(), ..SimOptions::default() },
    )
    .await
    .unwrap();
    let http = HttpClient::unlimited("accounts", Duration::from_millis(500));
    let config = Config {
        url: sim.webhook_url("accounts"),
        secret_env: "UNUSED".into(),
        default_check_after: 30.into(),
        allow_insecure_http: true,
        lookup_url: Some(sim.webhook_url("accounts")),
    };
    let webhook = Webhook::new(config, &Secrets::one("secret_env", secret), http.clone()).unwrap();
    (sim, webhook, Ctx::standalone("accounts", http))
}

fn subject(email: &str) -> Subject {
    Subject::new(RawSubject { emails: vec![email.into()], ..RawSubject::default() }).unwrap()
}

#[tokio::test]
async fn erases_what_is_there_and_nothing_twice() {
    let (sim, webhook, ctx) = setup(SECRET).await;
    sim.seed("accounts", "ana@example.com", 3);
    let Outcome::Erased(evidence) = webhook.erase(&ctx, &subject("ana@example.com")).await else { panic!("erased") };
    assert_eq!(evidence.counts["records"], 3);
    assert_eq!(sim.records("accounts", "ana@example.com"), 0);
    let again = webhook.erase(&ctx, &subject("ana@example.com")).await;
    assert_eq!(again, Outcome::Erased(evidence), "the same idempotency key gets the same answer");
    let other = Ctx::standalone("accounts", ctx.http.clone());
    assert_eq!(webhook.erase(&other, &subject("ana@example.com")).await, Outcome::NothingToErase);
    let call = &sim.calls("accounts")[0];
    assert!(call.signature_ok);
    assert_eq!(call.idempotency_key.as_deref(), Some(ctx.idempotency_key.as_str()));
}

#[tokio::test]
async fn nothing_to_erase_for_an_unknown_person() {
    let (_sim, webhook, ctx) = setup(SECRET).await;
    assert_eq!(webhook.erase(&ctx, &subject("nobody@example.com")).await, Outcome::NothingToErase);
}

#[tokio::test]
async fn rate_limits_errors_and_timeouts_are_classified() {
    let (sim, webhook, ctx) = setup(SECRET).await;
    sim.push_faults(
        "accounts",
        [
            Fault::Throttle { retry_after: Some(30) },
            Fault::Throttle { retry_after: None },
            Fault::Status { status: 503, retry_after: None },
            Fault::Hang { millis: 1500 },
            Fault::Status { status: 403, retry_after: None },
        ],
    );
    let s = subject("bob@example.com");
    assert_eq!(
        webhook.erase(&ctx, &s).await,
        Outcome::Retry {
            after: Some(Duration::from_secs(30)),
            reason: "accounts answered HTTP 429".into(),
            throttled: true
        }
    );
    assert!(matches!(webhook.erase(&ctx, &s).await, Outcome::Retry { after: None, throttled: true, .. }));
    assert!(matches!(webhook.erase(&ctx, &s).await, Outcome::Retry { after: None, throttled: false, .. }));
    match webhook.erase(&ctx, &s).await {
        Outcome::Retry { reason, throttled: false, .. } => {
            assert!(reason.starts_with("accounts timed out"), "{reason}")
        }
        other => panic!("a timeout retries: {other:?}"),
    }
    assert_eq!(webhook.erase(&ctx, &s).await, Outcome::failed("accounts answered HTTP 403"));
}

#[tokio::test]
async fn a_wrong_secret_is_refused_and_never_retried() {
    let (sim, webhook, ctx) = setup("not-the-secret").await;
    assert_eq!(webhook.erase(&ctx, &subject("cy@example.com")).await, Outcome::failed("accounts answered HTTP 401"));
    assert!(!sim.calls("accounts")[0].signature_ok);
}

#[tokio::test]
async fn an_accepted_erasure_is_checked_until_done() {
    let (sim, webhook, ctx) = setup(SECRET).await;
    sim.seed("accounts", "dee@example.com", 2);
    sim.set_async("accounts", Some(Duration::from_millis(300)));
    let s = subject("dee@example.com");
    let Outcome::Pending(pending) = webhook.erase(&ctx, &s).await else { panic!("pending") };
    assert_eq!(pending.check_after, Duration::from_secs(1));
    assert!(matches!(webhook.check(&ctx, &s, &pending).await, Outcome::Pending(_)));
    tokio::time::sleep(Duration::from_millis(350)).await;
    let Outcome::Erased(evidence) = webhook.check(&ctx, &s, &pending).await else { panic!("erased") };
    assert_eq!(evidence.counts["records"], 2);
    assert_eq!(evidence.vendor_refs, ["job-1", "job-1"]);
}

#[tokio::test]
async fn a_check_url_on_another_host_is_never_followed() {
    let (_sim, webhook, ctx) = setup(SECRET).await;
    let pending = erasure_connector::Pending {
        check_after: Duration::from_secs(1),
        state: serde_json::json!({ "check_url": "http://169.254.169.254/latest/meta-data" }),
        evidence: Default::default(),
    };
    assert!(matches!(webhook.check(&ctx, &subject("e@example.com"), &pending).await, Outcome::Failed { .. }));
}

#[tokio::test]
async fn lookup_and_healthcheck() {
    let (sim, webhook, ctx) = setup(SECRET).await;
    sim.seed("accounts", "+33612345678", 4);
    let s = Subject::new(RawSubject { phones: vec!["+33 6 12 34 56 78".into()], ..RawSubject::default() }).unwrap();
    let found = webhook.lookup(&ctx, &s).await.unwrap();
    assert!(found.present);
    assert_eq!(found.count, Some(4));
    assert!(!webhook.lookup(&ctx, &subject("gone@example.com")).await.unwrap().present);
    webhook.healthcheck().await.unwrap();
}

#[tokio::test]
async fn hostile_identifiers_are_data_and_never_widen_an_erasure() {
    let (sim, webhook, ctx) = setup(SECRET).await;
    sim.seed("accounts", "ann@example.com", 1);
    for hostile in ["*@example.com", "a\"b@example.com", "{}@example.com", "%@example.com"] {
        assert_eq!(
            webhook.erase(&Ctx::standalone("accounts", ctx.http.clone()), &subject(hostile)).await,
            Outcome::NothingToErase
        );
    }
    assert_eq!(sim.records("accounts", "ann@example.com"), 1);
}

#[tokio::test]
async fn without_a_lookup_url_the_service_is_never_asked_and_lookup_says_not_verifiable() {
    let sim = Sim::start(
        "127.0.0.1:0".parse().unwrap(),
        SimOptions { webhook_secret: SECRET.into(), ..SimOptions::default() },
    )
    .await
    .unwrap();
    sim.seed("accounts", "kim@example.com", 2);
    let http = HttpClient::unlimited("accounts", Duration::from_millis(500));
    let config = |lookup_url: Option<String>| Config {
        url: sim.webhook_url("accounts"),
        secret_env: "UNUSED".into(),
        default_check_after: 30.into(),
        allow_insecure_http: true,
        lookup_url,
    };
    let secrets = Secrets::one("secret_env", SECRET);
    let webhook = Webhook::new(config(None), &secrets, http.clone()).unwrap();
    let failure =
        webhook.lookup(&Ctx::standalone("accounts", http.clone()), &subject("kim@example.com")).await.unwrap_err();
    assert_eq!(failure.kind, erasure_connector::FailureKind::NotVerifiable);
    assert!(sim.calls("accounts").is_empty(), "the service was not asked");
    let elsewhere = Webhook::new(config(Some("http://169.254.169.254/lookup".into())), &secrets, http).err().unwrap();
    assert_eq!(elsewhere.key.as_deref(), Some("lookup_url"));
}

#[tokio::test]
async fn records_the_simulator_resurfaces_after_an_erasure_are_found_by_lookup_and_erased_again() {
    let (sim, webhook, ctx) = setup(SECRET).await;
    sim.seed("accounts", "lea@example.com", 2);
    assert!(!sim.resurface("accounts", "nia@example.com", 1), "never erased: nothing resurfaces");
    assert!(matches!(webhook.erase(&ctx, &subject("lea@example.com")).await, Outcome::Erased(_)));
    assert!(!webhook.lookup(&ctx, &subject("lea@example.com")).await.unwrap().present);
    assert!(sim.resurface("accounts", "lea@example.com", 3));
    let found = webhook.lookup(&ctx, &subject("lea@example.com")).await.unwrap();
    assert_eq!((found.present, found.count), (true, Some(3)));
    let next_generation = Ctx { idempotency_key: format!("{}:2", ctx.idempotency_key), ..ctx.clone() };
    assert!(matches!(webhook.erase(&next_generation, &subject("lea@example.com")).await, Outcome::Erased(_)));
    assert_eq!(sim.records("accounts", "lea@example.com"), 0);
}

#[test]
fn a_whsec_secret_that_is_not_base64_is_refused_at_start_without_printing_it() {
    let config = Config {
        url: "https://accounts.internal/erasure".into(),
        secret_env: "UNUSED".into(),
        default_check_after: 30.into(),
        allow_insecure_http: false,
        lookup_url: None,
    };
    let http = HttpClient::unlimited("accounts", Duration::from_millis(500));
    let Err(refused) = Webhook::new(config, &Secrets::one("secret_env", "whsec_not*base64"), http) else {
        panic!("a whsec_ secret that is not base64 is refused")
    };
    assert_eq!(refused.key.as_deref(), Some("secret_env"));
    assert!(refused.message.contains("whsec_") && !refused.message.contains("not*base64"), "{refused}");
}
