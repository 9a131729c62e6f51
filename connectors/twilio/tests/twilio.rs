//! Twilio's own rules, against the simulator: what is deleted and in which order, what stays,
//! calls in progress, pages of recordings and transcriptions, error codes, auth and config.

mod common;

use common::OTHER_PARTY;
use erasure_connector::subject::RawSubject;
use erasure_connector::{Connector, Ctx, Evidence, HttpClient, Outcome, Pending, Secrets, Subject};
use erasure_connector_twilio::{Config, MessagesMode, Twilio};
use erasure_sim::{Fault, Sim};
use serde_json::json;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const ANA: &str = "+33612345678";

async fn setup(configure: impl FnOnce(Config) -> Config) -> (Sim, Twilio, Ctx) {
    let sim = common::sim().await;
    let http = HttpClient::unlimited("twilio", Duration::from_secs(2));
    let twilio = common::connector(configure(common::config(&sim.vendor_url("twilio"))), &http);
    (sim, twilio, Ctx::standalone("twilio", http))
}

fn subject(phone: &str) -> Subject {
    Subject::new(RawSubject { phones: vec![phone.into()], ..RawSubject::default() }).unwrap()
}

/// (calls, recordings, soft-deleted recordings, transcriptions) Twilio holds about `phone`.
fn holdings(sim: &Sim, phone: &str) -> (u64, u64, u64, u64) {
    let h = sim.twilio().holdings(phone);
    (h.calls, h.recordings, h.deleted_recordings, h.transcriptions)
}

/// The DELETE calls Twilio received, as `T` (transcription), `R` (recording) and `C` (call).
fn deletes(sim: &Sim) -> String {
    sim.calls("twilio")
        .iter()
        .filter(|c| c.action.starts_with("DELETE"))
        .map(|c| match c.action.split('/').nth(4) {
            Some("Transcriptions") => 'T',
            Some("Recordings") => 'R',
            Some("Calls") => 'C',
            _ => '?',
        })
        .collect()
}

fn no_identifier(outcome: &impl std::fmt::Debug) {
    let text = format!("{outcome:?}");
    assert!(!text.contains(&ANA[1..]) && !text.contains(&OTHER_PARTY[1..]), "{text}");
}

#[tokio::test]
async fn transcriptions_go_before_their_recording_and_call_records_stay() {
    let (sim, twilio, ctx) = setup(|c| c).await;
    sim.twilio().add_call(OTHER_PARTY, ANA, 2, 2);
    sim.twilio().add_call(ANA, OTHER_PARTY, 1, 0);
    let outcome = twilio.erase(&ctx, &subject(ANA)).await;
    no_identifier(&outcome);
    let Outcome::Erased(evidence) = outcome else { panic!("erased: {outcome:?}") };
    assert_eq!(evidence.counts["recordings"], 3);
    assert_eq!(evidence.counts["transcriptions"], 4);
    assert!(!evidence.counts.contains_key("calls"), "call records are not erased: {evidence:?}");
    assert_eq!(evidence.vendor_refs, [format!("account {}", Sim::TWILIO_ACCOUNT_SID)]);
    assert!(evidence.note.as_deref().unwrap().contains("call records are kept"), "{evidence:?}");
    assert_eq!(deletes(&sim), "TTRTTRR");
    assert_eq!(holdings(&sim, ANA), (2, 0, 3, 0));
}

#[tokio::test]
async fn a_second_erase_deletes_nothing() {
    let (sim, twilio, ctx) = setup(|c| c).await;
    sim.twilio().add_call(OTHER_PARTY, ANA, 2, 1);
    assert!(matches!(twilio.erase(&ctx, &subject(ANA)).await, Outcome::Erased(_)));
    let before = deletes(&sim);
    assert_eq!(twilio.erase(&ctx, &subject(ANA)).await, Outcome::NothingToErase);
    assert_eq!(deletes(&sim), before, "soft-deleted recordings are not deleted again");
}

#[tokio::test]
async fn phone_numbers_are_percent_encoded_and_only_exact_matches_are_erased() {
    let (sim, twilio, ctx) = setup(|c| c).await;
    sim.twilio().add_call(OTHER_PARTY, ANA, 1, 1);
    // Valid numbers a digit away (a shorter or longer one is no longer a valid French number).
    for lookalike in ["+33612345670", "+33612345687", "+33612345679"] {
        assert_eq!(twilio.erase(&ctx, &subject(lookalike)).await, Outcome::NothingToErase, "{lookalike}");
    }
    assert_eq!(holdings(&sim, ANA), (1, 1, 0, 1));
    assert!(matches!(twilio.erase(&ctx, &subject(ANA)).await, Outcome::Erased(_)));
    let lists: Vec<_> = sim.calls("twilio").into_iter().filter(|c| c.action.ends_with("/Calls.json")).collect();
    // A `+` sent raw would arrive as a space: the simulator decodes queries as Twilio does.
    assert!(lists.iter().any(|c| c.identifiers == [ANA]), "{lists:?}");
    assert!(lists.iter().all(|c| c.identifiers.iter().all(|i| i.starts_with('+'))), "{lists:?}");
}

#[tokio::test]
async fn recordings_and_transcriptions_run_over_several_pages() {
    let (sim, twilio, ctx) = setup(|c| c).await;
    sim.twilio().add_call(OTHER_PARTY, ANA, 7, 6);
    for _ in 0..6 {
        sim.twilio().add_call(ANA, OTHER_PARTY, 1, 0);
    }
    let Outcome::Erased(evidence) = twilio.erase(&ctx, &subject(ANA)).await else { panic!("erased") };
    assert_eq!((evidence.counts["recordings"], evidence.counts["transcriptions"]), (13, 42));
    assert_eq!(holdings(&sim, ANA), (7, 0, 13, 0));
    let pages = sim.calls("twilio").iter().filter(|c| c.action.ends_with("/Calls.json")).count();
    assert_eq!(pages, 2 + 1, "six calls from the number take two pages of five, the one to it one");
}

#[tokio::test]
async fn transcriptions_left_on_a_recording_deleted_by_hand_are_found() {
    let (sim, twilio, ctx) = setup(|c| c).await;
    let call = sim.twilio().add_call(OTHER_PARTY, ANA, 1, 2);
    let api = format!("{}/2010-04-01/Accounts/{}", sim.vendor_url("twilio"), Sim::TWILIO_ACCOUNT_SID);
    let client = reqwest::Client::new();
    let auth = |r: reqwest::RequestBuilder| r.basic_auth(Sim::TWILIO_ACCOUNT_SID, Some(Sim::TWILIO_AUTH_TOKEN));
    let list: serde_json::Value =
        auth(client.get(format!("{api}/Recordings.json?CallSid={call}"))).send().await.unwrap().json().await.unwrap();
    let recording = list["recordings"][0]["sid"].as_str().unwrap();
    let deleted = auth(client.delete(format!("{api}/Recordings/{recording}.json"))).send().await.unwrap();
    assert_eq!(deleted.status(), 204);
    assert_eq!(holdings(&sim, ANA), (1, 0, 1, 2));
    assert!(twilio.lookup(&ctx, &subject(ANA)).await.unwrap().present, "the transcriptions are still data");
    let Outcome::Erased(evidence) = twilio.erase(&ctx, &subject(ANA)).await else { panic!("erased") };
    assert_eq!((evidence.counts["recordings"], evidence.counts["transcriptions"]), (0, 2));
    assert_eq!(holdings(&sim, ANA), (1, 0, 1, 0));
}

#[tokio::test]
async fn call_records_in_progress_are_waited_for_then_deleted() {
    let (sim, twilio, ctx) = setup(|c| Config { delete_calls: true, ..c }).await;
    sim.twilio().add_call(ANA, OTHER_PARTY, 1, 1);
    let ongoing = sim.twilio().add_call(OTHER_PARTY, ANA, 1, 0);
    sim.twilio().keep_in_progress(&ongoing, Duration::from_secs(60));
    let s = subject(ANA);
    let outcome = twilio.erase(&ctx, &s).await;
    no_identifier(&outcome);
    let Outcome::Pending(pending) = outcome else { panic!("pending: {outcome:?}") };
    assert_eq!(pending.check_after, Duration::from_secs(1));
    assert_eq!(pending.state["calls_in_progress"], 1);
    assert_eq!((pending.evidence.counts["calls"], pending.evidence.counts["recordings"]), (1, 2));
    assert_eq!(holdings(&sim, ANA), (1, 0, 2, 0), "everything else is deleted at once");

    let Outcome::Pending(again) = twilio.check(&ctx, &s, &pending).await else { panic!("still in progress") };
    assert_eq!(again.state["waiting_since"], pending.state["waiting_since"]);
    assert_eq!(again.evidence.counts, pending.evidence.counts);

    sim.twilio().keep_in_progress(&ongoing, Duration::ZERO);
    let Outcome::Erased(evidence) = twilio.check(&ctx, &s, &again).await else { panic!("erased") };
    assert_eq!((evidence.counts["calls"], evidence.counts["recordings"], evidence.counts["transcriptions"]), (2, 2, 1));
    assert_eq!(evidence.vendor_refs.len(), 1);
    assert_eq!(holdings(&sim, ANA), (0, 0, 2, 0));
    assert!(!twilio.lookup(&ctx, &s).await.unwrap().present);
}

#[tokio::test]
async fn a_call_in_progress_for_more_than_a_day_fails() {
    let (sim, twilio, ctx) = setup(|c| Config { delete_calls: true, ..c }).await;
    let ongoing = sim.twilio().add_call(OTHER_PARTY, ANA, 0, 0);
    sim.twilio().keep_in_progress(&ongoing, Duration::from_secs(60));
    let yesterday = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() - 26 * 3600;
    let pending = Pending {
        check_after: Duration::from_secs(600),
        state: json!({ "calls_in_progress": 1, "waiting_since": yesterday }),
        evidence: Evidence::default(),
    };
    match twilio.check(&ctx, &subject(ANA), &pending).await {
        Outcome::Failed { reason } => assert!(reason.contains("more than 25 hours"), "{reason}"),
        other => panic!("gives up: {other:?}"),
    }
}

#[tokio::test]
async fn lookup_counts_what_is_left_and_call_records_only_when_they_are_erased() {
    let (sim, twilio, ctx) = setup(|c| c).await;
    let with_calls =
        common::connector(Config { delete_calls: true, ..common::config(&sim.vendor_url("twilio")) }, &ctx.http);
    sim.twilio().add_call(OTHER_PARTY, ANA, 1, 1);
    let s = subject(ANA);
    assert_eq!(twilio.lookup(&ctx, &s).await.unwrap().count, Some(2));
    assert_eq!(with_calls.lookup(&ctx, &s).await.unwrap().count, Some(3));
    assert!(matches!(twilio.erase(&ctx, &s).await, Outcome::Erased(_)));
    let found = twilio.lookup(&ctx, &s).await.unwrap();
    assert!(!found.present && found.count == Some(0), "a soft-deleted recording is not data: {found:?}");
    assert_eq!(with_calls.lookup(&ctx, &s).await.unwrap().count, Some(1), "the call record");
}

#[tokio::test]
async fn failures_name_twilios_error_code_and_never_the_number() {
    let (sim, twilio, ctx) = setup(|c| c).await;
    sim.twilio().add_call(OTHER_PARTY, ANA, 1, 0);
    let s = subject(ANA);

    sim.twilio().set_rate_limit(Some((2, Duration::from_secs(60))));
    let outcome = twilio.erase(&ctx, &s).await;
    no_identifier(&outcome);
    assert_eq!(
        outcome,
        Outcome::Retry { after: None, reason: "twilio answered HTTP 429 (Twilio error 20429)".into(), throttled: true }
    );
    sim.twilio().set_rate_limit(None);

    sim.push_faults("twilio", [Fault::Throttle { retry_after: Some(7) }]);
    assert!(matches!(
        twilio.erase(&ctx, &s).await,
        Outcome::Retry { after: Some(after), throttled: true, .. } if after == Duration::from_secs(7)
    ));

    let http = ctx.http.clone();
    let wrong_token = Twilio::new(
        common::config(&sim.vendor_url("twilio")),
        &Secrets::one("auth_token_env", "not-the-token"),
        http.clone(),
    )
    .unwrap();
    assert_eq!(wrong_token.erase(&ctx, &s).await, Outcome::failed("twilio answered HTTP 401 (Twilio error 20003)"));
    assert!(wrong_token.healthcheck().await.unwrap_err().reason.contains("401"));

    // An API key (valid for the simulator's account) with another account in the path.
    let elsewhere = Twilio::new(
        Config {
            account_sid: format!("AC{}", "f".repeat(32)),
            auth_token_env: None,
            api_key_sid: Some(Sim::TWILIO_API_KEY_SID.into()),
            api_key_secret_env: Some("TWILIO_API_KEY_SECRET".into()),
            ..common::config(&sim.vendor_url("twilio"))
        },
        &Secrets::one("api_key_secret_env", Sim::TWILIO_API_KEY_SECRET),
        http,
    )
    .unwrap();
    assert_eq!(elsewhere.erase(&ctx, &s).await, Outcome::failed("twilio answered HTTP 404 (Twilio error 20404)"));
    assert_eq!(holdings(&sim, ANA), (1, 1, 0, 0));
}

#[tokio::test]
async fn an_attempt_cut_short_is_finished_by_the_next() {
    let (sim, twilio, ctx) = setup(|c| c).await;
    sim.twilio().add_call(OTHER_PARTY, ANA, 3, 1);
    // Five calls pass (two call lists, the recordings, a transcription list, its delete); the
    // recording's delete meets a 503.
    let pass = Fault::SlowAnswer { millis: 0 };
    sim.push_faults("twilio", vec![pass; 5].into_iter().chain([Fault::Status { status: 503, retry_after: None }]));
    let s = subject(ANA);
    assert!(matches!(twilio.erase(&ctx, &s).await, Outcome::Retry { throttled: false, .. }));
    let (_, recordings, _, transcriptions) = holdings(&sim, ANA);
    assert!(recordings == 3 && transcriptions == 2, "one transcription went before the 503");
    let Outcome::Erased(evidence) = twilio.erase(&ctx, &s).await else { panic!("erased") };
    assert_eq!((evidence.counts["recordings"], evidence.counts["transcriptions"]), (3, 2));
    assert_eq!(holdings(&sim, ANA), (1, 0, 3, 0));
}

#[tokio::test]
async fn an_api_key_authenticates_as_well() {
    let (sim, _, ctx) = setup(|c| c).await;
    sim.twilio().add_call(OTHER_PARTY, ANA, 1, 0);
    let config = Config {
        auth_token_env: None,
        api_key_sid: Some(Sim::TWILIO_API_KEY_SID.into()),
        api_key_secret_env: Some("TWILIO_API_KEY_SECRET".into()),
        ..common::config(&sim.vendor_url("twilio"))
    };
    let keyed =
        Twilio::new(config.clone(), &Secrets::one("api_key_secret_env", Sim::TWILIO_API_KEY_SECRET), ctx.http.clone())
            .unwrap();
    keyed.healthcheck().await.unwrap();
    assert!(matches!(keyed.erase(&ctx, &subject(ANA)).await, Outcome::Erased(_)));
    let wrong = Twilio::new(config, &Secrets::one("api_key_secret_env", "wrong"), ctx.http.clone()).unwrap();
    assert!(wrong.healthcheck().await.unwrap_err().reason.contains("HTTP 401"));
}

#[tokio::test]
async fn the_config_is_checked() {
    let http = HttpClient::unlimited("twilio", Duration::from_secs(1));
    let base = || common::config("https://api.twilio.com");
    let build =
        |config: Config, secrets: Secrets| Twilio::new(config, &secrets, http.clone()).err().map(|e| e.to_string());
    let token = || common::secrets();
    assert_eq!(build(base(), token()), None);
    let bad = [
        (Config { base_url: "api.twilio.com".into(), ..base() }, "base_url"),
        (Config { base_url: "ftp://api.twilio.com".into(), ..base() }, "base_url"),
        (Config { account_sid: "AC123".into(), ..base() }, "account_sid"),
        (Config { page_size: 0, ..base() }, "page_size"),
        (Config { page_size: 1001, ..base() }, "page_size"),
        (Config { auth_token_env: None, ..base() }, "either"),
        (Config { api_key_sid: Some(Sim::TWILIO_API_KEY_SID.into()), ..base() }, "either"),
        (
            Config {
                auth_token_env: None,
                api_key_sid: Some("SK1".into()),
                api_key_secret_env: Some("S".into()),
                ..base()
            },
            "api_key_sid",
        ),
    ];
    for (config, names) in bad {
        let error = build(config, token()).expect("refused");
        assert!(error.contains(names), "{error}");
    }
    let missing = build(base(), Secrets::default()).expect("a missing secret is refused");
    assert!(missing.contains("auth_token_env"), "{missing}");
    let unknown = serde_json::from_value::<Config>(json!({
        "base_url": "https://api.twilio.com", "account_sid": Sim::TWILIO_ACCOUNT_SID, "auth_token": "x"
    }));
    assert!(unknown.is_err(), "unknown keys are refused");
}

#[tokio::test]
async fn the_demo_seed_shape_loads() {
    let sim = common::sim().await;
    sim.seed_json(&json!({ "twilio": {
        "page_size": 2,
        "calls": [
            { "from": OTHER_PARTY, "to": ANA, "recordings": 2, "transcriptions": 1 },
            { "from": ANA, "to": OTHER_PARTY, "in_progress_seconds": 60 }
        ]
    }}))
    .unwrap();
    assert_eq!(holdings(&sim, ANA), (2, 3, 0, 2));
    assert!(sim.seed_json(&json!({ "twilio": { "calls": [{ "to": ANA }] } })).is_err());
}

#[tokio::test]
async fn a_delete_refused_for_another_reason_fails() {
    let (sim, twilio, ctx) = setup(|c| c).await;
    sim.twilio().add_call(OTHER_PARTY, ANA, 1, 1);
    let pass = Fault::SlowAnswer { millis: 0 };
    sim.push_faults("twilio", vec![pass; 4].into_iter().chain([Fault::Status { status: 400, retry_after: None }]));
    match twilio.erase(&ctx, &subject(ANA)).await {
        Outcome::Failed { reason } => assert!(reason.starts_with("twilio answered HTTP 400"), "{reason}"),
        other => panic!("only error 20009 waits: {other:?}"),
    }
}

/// The person was reached on the child leg of a two-leg call (a `<Dial>`): the recording is on
/// the parent leg, whose `call_sid` it carries (<https://www.twilio.com/docs/voice/api/recording-resource>,
/// "This will always refer to the parent leg of a two-leg call"; the child leg's
/// `parent_call_sid`: <https://www.twilio.com/docs/voice/api/call-resource>). Before issue 13
/// the connector listed recordings of the child leg only and answered nothing to erase.
#[tokio::test]
async fn the_parent_legs_recordings_of_a_child_leg_are_erased() {
    let (sim, twilio, ctx) = setup(|c| Config { delete_calls: true, ..c }).await;
    let company = "+14155550199";
    let parent = sim.twilio().add_call(OTHER_PARTY, company, 2, 1);
    sim.twilio().add_child_leg(&parent, company, ANA).unwrap();
    let s = subject(ANA);
    assert_eq!(
        twilio.lookup(&ctx, &s).await.unwrap().count,
        Some(1 + 2 + 2),
        "the child leg, 2 recordings, 2 transcriptions"
    );
    let outcome = twilio.erase(&ctx, &s).await;
    no_identifier(&outcome);
    let Outcome::Erased(evidence) = outcome else { panic!("erased: {outcome:?}") };
    assert_eq!((evidence.counts["recordings"], evidence.counts["transcriptions"], evidence.counts["calls"]), (2, 2, 1));
    assert_eq!(holdings(&sim, ANA), (0, 0, 2, 0));
    assert_eq!(
        sim.twilio().holdings(OTHER_PARTY).calls,
        1,
        "the parent leg's record is between other numbers and stays"
    );
    assert_eq!(twilio.lookup(&ctx, &s).await.unwrap().count, Some(0));
}

const COMPANY: &str = "+14155550199";

/// (messages, message bodies not redacted, media) Twilio holds about `phone`.
fn texts(sim: &Sim, phone: &str) -> (u64, u64, u64) {
    let h = sim.twilio().holdings(phone);
    (h.messages, h.message_bodies, h.media)
}

/// Messages are redacted by default: `POST Messages/{Sid}.json` with an empty `Body`
/// (<https://www.twilio.com/docs/messaging/api/message-resource>, "Update a Message resource"),
/// then each media file deleted (redaction keeps them:
/// <https://www.twilio.com/docs/messaging/api/media-resource>). Before issue 13 the connector
/// never looked at messages and said "nothing to erase".
#[tokio::test]
async fn messages_are_redacted_and_their_media_deleted_by_default() {
    let (sim, twilio, ctx) = setup(|c| c).await;
    sim.twilio().add_message(ANA, COMPANY, "my new address is 1 rue X", 2);
    sim.twilio().add_message(COMPANY, ANA, "your code is 123456", 0);
    sim.twilio().add_message(OTHER_PARTY, COMPANY, "someone else", 1);
    let s = subject(ANA);
    assert_eq!(twilio.lookup(&ctx, &s).await.unwrap().count, Some(2 + 2), "two bodies, two media");
    let outcome = twilio.erase(&ctx, &s).await;
    no_identifier(&outcome);
    let Outcome::Erased(evidence) = outcome else { panic!("erased: {outcome:?}") };
    assert_eq!((evidence.counts["messages_redacted"], evidence.counts["message_media"]), (2, 2));
    assert!(evidence.note.as_deref().unwrap().contains("redacted messages keep their record"), "{evidence:?}");
    assert_eq!(texts(&sim, ANA), (2, 0, 0), "the records stay, without text or media");
    assert_eq!(texts(&sim, OTHER_PARTY), (1, 1, 1), "another person's message is untouched");
    assert_eq!(twilio.lookup(&ctx, &s).await.unwrap().count, Some(0));
    assert_eq!(twilio.erase(&ctx, &s).await, Outcome::NothingToErase, "a redacted body is not redacted again");
}

/// `messages = "delete"`: `DELETE Messages/{Sid}.json`, which takes the media with it.
#[tokio::test]
async fn messages_are_deleted_with_their_media_when_configured() {
    let (sim, twilio, ctx) = setup(|c| Config { messages: MessagesMode::Delete, ..c }).await;
    sim.twilio().add_message(ANA, COMPANY, "photo", 3);
    sim.twilio().add_message(COMPANY, ANA, "reply", 0);
    let Outcome::Erased(evidence) = twilio.erase(&ctx, &subject(ANA)).await else { panic!("erased") };
    assert_eq!((evidence.counts["messages_deleted"], evidence.counts["message_media"]), (2, 3));
    assert!(evidence.note.as_deref().unwrap().contains("backups for up to 30 days"), "{evidence:?}");
    assert_eq!(texts(&sim, ANA), (0, 0, 0));
}

/// `messages = "keep"`: no message call at all, and the evidence says they stay.
#[tokio::test]
async fn messages_are_kept_when_configured_and_the_evidence_says_so() {
    let (sim, twilio, ctx) = setup(|c| Config { messages: MessagesMode::Keep, ..c }).await;
    sim.twilio().add_message(ANA, COMPANY, "hello", 1);
    sim.twilio().add_call(OTHER_PARTY, ANA, 1, 0);
    let Outcome::Erased(evidence) = twilio.erase(&ctx, &subject(ANA)).await else { panic!("erased") };
    assert!(!evidence.counts.keys().any(|k| k.starts_with("message")), "{evidence:?}");
    assert!(evidence.note.as_deref().unwrap().contains("messages are kept (messages = keep)"), "{evidence:?}");
    assert_eq!(texts(&sim, ANA), (1, 1, 1));
    assert!(sim.calls("twilio").iter().all(|c| !c.action.contains("/Messages")));
}

/// A message still being sent is neither deleted nor redacted (Twilio refuses both: error 20009,
/// <https://www.twilio.com/docs/api/errors/20009>): the task waits and finishes once it is final.
#[tokio::test]
async fn a_message_in_flight_is_waited_for_then_redacted() {
    let (sim, twilio, ctx) = setup(|c| c).await;
    let sending = sim.twilio().add_message(COMPANY, ANA, "your code is 123456", 0);
    sim.twilio().set_message_status(&sending, "sending");
    sim.twilio().add_message(ANA, COMPANY, "thanks", 0);
    let s = subject(ANA);
    let Outcome::Pending(pending) = twilio.erase(&ctx, &s).await else { panic!("pending") };
    assert_eq!(pending.state["messages_in_flight"], 1);
    assert_eq!(pending.evidence.counts["messages_redacted"], 1);
    sim.twilio().set_message_status(&sending, "delivered");
    let Outcome::Erased(evidence) = twilio.check(&ctx, &s, &pending).await else { panic!("erased") };
    assert_eq!(evidence.counts["messages_redacted"], 2);
    assert_eq!(texts(&sim, ANA), (2, 0, 0));
}

/// Phone numbers are reassigned: a call or message created after the request was made may be
/// the number's next owner's, and is never touched; the evidence says how many were left.
#[tokio::test]
async fn records_created_after_the_request_are_never_touched() {
    let (sim, twilio, ctx) = setup(|c| Config { delete_calls: true, ..c }).await;
    let later = ctx.requested_at + chrono::Duration::hours(1);
    sim.twilio().add_call(OTHER_PARTY, ANA, 1, 1);
    let new_owners_call = sim.twilio().add_call(OTHER_PARTY, ANA, 1, 1);
    sim.twilio().set_created(&new_owners_call, later);
    sim.twilio().add_message(ANA, COMPANY, "before", 0);
    let new_owners_message = sim.twilio().add_message(ANA, COMPANY, "after", 1);
    sim.twilio().set_created(&new_owners_message, later);
    let s = subject(ANA);
    assert_eq!(
        twilio.lookup(&ctx, &s).await.unwrap().count,
        Some(1 + 1 + 1 + 1),
        "call, recording, transcription, body"
    );
    let Outcome::Erased(evidence) = twilio.erase(&ctx, &s).await else { panic!("erased") };
    assert_eq!(
        (evidence.counts["calls"], evidence.counts["recordings"], evidence.counts["messages_redacted"]),
        (1, 1, 1)
    );
    assert!(
        evidence.note.as_deref().unwrap().contains("2 calls or messages created after the request were not touched"),
        "{evidence:?}"
    );
    assert_eq!(holdings(&sim, ANA), (1, 1, 1, 1), "the new owner's call, recording and transcription stay");
    assert_eq!(texts(&sim, ANA), (2, 1, 1), "the new owner's message stays whole");
}

/// With `own_numbers`, only calls and messages between the person and the company's numbers
/// are erased.
#[tokio::test]
async fn own_numbers_restrict_erasure_to_the_companys_numbers() {
    let (sim, twilio, ctx) = setup(|c| Config { own_numbers: vec![COMPANY.into()], ..c }).await;
    sim.twilio().add_call(COMPANY, ANA, 1, 0);
    sim.twilio().add_call(OTHER_PARTY, ANA, 1, 0);
    sim.twilio().add_message(ANA, COMPANY, "to us", 0);
    sim.twilio().add_message(ANA, OTHER_PARTY, "to a friend through another account's number", 0);
    let Outcome::Erased(evidence) = twilio.erase(&ctx, &subject(ANA)).await else { panic!("erased") };
    assert_eq!((evidence.counts["recordings"], evidence.counts["messages_redacted"]), (1, 1));
    assert!(evidence.note.as_deref().unwrap().contains("2 calls or messages with numbers other than own_numbers"));
    assert_eq!(holdings(&sim, ANA), (2, 1, 1, 0));
    assert_eq!(texts(&sim, ANA), (2, 1, 0));
}

#[tokio::test]
async fn own_numbers_and_messages_are_checked_in_the_config() {
    let http = HttpClient::unlimited("twilio", Duration::from_secs(1));
    let config =
        Config { own_numbers: vec![COMPANY.into(), "0612345678".into()], ..common::config("https://api.twilio.com") };
    let error = Twilio::new(config, &common::secrets(), http).err().expect("refused").to_string();
    assert!(error.contains("own_numbers[1]") && !error.contains("0612345678"), "{error}");
    let bad_mode = serde_json::from_value::<Config>(json!({
        "base_url": "https://api.twilio.com", "account_sid": Sim::TWILIO_ACCOUNT_SID, "messages": "shred"
    }));
    assert!(bad_mode.is_err());
}
