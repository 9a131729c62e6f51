//! The conformance kit, and the connector's other flows, through Elasticsearch's own OpenAPI
//! document: Prism (proxy mode, `--errors`) sits between the connector and the simulator and
//! answers 422 to any request that breaks the spec, 500 to any simulator answer that breaks it.
//! The spec declares only 200 answers: Prism passes the simulator's 401, 404, 429 and 503 on with
//! a warning, so the kit's fault checks run through it too. Prism takes about a minute to load
//! the spec, so one test drives every flow through one proxy.
//!
//! The spec has four operations only (`_count`, `_search`, `_delete_by_query`, `_tasks/{id}`):
//! Prism refuses any other path. The mapping check (`GET /{index}/_mapping/field/{fields}`) and
//! the deletion of task results (`DELETE /.tasks/_doc/{id}`) therefore go straight to the
//! simulator, unvalidated (a small router in front of Prism sends them there).

mod common;

use axum::response::IntoResponse;
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
    let url = split(proxy.url.clone(), upstream.clone()).await;
    warm_up(&sim, &url).await;
    let http = HttpClient::unlimited("elasticsearch", KIT_HTTP_TIMEOUT);
    let connector = Arc::new(common::connector(&url, http.clone()));
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

/// A router in front of Prism: the calls the spec does not have go to the simulator directly.
async fn split(prism: String, sim: String) -> String {
    let client = reqwest::Client::new();
    let app = axum::Router::new().fallback(move |request: axum::extract::Request| {
        let (client, prism, sim) = (client.clone(), prism.clone(), sim.clone());
        async move {
            let path = request.uri().path_and_query().map(|p| p.as_str().to_string()).unwrap_or_default();
            let outside_the_spec = path.contains("/_mapping/field/") || path.starts_with("/.tasks/");
            let base = if outside_the_spec { sim } else { prism };
            let (parts, body) = request.into_parts();
            let body = axum::body::to_bytes(body, usize::MAX).await.unwrap();
            let mut forward = client.request(parts.method, format!("{base}{path}")).body(body.to_vec());
            for (name, value) in parts.headers.iter().filter(|(name, _)| *name != "host") {
                forward = forward.header(name, value);
            }
            let Ok(answer) = forward.send().await else {
                return axum::http::StatusCode::BAD_GATEWAY.into_response();
            };
            let mut response = axum::http::Response::builder().status(answer.status());
            for (name, value) in answer.headers().iter().filter(|(name, _)| *name != "transfer-encoding") {
                response = response.header(name, value);
            }
            let bytes = answer.bytes().await.unwrap_or_default();
            response.body(axum::body::Body::from(bytes)).unwrap()
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}
