//! The conformance kit against the simulator's Elasticsearch, directly.

mod common;

use common::EsMock;
use erasure_connector::testkit::{Kit, KIT_HTTP_TIMEOUT};
use erasure_connector::HttpClient;
use std::sync::Arc;

#[tokio::test]
async fn conformance() {
    let sim = common::sim().await;
    let http = HttpClient::unlimited("elasticsearch", KIT_HTTP_TIMEOUT);
    let connector = common::connector(&sim.vendor_url("elasticsearch"), http.clone());
    Kit::new(Arc::new(connector), Arc::new(EsMock { sim: sim.clone() }), http).run().await;
    let actions: Vec<String> = sim.calls("elasticsearch").into_iter().map(|c| c.action).collect();
    assert!(actions.iter().any(|a| a.starts_with("GET /_tasks/")), "tasks were followed: {actions:?}");
}
