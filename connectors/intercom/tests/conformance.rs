//! The conformance kit against the simulated Intercom, directly.

mod common;

use erasure_connector::testkit::{Kit, KIT_HTTP_TIMEOUT};
use erasure_connector::HttpClient;
use std::sync::Arc;

#[tokio::test]
async fn the_kit_passes() {
    let sim = common::sim().await;
    let http = HttpClient::unlimited("intercom", KIT_HTTP_TIMEOUT);
    let connector = common::connector(&sim.vendor_url("intercom"), sim.intercom().token(), http.clone());
    Kit::new(Arc::new(connector), Arc::new(common::SimMock(sim)), http).run().await;
}
