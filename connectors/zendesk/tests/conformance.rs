//! The SDK's conformance kit against the simulated Zendesk: every connector passes the same checks.

use erasure_connector::testkit::{self, Kit, Mock, MockFault};
use erasure_connector::{async_trait, HttpClient, Secrets, Subject};
use erasure_connector_zendesk::{Config, HelpCenterPolicy, TicketPolicy, Zendesk};
use erasure_sim::{Fault, Sim, SimOptions};
use std::sync::Arc;

/// The simulated account: a person is one end user (e-mail and external id) and `records - 1`
/// tickets they requested.
struct ZendeskMock {
    sim: Sim,
}

#[async_trait]
impl Mock for ZendeskMock {
    async fn seed(&self, subject: &Subject, records: u64) {
        let user = self.sim.zendesk().user(Some(&subject.emails()[0]), subject.user_id());
        for _ in 1..records {
            self.sim.zendesk().ticket(user, "Please close my account.");
        }
    }

    async fn remaining(&self, subject: &Subject) -> u64 {
        self.sim.zendesk().records(&subject.emails()[0])
    }

    async fn inject(&self, fault: MockFault) {
        self.sim.push_faults("zendesk", [Fault::from(fault)]);
    }

    fn is_async(&self) -> bool {
        true
    }

    fn more_than_a_page(&self) -> u64 {
        // The user, and one ticket more than the simulator's page of 5.
        1 + 5 + 1
    }
}

#[tokio::test]
async fn conformance() {
    let sim = Sim::start("127.0.0.1:0".parse().unwrap(), SimOptions::default()).await.unwrap();
    sim.zendesk().set_page_size(5);
    let http = HttpClient::unlimited("zendesk", testkit::KIT_HTTP_TIMEOUT);
    let config = Config {
        base_url: sim.vendor_url("zendesk"),
        email: Some(Sim::ZENDESK_EMAIL.into()),
        api_token_env: Some("ZENDESK_API_TOKEN".into()),
        oauth_token_env: None,
        tickets: TicketPolicy::Delete,
        help_center: HelpCenterPolicy::Delete,
        per_page: 100,
        check_after: 10.into(),
        hard_delete_after: Some("30d".parse().unwrap()),
    };
    let secrets = Secrets::one("api_token_env", Sim::ZENDESK_TOKEN);
    let connector = Arc::new(Zendesk::new(config, &secrets, http.clone()).unwrap());
    Kit::new(connector, Arc::new(ZendeskMock { sim: sim.clone() }), http).run().await;
}
