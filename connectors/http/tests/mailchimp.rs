//! The Mailchimp definition (`connectors/definitions/mailchimp.toml`) against the conformance kit
//! and the simulated Mailchimp: a person's memberships in every audience, permanently deleted in
//! one batch that runs in the background.

mod common;

use erasure_connector::testkit::{Kit, Mock, MockFault, KIT_HTTP_TIMEOUT};
use erasure_connector::{async_trait, Connector, Ctx, HttpClient, Outcome, Secrets, Subject};
use erasure_connector_http::Http;
use erasure_sim::{Fault, Sim, SimOptions};
use serde_json::json;
use std::sync::Arc;

async fn sim() -> Sim {
    Sim::start("127.0.0.1:0".parse().unwrap(), SimOptions::default()).await.unwrap()
}

fn connector(base_url: &str, key: &str, http: HttpClient) -> Http {
    let keys = json!({ "definition": "mailchimp", "base_url": base_url, "api_key_env": "MAILCHIMP_API_KEY" });
    common::instance(keys, Secrets::one("api_key_env", key), http).expect("the mailchimp definition is valid")
}

/// The kit's view of the simulated Mailchimp: a record is the subject's membership of one
/// audience (each seeded record a new audience holding the address).
struct SimMock(Sim);

#[async_trait]
impl Mock for SimMock {
    async fn seed(&self, subject: &Subject, records: u64) {
        let email = subject.emails().first().expect("kit subjects have an e-mail").clone();
        for i in 0..records {
            let list = self.0.mailchimp().add_list(&format!("Audience {i}"));
            self.0.mailchimp().add_member(&list, &email, 0).expect("a new member");
        }
    }

    async fn remaining(&self, subject: &Subject) -> u64 {
        let emails: Vec<&str> = subject.emails().iter().map(String::as_str).collect();
        self.0.mailchimp().remaining(&emails)
    }

    async fn inject(&self, fault: MockFault) {
        self.0.push_faults("mailchimp", [Fault::from(fault)]);
    }

    fn is_async(&self) -> bool {
        true
    }

    /// More audiences than one page of `GET /lists` holds (1000): the lists step pages, and the
    /// memberships take two batches (500 operations each at most).
    fn more_than_a_page(&self) -> u64 {
        self.0.mailchimp().max_page() as u64 + 1
    }
}

#[tokio::test]
async fn the_mailchimp_definition_passes_the_kit() {
    let sim = sim().await;
    let http = HttpClient::unlimited("mailchimp", KIT_HTTP_TIMEOUT);
    let connector = connector(&sim.vendor_url("mailchimp"), Sim::MAILCHIMP_API_KEY, http.clone());
    Kit::new(Arc::new(connector), Arc::new(SimMock(sim)), http).run().await;
}

fn subject(email: &str) -> Subject {
    Subject::new(erasure_connector::subject::RawSubject { emails: vec![email.to_string()], ..Default::default() })
        .unwrap()
}

/// Erase, then check until the batch is done.
async fn erase_to_the_end(connector: &Http, ctx: &Ctx, subject: &Subject) -> (Outcome, usize) {
    let mut outcome = connector.erase(ctx, subject).await;
    let mut checks = 0;
    while let Outcome::Pending(pending) = &outcome {
        checks += 1;
        assert!(checks < 20, "the batch never finished");
        outcome = connector.check(ctx, subject, pending).await;
    }
    (outcome, checks)
}

/// Only the person's address (in any case) is erased, in every audience that holds it, never an
/// address that merely contains it; the whole erasure is one batch, Pending until Mailchimp
/// reports it finished, and the address cannot be re-imported after.
#[tokio::test]
async fn only_exact_memberships_go_in_one_batch_and_stay_gone() {
    let sim = sim().await;
    let http = HttpClient::unlimited("mailchimp", KIT_HTTP_TIMEOUT);
    let connector = connector(&sim.vendor_url("mailchimp"), Sim::MAILCHIMP_API_KEY, http.clone());
    let news = sim.mailchimp().add_list("Newsletter");
    let shop = sim.mailchimp().add_list("Customers");
    sim.mailchimp().add_member(&news, "Ana@Example.com", 2).unwrap();
    sim.mailchimp().add_member(&shop, "ana@example.com", 0).unwrap();
    sim.mailchimp().add_member(&news, "joana@example.com", 0).unwrap();
    let ctx = Ctx::standalone("mailchimp", http);
    let ana = subject("ana@example.com");
    let (outcome, checks) = erase_to_the_end(&connector, &ctx, &ana).await;
    let Outcome::Erased(evidence) = outcome else { panic!("erased: {outcome:?}") };
    assert!(checks >= 1, "the batch was followed");
    assert_eq!(evidence.counts.get("audience_members"), Some(&2), "{evidence:?}");
    assert_eq!(sim.mailchimp().remaining(&["ana@example.com"]), 0);
    assert_eq!(sim.mailchimp().remaining(&["joana@example.com"]), 1, "a fuzzy hit is someone else");
    assert!(sim.mailchimp().forgotten(&news, "ana@example.com") && sim.mailchimp().forgotten(&shop, "ana@example.com"));
    assert_eq!(sim.mailchimp().add_member(&news, "ana@example.com", 0), None, "no re-import");
    let batches: Vec<_> = sim.calls("mailchimp").into_iter().filter(|c| c.action == "POST /batches").collect();
    assert_eq!(batches.len(), 1, "one batch for both audiences");
    assert!(!connector.lookup(&ctx, &ana).await.unwrap().present);
}

/// More than a page of audiences (1000): the lists step pages by offset, and the 1001
/// memberships go in three batches of at most 500 operations, all followed to the end.
#[tokio::test]
async fn a_thousand_and_one_audiences_take_two_pages_and_three_batches() {
    let sim = sim().await;
    let http = HttpClient::unlimited("mailchimp", KIT_HTTP_TIMEOUT);
    let connector = connector(&sim.vendor_url("mailchimp"), Sim::MAILCHIMP_API_KEY, http.clone());
    let ana = subject("ana@example.com");
    SimMock(sim.clone()).seed(&ana, 1001).await;
    let ctx = Ctx::standalone("mailchimp", http);
    let (outcome, _) = erase_to_the_end(&connector, &ctx, &ana).await;
    let Outcome::Erased(evidence) = outcome else { panic!("erased: {outcome:?}") };
    assert_eq!(evidence.counts.get("audience_members"), Some(&1001));
    assert_eq!(sim.mailchimp().remaining(&["ana@example.com"]), 0);
    let calls = sim.calls("mailchimp");
    let count = |action: &str| calls.iter().filter(|c| c.action == action).count();
    assert_eq!((count("GET /lists"), count("POST /batches")), (2, 3));
}

/// A batch in which an operation errored is not an erasure: the check fails, naming no address.
#[tokio::test]
async fn a_batch_with_an_errored_operation_fails_the_check() {
    let sim = sim().await;
    let http = HttpClient::unlimited("mailchimp", KIT_HTTP_TIMEOUT);
    let connector = connector(&sim.vendor_url("mailchimp"), Sim::MAILCHIMP_API_KEY, http.clone());
    let news = sim.mailchimp().add_list("Newsletter");
    sim.mailchimp().add_member(&news, "ana@example.com", 0).unwrap();
    let ctx = Ctx::standalone("mailchimp", http);
    let ana = subject("ana@example.com");
    let Outcome::Pending(pending) = connector.erase(&ctx, &ana).await else { panic!("a batch is pending") };
    // Someone deletes the member by hand before the batch starts: its operation answers 404.
    let hash = erasure_sim::mailchimp_subscriber_hash("ana@example.com");
    assert!(sim.mailchimp().has_member(&news, &hash));
    delete_by_hand(&sim, &news, &hash).await;
    let mut outcome = connector.check(&ctx, &ana, &pending).await;
    while let Outcome::Pending(p) = &outcome {
        outcome = connector.check(&ctx, &ana, p).await;
    }
    match outcome {
        Outcome::Failed { reason } => assert!(!reason.contains("ana@"), "no address in the reason: {reason}"),
        other => panic!("an errored operation must fail the check: {other:?}"),
    }
}

async fn delete_by_hand(sim: &Sim, list: &str, hash: &str) {
    let url = format!("{}/lists/{list}/members/{hash}/actions/delete-permanent", sim.vendor_url("mailchimp"));
    let status =
        reqwest::Client::new().post(url).basic_auth("me", Some(Sim::MAILCHIMP_API_KEY)).send().await.unwrap().status();
    assert_eq!(status.as_u16(), 204);
}
