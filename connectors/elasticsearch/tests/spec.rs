//! The conformance kit, and the connector's other flows, through Elasticsearch's own OpenAPI
//! document: Prism (proxy mode, `--errors`) sits between the connector and the simulator and
//! answers 422 to any request that breaks the spec, 500 to any simulator answer that breaks it.
//! The spec declares only 200 answers: Prism passes the simulator's 401, 404, 429 and 503 on with
//! a warning, so the kit's fault checks run through it too. Prism takes about a minute to load
//! the spec, so one test drives every flow through one proxy.

mod common;

use common::EsMock;
use erasure_connector::testkit::{Kit, SpecProxy, KIT_HTTP_TIMEOUT};
use erasure_connector::{Connector, Ctx, HttpClient, Outcome};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Prism compiles its validators for an operation on first use, which takes longer than the
/// kit's 500 ms timeout: send each operation once through a patient client first.
async fn warm_up(sim: &erasure_sim::Sim, url: &str) {
    let patient = HttpClient::unlimited("elasticsearch", Duration::from_secs(120));
    let connector = common::connector(url, patient.clone());
    let ctx = Ctx::standalone("logs", patient);
    let subject = erasure_connector::Subject::new(erasure_connector::subject::RawSubject {
        emails: vec!["warm-up@example.com".into()],
        ..Default::default()
    })
    .unwrap();
    sim.elasticsearch().index("logs-app-1", common::log_line(&subject, 0));
    let started = Instant::now();
    let outcome = common::drive(&connector, &ctx, &subject).await;
    assert!(matches!(outcome, Outcome::Erased(_)), "warm-up: {outcome:?}");
    eprintln!("prism warmed up in {:?}", started.elapsed());
}

#[tokio::test]
async fn every_flow_conforms_to_the_spec() {
    let sim = common::sim().await;
    let upstream = sim.serve_vendor_at_root("elasticsearch").await.unwrap();
    let proxy = SpecProxy::start("es-erasure-mock.json", &upstream).await;
    warm_up(&sim, &proxy.url).await;
    let http = HttpClient::unlimited("elasticsearch", KIT_HTTP_TIMEOUT);
    let connector = Arc::new(common::connector(&proxy.url, http.clone()));
    let mock = Arc::new(EsMock { sim: sim.clone() });
    let kit = Kit::new(connector.clone(), mock, http.clone());
    kit.run().await;

    let ctx = Ctx::standalone("logs", http.clone());
    let subject = kit.subject("spec-rounds");
    sim.elasticsearch().index("logs-app-1", common::log_line(&subject, 0));
    let Outcome::Pending(pending) = connector.erase(&ctx, &subject).await else { panic!("pending") };
    sim.elasticsearch().index("logs-app-1", common::log_line(&subject, 1));
    let Outcome::Pending(second) = common::settle(&*connector, &ctx, &subject, &pending).await else {
        panic!("a second round")
    };
    assert_eq!(second.state["round"], 2);
    assert!(matches!(common::settle(&*connector, &ctx, &subject, &second).await, Outcome::Erased(_)));
    assert!(connector.lookup(&ctx, &subject).await.is_ok());
    connector.healthcheck().await.unwrap();

    let log = proxy.log_text();
    for refusal in ["UNPROCESSABLE_ENTITY", "NO_PATH_MATCHED", "#VIOLATIONS"] {
        let lines: Vec<&str> = log.lines().filter(|l| l.contains(refusal)).collect();
        assert!(lines.is_empty(), "prism refused: {lines:#?}");
    }
    assert!(proxy.violations().is_empty(), "{:#?}", proxy.violations());
}
