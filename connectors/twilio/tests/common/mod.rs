//! What the test files share: the simulator playing Twilio as the conformance kit drives it, and
//! a connector pointed at it.
#![allow(dead_code)]

use erasure_connector::testkit::{Mock, MockFault};
use erasure_connector::{async_trait, HttpClient, Secrets, Subject};
use erasure_connector_twilio::{Config, MessagesMode, Twilio};
use erasure_sim::{Fault, Sim, SimOptions};
use std::time::Duration;

/// The other party of every call the kit seeds.
pub const OTHER_PARTY: &str = "+14155550100";
/// The simulator's page size (its default).
pub const PAGE: u64 = 5;

pub async fn sim() -> Sim {
    Sim::start("127.0.0.1:0".parse().unwrap(), SimOptions::default()).await.unwrap()
}

/// Auth Token auth, call records kept, in-progress calls looked at again after a second.
pub fn config(base_url: &str) -> Config {
    Config {
        base_url: base_url.into(),
        account_sid: Sim::TWILIO_ACCOUNT_SID.into(),
        auth_token_env: Some("TWILIO_AUTH_TOKEN".into()),
        api_key_sid: None,
        api_key_secret_env: None,
        delete_calls: false,
        messages: MessagesMode::Redact,
        own_numbers: Vec::new(),
        page_size: 1000,
        in_progress_check_after: 1.into(),
    }
}

pub fn secrets() -> Secrets {
    Secrets::one("auth_token_env", Sim::TWILIO_AUTH_TOKEN)
}

pub fn connector(config: Config, http: &HttpClient) -> Twilio {
    Twilio::new(config, &secrets(), http.clone()).unwrap()
}

/// The kit's records are recordings: each seeded call (to and from the subject in turn) has
/// one, with one transcription. `hang` is how long a `MockFault::Timeout` keeps the caller
/// waiting: longer than its HTTP timeout.
pub struct SimTwilio {
    pub sim: Sim,
    pub hang: Duration,
}

impl SimTwilio {
    /// For a connector with the kit's HTTP timeout.
    pub fn new(sim: Sim) -> Self {
        SimTwilio { sim, hang: Duration::from_millis(1500) }
    }
}

#[async_trait]
impl Mock for SimTwilio {
    async fn seed(&self, subject: &Subject, records: u64) {
        let phone = &subject.phones()[0];
        for i in 0..records {
            let (from, to) = if i % 2 == 0 { (OTHER_PARTY, phone.as_str()) } else { (phone.as_str(), OTHER_PARTY) };
            self.sim.twilio().add_call(from, to, 1, 1);
        }
    }

    async fn remaining(&self, subject: &Subject) -> u64 {
        self.sim.twilio().holdings(&subject.phones()[0]).recordings
    }

    async fn inject(&self, fault: MockFault) {
        self.sim.push_faults("twilio", [Fault::from_mock_with_hang(fault, self.hang)]);
    }

    fn is_async(&self) -> bool {
        false
    }

    fn more_than_a_page(&self) -> u64 {
        // Calls alternate direction: each of the To and From lists runs past one page.
        4 * PAGE + 2
    }
}
