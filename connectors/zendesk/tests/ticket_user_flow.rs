//! The zendesk connector's ticket and user flow against Zendesk's own refusals and blind spots
//! (issue 13): closed tickets of other people, archived tickets, secondary e-mail identities and
//! permanent ticket deletions that fail for some tickets.

use erasure_connector::subject::RawSubject;
use erasure_connector::{Connector, Ctx, Evidence, HttpClient, Outcome, Secrets, Subject};
use erasure_connector_zendesk::{Config, HelpCenterPolicy, TicketPolicy, Zendesk};
use erasure_sim::{Sim, SimOptions};
use std::time::Duration;

const INSTANCE: &str = "helpdesk";
const BLOCK: char = '\u{2587}';

async fn setup(tickets: TicketPolicy) -> (Sim, Zendesk, Ctx) {
    let sim = Sim::start("127.0.0.1:0".parse().unwrap(), SimOptions::default()).await.unwrap();
    let config = Config {
        base_url: sim.vendor_url("zendesk"),
        email: Some(Sim::ZENDESK_EMAIL.into()),
        api_token_env: Some("ZENDESK_API_TOKEN".into()),
        oauth_token_env: None,
        tickets,
        help_center: HelpCenterPolicy::Delete,
        per_page: 100,
        check_after: 10.into(),
        hard_delete_after: Some("30d".parse().unwrap()),
    };
    let secrets = Secrets::one("api_token_env", Sim::ZENDESK_TOKEN);
    let http = HttpClient::unlimited(INSTANCE, Duration::from_secs(2));
    let zendesk = Zendesk::new(config, &secrets, http.clone()).unwrap();
    (sim, zendesk, Ctx::standalone(INSTANCE, http))
}

fn person(email: &str) -> Subject {
    Subject::new(RawSubject { emails: vec![email.to_string()], ..RawSubject::default() }).unwrap()
}

/// Erase, then `check` every 50 ms until the erasure is no longer pending.
async fn drive(zendesk: &Zendesk, ctx: &Ctx, subject: &Subject) -> Outcome {
    let mut outcome = zendesk.erase(ctx, subject).await;
    for _ in 0..100 {
        let Outcome::Pending(pending) = &outcome else { break };
        tokio::time::sleep(Duration::from_millis(50)).await;
        outcome = zendesk.check(ctx, subject, pending).await;
    }
    outcome
}

fn erased(outcome: Outcome) -> Evidence {
    match outcome {
        Outcome::Erased(evidence) => evidence,
        other => panic!("expected Erased, got {other:?}"),
    }
}

fn all_redacted(text: &str) -> bool {
    text.chars().all(|c| c == BLOCK || c.is_whitespace())
}

/// Zendesk refuses any change to a closed ticket but its tags, subject and priority: the person
/// stays on the CCs of someone else's closed ticket, their comments on it are redacted (comment
/// redaction works on closed tickets), the user is deleted for good, and the evidence says what
/// was left and why.
#[tokio::test]
async fn closed_tickets_of_others_keep_the_cc_but_lose_the_persons_comments() {
    let (sim, zendesk, ctx) = setup(TicketPolicy::Delete).await;
    let bea = sim.zendesk().user(Some("bea@example.com"), None);
    let other = sim.zendesk().user(Some("other@example.com"), None);
    let closed = sim.zendesk().ticket(other, "Our shared printer was broken.");
    let theirs = sim.zendesk().comment(closed, bea, "Mine too, call me on +33 6 12 34 56 78.", &["id-card.jpg"]);
    sim.zendesk().watch(closed, bea, false);
    sim.zendesk().watch(closed, bea, true);
    let open = sim.zendesk().ticket(other, "The printer again.");
    sim.zendesk().set_ticket_status(open, "open");
    sim.zendesk().watch(open, bea, false);

    let evidence = erased(drive(&zendesk, &ctx, &person("bea@example.com")).await);

    assert!(all_redacted(&sim.zendesk().comment_text(theirs).unwrap()));
    assert_eq!(sim.zendesk().attachment_names(theirs), ["redacted.txt"]);
    assert_eq!(sim.zendesk().watchers(closed), [bea, bea], "a closed ticket cannot be changed");
    assert!(sim.zendesk().watchers(open).is_empty());
    assert_eq!(evidence.counts["closed_tickets_left"], 1);
    assert_eq!(evidence.counts["cc_removals"], 1);
    assert_eq!(evidence.counts["comments_redacted"], 1);
    assert_eq!(evidence.counts["users_deleted"], 1);
    let note = evidence.note.clone().unwrap();
    assert!(note.contains("closed"), "{note}");
    assert_eq!(sim.zendesk().user_life(bea), "purged", "the permanent deletion removes the identity");
    let puts = sim.calls("zendesk").iter().filter(|c| c.action == format!("PUT /api/v2/tickets/{closed}")).count();
    assert_eq!(puts, 0, "the connector never edits a closed ticket");
}

/// Zendesk archives tickets closed for about 120 days; archived tickets are not in the user's
/// lists of requested and CC'd tickets but are found by the Search API (its export, which the
/// connector uses): they are deleted (or their comments redacted) like the others.
#[tokio::test]
async fn archived_tickets_are_found_through_search_and_erased() {
    let (sim, zendesk, ctx) = setup(TicketPolicy::Delete).await;
    let ana = sim.zendesk().user(Some("ana@example.com"), None);
    let other = sim.zendesk().user(Some("other@example.com"), None);
    let recent = sim.zendesk().ticket(ana, "My order is late.");
    let archived = sim.zendesk().ticket(ana, "An old refund, my IBAN is FR76 1234.");
    sim.zendesk().archive(archived);
    let theirs = sim.zendesk().ticket(other, "An old shared problem.");
    let comment = sim.zendesk().comment(theirs, ana, "Same here, Ana from flat 3.", &[]);
    sim.zendesk().watch(theirs, ana, false);
    sim.zendesk().archive(theirs);

    let evidence = erased(drive(&zendesk, &ctx, &person("ana@example.com")).await);

    assert_eq!(sim.zendesk().ticket_life(recent), "purged");
    assert_eq!(sim.zendesk().ticket_life(archived), "purged", "the archived ticket is found by search");
    assert_eq!(evidence.counts["tickets_deleted"], 2);
    assert!(all_redacted(&sim.zendesk().comment_text(comment).unwrap()), "their comment on an archived ticket");
    assert_eq!(sim.zendesk().ticket_life(theirs), "live", "someone else's ticket stays");
    assert_eq!(evidence.counts["closed_tickets_left"], 1, "an archived ticket is closed");
    assert_eq!(sim.zendesk().user_life(ana), "purged");
    let searches: Vec<String> = sim.calls("zendesk").into_iter().flat_map(|c| c.identifiers).collect();
    assert!(searches.contains(&format!("type:ticket requester:{ana}")), "{searches:?}");
    assert!(searches.contains(&format!("type:ticket cc:{ana}")), "{searches:?}");
}

/// The person's address is a secondary e-mail identity of a Zendesk user: the user search finds
/// the user, whose `email` is another address; the connector checks the user's identities for an
/// exact match, and still leaves a look-alike alone.
#[tokio::test]
async fn a_secondary_email_identity_finds_the_user() {
    let (sim, zendesk, ctx) = setup(TicketPolicy::Delete).await;
    let ana = sim.zendesk().user(Some("ana@work.example"), None);
    sim.zendesk().secondary_email(ana, "ana@home.example");
    let ticket = sim.zendesk().ticket(ana, "Sent from home.");
    let lookalike = sim.zendesk().user(Some("jo@work.example"), None);
    sim.zendesk().secondary_email(lookalike, "joana@home.example");

    let evidence = erased(drive(&zendesk, &ctx, &person("Ana@Home.example")).await);

    assert_eq!(sim.zendesk().user_life(ana), "purged");
    assert_eq!(sim.zendesk().ticket_life(ticket), "purged");
    assert_eq!(evidence.counts["users_deleted"], 1);
    assert_eq!(sim.zendesk().user_life(lookalike), "active", "joana@ only looks like ana@");
    assert!(sim.calls("zendesk").iter().any(|c| c.action == format!("GET /api/v2/users/{ana}/identities")));
}

/// A permanent deletion job that fails for one ticket says only `{"success": false}`: the
/// connector reads Zendesk's deleted tickets to learn which were purged, counts only those, and
/// purges the rest again (the ids stay in the saved progress until then).
#[tokio::test]
async fn a_ticket_the_purge_failed_on_is_purged_again_and_counted_once() {
    let (sim, zendesk, ctx) = setup(TicketPolicy::Delete).await;
    let ana = sim.zendesk().user(Some("ana@example.com"), None);
    let stuck = sim.zendesk().ticket(ana, "One.");
    let fine = sim.zendesk().ticket(ana, "Two.");
    sim.zendesk().fail_purge(stuck, true);
    let subject = person("ana@example.com");

    let mut outcome = zendesk.erase(&ctx, &subject).await;
    let mut counted_before_retry = None;
    for _ in 0..100 {
        let Outcome::Pending(pending) = &outcome else { break };
        if let Some(n) = pending.evidence.counts.get("tickets_deleted") {
            counted_before_retry.get_or_insert(*n);
            sim.zendesk().fail_purge(stuck, false);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        outcome = zendesk.check(&ctx, &subject, pending).await;
    }
    let evidence = erased(outcome);

    assert_eq!(counted_before_retry, Some(1), "only the purged ticket is counted while the other is retried");
    assert_eq!(sim.zendesk().ticket_life(fine), "purged");
    assert_eq!(sim.zendesk().ticket_life(stuck), "purged", "the failed ticket was purged again");
    assert_eq!(evidence.counts["tickets_deleted"], 2, "each ticket counted once");
    assert_eq!(sim.zendesk().user_life(ana), "purged");
    assert!(sim.calls("zendesk").iter().any(|c| c.action == "GET /api/v2/deleted_tickets"));
}

/// A ticket Zendesk never manages to purge ends the task after the restarts, with a reason that
/// names no ticket, and is not counted.
#[tokio::test]
async fn a_ticket_that_is_never_purged_fails_the_task() {
    let (sim, zendesk, ctx) = setup(TicketPolicy::Delete).await;
    let ana = sim.zendesk().user(Some("ana@example.com"), None);
    let stuck = sim.zendesk().ticket(ana, "One.");
    sim.zendesk().fail_purge(stuck, true);
    match drive(&zendesk, &ctx, &person("ana@example.com")).await {
        Outcome::Failed { reason } => {
            assert!(reason.contains("could not purge 1 ticket"), "{reason}");
            assert!(!reason.contains(&stuck.to_string()), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(sim.zendesk().ticket_life(stuck), "soft_deleted");
    assert_eq!(sim.zendesk().user_life(ana), "active");
}

/// A permanent user deletion cascades to Zendesk's other applications, each reporting in
/// `compliance_deletion_statuses` (`started`, then `complete`; Zendesk Support API, Users, "Show
/// Compliance Deletion Statuses"). The task stays pending while one application has not finished,
/// and the evidence lists every application with the time it reported `complete`.
#[tokio::test]
async fn the_erasure_waits_until_every_zendesk_application_reports_complete() {
    let (sim, zendesk, ctx) = setup(TicketPolicy::Delete).await;
    sim.zendesk().set_job_delay(Duration::ZERO);
    sim.zendesk().set_cascade(&[("support", Some(Duration::ZERO)), ("talk", None)]);
    let dan = sim.zendesk().user(Some("dan@example.com"), None);
    sim.zendesk().ticket(dan, "My order never came.");

    let outcome = drive(&zendesk, &ctx, &person("dan@example.com")).await;

    let Outcome::Pending(pending) = outcome else {
        panic!("expected Pending while talk has not finished, got {outcome:?}")
    };
    assert_eq!(pending.state["step"], "await_cascade");
    assert_eq!(sim.zendesk().user_life(dan), "purged");

    sim.zendesk().set_cascade(&[("support", Some(Duration::ZERO)), ("talk", Some(Duration::from_millis(100)))]);
    let evidence = erased(drive_from(&zendesk, &ctx, &person("dan@example.com"), Outcome::Pending(pending)).await);
    let applications: Vec<&str> = evidence
        .vendor_refs
        .iter()
        .filter_map(|r| r.strip_prefix("compliance_deletion:"))
        .map(|r| r.split(':').next().unwrap())
        .collect();
    assert_eq!(applications, ["support", "talk"]);
    for reference in evidence.vendor_refs.iter().filter(|r| r.starts_with("compliance_deletion:")) {
        let at = reference.splitn(4, ':').nth(3).unwrap();
        assert!(chrono::DateTime::parse_from_rfc3339(at).is_ok(), "a time in {reference}");
    }
    assert_eq!(evidence.counts.get("users_deleted"), Some(&1));
}

/// `check` every 50 ms from `outcome` until the erasure is no longer pending.
async fn drive_from(zendesk: &Zendesk, ctx: &Ctx, subject: &Subject, mut outcome: Outcome) -> Outcome {
    for _ in 0..100 {
        let Outcome::Pending(pending) = &outcome else { break };
        tokio::time::sleep(Duration::from_millis(50)).await;
        outcome = zendesk.check(ctx, subject, pending).await;
    }
    outcome
}
