//! The people the benchmark erases and the simulator's seed: every person is a Zendesk user, an
//! Intercom contact with a conversation, the caller of a Twilio call with a recording and the
//! subject of an Elasticsearch log document (and, in the rate-limit scenario, holds a record in
//! the rate-limited webhook system).

use serde_json::{json, Value};
use uuid::Uuid;

/// The Elasticsearch index the connector erases from, and the field it matches.
pub const ES_INDEX: &str = "logs-bench";
pub const ES_FIELD: &str = "user.email";
/// The account's own number, the other end of every seeded call.
const OWN_NUMBER: &str = "+14155550100";

/// One person: the request's id and its identifiers (generated; nobody real).
pub struct Person {
    pub request_id: Uuid,
    pub email: String,
    pub phone: String,
    pub user_id: String,
}

/// Person `i` of a scenario whose people are numbered from `first`.
pub fn person(scenario: &str, i: usize) -> Person {
    Person {
        request_id: Uuid::new_v4(),
        email: format!("{scenario}{i}@bench.example.com"),
        // French mobile numbers: +33 6 and eight digits.
        phone: format!("+336{:08}", i),
        user_id: format!("u_{scenario}_{i}"),
    }
}

/// The seed file of `people` (`erasure-sim --seed`): Zendesk answers its jobs and the deletion
/// cascade at once and allows `user_deletions` permanent user deletions per 10 minutes.
pub fn seed(people: &[Person], webhook: Option<&str>, user_deletions: u32) -> Value {
    let users: Vec<Value> = people
        .iter()
        .map(|p| json!({ "email": p.email, "external_id": p.user_id, "name": "A bench customer" }))
        .collect();
    let contacts: Vec<Value> = people
        .iter()
        .map(|p| json!({ "email": p.email, "external_id": p.user_id, "conversations": 1, "replies": 1 }))
        .collect();
    let calls: Vec<Value> =
        people.iter().map(|p| json!({ "from": p.phone, "to": OWN_NUMBER, "recordings": 1 })).collect();
    let documents: Vec<Value> = people.iter().map(|p| json!({ ES_FIELD: p.email, "message": "signed in" })).collect();
    let mut seed = json!({
        "zendesk": {
            "job_delay_ms": 0,
            "cascade_ms": 0,
            "user_deletion_limit": { "limit": user_deletions, "window_seconds": 600 },
            "users": users,
        },
        "intercom": { "contacts": contacts },
        "twilio": { "calls": calls },
        "elasticsearch": {
            "mappings": { ES_INDEX: { ES_FIELD: "keyword" } },
            "indices": { ES_INDEX: documents },
            "batch_size": 1000,
            "batch_millis": 1,
        },
    });
    if let Some(system) = webhook {
        let records: serde_json::Map<String, Value> = people.iter().map(|p| (p.email.clone(), json!(1))).collect();
        seed["systems"] = json!({ system: records });
    }
    seed
}
