//! What one lookup costs when the simulator holds many people (issue 17: the benchmark's
//! simulator scanned every seeded person per lookup). Seeds the benchmark's shape
//! (`benches/perf/people.rs`: each person a Zendesk user, an Intercom contact with a
//! conversation, a Twilio caller with a recording, an Elasticsearch document) and times, over
//! HTTP, the lookups an erasure task makes. It prints the times and asserts only the answers
//! (an Elasticsearch field's lookup is built by the first query on it: that query is the max):
//!
//! `SIM_LOOKUP_PEOPLE=50000 cargo test --release -p erasure-sim lookup_cost -- --ignored --nocapture`

use crate::text::{basic_auth, percent_encode};
use crate::wire::{request, Reply};
use crate::{Sim, SimOptions};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const OWN_NUMBER: &str = "+14155550100";
const SAMPLE: usize = 100;

fn email(i: usize) -> String {
    format!("burst{i}@bench.example.com")
}

fn phone(i: usize) -> String {
    format!("+336{i:08}")
}

fn user_id(i: usize) -> String {
    format!("u_burst_{i}")
}

fn seed(people: usize) -> Value {
    let users: Vec<Value> = (0..people)
        .map(|i| json!({ "email": email(i), "external_id": user_id(i), "name": "A bench customer" }))
        .collect();
    let contacts: Vec<Value> = (0..people)
        .map(|i| json!({ "email": email(i), "external_id": user_id(i), "conversations": 1, "replies": 1 }))
        .collect();
    let calls: Vec<Value> =
        (0..people).map(|i| json!({ "from": phone(i), "to": OWN_NUMBER, "recordings": 1 })).collect();
    let documents: Vec<Value> =
        (0..people).map(|i| json!({ "user.email": email(i), "message": "signed in" })).collect();
    json!({
        "zendesk": { "job_delay_ms": 0, "cascade_ms": 0, "users": users },
        "intercom": { "contacts": contacts },
        "twilio": { "calls": calls },
        "elasticsearch": { "mappings": { "logs-bench": { "user.email": "keyword" } }, "indices": { "logs-bench": documents } },
    })
}

async fn get(sim: &Sim, path: &str, auth: &str, extra: &[(&str, &str)]) -> Reply {
    let mut headers = vec![("authorization", auth)];
    headers.extend_from_slice(extra);
    request(sim.addr(), "GET", path, &headers, "").await
}

async fn post(sim: &Sim, path: &str, auth: &str, extra: &[(&str, &str)], body: Value) -> Reply {
    let mut headers = vec![("authorization", auth), ("content-type", "application/json")];
    headers.extend_from_slice(extra);
    request(sim.addr(), "POST", path, &headers, &body.to_string()).await
}

/// Each lookup's times, over the sample.
struct Timer(Vec<(&'static str, Vec<Duration>)>);

impl Timer {
    fn add(&mut self, what: &'static str, took: Duration) {
        match self.0.iter_mut().find(|(w, _)| *w == what) {
            Some((_, times)) => times.push(took),
            None => self.0.push((what, vec![took])),
        }
    }
}

#[tokio::test]
#[ignore = "a measurement: run with --release --ignored --nocapture"]
async fn lookup_cost() {
    let people: usize = std::env::var("SIM_LOOKUP_PEOPLE").ok().and_then(|n| n.parse().ok()).unwrap_or(50_000);
    let sim = Sim::start("127.0.0.1:0".parse().unwrap(), SimOptions::default()).await.unwrap();
    let seeding = Instant::now();
    sim.seed_json(&seed(people)).unwrap();
    let seeded = seeding.elapsed();
    let zendesk = basic_auth(&format!("{}/token", Sim::ZENDESK_EMAIL), Sim::ZENDESK_TOKEN);
    let intercom = [("intercom-version", "2.14")];
    let twilio = basic_auth(Sim::TWILIO_ACCOUNT_SID, Sim::TWILIO_AUTH_TOKEN);
    let twilio_base = format!("/twilio/2010-04-01/Accounts/{}", Sim::TWILIO_ACCOUNT_SID);
    let elastic = basic_auth("elastic", "sim-password");
    // The first call of all pays for the server's warm-up: not a lookup.
    assert_eq!(request(sim.addr(), "GET", "/_sim/health", &[], "").await.status, 200);
    let mut timer = Timer(Vec::new());
    for n in 0..SAMPLE {
        let i = n * people / SAMPLE + people / (2 * SAMPLE);
        let (email, user_id) = (email(i), user_id(i));

        let path = format!("/zendesk/api/v2/users/search?query={}", percent_encode(&format!("email:\"{email}\"")));
        let started = Instant::now();
        let found = get(&sim, &path, &zendesk, &[]).await;
        timer.add("zendesk users/search email:", started.elapsed());
        assert_eq!(found.json()["count"], 1, "{}", found.body);
        let path = format!("/zendesk/api/v2/users/search?external_id={user_id}");
        let started = Instant::now();
        let found = get(&sim, &path, &zendesk, &[]).await;
        timer.add("zendesk users/search external_id", started.elapsed());
        assert_eq!(found.json()["count"], 1, "{}", found.body);

        let by_email = json!({ "query": { "field": "email", "operator": "=", "value": email } });
        let started = Instant::now();
        let found = post(&sim, "/intercom/contacts/search", "Bearer sim-token", &intercom, by_email).await;
        timer.add("intercom contacts/search email =", started.elapsed());
        assert_eq!(found.json()["total_count"], 1, "{}", found.body);
        let contact = found.json()["data"][0]["id"].as_str().unwrap().to_string();
        let path = format!("/intercom/contacts/find_by_external_id/{user_id}");
        let started = Instant::now();
        let found = get(&sim, &path, "Bearer sim-token", &intercom).await;
        timer.add("intercom find_by_external_id", started.elapsed());
        assert_eq!(found.json()["id"], contact.as_str());
        let by_contact = json!({ "query": { "field": "contact_ids", "operator": "=", "value": contact } });
        let started = Instant::now();
        let found = post(&sim, "/intercom/conversations/search", "Bearer sim-token", &intercom, by_contact).await;
        timer.add("intercom conversations/search", started.elapsed());
        assert_eq!(found.json()["total_count"], 1, "{}", found.body);

        let path = format!("{twilio_base}/Calls.json?From={}", percent_encode(&phone(i)));
        let started = Instant::now();
        let found = get(&sim, &path, &twilio, &[]).await;
        timer.add("twilio Calls.json?From=", started.elapsed());
        let call = found.json()["calls"][0]["sid"].as_str().unwrap().to_string();
        let path = format!("{twilio_base}/Recordings.json?CallSid={call}");
        let started = Instant::now();
        let found = get(&sim, &path, &twilio, &[]).await;
        timer.add("twilio Recordings.json?CallSid=", started.elapsed());
        assert_eq!(found.json()["recordings"].as_array().map(Vec::len), Some(1), "{}", found.body);

        let terms = json!({ "query": { "bool": { "should": [{ "terms": { "user.email": [email] } }],
                                                 "minimum_should_match": 1 } } });
        let started = Instant::now();
        let found = post(&sim, "/elasticsearch/logs-bench/_count", &elastic, &[], terms).await;
        timer.add("elasticsearch _count terms", started.elapsed());
        assert_eq!(found.json()["count"], 1, "{}", found.body);
    }
    println!("lookup cost with {people} people (seeded in {:.2} s), {SAMPLE} of each over HTTP:", seeded.as_secs_f64());
    println!("  {:<36} {:>9} {:>9} {:>9}", "lookup", "mean µs", "median", "max");
    for (what, times) in &mut timer.0 {
        times.sort();
        let micros = |d: Duration| d.as_secs_f64() * 1e6;
        let mean = micros(times.iter().sum::<Duration>()) / times.len() as f64;
        let (median, max) = (micros(times[times.len() / 2]), micros(times[times.len() - 1]));
        println!("  {what:<36} {mean:>9.1} {median:>9.1} {max:>9.1}");
    }
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let peak = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap_or("VmHWM: (no /proc)");
    println!(
        "  this test process's peak resident memory, {}",
        peak.split_whitespace().skip(1).collect::<Vec<_>>().join(" ")
    );
}
