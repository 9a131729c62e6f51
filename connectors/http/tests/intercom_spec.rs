//! The Intercom definition through Intercom's own OpenAPI document (2.14), as the Rust Intercom
//! connector's `tests/spec.rs`: Prism, in proxy mode with `--errors`, answers 422 to any request
//! that breaks the spec and 500 to any simulator answer that breaks it; the whole kit runs.

mod common;

use common::intercom::{sim, SimMock};
use erasure_connector::testkit::{Kit, SpecProxy, KIT_HTTP_TIMEOUT};
use erasure_connector::{Connector, HttpClient};
use std::sync::Arc;
use std::time::Duration;

#[tokio::test]
async fn the_intercom_definition_passes_the_kit_through_the_vendor_spec() {
    let sim = sim().await;
    let upstream = sim.serve_vendor_at_root("intercom").await.unwrap();
    let proxy = SpecProxy::start("intercom-2.14.yaml", &upstream).await;

    // Prism compiles its validators on the first request: warm it up with a patient client.
    let patient = HttpClient::unlimited("intercom", Duration::from_secs(60));
    common::intercom(&proxy.url, sim.intercom().token(), patient).healthcheck().await.expect("healthcheck via prism");

    let http = HttpClient::unlimited("intercom", KIT_HTTP_TIMEOUT);
    let connector = common::intercom(&proxy.url, sim.intercom().token(), http.clone());
    Kit::new(Arc::new(connector), Arc::new(SimMock(sim.clone())), http).run().await;

    assert_eq!(proxy.violations(), Vec::<String>::new(), "requests that break the spec");
    let log = proxy.log_text();
    let terminated: Vec<&str> = log.lines().filter(|l| l.contains("Request terminated with error")).collect();
    assert!(terminated.is_empty(), "prism refused requests or simulator answers: {terminated:?}");
    assert!(sim.calls("intercom").len() > 100, "the calls went through the proxy to the simulator");
}
