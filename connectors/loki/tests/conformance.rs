//! The conformance kit against the simulated Loki.

use erasure_connector::testkit::{Kit, Mock, MockFault, KIT_HTTP_TIMEOUT};
use erasure_connector::{async_trait, HttpClient, Secrets, Subject};
use erasure_connector_loki::{Config, Loki};
use erasure_sim::{Fault, Sim, SimOptions};
use serde_json::json;
use std::sync::Arc;

const PAGE_SIZE: u64 = 5;

struct LokiMock {
    sim: Sim,
}

fn identifiers(subject: &Subject) -> Vec<String> {
    let mut all: Vec<String> = subject.user_id().map(str::to_string).into_iter().collect();
    all.extend(subject.emails().iter().cloned());
    all.extend(subject.phones().iter().cloned());
    all
}

#[async_trait]
impl Mock for LokiMock {
    /// One line per record, naming one of the subject's identifiers in turn.
    async fn seed(&self, subject: &Subject, records: u64) {
        let ids = identifiers(subject);
        for i in 0..records {
            let id = &ids[i as usize % ids.len()];
            let line = format!("level=info msg=\"checkout\" who={id} n={i}");
            self.sim.loki().push(Sim::LOKI_TENANT, &[("app", "shop")], &line);
        }
    }

    async fn remaining(&self, subject: &Subject) -> u64 {
        let ids = identifiers(subject);
        let lines = self.sim.loki().lines(Sim::LOKI_TENANT);
        lines.iter().filter(|line| ids.iter().any(|id| line.contains(id.as_str()))).count() as u64
    }

    async fn inject(&self, fault: MockFault) {
        self.sim.push_faults("loki", [Fault::from(fault)]);
    }

    fn is_async(&self) -> bool {
        true
    }

    fn more_than_a_page(&self) -> u64 {
        PAGE_SIZE * 2 + 3
    }
}

#[tokio::test]
async fn conformance() {
    let sim = Sim::start("127.0.0.1:0".parse().unwrap(), SimOptions::default()).await.unwrap();
    sim.loki().set_cancel_period(std::time::Duration::ZERO);
    let http = HttpClient::unlimited("loki", KIT_HTTP_TIMEOUT);
    let config: Config = serde_json::from_value(json!({
        "base_url": sim.vendor_url("loki"),
        "selector": "{app=\"shop\"}",
        "tenant": Sim::LOKI_TENANT,
        "token_env": "LOKI_TOKEN",
        "lookback": "1d",
        "page_size": PAGE_SIZE,
        "check_interval": "1s",
        "delete_request_cancel_period": 0,
    }))
    .unwrap();
    let loki = Loki::new(config, &Secrets::one("token_env", Sim::LOKI_TOKEN), http.clone()).unwrap();
    Kit::new(Arc::new(loki), Arc::new(LokiMock { sim }), http).run().await;
}
