//! The SDK's conformance kit against the simulated Zendesk: every connector passes the same checks.

mod common;

use common::ZendeskMock;
use erasure_connector::testkit::{self, Kit};
use erasure_connector::HttpClient;
use erasure_connector_zendesk::TicketPolicy;
use erasure_sim::{Sim, SimOptions};
use std::sync::Arc;
use std::time::Duration;

#[tokio::test]
async fn conformance() {
    let sim = Sim::start("127.0.0.1:0".parse().unwrap(), SimOptions::default()).await.unwrap();
    sim.zendesk().set_page_size(5);
    let http = HttpClient::unlimited("zendesk", testkit::KIT_HTTP_TIMEOUT);
    let config = common::config(&sim.vendor_url("zendesk"), TicketPolicy::Delete);
    let connector = Arc::new(common::connector(config, http.clone()));
    let mock = ZendeskMock { sim: sim.clone(), hang: Duration::from_millis(1500) };
    Kit::new(connector, Arc::new(mock), http).run().await;
}
