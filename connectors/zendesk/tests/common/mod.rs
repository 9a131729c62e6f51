//! What the conformance kit and the spec test share: the simulated account as the kit's `Mock`,
//! and the connector's configuration.

use erasure_connector::testkit::{Mock, MockFault};
use erasure_connector::{async_trait, HttpClient, Secrets, Subject};
use erasure_connector_zendesk::{Config, HelpCenterPolicy, TicketPolicy, Zendesk};
use erasure_sim::{Fault, Sim};
use std::time::Duration;

/// The simulated account: a person is one end user (e-mail and external id) and `records - 1`
/// tickets they requested. `hang` is how long a `MockFault::Timeout` keeps the caller waiting.
pub struct ZendeskMock {
    pub sim: Sim,
    pub hang: Duration,
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
        self.sim.push_faults("zendesk", [Fault::from_mock_with_hang(fault, self.hang)]);
    }

    fn is_async(&self) -> bool {
        true
    }

    fn more_than_a_page(&self) -> u64 {
        // The user, and one ticket more than the simulator's page of 5.
        1 + 5 + 1
    }
}

/// Signed in with the simulator's API token; tickets and Help Center content deleted.
pub fn config(base_url: &str, tickets: TicketPolicy) -> Config {
    Config {
        base_url: base_url.to_string(),
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

pub fn connector(config: Config, http: HttpClient) -> Zendesk {
    Zendesk::new(config, &Secrets::one("api_token_env", Sim::ZENDESK_TOKEN), http).unwrap()
}
