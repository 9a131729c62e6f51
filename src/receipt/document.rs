//! The receipt document (format `erasure-receipt/1`, README "Proof of erasure") built from the
//! store's facts. Evidence goes in as the SDK's `Evidence` (counts, vendor references, note:
//! nothing else), and any of its texts that repeats an identifier of the subject is withheld.
//! No I/O here.

use crate::config::ExpiringCopy;
use crate::events::{self, ExpiringCopyBy};
use crate::store::receipts::{ReceiptData, ReceiptTask};
use chrono::{DateTime, SecondsFormat, Utc};
use erasure_connector::Evidence;
use serde_json::{json, Value};

pub const FORMAT: &str = "erasure-receipt/1";

/// What replaces an evidence text that repeats an identifier.
pub const WITHHELD: &str = "[withheld: repeats an identifier of the subject]";

/// Identifiers shorter than this are not searched for in evidence (a two-digit user id would
/// withhold every count).
const SHORTEST_IDENTIFIER: usize = 5;

/// The receipt of a settled or closed request; `copies` are the declared copies no API reaches
/// (`[[retention.copies]]`), listed with the date each is gone by, so that the receipt never
/// claims more than was erased.
pub fn document(data: &ReceiptData, copies: &[ExpiringCopy]) -> Value {
    let identifiers = identifiers(data.subject.as_ref());
    let systems: Vec<Value> = data.tasks.iter().map(|task| system(task, &identifiers)).collect();
    let expiring_copies: Vec<Value> = data
        .finished_at
        .map(|finished| ExpiringCopyBy::from_settings(copies, finished))
        .unwrap_or_default()
        .into_iter()
        .map(|copy| json!({ "name": copy.name, "expires_by": time(copy.expires_by) }))
        .collect();
    json!({
        "format": FORMAT,
        "request_id": data.request_id,
        "reference": events::receipt(data.request_id),
        "state": data.state.as_str(),
        "requested_at": time(data.requested_at),
        "received_at": time(data.received_at),
        "deadline_at": time(data.deadline_at),
        "finished_at": data.finished_at.map(time),
        "systems": systems,
        "expiring_copies": expiring_copies,
        "audit_chain": { "length": data.audit_length, "head": hex::encode(&data.audit_head) },
    })
}

fn system(task: &ReceiptTask, identifiers: &[String]) -> Value {
    let mut entry = json!({
        "system": task.system,
        "kind": task.kind,
        "outcome": task.outcome.as_str(),
        "attempts": task.attempts,
        "first_attempt_at": task.first_attempt_at.map(time),
        "finished_at": task.finished_at.map(time),
        "evidence": evidence(task.evidence.as_ref(), identifiers),
        "checks": task.checks,
    });
    if matches!(task.outcome, crate::model::TaskState::Failed | crate::model::TaskState::Exempt) {
        entry["reason"] = json!(task.reason.as_deref().map(|r| withhold(r, identifiers)));
    }
    entry
}

/// RFC 3339 in UTC with microseconds, the database's precision: one text per instant.
fn time(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

fn evidence(stored: Option<&Value>, identifiers: &[String]) -> Value {
    let stored: Evidence = stored.and_then(|v| serde_json::from_value(v.clone()).ok()).unwrap_or_default();
    let clean = Evidence {
        counts: stored.counts.into_iter().map(|(what, n)| (withhold(&what, identifiers), n)).collect(),
        vendor_refs: stored.vendor_refs.iter().map(|r| withhold(r, identifiers)).collect(),
        note: stored.note.as_deref().map(|n| withhold(n, identifiers)),
    };
    serde_json::to_value(clean).expect("evidence serialises")
}

fn withhold(text: &str, identifiers: &[String]) -> String {
    let lower = text.to_lowercase();
    if identifiers.iter().any(|id| lower.contains(id.as_str())) {
        WITHHELD.to_string()
    } else {
        text.to_string()
    }
}

/// Every identifier text of the stored subject (lower case; a phone also without its `+`).
fn identifiers(subject: Option<&Value>) -> Vec<String> {
    fn collect(value: &Value, out: &mut Vec<String>) {
        match value {
            Value::String(s) => {
                let s = s.to_lowercase();
                if let Some(digits) = s.strip_prefix('+') {
                    out.push(digits.to_string());
                }
                out.push(s);
            }
            Value::Array(items) => items.iter().for_each(|v| collect(v, out)),
            Value::Object(members) => members.values().for_each(|v| collect(v, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    if let Some(subject) = subject {
        collect(subject, &mut out);
    }
    out.retain(|id| id.chars().count() >= SHORTEST_IDENTIFIER);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{RequestState, TaskState};
    use uuid::Uuid;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().into()
    }

    fn data() -> ReceiptData {
        ReceiptData {
            request_id: Uuid::from_u128(0x1234),
            state: RequestState::Failed,
            requested_at: at("2026-12-01T09:00:00Z"),
            received_at: at("2026-12-01T09:00:01.5Z"),
            deadline_at: at("2027-01-01T09:00:01.5Z"),
            finished_at: Some(at("2026-12-01T09:05:00Z")),
            subject: Some(json!({ "user_id": "u_8841", "emails": ["wes@example.com"], "phones": ["+33612345678"] })),
            tasks: vec![
                ReceiptTask {
                    system: "accounts".into(),
                    kind: "webhook".into(),
                    outcome: TaskState::Erased,
                    attempts: 1,
                    evidence: Some(json!({
                        "counts": { "records": 2 },
                        "vendor_refs": ["job-77", "deleted WES@example.com"],
                        "note": "called 33612345678",
                        "raw": "anything else is dropped"
                    })),
                    reason: None,
                    first_attempt_at: Some(at("2026-12-01T09:00:02Z")),
                    finished_at: Some(at("2026-12-01T09:00:03Z")),
                    checks: vec![],
                },
                ReceiptTask {
                    system: "support".into(),
                    kind: "zendesk".into(),
                    outcome: TaskState::Failed,
                    attempts: 8,
                    evidence: None,
                    reason: Some("HTTP 403".into()),
                    first_attempt_at: None,
                    finished_at: Some(at("2026-12-01T09:05:00Z")),
                    checks: vec![],
                },
            ],
            audit_length: 9,
            audit_head: vec![0xab; 32],
        }
    }

    #[test]
    fn the_receipt_lists_every_system_with_its_outcome_times_and_checks() {
        let backups = ExpiringCopy {
            name: "nightly backups".into(),
            name_fr: None,
            expires_after: crate::config::Dur(std::time::Duration::from_secs(30 * 86_400)),
        };
        let receipt = document(&data(), &[backups]);
        assert_eq!(
            receipt["expiring_copies"],
            json!([{ "name": "nightly backups", "expires_by": "2026-12-31T09:05:00.000000Z" }])
        );
        assert_eq!(receipt["format"], FORMAT);
        assert_eq!(receipt["state"], "failed");
        assert_eq!(receipt["received_at"], "2026-12-01T09:00:01.500000Z");
        assert_eq!(receipt["reference"], events::receipt(Uuid::from_u128(0x1234)));
        let systems = receipt["systems"].as_array().unwrap();
        assert_eq!(systems.len(), 2);
        assert_eq!(systems[0]["outcome"], "erased");
        assert_eq!(systems[0]["evidence"]["counts"]["records"], 2);
        assert_eq!(systems[0]["checks"], json!([]));
        assert!(systems[0].get("reason").is_none());
        assert_eq!(systems[1]["reason"], "HTTP 403");
        assert_eq!(systems[1]["first_attempt_at"], Value::Null);
        assert_eq!(receipt["audit_chain"], json!({ "length": 9, "head": "ab".repeat(32) }));
        crate::receipt::jcs::canonical(&receipt).expect("a receipt always canonicalises");
    }

    #[test]
    fn evidence_never_carries_an_identifier_of_the_subject() {
        let receipt = document(&data(), &[]);
        let evidence = &receipt["systems"][0]["evidence"];
        assert_eq!(evidence["vendor_refs"], json!(["job-77", WITHHELD]));
        assert_eq!(evidence["note"], WITHHELD);
        assert!(evidence.get("raw").is_none(), "only the SDK's evidence fields");
        let text = receipt.to_string().to_lowercase();
        for id in ["wes@example.com", "33612345678", "u_8841"] {
            assert!(!text.contains(id), "{id} in {text}");
        }
    }
}
