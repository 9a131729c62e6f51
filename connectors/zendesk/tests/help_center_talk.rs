//! The zendesk connector and the person's Help Center (Guide) content and Talk recordings,
//! against the simulator (issue 13).

use erasure_connector::subject::RawSubject;
use erasure_connector::{Connector, Ctx, Evidence, HttpClient, Outcome, Secrets, Subject};
use erasure_connector_zendesk::{Config, HelpCenterPolicy, TicketPolicy, Zendesk};
use erasure_sim::{Sim, SimOptions};
use std::time::Duration;

const INSTANCE: &str = "helpdesk";

async fn setup(tickets: TicketPolicy, help_center: HelpCenterPolicy) -> (Sim, Zendesk, Ctx) {
    let sim = Sim::start("127.0.0.1:0".parse().unwrap(), SimOptions::default()).await.unwrap();
    let config = Config {
        base_url: sim.vendor_url("zendesk"),
        email: Some(Sim::ZENDESK_EMAIL.into()),
        api_token_env: Some("ZENDESK_API_TOKEN".into()),
        oauth_token_env: None,
        tickets,
        help_center,
        per_page: 100,
        check_after: 10.into(),
        hard_delete_after: None,
    };
    let http = HttpClient::unlimited(INSTANCE, Duration::from_secs(2));
    let zendesk = Zendesk::new(config, &Secrets::one("api_token_env", Sim::ZENDESK_TOKEN), http.clone()).unwrap();
    (sim, zendesk, Ctx::standalone(INSTANCE, http))
}

fn person(email: &str) -> Subject {
    Subject::new(RawSubject { emails: vec![email.to_string()], ..RawSubject::default() }).unwrap()
}

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

fn actions(sim: &Sim) -> Vec<String> {
    sim.calls("zendesk").iter().map(|c| c.action.clone()).filter(|a| !a.contains("/job_statuses/")).collect()
}

#[tokio::test]
async fn help_center_content_is_deleted_before_the_user() {
    let (sim, zendesk, ctx) = setup(TicketPolicy::Delete, HelpCenterPolicy::Delete).await;
    let zd = sim.zendesk();
    let ana = zd.user(Some("ana@example.com"), None);
    let other = zd.user(Some("other@example.com"), None);
    zd.ticket(ana, "Where is my order?");
    // Six article comments: two pages of the simulator's five.
    for _ in 0..6 {
        zd.article_comment(ana, "Thanks, this fixed it. Ana, 1 Main Street");
    }
    zd.article_comment(other, "Helpful.");
    let post = zd.community_post(ana, "My printer at 1 Main Street");
    zd.post_comment(post, ana, "Any news?");
    let elsewhere = zd.community_post(other, "Printers");
    zd.post_comment(elsewhere, ana, "Same here, call me on +33 6 12 34 56 78");
    zd.post_comment(elsewhere, other, "Thanks");

    let evidence = erased(drive(&zendesk, &ctx, &person("ana@example.com")).await);

    assert_eq!(sim.zendesk().help_center_content(ana), (0, 0, 0), "nothing of Ana's is left");
    assert_eq!(sim.zendesk().help_center_content(other), (1, 1, 1), "other people's content stays");
    assert_eq!(evidence.counts["help_center_comments_deleted"], 6);
    assert_eq!(evidence.counts["community_posts_deleted"], 1);
    assert_eq!(evidence.counts["community_comments_deleted"], 2);
    assert_eq!(evidence.counts["users_deleted"], 1);
    assert_eq!(sim.zendesk().user_life(ana), "purged");
    let actions = actions(&sim);
    let last_guide = actions.iter().rposition(|a| a.contains("/community/") || a.contains("/help_center/")).unwrap();
    let user_deletion = actions.iter().position(|a| *a == format!("DELETE /api/v2/users/{ana}")).unwrap();
    assert!(last_guide < user_deletion, "the content goes before the user: {actions:?}");
    assert!(actions.iter().any(|a| a.starts_with("DELETE /api/v2/help_center/en-us/articles/")), "{actions:?}");
}

#[tokio::test]
async fn help_center_keep_leaves_the_content_and_says_so() {
    let (sim, zendesk, ctx) = setup(TicketPolicy::Delete, HelpCenterPolicy::Keep).await;
    let bea = sim.zendesk().user(Some("bea@example.com"), None);
    sim.zendesk().article_comment(bea, "Thanks");
    sim.zendesk().community_post(bea, "Hello");

    let evidence = erased(drive(&zendesk, &ctx, &person("bea@example.com")).await);

    assert_eq!(sim.zendesk().help_center_content(bea), (1, 1, 0));
    assert!(!actions(&sim).iter().any(|a| a.contains("/community/") || a.contains("/help_center/")));
    let note = evidence.note.unwrap();
    assert!(note.contains("Help Center content") && note.contains("kept"), "{note}");
    assert!(!evidence.counts.contains_key("help_center_comments_deleted"));
}

/// Zendesk does not document the answer of an account without Help Center; clients report 404.
#[tokio::test]
async fn an_account_without_help_center_is_not_a_failure() {
    let (sim, zendesk, ctx) = setup(TicketPolicy::Delete, HelpCenterPolicy::Delete).await;
    let cy = sim.zendesk().user(Some("cy@example.com"), None);
    sim.zendesk().set_help_center(false);

    let evidence = erased(drive(&zendesk, &ctx, &person("cy@example.com")).await);

    assert_eq!(evidence.counts["users_deleted"], 1);
    assert_eq!(sim.zendesk().user_life(cy), "purged");
    let note = evidence.note.unwrap();
    assert!(note.contains("404") && note.contains("no Help Center"), "{note}");
    assert!(note.contains("30 days"), "the connector's own note stays: {note}");
}

#[tokio::test]
async fn call_recordings_on_tickets_that_stay_are_deleted() {
    let (sim, zendesk, ctx) = setup(TicketPolicy::Redact, HelpCenterPolicy::Delete).await;
    let zd = sim.zendesk();
    let dan = zd.user(Some("dan@example.com"), None);
    let other = zd.user(Some("other@example.com"), None);
    let requested = zd.ticket(dan, "I called about my bill.");
    let call = zd.voice_comment(requested, dan, &["call", "voicemail"]);
    let shared = zd.ticket(other, "Our line is down.");
    zd.watch(shared, dan, false);
    let dans_call = zd.voice_comment(shared, dan, &["call"]);
    let others_call = zd.voice_comment(shared, other, &["voicemail"]);

    let evidence = erased(drive(&zendesk, &ctx, &person("dan@example.com")).await);

    assert!(sim.zendesk().recordings(call).is_empty(), "the call and the voicemail on Dan's ticket");
    assert!(sim.zendesk().recordings(dans_call).is_empty(), "Dan's call on a ticket he is CC'd on");
    assert_eq!(sim.zendesk().recordings(others_call), ["voicemail"], "someone else's call stays");
    assert_eq!(evidence.counts["call_recordings_deleted"], 2);
    assert_eq!(sim.zendesk().ticket_life(requested), "live");
    assert_eq!(sim.zendesk().user_life(dan), "purged");
}

/// Delete Recording is "Allowed For: Admins"
/// (developer.zendesk.com/api-reference/voice/talk-api/recordings/): an agent's credentials fail
/// the task with a reason that says so.
#[tokio::test]
async fn an_agents_credentials_cannot_delete_recordings() {
    let (sim, zendesk, ctx) = setup(TicketPolicy::Redact, HelpCenterPolicy::Delete).await;
    let eve = sim.zendesk().user(Some("eve@example.com"), None);
    let ticket = sim.zendesk().ticket(eve, "Call me back.");
    let call = sim.zendesk().voice_comment(ticket, eve, &["call"]);
    sim.zendesk().set_caller_role("agent");

    match zendesk.erase(&ctx, &person("eve@example.com")).await {
        Outcome::Failed { reason } => {
            assert!(reason.contains("403") && reason.contains("admins"), "{reason}");
            assert!(!reason.contains("eve"), "{reason}");
        }
        other => panic!("a refused deletion fails the task: {other:?}"),
    }
    assert_eq!(sim.zendesk().recordings(call), ["call"]);
    assert_eq!(sim.zendesk().user_life(eve), "active", "the user is not deleted while a recording stays");
}

#[tokio::test]
async fn the_seed_file_plays_help_center_content_and_voice_calls() {
    let (sim, zendesk, ctx) = setup(TicketPolicy::Redact, HelpCenterPolicy::Delete).await;
    let seed = serde_json::json!({ "zendesk": { "users": [ { "email": "fay@example.com",
        "article_comments": 2, "community_posts": 1, "voice_calls": 1 } ] } });
    sim.seed_json(&seed).unwrap();

    let evidence = erased(drive(&zendesk, &ctx, &person("fay@example.com")).await);

    assert_eq!(evidence.counts["help_center_comments_deleted"], 2);
    assert_eq!(evidence.counts["community_posts_deleted"], 1);
    assert_eq!(evidence.counts["community_comments_deleted"], 1);
    assert_eq!(evidence.counts["call_recordings_deleted"], 1);
    assert_eq!(evidence.counts["users_deleted"], 1);
}
