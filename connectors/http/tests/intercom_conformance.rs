//! The Intercom definition against the conformance kit, with the Rust Intercom connector's own
//! mock of the simulated Intercom: it must pass like the Rust connector.

mod common;

use common::intercom::{sim, SimMock};
use erasure_connector::testkit::{Kit, KIT_HTTP_TIMEOUT};
use erasure_connector::HttpClient;
use std::sync::Arc;

#[tokio::test]
async fn the_intercom_definition_passes_the_kit() {
    let sim = sim().await;
    let http = HttpClient::unlimited("intercom", KIT_HTTP_TIMEOUT);
    let connector = common::intercom(&sim.vendor_url("intercom"), sim.intercom().token(), http.clone());
    Kit::new(Arc::new(connector), Arc::new(SimMock(sim)), http).run().await;
}
