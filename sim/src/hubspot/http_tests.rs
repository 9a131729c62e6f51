//! The simulated HubSpot as a client meets it over HTTP: the token, the ten-second window's
//! headers and refusal, injected faults, a search and a GDPR deletion.

use crate::wire::{request, Reply};
use crate::{Fault, Sim, SimOptions};

async fn sim() -> Sim {
    Sim::start("127.0.0.1:0".parse().unwrap(), SimOptions::default()).await.unwrap()
}

fn bearer() -> String {
    format!("Bearer {}", Sim::HUBSPOT_TOKEN)
}

async fn post(sim: &Sim, tail: &str, auth: &str, body: serde_json::Value) -> Reply {
    let headers = [("authorization", auth), ("content-type", "application/json")];
    request(sim.addr(), "POST", &format!("/hubspot/crm/v3/objects/contacts/{tail}"), &headers, &body.to_string()).await
}

fn by_email(email: &str) -> serde_json::Value {
    serde_json::json!({ "filterGroups": [{ "filters": [{ "propertyName": "email", "operator": "EQ", "value": email }] }] })
}

#[tokio::test]
async fn a_search_then_a_gdpr_deletion_with_the_private_app_token() {
    let sim = sim().await;
    let id = sim.hubspot().add_contact(Some("ana@example.com"), None, 2).unwrap();
    let refused = post(&sim, "search", "Bearer nope", by_email("ana@example.com")).await;
    assert_eq!((refused.status, refused.json()["category"].as_str()), (401, Some("INVALID_AUTHENTICATION")));
    let found = post(&sim, "search", &bearer(), by_email("ana@example.com")).await;
    assert_eq!((found.status, found.json()["results"][0]["id"].as_str()), (200, Some(id.as_str())));
    let deleted = post(&sim, "gdpr-delete", &bearer(), serde_json::json!({ "objectId": id })).await;
    assert_eq!((deleted.status, deleted.body.as_str()), (204, ""));
    assert_eq!(sim.hubspot().remaining(&["ana@example.com"]), 0);
    assert!(sim.hubspot().blocklisted("ana@example.com"));
    let gone = request(
        sim.addr(),
        "GET",
        &format!("/hubspot/crm/v3/objects/contacts/{id}"),
        &[("authorization", &bearer())],
        "",
    )
    .await;
    assert_eq!(gone.status, 404);
}

/// With a limit set, answers carry the window's headers and the call past it gets 429 with the
/// policy, and no `Retry-After`.
#[tokio::test]
async fn the_ten_second_window_answers_with_its_headers_then_refuses() {
    let sim = sim().await;
    sim.hubspot().set_rate_limit(Some(1));
    let first = post(&sim, "search", &bearer(), by_email("a@example.com")).await;
    assert_eq!((first.status, first.header("x-hubspot-ratelimit-remaining")), (200, Some("0")));
    assert_eq!(first.header("x-hubspot-ratelimit-interval-milliseconds"), Some("10000"));
    let refused = post(&sim, "search", &bearer(), by_email("a@example.com")).await;
    assert_eq!((refused.status, refused.json()["policyName"].as_str()), (429, Some("TEN_SECONDLY_ROLLING")));
    assert_eq!(refused.header("retry-after"), None);
}

#[tokio::test]
async fn injected_faults_answer_in_hubspots_shape() {
    let sim = sim().await;
    sim.push_faults(
        "hubspot",
        [Fault::Throttle { retry_after: Some(42) }, Fault::Status { status: 401, retry_after: None }],
    );
    let throttled = post(&sim, "search", &bearer(), by_email("a@example.com")).await;
    assert_eq!((throttled.status, throttled.header("retry-after")), (429, Some("42")));
    let denied = post(&sim, "search", &bearer(), by_email("a@example.com")).await;
    assert_eq!((denied.status, denied.json()["status"].as_str()), (401, Some("error")));
}
