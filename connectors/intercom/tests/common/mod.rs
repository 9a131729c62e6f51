//! What the Intercom tests share: a simulator, a connector pointed at it, and the conformance
//! kit's mock over the simulator's Intercom.

#![allow(dead_code)]

use erasure_connector::testkit::{Mock, MockFault};
use erasure_connector::{async_trait, HttpClient, Secrets, Subject};
use erasure_connector_intercom::{Config, Intercom, Region};
use erasure_sim::{Fault, Sim, SimOptions};

pub async fn sim() -> Sim {
    Sim::start("127.0.0.1:0".parse().unwrap(), SimOptions::default()).await.unwrap()
}

pub fn config(base_url: &str) -> Config {
    Config {
        region: Region::Us,
        base_url: Some(base_url.to_string()),
        access_token_env: "INTERCOM_TOKEN".into(),
        page_size: 50,
    }
}

/// A connector for `base_url` with `token`, sharing `http`.
pub fn connector(base_url: &str, token: &str, http: HttpClient) -> Intercom {
    Intercom::new(config(base_url), &Secrets::one("access_token_env", token), http).unwrap()
}

/// The kit's view of the simulated Intercom: a record is a contact that holds the subject's
/// e-mail (the first one also its user id, as a user; the others are leads), each with one
/// conversation it started and replied to once.
pub struct SimMock(pub Sim);

#[async_trait]
impl Mock for SimMock {
    async fn seed(&self, subject: &Subject, records: u64) {
        let email = subject.emails().first().map(String::as_str);
        for i in 0..records {
            let (role, external_id) = if i == 0 { ("user", subject.user_id()) } else { ("lead", None) };
            let id = self.0.intercom().add_contact(role, email, external_id);
            self.0.intercom().add_conversation(&[&id], 1);
        }
    }

    async fn remaining(&self, subject: &Subject) -> u64 {
        let identifiers: Vec<&str> = subject.identifiers().into_iter().map(|(_, value)| value).collect();
        self.0.intercom().remaining(&identifiers)
    }

    async fn inject(&self, fault: MockFault) {
        self.0.push_faults("intercom", [Fault::from(fault)]);
    }

    fn is_async(&self) -> bool {
        false
    }

    fn more_than_a_page(&self) -> u64 {
        self.0.intercom().page_size() as u64 * 2 + 1
    }
}
