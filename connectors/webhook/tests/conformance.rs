//! The conformance kit, run against the simulator's webhook service. Copy this file to start
//! the tests of a new connector: implement `Mock` for the simulator part that plays your vendor.

use erasure_connector::testkit::{Kit, Mock, MockFault, KIT_HTTP_TIMEOUT};
use erasure_connector::{async_trait, HttpClient, Secrets, Subject};
use erasure_connector_webhook::{Config, Webhook};
use erasure_sim::{Fault, Sim, SimOptions};
use std::sync::Arc;

const SYSTEM: &str = "accounts";

struct SimWebhook(Sim);

#[async_trait]
impl Mock for SimWebhook {
    async fn seed(&self, subject: &Subject, records: u64) {
        self.0.seed(SYSTEM, &subject.emails()[0], records);
    }

    async fn remaining(&self, subject: &Subject) -> u64 {
        self.0.records(SYSTEM, &subject.emails()[0])
    }

    async fn inject(&self, fault: MockFault) {
        self.0.push_faults(SYSTEM, [Fault::from(fault)]);
    }

    fn is_async(&self) -> bool {
        false
    }

    fn more_than_a_page(&self) -> u64 {
        // The protocol has no pages: the service erases everything in one call.
        500
    }
}

#[tokio::test]
async fn the_webhook_connector_passes_the_conformance_kit() {
    let sim = Sim::start(
        "127.0.0.1:0".parse().unwrap(),
        SimOptions { webhook_secret: "kit-secret".into(), ..SimOptions::default() },
    )
    .await
    .unwrap();
    let http = HttpClient::unlimited(SYSTEM, KIT_HTTP_TIMEOUT);
    let config = Config {
        url: sim.webhook_url(SYSTEM),
        secret_env: "UNUSED".into(),
        default_check_after: 1.into(),
        allow_insecure_http: true,
        lookup_url: Some(sim.webhook_url(SYSTEM)),
    };
    let connector = Webhook::new(config, &Secrets::one("secret_env", "kit-secret"), http.clone()).unwrap();
    Kit::new(Arc::new(connector), Arc::new(SimWebhook(sim)), http).run().await;
}

#[tokio::test]
async fn async_webhook_services_pass_the_kit_too() {
    let sim = Sim::start(
        "127.0.0.1:0".parse().unwrap(),
        SimOptions { webhook_secret: "kit-secret".into(), ..SimOptions::default() },
    )
    .await
    .unwrap();
    sim.set_async(SYSTEM, Some(std::time::Duration::from_millis(300)));
    struct AsyncWebhook(SimWebhook);
    #[async_trait]
    impl Mock for AsyncWebhook {
        async fn seed(&self, subject: &Subject, records: u64) {
            self.0.seed(subject, records).await
        }
        async fn remaining(&self, subject: &Subject) -> u64 {
            self.0.remaining(subject).await
        }
        async fn inject(&self, fault: MockFault) {
            self.0.inject(fault).await
        }
        fn is_async(&self) -> bool {
            true
        }
        fn more_than_a_page(&self) -> u64 {
            500
        }
    }
    let http = HttpClient::unlimited(SYSTEM, KIT_HTTP_TIMEOUT);
    let config = Config {
        url: sim.webhook_url(SYSTEM),
        secret_env: "UNUSED".into(),
        default_check_after: 1.into(),
        allow_insecure_http: true,
        lookup_url: Some(sim.webhook_url(SYSTEM)),
    };
    let connector = Webhook::new(config, &Secrets::one("secret_env", "kit-secret"), http.clone()).unwrap();
    Kit::new(Arc::new(connector), Arc::new(AsyncWebhook(SimWebhook(sim))), http).run().await;
}
