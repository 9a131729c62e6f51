//! `erasure submit`: build a v1 message for a person, send it, and with `--wait` follow it to the
//! end, one line per change of a system's task.

use super::client::{Client, ClientError, Reply, RequestDetail};
use super::table;
use crate::model::RequestState;
use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::time::Duration;
use uuid::Uuid;

pub const POLL_EVERY: Duration = Duration::from_millis(500);
/// Polls in a row that may fail (API restarting, database briefly away) before giving up.
const TRANSIENT_FAILURES: u32 = 20;

/// The person and where to erase; at least one identifier (clap checks).
#[derive(Debug, Clone, Default)]
pub struct Subject {
    pub emails: Vec<String>,
    pub phones: Vec<String>,
    pub user_id: Option<String>,
    pub systems: Vec<String>,
    pub locale: Option<String>,
}

/// A v1 intake message with a new `request_id`, requested now.
pub fn message(subject: &Subject, request_id: Uuid, now: DateTime<Utc>) -> Value {
    let mut who = serde_json::Map::new();
    if let Some(user_id) = &subject.user_id {
        who.insert("user_id".into(), user_id.clone().into());
    }
    if !subject.emails.is_empty() {
        who.insert("emails".into(), subject.emails.clone().into());
    }
    if !subject.phones.is_empty() {
        who.insert("phones".into(), subject.phones.clone().into());
    }
    let mut message = json!({
        "version": 1,
        "request_id": request_id,
        "subject": who,
        "requested_at": now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
    });
    if let Some(locale) = &subject.locale {
        message["locale"] = locale.clone().into();
    }
    if !subject.systems.is_empty() {
        message["systems"] = subject.systems.clone().into();
    }
    message
}

/// A request is over in these states.
pub fn is_final(state: &str) -> bool {
    RequestState::parse(state).is_some_and(RequestState::is_over)
}

/// Poll the request until it is over, calling `say` once per change; returns its last reading.
pub async fn follow(client: &Client, id: Uuid, mut say: impl FnMut(&str)) -> Result<Reply<RequestDetail>, ClientError> {
    let mut seen: BTreeMap<String, (String, i64)> = BTreeMap::new();
    let mut holds: Vec<String> = Vec::new();
    let mut failures = 0;
    loop {
        match client.request(id).await {
            Ok(reply) => {
                failures = 0;
                for task in &reply.body.tasks {
                    let now = (task.state.clone(), task.attempt);
                    if seen.get(&task.system) != Some(&now) {
                        say(&table::progress(task));
                        seen.insert(task.system.clone(), now);
                    }
                }
                let kinds: Vec<String> = reply.body.request.holds.iter().map(|h| h.kind.clone()).collect();
                if kinds != holds {
                    match kinds.is_empty() {
                        true => say("request: every hold released"),
                        false => say(&format!("request: held ({})", kinds.join(", "))),
                    }
                    holds = kinds;
                }
                if is_final(&reply.body.request.state) {
                    return Ok(reply);
                }
            }
            Err(error) if error.is_transient() && failures < TRANSIENT_FAILURES => failures += 1,
            Err(error) => return Err(error),
        }
        tokio::time::sleep(POLL_EVERY).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_message_has_only_what_was_given() {
        let id = Uuid::nil();
        let at = "2026-11-24T03:00:00Z".parse().unwrap();
        let subject = Subject { emails: vec!["a@example.com".into()], ..Subject::default() };
        assert_eq!(
            message(&subject, id, at),
            json!({ "version": 1, "request_id": id, "subject": { "emails": ["a@example.com"] },
                    "requested_at": "2026-11-24T03:00:00.000Z" })
        );
        let subject = Subject {
            phones: vec!["+33612345678".into()],
            user_id: Some("u_1".into()),
            systems: vec!["crm".into()],
            locale: Some("fr".into()),
            ..Subject::default()
        };
        let m = message(&subject, id, at);
        assert_eq!(m["subject"], json!({ "user_id": "u_1", "phones": ["+33612345678"] }));
        assert_eq!((m["systems"].clone(), m["locale"].clone()), (json!(["crm"]), json!("fr")));
    }
}
