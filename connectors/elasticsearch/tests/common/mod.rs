//! What the elasticsearch tests share: a simulator, a connector pointed at it, and the
//! conformance kit's mock over the simulator's Elasticsearch.
#![allow(dead_code)]

use erasure_connector::testkit::{Mock, MockFault};
use erasure_connector::{async_trait, Connector, Ctx, HttpClient, Outcome, Pending, Secrets, Subject};
use erasure_connector_elasticsearch::{Config, Elasticsearch};
use erasure_sim::{Fault, Sim, SimOptions};
use serde_json::json;
use std::time::Duration;

/// The simulator's credentials (see `sim/src/elasticsearch.rs`).
pub const PASSWORD: &str = "sim-password";
pub const API_KEY: &str = "sim-api-key";
/// The simulator's delete-by-query batch size in these tests.
pub const BATCH: usize = 5;

pub async fn sim() -> Sim {
    let sim = Sim::start("127.0.0.1:0".parse().unwrap(), SimOptions::default()).await.unwrap();
    sim.elasticsearch().set_batches(BATCH, Duration::from_millis(20));
    for index in ["logs-app-1", "logs-app-2"] {
        sim.elasticsearch().map_fields(index, &KEYWORD_FIELDS.map(|field| (field, "keyword")));
    }
    sim
}

/// The fields the tests' connector matches, mapped as keyword fields in `logs-app-1` and
/// `logs-app-2` (any other index maps them dynamically: strings as `text`).
pub const KEYWORD_FIELDS: [&str; 3] = ["user.email", "user.id", "client.phone"];

pub fn config(base_url: &str) -> Config {
    Config {
        base_url: base_url.to_string(),
        index: "logs-*".into(),
        fields: vec!["user.email".into(), "user.id".into(), "client.phone".into()],
        username: Some("elastic".into()),
        password_env: Some("ES_PASSWORD".into()),
        api_key_env: None,
        check_after: 1.into(),
    }
}

pub fn connector(base_url: &str, http: HttpClient) -> Elasticsearch {
    Elasticsearch::new(config(base_url), &Secrets::one("password_env", PASSWORD), http).unwrap()
}

pub fn http() -> HttpClient {
    HttpClient::unlimited("elasticsearch", Duration::from_millis(500))
}

/// A log line about someone: `which` picks the identifier it carries (0 e-mail, 1 user id, 2 phone).
pub fn log_line(subject: &Subject, which: u64) -> serde_json::Value {
    match which % 3 {
        0 => json!({ "message": "signed in", "user": { "email": subject.emails()[0] } }),
        1 => json!({ "message": "order placed", "user": { "id": subject.user_id() } }),
        _ => json!({ "message": "sms sent", "client.phone": subject.phones()[0] }),
    }
}

/// Erase, then check until the outcome is no longer `Pending` (at most 60 checks).
pub async fn drive(connector: &dyn Connector, ctx: &Ctx, subject: &Subject) -> Outcome {
    let mut outcome = connector.erase(ctx, subject).await;
    for _ in 0..60 {
        let Outcome::Pending(pending) = &outcome else { break };
        tokio::time::sleep(Duration::from_millis(50)).await;
        outcome = connector.check(ctx, subject, pending).await;
    }
    outcome
}

/// The kit's view of the simulator's Elasticsearch: log lines in `logs-app-1` and `logs-app-2`.
pub struct EsMock {
    pub sim: Sim,
}

impl EsMock {
    fn matching(&self, field: &str, value: Option<&str>) -> u64 {
        value.map_or(0, |v| self.sim.elasticsearch().matching("logs-*", field, v))
    }
}

#[async_trait]
impl Mock for EsMock {
    async fn seed(&self, subject: &Subject, records: u64) {
        for i in 0..records {
            let index = if i % 2 == 0 { "logs-app-1" } else { "logs-app-2" };
            self.sim.elasticsearch().index(index, log_line(subject, i));
        }
    }

    async fn remaining(&self, subject: &Subject) -> u64 {
        self.matching("user.email", subject.emails().first().map(String::as_str))
            + self.matching("user.id", subject.user_id())
            + self.matching("client.phone", subject.phones().first().map(String::as_str))
    }

    async fn inject(&self, fault: MockFault) {
        self.sim.push_faults("elasticsearch", [Fault::from(fault)]);
    }

    fn is_async(&self) -> bool {
        true
    }

    fn more_than_a_page(&self) -> u64 {
        BATCH as u64 * 2 + 3
    }
}

/// Check `pending` until its task is no longer running (at most 60 checks): the next step.
pub async fn settle(connector: &dyn Connector, ctx: &Ctx, subject: &Subject, pending: &Pending) -> Outcome {
    for _ in 0..60 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        match connector.check(ctx, subject, pending).await {
            Outcome::Pending(next) if next.state == pending.state => continue,
            other => return other,
        }
    }
    panic!("the task never ended")
}
