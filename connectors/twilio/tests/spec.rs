//! The conformance kit again, through Twilio's own OpenAPI spec: Stoplight Prism proxies to the
//! simulator and answers 422 to any request of ours that breaks the spec, and 500 to any answer
//! of the simulator's that does.
//!
//! Twilio answers relative page URIs although its spec says `format: uri`, so the simulator
//! gives absolute ones here. The spec declares no 400, 401, 404, 429 or 5xx answer: Prism only
//! warns about those and passes them through, so every flow, faults included, runs here.
//! One proxy, which takes seconds to start, serves every check in turn.

mod common;

use common::SimTwilio;
use erasure_connector::subject::RawSubject;
use erasure_connector::testkit::{Kit, SpecProxy};
use erasure_connector::{Connector, Ctx, HttpClient, Outcome, Secrets, Subject};
use erasure_connector_twilio::{Config, MessagesMode, Twilio};
use erasure_sim::Sim;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The proxy adds a hop through Node.js, slow on a busy machine: more room than the kit's
/// 500 ms; an injected hang outlasts it all the same.
const PROXIED_TIMEOUT: Duration = Duration::from_secs(2);

#[tokio::test]
async fn every_call_conforms_to_twilios_spec() {
    let sim = common::sim().await;
    sim.twilio().set_absolute_page_uris(true);
    let upstream = sim.serve_vendor_at_root("twilio").await.unwrap();
    let proxy = SpecProxy::start("twilio_api_v2010.json", &upstream).await;
    warm_up(&proxy.url).await;

    let http = HttpClient::unlimited("twilio", PROXIED_TIMEOUT);
    let connector = common::connector(common::config(&proxy.url), &http);
    let mock = SimTwilio { sim: sim.clone(), hang: PROXIED_TIMEOUT * 2 };
    Kit::new(Arc::new(connector), Arc::new(mock), http).run().await;

    an_api_key_deletes_call_records_once_they_end(&sim, &proxy.url).await;
    a_child_legs_parent_recordings_are_erased(&sim, &proxy.url).await;
    messages_are_redacted_or_deleted_with_their_media(&sim, &proxy.url).await;

    assert!(proxy.violations().is_empty(), "{:#?}", proxy.violations());
    let log = proxy.log_text();
    assert!(!log.contains("Request terminated with error"), "prism refused a call or an answer:\n{log}");
    assert!(log.contains("has returned 400"), "the 20009 answer went through the proxy");
}

/// Prism's first calls are slow (it compiles its validators): make them before the kit times them.
async fn warm_up(url: &str) {
    let http = HttpClient::unlimited("twilio", Duration::from_secs(30));
    let twilio = common::connector(common::config(url), &http);
    for _ in 0..3 {
        twilio.healthcheck().await.expect("the proxied simulator answers");
        twilio.lookup(&Ctx::standalone("twilio", http.clone()), &phone_subject("+33600000001")).await.unwrap();
    }
}

fn phone_subject(phone: &str) -> Subject {
    Subject::new(RawSubject { phones: vec![phone.into()], ..RawSubject::default() }).unwrap()
}

/// API key auth, call records deleted, one call in progress (error 20009) until it ends.
async fn an_api_key_deletes_call_records_once_they_end(sim: &Sim, url: &str) {
    let phone = "+33698765432";
    sim.twilio().add_call(phone, common::OTHER_PARTY, 2, 1);
    let ongoing = sim.twilio().add_call(common::OTHER_PARTY, phone, 1, 0);
    sim.twilio().keep_in_progress(&ongoing, Duration::from_secs(60));
    let http = HttpClient::unlimited("twilio", Duration::from_secs(10));
    let config = Config {
        auth_token_env: None,
        api_key_sid: Some(Sim::TWILIO_API_KEY_SID.into()),
        api_key_secret_env: Some("TWILIO_API_KEY_SECRET".into()),
        delete_calls: true,
        page_size: 1,
        ..common::config(url)
    };
    let secrets = Secrets::one("api_key_secret_env", Sim::TWILIO_API_KEY_SECRET);
    let twilio = Twilio::new(config, &secrets, http.clone()).unwrap();
    let subject = phone_subject(phone);
    let ctx = Ctx::standalone("twilio", http);
    let outcome = twilio.erase(&ctx, &subject).await;
    let Outcome::Pending(pending) = outcome else { panic!("a call in progress is waited for: {outcome:?}") };
    assert_eq!(pending.state["calls_in_progress"], 1);
    sim.twilio().keep_in_progress(&ongoing, Duration::ZERO);
    let deadline = Instant::now() + Duration::from_secs(30);
    let evidence = loop {
        match twilio.check(&ctx, &subject, &pending).await {
            Outcome::Erased(evidence) => break evidence,
            other => assert!(Instant::now() < deadline, "the ended call is deleted: {other:?}"),
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!((evidence.counts["calls"], evidence.counts["recordings"], evidence.counts["transcriptions"]), (2, 3, 2));
    assert_eq!(twilio.lookup(&ctx, &subject).await.unwrap().count, Some(0));
}

/// A child leg's recordings are listed on its parent leg (`parent_call_sid`), through the spec.
async fn a_child_legs_parent_recordings_are_erased(sim: &Sim, url: &str) {
    let phone = "+33698765400";
    let company = "+14155550199";
    let parent = sim.twilio().add_call(common::OTHER_PARTY, company, 1, 1);
    sim.twilio().add_child_leg(&parent, company, phone).unwrap();
    let http = HttpClient::unlimited("twilio", Duration::from_secs(10));
    let twilio = common::connector(common::config(url), &http);
    let ctx = Ctx::standalone("twilio", http);
    let Outcome::Erased(evidence) = twilio.erase(&ctx, &phone_subject(phone)).await else { panic!("erased") };
    assert_eq!((evidence.counts["recordings"], evidence.counts["transcriptions"]), (1, 1));
}

/// Messages through the spec: the list, the redaction (`POST` with an empty `Body`), the media
/// list and deletes, and the message delete.
async fn messages_are_redacted_or_deleted_with_their_media(sim: &Sim, url: &str) {
    let company = "+14155550199";
    let http = HttpClient::unlimited("twilio", Duration::from_secs(10));
    let ctx = Ctx::standalone("twilio", http.clone());
    let redacting = common::connector(common::config(url), &http);
    let phone = "+33698765411";
    sim.twilio().add_message(phone, company, "hello", 2);
    let Outcome::Erased(evidence) = redacting.erase(&ctx, &phone_subject(phone)).await else { panic!("erased") };
    assert_eq!((evidence.counts["messages_redacted"], evidence.counts["message_media"]), (1, 2));

    let deleting = common::connector(Config { messages: MessagesMode::Delete, ..common::config(url) }, &http);
    let phone = "+33698765422";
    sim.twilio().add_message(company, phone, "hello", 1);
    let Outcome::Erased(evidence) = deleting.erase(&ctx, &phone_subject(phone)).await else { panic!("erased") };
    assert_eq!(evidence.counts["messages_deleted"], 1);
    let h = sim.twilio().holdings(phone);
    assert_eq!((h.messages, h.media), (0, 0));
}
