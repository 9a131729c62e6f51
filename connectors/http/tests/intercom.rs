//! The Intercom definition's own behaviour against the simulator, as the Rust connector's
//! `tests/intercom.rs` checks it: what is redacted and what is left, resuming after an
//! interruption from the saved progress, identifiers as data, lookup and healthcheck.

mod common;

use common::intercom::sim;
use erasure_connector::subject::RawSubject;
use erasure_connector::{Connector, Ctx, FailureKind, HttpClient, Outcome, Subject};
use erasure_sim::{Fault, Sim};
use std::time::Duration;

const INSTANCE: &str = "support";

async fn setup() -> (Sim, erasure_connector_http::Http, Ctx) {
    let sim = sim().await;
    let http = HttpClient::unlimited("intercom", Duration::from_millis(500));
    let intercom = common::intercom(&sim.vendor_url("intercom"), sim.intercom().token(), http.clone());
    (sim, intercom, Ctx::standalone(INSTANCE, http))
}

fn subject(emails: &[&str], user_id: Option<&str>) -> Subject {
    Subject::new(RawSubject {
        emails: emails.iter().map(|e| e.to_string()).collect(),
        user_id: user_id.map(str::to_string),
        ..RawSubject::default()
    })
    .unwrap()
}

fn actions(sim: &Sim) -> Vec<String> {
    sim.calls("intercom").into_iter().map(|c| c.action).collect()
}

fn parts(sim: &Sim, conversation: &str) -> Vec<(&'static str, bool)> {
    let kind = |k: String| if k == "admin" { "admin" } else { "contact" };
    sim.intercom().parts(conversation).into_iter().map(|(k, redacted)| (kind(k), redacted)).collect()
}

#[tokio::test]
async fn redacts_what_the_contact_wrote_then_deletes_it_and_leaves_everyone_else() {
    let (sim, intercom, ctx) = setup().await;
    let ana = sim.intercom().add_contact("user", Some("ana@example.com"), Some("u_ana"));
    let bob = sim.intercom().add_contact("user", Some("bob@example.com"), None);
    let alone = sim.intercom().add_conversation(&[&ana], 2);
    let group = sim.intercom().add_conversation(&[&bob, &ana], 1);

    let Outcome::Erased(evidence) = intercom.erase(&ctx, &subject(&["ana@example.com"], Some("u_ana"))).await else {
        panic!("erased")
    };
    assert_eq!(evidence.counts["contacts"], 1);
    assert_eq!(evidence.counts["conversation_parts"], 4, "the source and 2 replies, then 1 reply in the group");
    assert!(!evidence.counts.contains_key("conversation_parts_not_redactable"));
    assert!(evidence.note.as_deref().unwrap_or_default().contains("7 days"));
    assert!(evidence.vendor_refs.is_empty());

    assert_eq!(sim.intercom().contact_deleted(&ana), Some(true));
    assert_eq!(sim.intercom().unredacted_parts(&ana), 0);
    let (contact, admin) = ("contact", "admin");
    assert_eq!(
        parts(&sim, &alone),
        [(contact, true), (contact, true), (contact, true), (admin, false), (admin, false)]
    );
    assert_eq!(
        parts(&sim, &group),
        [(contact, false), (contact, false), (contact, true), (admin, false), (admin, false)]
    );
    assert_eq!(sim.intercom().contact_deleted(&bob), Some(false));
    assert_eq!(sim.intercom().unredacted_parts(&bob), 2);

    let done = actions(&sim);
    let redactions = done.iter().filter(|a| *a == "POST /conversations/redact").count();
    assert_eq!(redactions, 4);
    assert_eq!(done.last().map(String::as_str), Some("DELETE /contacts/{id}"), "the contact goes last: {done:?}");
    let next_request = Ctx::standalone(INSTANCE, ctx.http.clone());
    assert_eq!(
        intercom.erase(&next_request, &subject(&["ana@example.com"], Some("u_ana"))).await,
        Outcome::NothingToErase
    );
}

#[tokio::test]
async fn an_answer_lost_after_the_delete_is_still_counted_by_the_next_erase() {
    let (sim, intercom, ctx) = setup().await;
    let id = sim.intercom().add_contact("user", Some("fay@example.com"), None);
    // search contacts, search conversations, then the delete answers too late.
    let none = Fault::Hang { millis: 0 };
    sim.push_faults("intercom", [none.clone(), none, Fault::SlowAnswer { millis: 1500 }]);
    let fay = subject(&["fay@example.com"], None);
    assert!(matches!(intercom.erase(&ctx, &fay).await, Outcome::Retry { throttled: false, .. }));
    assert_eq!(sim.intercom().contact_deleted(&id), Some(true));
    let Outcome::Erased(evidence) = intercom.erase(&ctx, &fay).await else { panic!("erased") };
    assert_eq!(evidence.counts["contacts"], 1, "counted from the saved progress, not 'nothing found'");
}

#[tokio::test]
async fn an_interrupted_redaction_resumes_without_redacting_anything_twice() {
    let (sim, intercom, ctx) = setup().await;
    let id = sim.intercom().add_contact("user", Some("gus@example.com"), None);
    sim.intercom().add_conversation(&[&id], 2);
    // search contacts, search conversations, search their calls, retrieve the conversation, redact
    // the source; the next redaction fails.
    let none = Fault::Hang { millis: 0 };
    let faults = [
        none.clone(),
        none.clone(),
        none.clone(),
        none.clone(),
        none,
        Fault::Status { status: 503, retry_after: None },
    ];
    sim.push_faults("intercom", faults);
    let gus = subject(&["gus@example.com"], None);
    assert!(matches!(intercom.erase(&ctx, &gus).await, Outcome::Retry { throttled: false, .. }));
    assert_eq!(sim.intercom().unredacted_parts(&id), 2);
    assert_eq!(sim.intercom().contact_deleted(&id), Some(false));

    let Outcome::Erased(evidence) = intercom.erase(&ctx, &gus).await else { panic!("erased") };
    // The source redacted by the first attempt was not saved (no contact deletion followed it):
    // the evidence counts what this attempt did, never more.
    assert_eq!(evidence.counts["conversation_parts"], 2);
    assert!(!evidence.counts.contains_key("conversation_parts_not_redactable"));
    assert_eq!(sim.intercom().unredacted_parts(&id), 0);
    assert_eq!(sim.intercom().contact_deleted(&id), Some(true));
}

/// The worker dies after Intercom deleted the contact and before the outcome was recorded: the
/// contact's id was saved first, the next attempt no longer finds it, retrieves it (404) and
/// counts it, with the messages redacted before it.
#[tokio::test]
async fn a_worker_dying_after_the_contact_deletion_still_reports_what_was_erased() {
    let (sim, intercom, ctx) = setup().await;
    let ana = sim.intercom().add_contact("user", Some("ana@example.com"), None);
    sim.intercom().add_conversation(&[&ana], 2);
    let person = subject(&["ana@example.com"], None);
    sim.aim_fault("intercom", "DELETE /contacts/", Fault::SlowAnswer { millis: 3000 });
    let died = tokio::time::timeout(Duration::from_millis(400), intercom.erase(&ctx, &person)).await;
    assert!(died.is_err(), "the attempt was still waiting for Intercom's answer");
    assert_eq!(sim.intercom().contact_deleted(&ana), Some(true));

    let Outcome::Erased(evidence) = intercom.erase(&ctx, &person).await else { panic!("erased") };
    assert_eq!(evidence.counts["contacts"], 1);
    assert_eq!(evidence.counts["conversation_parts"], 3, "the source and 2 replies");
    assert_eq!(actions(&sim).last().map(String::as_str), Some("GET /contacts/{id}"), "the saved id was rechecked");
    let next_request = Ctx::standalone(INSTANCE, ctx.http.clone());
    assert_eq!(intercom.erase(&next_request, &person).await, Outcome::NothingToErase);
}

#[tokio::test]
async fn identifiers_are_data_in_paths_and_in_searches() {
    let (sim, intercom, ctx) = setup().await;
    let slashed = sim.intercom().add_contact("user", None, Some("a/b?c=1#d"));
    let dots = sim.intercom().add_contact("user", None, Some(".."));
    let victim = sim.intercom().add_contact("user", Some("victim@example.com"), Some("victim"));

    assert!(matches!(intercom.erase(&ctx, &subject(&[], Some("a/b?c=1#d"))).await, Outcome::Erased(_)));
    let call = &sim.calls("intercom")[0];
    assert_eq!(
        (call.action.as_str(), call.identifiers.as_slice()),
        ("POST /contacts/search", &["a/b?c=1#d".to_string()][..])
    );
    assert_eq!(sim.intercom().contact_deleted(&slashed), Some(true));

    let ctx = Ctx::standalone(INSTANCE, ctx.http.clone());
    assert!(matches!(intercom.erase(&ctx, &subject(&[], Some(".."))).await, Outcome::Erased(_)));
    assert_eq!(sim.intercom().contact_deleted(&dots), Some(true));

    let hostile = Subject::new(RawSubject {
        user_id: Some("victim\" OR \"\"=\"".into()),
        emails: vec!["*@example.com".into(), "victim*@example.com".into()],
        ids: [(INSTANCE.to_string(), "../me".to_string())].into(),
        ..RawSubject::default()
    })
    .unwrap();
    let ctx = Ctx::standalone(INSTANCE, ctx.http.clone());
    assert_eq!(intercom.erase(&ctx, &hostile).await, Outcome::NothingToErase);
    assert_eq!(sim.intercom().contact_deleted(&victim), Some(false));
    assert!(!actions(&sim).contains(&"GET /me".to_string()), "an id never reaches another path");
}

#[tokio::test]
async fn lookup_counts_contacts_and_healthcheck_needs_a_good_token() {
    let (sim, intercom, ctx) = setup().await;
    sim.intercom().add_contact("user", Some("hal@example.com"), Some("u_hal"));
    sim.intercom().add_contact("lead", Some("hal@example.com"), None);
    let found = intercom.lookup(&ctx, &subject(&["hal@example.com"], Some("u_hal"))).await.unwrap();
    assert_eq!((found.present, found.count), (true, Some(2)));
    assert!(!actions(&sim).contains(&"POST /conversations/search".to_string()), "lookup runs only the contacts' steps");
    intercom.healthcheck().await.unwrap();
    assert_eq!(actions(&sim).last().map(String::as_str), Some("GET /me"));

    let wrong = common::intercom(&sim.vendor_url("intercom"), "not-the-token", ctx.http.clone());
    let failure = wrong.healthcheck().await.unwrap_err();
    assert_eq!((failure.kind, failure.reason.as_str()), (FailureKind::Permanent, "intercom answered HTTP 401"));
    let outcome = wrong.erase(&ctx, &subject(&["hal@example.com"], None)).await;
    assert_eq!(outcome, Outcome::failed("intercom answered HTTP 401"));
}

/// Intercom Phone: API 2.14 lists a conversation's calls with their recording and transcript but
/// has no call to delete either: the evidence says how many, and that Intercom keeps CSAT ratings,
/// instead of letting "erased" cover them.
#[tokio::test]
async fn call_recordings_it_cannot_delete_and_csat_ratings_are_reported_not_claimed() {
    let (sim, intercom, ctx) = setup().await;
    let eve = sim.intercom().add_contact("user", Some("eve@example.com"), None);
    let mut conversations = Vec::new();
    for _ in 0..23 {
        conversations.push(sim.intercom().add_conversation(&[&eve], 0));
    }
    sim.intercom().add_call(&conversations[0], true, true).unwrap();
    sim.intercom().add_call(&conversations[22], false, true).unwrap();
    sim.intercom().add_call(&conversations[5], false, false).unwrap();
    let Outcome::Erased(evidence) = intercom.erase(&ctx, &subject(&["eve@example.com"], None)).await else {
        panic!("erased")
    };
    let note = evidence.note.as_deref().unwrap();
    assert!(note.contains("2 Intercom Phone calls"), "{note}");
    assert!(note.contains("cannot delete"), "{note}");
    assert!(note.contains("CSAT ratings and comments"), "{note}");
    assert!(!evidence.counts.contains_key("calls_with_voice"), "never counted as erased");
}
