//! The simulated Mailchimp as a client meets it over HTTP: auth, injected faults, the
//! simultaneous-connection limit, a batch's results URL under the vendor's prefix.

use crate::wire::{request, Reply};
use crate::{Fault, Sim, SimOptions};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use std::time::Duration;

async fn sim() -> Sim {
    Sim::start("127.0.0.1:0".parse().unwrap(), SimOptions::default()).await.unwrap()
}

fn basic() -> String {
    format!("Basic {}", STANDARD.encode(format!("anystring:{}", Sim::MAILCHIMP_API_KEY)))
}

async fn get(sim: &Sim, path: &str, auth: Option<&str>) -> Reply {
    let headers: Vec<(&str, &str)> = auth.map(|a| ("authorization", a)).into_iter().collect();
    request(sim.addr(), "GET", &format!("/mailchimp{path}"), &headers, "").await
}

/// 401 API Key Missing / Invalid as a problem document; the key as Basic password works.
#[tokio::test]
async fn calls_without_the_key_are_refused_as_problem_documents() {
    let sim = sim().await;
    let missing = get(&sim, "/ping", None).await;
    assert_eq!((missing.status, missing.json()["title"].as_str()), (401, Some("API Key Missing")));
    assert!(missing.header("content-type").unwrap().starts_with("application/problem+json"));
    let wrong = get(&sim, "/ping", Some("Basic d3Jvbmc6a2V5")).await;
    assert_eq!((wrong.status, wrong.json()["title"].as_str()), (401, Some("API Key Invalid")));
    assert_eq!(get(&sim, "/ping", Some(&basic())).await.status, 200);
}

/// An injected throttle answers 429 Too Many Requests, with `Retry-After` only when it has a
/// hint; an injected 503 is a problem document too.
#[tokio::test]
async fn injected_faults_answer_in_mailchimps_shape() {
    let sim = sim().await;
    sim.push_faults(
        "mailchimp",
        [
            Fault::Throttle { retry_after: Some(42) },
            Fault::Throttle { retry_after: None },
            Fault::Status { status: 503, retry_after: None },
        ],
    );
    let hinted = get(&sim, "/ping", Some(&basic())).await;
    assert_eq!((hinted.status, hinted.header("retry-after")), (429, Some("42")));
    let bare = get(&sim, "/ping", Some(&basic())).await;
    assert_eq!((bare.status, bare.header("retry-after")), (429, None));
    let down = get(&sim, "/ping", Some(&basic())).await;
    assert_eq!((down.status, down.json()["status"].as_u64()), (503, Some(503)));
}

/// Ten requests may run at once; the eleventh, while they are in progress, gets 429.
#[tokio::test]
async fn an_eleventh_request_in_progress_is_throttled() {
    let sim = sim().await;
    sim.set_latency("mailchimp", Duration::from_millis(1000));
    let auth = basic();
    let mut calls = Vec::new();
    for _ in 0..11 {
        let (addr, auth) = (sim.addr(), auth.clone());
        calls.push(tokio::spawn(async move {
            request(addr, "GET", "/mailchimp/ping", &[("authorization", &auth)], "").await
        }));
    }
    let mut replies = Vec::new();
    for call in calls {
        replies.push(call.await.unwrap());
    }
    let throttled = replies.iter().filter(|r| r.status == 429).count();
    assert_eq!((throttled, replies.len() - throttled), (1, 10));
    assert_eq!(get(&sim, "/ping", Some(&auth)).await.status, 200, "places free again");
}

/// A batch of permanent deletions, polled to the end over HTTP; its results URL is under the
/// simulator's `/mailchimp` prefix and lists each operation's status.
#[tokio::test]
async fn a_batch_of_permanent_deletions_finishes_and_its_results_are_served() {
    let sim = sim().await;
    let list = sim.mailchimp().add_list("Newsletter");
    let hash = sim.mailchimp().add_member(&list, "ana@example.com", 1).unwrap();
    let body = serde_json::json!({ "operations": [
        { "method": "POST", "path": format!("/lists/{list}/members/{hash}/actions/delete-permanent") } ] });
    let auth = basic();
    let headers = [("authorization", auth.as_str()), ("content-type", "application/json")];
    let created = request(sim.addr(), "POST", "/mailchimp/batches", &headers, &body.to_string()).await;
    assert_eq!((created.status, created.json()["status"].as_str()), (200, Some("pending")));
    let id = created.json()["id"].as_str().unwrap().to_string();
    let mut batch = created.json();
    while batch["status"] != "finished" {
        batch = get(&sim, &format!("/batches/{id}"), Some(&auth)).await.json();
    }
    let url = batch["response_body_url"].as_str().unwrap().to_string();
    assert_eq!(url, format!("http://{}/mailchimp/batch-results/{id}", sim.addr()));
    let results = get(&sim, &format!("/batch-results/{id}"), Some(&auth)).await.json();
    assert_eq!(results[0]["status_code"], 204);
    assert_eq!(sim.mailchimp().remaining(&["ana@example.com"]), 0);
    assert!(sim.mailchimp().forgotten(&list, "ANA@example.com"));
}
