//! The zendesk connector against the simulator: Zendesk's own rules, beyond the conformance kit.

use erasure_connector::subject::RawSubject;
use erasure_connector::{Connector, Ctx, Evidence, HttpClient, Outcome, Secrets, Subject};
use erasure_connector_zendesk::{Config, HelpCenterPolicy, TicketPolicy, Zendesk};
use erasure_sim::{Fault, Sim, SimOptions};
use std::time::Duration;

const INSTANCE: &str = "helpdesk";

fn config(sim: &Sim, tickets: TicketPolicy) -> Config {
    Config {
        base_url: sim.vendor_url("zendesk"),
        email: Some(Sim::ZENDESK_EMAIL.into()),
        api_token_env: Some("ZENDESK_API_TOKEN".into()),
        oauth_token_env: None,
        tickets,
        help_center: HelpCenterPolicy::Delete,
        per_page: 100,
        check_after: 10.into(),
        hard_delete_after: Some("30d".parse().unwrap()),
    }
}

async fn setup(tickets: TicketPolicy) -> (Sim, Zendesk, Ctx) {
    let sim = Sim::start("127.0.0.1:0".parse().unwrap(), SimOptions::default()).await.unwrap();
    // Zendesk's other applications finish their part of a user deletion at once here; waiting
    // for them is `the_erasure_waits_until_every_zendesk_application_reports_complete`.
    sim.zendesk().set_cascade(&[("support", Some(Duration::ZERO)), ("chat", Some(Duration::ZERO))]);
    let zendesk = connector(config(&sim, tickets), Sim::ZENDESK_TOKEN);
    let ctx = Ctx::standalone(INSTANCE, HttpClient::unlimited(INSTANCE, Duration::from_secs(2)));
    (sim, zendesk, ctx)
}

fn connector(config: Config, token: &str) -> Zendesk {
    let secrets = Secrets::one("api_token_env", token).with("oauth_token_env", token);
    Zendesk::new(config, &secrets, HttpClient::unlimited(INSTANCE, Duration::from_secs(2))).unwrap()
}

fn person(emails: &[&str], user_id: Option<&str>, zendesk_id: Option<u64>) -> Subject {
    Subject::new(RawSubject {
        user_id: user_id.map(str::to_string),
        emails: emails.iter().map(|e| e.to_string()).collect(),
        ids: zendesk_id.map(|id| [(INSTANCE.to_string(), id.to_string())].into()).unwrap_or_default(),
        ..RawSubject::default()
    })
    .unwrap()
}

/// Erase, then `check` every 50 ms until the erasure is no longer pending.
async fn drive(zendesk: &Zendesk, ctx: &Ctx, subject: &Subject) -> (Outcome, Vec<serde_json::Value>) {
    let mut outcome = zendesk.erase(ctx, subject).await;
    let mut states = Vec::new();
    for _ in 0..100 {
        let Outcome::Pending(pending) = &outcome else { break };
        states.push(pending.state.clone());
        tokio::time::sleep(Duration::from_millis(50)).await;
        outcome = zendesk.check(ctx, subject, pending).await;
    }
    (outcome, states)
}

fn erased(outcome: Outcome) -> Evidence {
    match outcome {
        Outcome::Erased(evidence) => evidence,
        other => panic!("expected Erased, got {other:?}"),
    }
}

/// The calls Zendesk received, without the polls of job statuses.
fn actions(sim: &Sim) -> Vec<String> {
    let calls = sim.calls("zendesk");
    calls.iter().map(|c| c.action.clone()).filter(|a| !a.contains("/job_statuses/")).collect()
}

#[tokio::test]
async fn tickets_are_deleted_by_jobs_then_purged_then_the_user_is_deleted() {
    let (sim, zendesk, ctx) = setup(TicketPolicy::Delete).await;
    let ana = sim.zendesk().user(Some("ana@example.com"), Some("u_123"));
    let tickets = [sim.zendesk().ticket(ana, "My order is late."), sim.zendesk().ticket(ana, "Refund please.")];
    let subject = person(&["ana@example.com"], Some("u_123"), None);

    let (outcome, states) = drive(&zendesk, &ctx, &subject).await;
    let evidence = erased(outcome);

    assert_eq!(states[0]["step"], "delete_tickets", "the first answer is Pending on the deletion jobs");
    assert!(states.iter().any(|s| s["step"] == "purge_tickets"));
    for state in &states {
        let text = state.to_string();
        assert!(!text.contains("ana@") && !text.contains("u_123"), "{text}");
    }
    assert_eq!(evidence.counts["tickets_deleted"], 2);
    assert_eq!(evidence.counts["users_deleted"], 1);
    let jobs = evidence.vendor_refs.iter().filter(|r| r.starts_with("job_status:")).count();
    assert_eq!(jobs, 2, "one deletion job and one purge job");
    let cascade: Vec<&str> =
        evidence.vendor_refs.iter().filter_map(|r| r.strip_prefix("compliance_deletion:")).collect();
    assert_eq!(cascade.len(), 2, "support and chat reported complete: {cascade:?}");
    assert!(cascade[0].starts_with("chat:complete:") && cascade[1].starts_with("support:complete:"));
    let note = evidence.note.clone().unwrap();
    assert!(note.contains("30 days") && note.contains("Verify again after 30d"), "{note}");
    let text = serde_json::to_string(&evidence).unwrap();
    assert!(!text.contains("ana@") && !text.contains("u_123"), "{text}");

    assert_eq!(sim.zendesk().user_life(ana), "purged");
    assert!(tickets.iter().all(|t| sim.zendesk().ticket_life(*t) == "purged"));
    let expected_order = [
        "GET /api/v2/users/search".to_string(),
        "GET /api/v2/users/search".into(),
        "GET /api/v2/search".into(),
        "GET /api/v2/search".into(),
        "DELETE /api/v2/tickets/destroy_many".into(),
        "DELETE /api/v2/deleted_tickets/destroy_many".into(),
    ];
    assert_eq!(actions(&sim)[..6], expected_order);
    assert_eq!(
        actions(&sim)[actions(&sim).len() - 3..],
        [
            format!("DELETE /api/v2/users/{ana}"),
            format!("DELETE /api/v2/deleted_users/{ana}"),
            format!("GET /api/v2/users/{ana}/compliance_deletion_statuses")
        ]
    );

    let calls_before = sim.calls("zendesk").len();
    let next_request = Ctx::standalone(INSTANCE, ctx.http.clone());
    assert_eq!(zendesk.erase(&next_request, &subject).await, Outcome::NothingToErase, "a second erase finds nothing");
    assert_eq!(sim.calls("zendesk").len(), calls_before + 2, "two searches, nothing else");
}

#[tokio::test]
async fn fuzzy_search_results_are_kept_only_when_exact() {
    let (sim, zendesk, ctx) = setup(TicketPolicy::Delete).await;
    let lookalikes = [
        sim.zendesk().user(Some("joann@example.com"), None),
        sim.zendesk().user(Some("ann@example.com.evil.io"), None),
        sim.zendesk().user(None, Some("u_1234")),
    ];
    let subject = person(&["ann@example.com"], Some("u_123"), None);
    assert_eq!(zendesk.erase(&ctx, &subject).await, Outcome::NothingToErase);
    assert!(!zendesk.lookup(&ctx, &subject).await.unwrap().present);
    assert!(lookalikes.iter().all(|u| sim.zendesk().user_life(*u) == "active"));
    // Between the searches: each look-alike's identities, read to check its e-mail addresses.
    let searched: Vec<Vec<String>> =
        sim.calls("zendesk").iter().map(|c| c.identifiers.clone()).filter(|i| !i.is_empty()).collect();
    assert_eq!(searched[0], [r#"email:"ann@example.com""#], "the e-mail is one quoted phrase");
    assert_eq!(searched[1], ["u_123"], "the external id is an exact-match parameter");
}

#[tokio::test]
async fn hostile_identifiers_stay_data() {
    let (sim, zendesk, ctx) = setup(TicketPolicy::Delete).await;
    let victim = sim.zendesk().user(Some("victim.one@example.com"), Some("v1"));
    sim.zendesk().ticket(victim, "Hello.");
    let hostile = person(
        &["victim*@example.com", "a\"b@example.com", "x\\\"@example.com", "*@example.com"],
        Some("*\" OR \"\"=\""),
        None,
    );
    assert_eq!(zendesk.erase(&ctx, &hostile).await, Outcome::NothingToErase);
    assert_eq!(sim.zendesk().user_life(victim), "active");
    let queries: Vec<String> = sim.calls("zendesk").iter().flat_map(|c| c.identifiers.clone()).collect();
    assert_eq!(
        queries,
        [
            r#"email:"victim*@example.com""#,
            r#"email:"a\"b@example.com""#,
            r#"email:"x\\\"@example.com""#,
            r#"email:"*@example.com""#,
            "*\" OR \"\"=\"",
        ]
    );
}

#[tokio::test]
async fn tickets_the_person_is_only_ccd_on_stay_without_them() {
    let (sim, zendesk, ctx) = setup(TicketPolicy::Delete).await;
    let bea = sim.zendesk().user(Some("bea@example.com"), None);
    let other = sim.zendesk().user(Some("other@example.com"), None);
    let ticket = sim.zendesk().ticket(other, "Our shared printer is broken.");
    sim.zendesk().set_ticket_status(ticket, "open");
    let theirs = sim.zendesk().comment(ticket, bea, "Mine too, call me on +33 6 12 34 56 78.", &["id-card.jpg"]);
    let reply = sim.zendesk().comment(ticket, other, "Thanks Bea.", &[]);
    sim.zendesk().watch(ticket, bea, false);
    sim.zendesk().watch(ticket, bea, true);

    let evidence = erased(zendesk.erase(&ctx, &person(&["bea@example.com"], None, None)).await);

    assert_eq!(sim.zendesk().ticket_life(ticket), "live", "someone else's ticket is never deleted");
    assert!(sim.zendesk().watchers(ticket).is_empty(), "off the CCs and the followers");
    let text = sim.zendesk().comment_text(theirs).unwrap();
    assert!(text.chars().all(|c| c == '\u{2587}'), "{text}");
    assert_eq!(sim.zendesk().attachment_names(theirs), ["redacted.txt"]);
    assert_eq!(sim.zendesk().comment_text(reply).unwrap(), "Thanks Bea.", "other people's comments stay");
    assert_eq!(evidence.counts["cc_removals"], 1);
    assert_eq!(evidence.counts["comments_redacted"], 1);
    assert_eq!(evidence.counts["users_deleted"], 1);
    assert!(!evidence.counts.contains_key("tickets_deleted"));
    assert_eq!(sim.zendesk().user_life(bea), "purged");
    assert_eq!(sim.zendesk().user_life(other), "active");
}

#[tokio::test]
async fn redact_mode_keeps_the_tickets_with_every_comment_redacted() {
    let (sim, zendesk, ctx) = setup(TicketPolicy::Redact).await;
    let cy = sim.zendesk().user(Some("cy@example.com"), None);
    let ticket = sim.zendesk().ticket(cy, "My address is 1 Main Street.");
    let reply = sim.zendesk().comment(ticket, 1, "Noted, Cy: 1 Main Street.", &[]);
    let subject = person(&["cy@example.com"], None, None);

    let evidence = erased(zendesk.erase(&ctx, &subject).await);

    assert_eq!(sim.zendesk().ticket_life(ticket), "live");
    assert!(sim.zendesk().comment_text(reply).unwrap().chars().all(|c| c == '\u{2587}' || c.is_whitespace()));
    assert_eq!(evidence.counts["tickets_redacted"], 1);
    assert_eq!(evidence.counts["comments_redacted"], 2);
    assert_eq!(sim.zendesk().user_life(cy), "purged");
    assert!(!actions(&sim).iter().any(|a| a.contains("destroy_many")));
    let next_request = Ctx::standalone(INSTANCE, ctx.http.clone());
    assert_eq!(zendesk.erase(&next_request, &subject).await, Outcome::NothingToErase);
}

#[tokio::test]
async fn redact_mode_cannot_delete_the_requester_of_an_open_ticket() {
    let (sim, zendesk, ctx) = setup(TicketPolicy::Redact).await;
    let dan = sim.zendesk().user(Some("dan@example.com"), None);
    let ticket = sim.zendesk().ticket(dan, "Still waiting.");
    sim.zendesk().set_ticket_status(ticket, "open");
    match zendesk.erase(&ctx, &person(&["dan@example.com"], None, None)).await {
        Outcome::Failed { reason } => {
            assert!(reason.contains("422") && reason.contains("close them"), "{reason}");
            assert!(!reason.contains("dan"), "{reason}");
        }
        other => panic!("a human must act: {other:?}"),
    }
    assert_eq!(sim.zendesk().user_life(dan), "active");
}

#[tokio::test]
async fn a_retry_after_below_two_seconds_leaves_the_backoff_to_the_engine() {
    let (sim, zendesk, ctx) = setup(TicketPolicy::Delete).await;
    sim.zendesk().user(Some("eve@example.com"), None);
    let subject = person(&["eve@example.com"], None, None);
    sim.push_faults(
        "zendesk",
        [
            Fault::Throttle { retry_after: Some(1) },
            Fault::Throttle { retry_after: Some(30) },
            Fault::Status { status: 503, retry_after: Some(5) },
        ],
    );
    assert_eq!(
        zendesk.erase(&ctx, &subject).await,
        Outcome::Retry { after: None, reason: "helpdesk answered HTTP 429".into(), throttled: true }
    );
    assert!(matches!(
        zendesk.erase(&ctx, &subject).await,
        Outcome::Retry { after: Some(d), throttled: true, .. } if d == Duration::from_secs(30)
    ));
    assert!(matches!(
        zendesk.erase(&ctx, &subject).await,
        Outcome::Retry { after: Some(d), throttled: false, .. } if d == Duration::from_secs(5)
    ));
}

#[tokio::test]
async fn the_account_rate_limit_answers_429_with_its_window() {
    let (sim, zendesk, ctx) = setup(TicketPolicy::Delete).await;
    sim.zendesk().user(Some("fay@example.com"), None);
    sim.zendesk().set_rate_limit(Some((1, Duration::from_secs(60))));
    match zendesk.erase(&ctx, &person(&["fay@example.com"], None, None)).await {
        Outcome::Retry { after: Some(after), throttled: true, .. } => {
            assert!(after > Duration::from_secs(55) && after <= Duration::from_secs(60), "{after:?}")
        }
        other => panic!("a throttled retry at the end of the window: {other:?}"),
    }
    assert_eq!(sim.calls("zendesk").iter().map(|c| c.status).collect::<Vec<_>>(), [200, 429]);
}

#[tokio::test]
async fn a_throttled_permanent_deletion_is_followed_up_by_id() {
    let (sim, zendesk, ctx) = setup(TicketPolicy::Delete).await;
    let gus = sim.zendesk().user(Some("gus@example.com"), None);
    sim.zendesk().set_user_deletion_limit(0, Duration::from_secs(60));
    let subject = person(&["gus@example.com"], None, None);

    let Outcome::Pending(pending) = zendesk.erase(&ctx, &subject).await else { panic!("pending") };
    assert_eq!(pending.state, serde_json::json!({ "step": "purge_users", "users": [gus] }));
    assert!(pending.check_after > Duration::from_secs(55), "Retry-After: {:?}", pending.check_after);
    assert_eq!(sim.zendesk().user_life(gus), "soft_deleted");

    assert!(matches!(zendesk.check(&ctx, &subject, &pending).await, Outcome::Retry { throttled: true, .. }));
    sim.zendesk().set_user_deletion_limit(700, Duration::from_secs(600));
    let evidence = erased(zendesk.check(&ctx, &subject, &pending).await);
    assert_eq!(evidence.counts["users_deleted"], 1);
    assert_eq!(sim.zendesk().user_life(gus), "purged");
}

#[tokio::test]
async fn the_product_given_id_finds_the_user_even_soft_deleted() {
    let (sim, zendesk, ctx) = setup(TicketPolicy::Delete).await;
    let hal = sim.zendesk().user(None, None);
    sim.zendesk().ticket(hal, "Hi.");
    let subject = person(&["hal.elsewhere@example.com"], None, Some(hal));
    assert!(zendesk.lookup(&ctx, &subject).await.unwrap().present);
    erased(drive(&zendesk, &ctx, &subject).await.0);
    assert_eq!(sim.zendesk().user_life(hal), "purged");

    // A user soft-deleted by a task that saved no progress (a fresh context each time): search
    // no longer finds the user, the product-given id does.
    let ivy = sim.zendesk().user(Some("ivy@example.com"), None);
    let fresh = || Ctx::standalone(INSTANCE, ctx.http.clone());
    sim.zendesk().set_user_deletion_limit(0, Duration::from_secs(60));
    assert!(matches!(zendesk.erase(&fresh(), &person(&["ivy@example.com"], None, None)).await, Outcome::Pending(_)));
    sim.zendesk().set_user_deletion_limit(700, Duration::from_secs(600));
    assert_eq!(zendesk.erase(&fresh(), &person(&["ivy@example.com"], None, None)).await, Outcome::NothingToErase);
    assert_eq!(sim.zendesk().user_life(ivy), "soft_deleted", "search no longer finds a soft-deleted user");
    let evidence = erased(zendesk.erase(&fresh(), &person(&["ivy@example.com"], None, Some(ivy))).await);
    assert_eq!(evidence.counts["users_deleted"], 1);
    assert_eq!(sim.zendesk().user_life(ivy), "purged");

    let not_an_id = Subject::new(RawSubject {
        ids: [(INSTANCE.to_string(), "../tickets/1".to_string())].into(),
        ..RawSubject::default()
    })
    .unwrap();
    match zendesk.erase(&ctx, &not_an_id).await {
        Outcome::Failed { reason } => assert_eq!(reason, "subject.ids.helpdesk is not a zendesk user id (a number)"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn lookup_follows_the_deletion_through_compliance_statuses() {
    let (sim, zendesk, ctx) = setup(TicketPolicy::Delete).await;
    let jo = sim.zendesk().user(Some("jo@example.com"), None);
    sim.zendesk().ticket(jo, "One.");
    sim.zendesk().ticket(jo, "Two.");
    let subject = person(&["jo@example.com"], None, Some(jo));
    let found = zendesk.lookup(&ctx, &subject).await.unwrap();
    assert_eq!((found.present, found.count), (true, Some(3)), "the user and two tickets");

    sim.zendesk().set_cascade(&[("support", Some(Duration::ZERO)), ("chat", None)]);
    let (outcome, _) = drive(&zendesk, &ctx, &subject).await;
    assert!(matches!(outcome, Outcome::Pending(_)), "chat has not finished: {outcome:?}");
    let found = zendesk.lookup(&ctx, &subject).await.unwrap();
    assert_eq!((found.present, found.count), (true, None), "Zendesk is still deleting");
    sim.zendesk().set_cascade(&[("support", Some(Duration::ZERO)), ("chat", Some(Duration::ZERO))]);
    assert!(!zendesk.lookup(&ctx, &subject).await.unwrap().present);
}

#[tokio::test]
async fn a_failed_job_is_started_again_then_given_up() {
    let (sim, zendesk, ctx) = setup(TicketPolicy::Delete).await;
    let kim = sim.zendesk().user(Some("kim@example.com"), None);
    let ticket = sim.zendesk().ticket(kim, "Hello.");
    sim.zendesk().fail_jobs(1);
    erased(drive(&zendesk, &ctx, &person(&["kim@example.com"], None, None)).await.0);
    assert_eq!(sim.zendesk().ticket_life(ticket), "purged");
    assert_eq!(actions(&sim).iter().filter(|a| a.ends_with("/tickets/destroy_many")).count(), 2);

    let lou = sim.zendesk().user(Some("lou@example.com"), None);
    sim.zendesk().ticket(lou, "Hello.");
    sim.zendesk().fail_jobs(10);
    let (outcome, _) = drive(&zendesk, &ctx, &person(&["lou@example.com"], None, None)).await;
    assert_eq!(outcome, Outcome::failed("a zendesk background job failed 4 times in a row"));
    assert_eq!(sim.zendesk().user_life(lou), "active");
}

#[tokio::test]
async fn pagination_stays_within_the_base_url() {
    let (sim, zendesk, ctx) = setup(TicketPolicy::Delete).await;
    let max = sim.zendesk().user(Some("max@example.com"), None);
    for _ in 0..12 {
        sim.zendesk().ticket(max, "Again.");
    }
    let subject = person(&["max@example.com"], None, None);
    assert_eq!(zendesk.lookup(&ctx, &subject).await.unwrap().count, Some(13));
    let elsewhere = format!("http://{}/intercom/api/v2/search?page=2", sim.addr());
    for next in ["http://169.254.169.254/api/v2/search?page=2", elsewhere.as_str()] {
        sim.zendesk().set_next_page(Some(next));
        match zendesk.erase(&ctx, &subject).await {
            Outcome::Failed { reason } => assert!(reason.contains("outside the configured base_url"), "{reason}"),
            other => panic!("{other:?}"),
        }
    }
    sim.zendesk().set_next_page(None);
    let evidence = erased(drive(&zendesk, &ctx, &subject).await.0);
    assert_eq!(evidence.counts["tickets_deleted"], 12, "three pages of five");
}

/// List Search Results stops at 1,000 results a query (Zendesk's "Results limit"); its `count`
/// says more, and Export Search Results, which has no such cap, lists them all. A person with
/// fewer tickets costs no export call: the export has its own limit of 100 calls a minute.
#[tokio::test]
async fn more_than_a_thousand_tickets_are_found_through_the_export() {
    let (sim, zendesk, ctx) = setup(TicketPolicy::Delete).await;
    sim.zendesk().set_page_size(100);
    let ned = sim.zendesk().user(Some("ned@example.com"), None);
    for _ in 0..1001 {
        sim.zendesk().ticket(ned, "Again.");
    }
    let Outcome::Pending(pending) = zendesk.erase(&ctx, &person(&["ned@example.com"], None, None)).await else {
        panic!("pending on the deletion jobs")
    };
    assert_eq!(pending.state["tickets"].as_array().map(Vec::len), Some(1001), "every ticket is being deleted");
    let searches: Vec<String> = actions(&sim).into_iter().filter(|a| a.starts_with("GET /api/v2/search")).collect();
    assert_eq!(searches.iter().filter(|a| *a == "GET /api/v2/search/export").count(), 11, "1,001 tickets, 100 a page");
    assert_eq!(searches[0], "GET /api/v2/search", "List Search Results first");

    let few = sim.zendesk().user(Some("few@example.com"), None);
    sim.zendesk().ticket(few, "Once.");
    let before = actions(&sim).len();
    drive(&zendesk, &Ctx::standalone(INSTANCE, ctx.http.clone()), &person(&["few@example.com"], None, None)).await;
    assert!(!actions(&sim)[before..].iter().any(|a| a.contains("/search/export")), "no export for one ticket");
}

#[tokio::test]
async fn agents_and_admins_are_left_to_a_human() {
    let (sim, zendesk, ctx) = setup(TicketPolicy::Delete).await;
    let staff = sim.zendesk().staff("nat@example.com", "agent");
    match zendesk.erase(&ctx, &person(&["nat@example.com"], None, None)).await {
        Outcome::Failed { reason } => assert!(reason.contains("agent or admin"), "{reason}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(sim.zendesk().user_life(staff), "active");
}

#[tokio::test]
async fn sign_in_with_an_api_token_or_oauth() {
    let (sim, zendesk, _ctx) = setup(TicketPolicy::Delete).await;
    zendesk.healthcheck().await.unwrap();

    let oauth = Config {
        email: None,
        api_token_env: None,
        oauth_token_env: Some("ZD_OAUTH".into()),
        ..config(&sim, TicketPolicy::Delete)
    };
    connector(oauth.clone(), Sim::ZENDESK_OAUTH_TOKEN).healthcheck().await.unwrap();

    for (config, token) in [(config(&sim, TicketPolicy::Delete), "stolen"), (oauth, "stolen")] {
        let failure = connector(config, token).healthcheck().await.unwrap_err();
        assert_eq!(failure.reason, "helpdesk answered HTTP 401");
    }
    assert_eq!(sim.calls("zendesk").iter().map(|c| c.status).collect::<Vec<_>>(), [200, 200, 401, 401]);
}

#[tokio::test]
async fn the_seed_file_section_and_serving_at_the_root_of_a_port() {
    let (sim, _zendesk, ctx) = setup(TicketPolicy::Delete).await;
    let seed = serde_json::json!({ "zendesk": { "page_size": 2, "job_delay_ms": 50, "users": [
        { "email": "oz@example.com", "external_id": "u_9", "name": "Oz", "tickets": 3, "ccd_tickets": 1 } ] } });
    sim.seed_json(&seed).unwrap();
    assert!(sim.seed_json(&serde_json::json!({ "zendesk": { "userz": [] } })).is_err());
    let root = sim.serve_vendor_at_root("zendesk").await.unwrap();
    let zendesk = connector(Config { base_url: root, ..config(&sim, TicketPolicy::Delete) }, Sim::ZENDESK_TOKEN);
    let evidence = erased(drive(&zendesk, &ctx, &person(&["oz@example.com"], Some("u_9"), None)).await.0);
    assert_eq!(evidence.counts["tickets_deleted"], 3);
    assert_eq!(evidence.counts["cc_removals"], 1);
    assert_eq!(evidence.counts["comments_redacted"], 1);
    assert_eq!(sim.zendesk().records("oz@example.com"), 0);
}

#[tokio::test]
async fn a_soft_deletion_that_timed_out_is_finished_by_id() {
    let (sim, zendesk, ctx) = setup(TicketPolicy::Delete).await;
    let pat = sim.zendesk().user(Some("pat@example.com"), None);
    let subject = person(&["pat@example.com"], None, None);
    // The soft deletion is done but answered too late.
    sim.aim_fault("zendesk", DELETE_USER, Fault::SlowAnswer { millis: 2500 });
    let Outcome::Pending(pending) = zendesk.erase(&ctx, &subject).await else { panic!("pending") };
    assert_eq!(pending.state, serde_json::json!({ "step": "purge_users", "users": [pat] }));
    assert_eq!(sim.zendesk().user_life(pat), "soft_deleted");
    let evidence = erased(zendesk.check(&ctx, &subject, &pending).await);
    assert_eq!(evidence.counts["users_deleted"], 1);
    assert_eq!(sim.zendesk().user_life(pat), "purged");
}

/// How an attempt loses what Zendesk answered to one call.
#[derive(Clone, Copy, Debug)]
enum Loss {
    /// The connection stays silent past the client's timeout: the connector sees a timeout.
    Answer,
    /// The worker dies while it waits: the attempt ends with no outcome at all.
    Worker,
}

/// What the engine does with one task: `erase` until an outcome is `Pending`, then `check` with
/// the last committed `Pending` (a retry keeps it), until the task ends. An attempt that runs
/// past `death` is dropped mid-call, as a killed worker's is: nothing of it is committed but the
/// progress it saved. Returns every committed outcome and how many attempts died.
async fn attempts(zendesk: &Zendesk, ctx: &Ctx, subject: &Subject, death: Duration) -> (Vec<Outcome>, usize) {
    let mut pending: Option<erasure_connector::Pending> = None;
    let (mut outcomes, mut deaths) = (Vec::new(), 0);
    for _ in 0..100 {
        let attempt = async {
            match &pending {
                Some(p) => zendesk.check(ctx, subject, p).await,
                None => zendesk.erase(ctx, subject).await,
            }
        };
        match tokio::time::timeout(death, attempt).await {
            Err(_) => deaths += 1,
            Ok(outcome) => {
                outcomes.push(outcome.clone());
                match outcome {
                    Outcome::Pending(p) => pending = Some(p),
                    Outcome::Retry { .. } => {}
                    _ => return (outcomes, deaths),
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the task did not end: {outcomes:?}")
}

/// Zendesk does the work of `action` but its answer is lost as `loss` says; the task's next
/// attempts must still leave nothing of the person behind. Returns the task's final evidence.
async fn erase_losing(action: &str, loss: Loss) -> Evidence {
    let (sim, zendesk, ctx) = setup(TicketPolicy::Delete).await;
    let ana = sim.zendesk().user(Some("ana@example.com"), None);
    let tickets = [sim.zendesk().ticket(ana, "My order is late."), sim.zendesk().ticket(ana, "Refund please.")];
    let subject = person(&["ana@example.com"], None, None);
    // The work is done at once; the answer comes after the client's 2 s timeout.
    sim.aim_fault("zendesk", action, Fault::SlowAnswer { millis: 2500 });
    let death = match loss {
        Loss::Answer => Duration::from_secs(30),
        Loss::Worker => Duration::from_secs(1),
    };
    let (outcomes, deaths) = attempts(&zendesk, &ctx, &subject, death).await;
    match loss {
        Loss::Answer => assert!(
            outcomes.iter().any(|o| matches!(o, Outcome::Retry { reason, .. } if reason.contains("timed out")))
                || outcomes.iter().any(|o| matches!(o, Outcome::Pending(p) if p.state["step"] == "purge_users")),
            "the answer to {action} was lost: {outcomes:?}"
        ),
        Loss::Worker => assert_eq!(deaths, 1, "the worker died once, in {action}"),
    }
    assert!(sim.calls("zendesk").iter().any(|c| c.action.starts_with(action)), "{action} was called");
    assert_eq!(sim.zendesk().user_life(ana), "purged", "{loss:?} in {action}: user left behind");
    for ticket in tickets {
        assert_eq!(sim.zendesk().ticket_life(ticket), "purged", "{loss:?} in {action}: ticket {ticket} left behind");
    }
    erased(outcomes.last().cloned().expect("an outcome"))
}

const DELETE_TICKETS: &str = "DELETE /api/v2/tickets/destroy_many";
const PURGE_TICKETS: &str = "DELETE /api/v2/deleted_tickets/destroy_many";
const DELETE_USER: &str = "DELETE /api/v2/users/";
const PURGE_USER: &str = "DELETE /api/v2/deleted_users/";

/// Soft-deleted tickets are no longer among the person's requested tickets, and Zendesk's list of
/// deleted tickets does not name the requester
/// (developer.zendesk.com/api-reference/ticketing/tickets/tickets/#list-deleted-tickets): only
/// the ids saved before `tickets/destroy_many` let the next attempt purge them.
#[tokio::test]
async fn a_worker_dying_after_the_ticket_deletion_leaves_nothing_behind() {
    let evidence = erase_losing(DELETE_TICKETS, Loss::Worker).await;
    assert_eq!((evidence.counts["tickets_deleted"], evidence.counts["users_deleted"]), (2, 1));
}

#[tokio::test]
async fn a_worker_dying_after_the_ticket_purge_leaves_nothing_behind() {
    let evidence = erase_losing(PURGE_TICKETS, Loss::Worker).await;
    assert_eq!((evidence.counts["tickets_deleted"], evidence.counts["users_deleted"]), (2, 1));
}

/// A soft-deleted user is not found by search (Zendesk: "Search Users" returns active users);
/// `GET /users/{id}` of the saved id still shows it.
#[tokio::test]
async fn a_worker_dying_after_the_user_soft_deletion_leaves_nothing_behind() {
    let evidence = erase_losing(DELETE_USER, Loss::Worker).await;
    assert_eq!((evidence.counts["tickets_deleted"], evidence.counts["users_deleted"]), (2, 1));
}

/// The permanently deleted user is gone; its compliance deletion statuses show that the deletion
/// was requested, so the evidence still counts the user instead of claiming less than was done.
#[tokio::test]
async fn a_worker_dying_after_the_permanent_deletion_still_counts_the_user() {
    let evidence = erase_losing(PURGE_USER, Loss::Worker).await;
    assert_eq!((evidence.counts["tickets_deleted"], evidence.counts["users_deleted"]), (2, 1));
}

#[tokio::test]
async fn a_lost_answer_to_any_deletion_leaves_nothing_behind_and_counts_each_record_once() {
    for action in [DELETE_TICKETS, PURGE_TICKETS, DELETE_USER, PURGE_USER] {
        let evidence = erase_losing(action, Loss::Answer).await;
        let counts = (evidence.counts["tickets_deleted"], evidence.counts["users_deleted"]);
        assert_eq!(counts, (2, 1), "{action}");
    }
}

/// Without the saved progress (a fresh context plays an engine that forgot it), a worker that
/// died after `tickets/destroy_many` leaves the tickets soft-deleted: the case progress exists for.
#[tokio::test]
async fn without_saved_progress_the_soft_deleted_tickets_would_stay() {
    let (sim, zendesk, ctx) = setup(TicketPolicy::Delete).await;
    let ana = sim.zendesk().user(Some("ana@example.com"), None);
    let ticket = sim.zendesk().ticket(ana, "My order is late.");
    let subject = person(&["ana@example.com"], None, None);
    sim.aim_fault("zendesk", DELETE_TICKETS, Fault::SlowAnswer { millis: 2500 });
    assert!(tokio::time::timeout(Duration::from_secs(1), zendesk.erase(&ctx, &subject)).await.is_err());
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(sim.zendesk().ticket_life(ticket), "soft_deleted");
    let forgetful = Ctx::standalone(INSTANCE, ctx.http.clone());
    let (outcomes, _) = attempts(&zendesk, &forgetful, &subject, Duration::from_secs(30)).await;
    assert!(matches!(outcomes.last(), Some(Outcome::Erased(_))));
    assert_eq!(sim.zendesk().ticket_life(ticket), "soft_deleted", "left for Zendesk's 30-day purge");
}
