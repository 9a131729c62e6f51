//! The HubSpot definition (`connectors/definitions/hubspot.toml`) against the conformance kit and
//! the simulated HubSpot: the person's contacts, found by exact e-mail and phone, each
//! GDPR-deleted.

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

fn connector(base_url: &str, token: &str, http: HttpClient) -> Http {
    let keys = json!({ "definition": "hubspot", "base_url": base_url, "access_token_env": "HUBSPOT_TOKEN" });
    common::instance(keys, Secrets::one("access_token_env", token), http).expect("the hubspot definition is valid")
}

/// The kit's view of the simulated HubSpot: a record is a contact; the first has the subject's
/// address and phone, the others only the phone (HubSpot keeps an address unique, not a phone).
struct SimMock(Sim);

#[async_trait]
impl Mock for SimMock {
    async fn seed(&self, subject: &Subject, records: u64) {
        let email = subject.emails().first().map(String::as_str);
        let phone = subject.phones().first().map(String::as_str);
        for i in 0..records {
            let email = if i == 0 { email } else { None };
            self.0.hubspot().add_contact(email, phone, 0).expect("a new contact");
        }
    }

    async fn remaining(&self, subject: &Subject) -> u64 {
        let identifiers: Vec<&str> = subject.identifiers().into_iter().map(|(_, value)| value).collect();
        self.0.hubspot().remaining(&identifiers)
    }

    async fn inject(&self, fault: MockFault) {
        self.0.push_faults("hubspot", [Fault::from(fault)]);
    }

    fn is_async(&self) -> bool {
        false
    }

    fn more_than_a_page(&self) -> u64 {
        self.0.hubspot().page_size() as u64 * 2 + 1
    }
}

#[tokio::test]
async fn the_hubspot_definition_passes_the_kit() {
    let sim = sim().await;
    let http = HttpClient::unlimited("hubspot", KIT_HTTP_TIMEOUT);
    let connector = connector(&sim.vendor_url("hubspot"), Sim::HUBSPOT_TOKEN, http.clone());
    Kit::new(Arc::new(connector), Arc::new(SimMock(sim)), http).run().await;
}

fn subject(email: &str) -> Subject {
    Subject::new(erasure_connector::subject::RawSubject { emails: vec![email.to_string()], ..Default::default() })
        .unwrap()
}

/// The contact whose address is the person's (in any case) goes with its engagements and its
/// address is blocklisted; a contact the wide search would also match does not.
#[tokio::test]
async fn only_the_exact_contact_is_gdpr_deleted_with_its_engagements() {
    let sim = sim().await;
    let http = HttpClient::unlimited("hubspot", KIT_HTTP_TIMEOUT);
    let connector = connector(&sim.vendor_url("hubspot"), Sim::HUBSPOT_TOKEN, http.clone());
    let ana = sim.hubspot().add_contact(Some("Ana@Example.com"), None, 3).unwrap();
    let other = sim.hubspot().add_contact(Some("joana@example.com"), None, 1).unwrap();
    let ctx = Ctx::standalone("hubspot", http);
    let outcome = connector.erase(&ctx, &subject("ana@example.com")).await;
    let Outcome::Erased(evidence) = outcome else { panic!("erased: {outcome:?}") };
    assert_eq!(evidence.counts.get("contacts"), Some(&1), "{evidence:?}");
    assert!(!sim.hubspot().has_contact(&ana) && sim.hubspot().has_contact(&other));
    assert_eq!(sim.hubspot().remaining(&["ana@example.com"]), 0, "the engagements went too");
    assert!(sim.hubspot().blocklisted("ana@example.com"));
    let deletions: Vec<_> = sim.calls("hubspot").into_iter().filter(|c| c.action.ends_with("/gdpr-delete")).collect();
    assert_eq!(deletions.len(), 1);
}

/// Past HubSpot's ten-second limit, the erasure is a throttled retry (no hint is documented, so
/// none is read), and nothing was deleted half-way.
#[tokio::test]
async fn the_ten_second_limit_is_a_throttled_retry() {
    let sim = sim().await;
    let http = HttpClient::unlimited("hubspot", KIT_HTTP_TIMEOUT);
    let connector = connector(&sim.vendor_url("hubspot"), Sim::HUBSPOT_TOKEN, http.clone());
    sim.hubspot().add_contact(Some("ana@example.com"), None, 0).unwrap();
    sim.hubspot().set_rate_limit(Some(1));
    let ctx = Ctx::standalone("hubspot", http);
    match connector.erase(&ctx, &subject("ana@example.com")).await {
        Outcome::Retry { throttled: true, .. } => {}
        other => panic!("a throttled retry: {other:?}"),
    }
    assert_eq!(sim.hubspot().remaining(&["ana@example.com"]), 1);
}
