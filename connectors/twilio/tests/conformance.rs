//! The conformance kit, run against the simulator's Twilio.

mod common;

use common::SimTwilio;
use erasure_connector::testkit::{Kit, KIT_HTTP_TIMEOUT};
use erasure_connector::HttpClient;
use std::sync::Arc;

#[tokio::test]
async fn the_twilio_connector_passes_the_conformance_kit() {
    let sim = common::sim().await;
    let http = HttpClient::unlimited("twilio", KIT_HTTP_TIMEOUT);
    let connector = common::connector(common::config(&sim.vendor_url("twilio")), &http);
    Kit::new(Arc::new(connector), Arc::new(SimTwilio::new(sim)), http).run().await;
}

#[tokio::test]
async fn it_passes_with_small_pages_and_call_records_deleted_too() {
    let sim = common::sim().await;
    let http = HttpClient::unlimited("twilio", KIT_HTTP_TIMEOUT);
    let config = erasure_connector_twilio::Config {
        delete_calls: true,
        page_size: 2,
        ..common::config(&sim.vendor_url("twilio"))
    };
    let connector = common::connector(config, &http);
    Kit::new(Arc::new(connector), Arc::new(SimTwilio::new(sim)), http).run().await;
}
