use super::*;
use chrono::TimeZone;
use serde_json::{json, Value};

fn at(hour: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, hour, 0, 0).unwrap()
}

fn settled(state: RequestState) -> Settled {
    let systems = vec![
        SystemOutcome::new(
            "helpdesk".into(),
            "zendesk".into(),
            TaskState::Erased,
            Some(json!({ "counts": { "tickets_deleted": 2 } })),
            Some(at(2)),
            1,
            Some("an earlier attempt's error".into()),
        ),
        SystemOutcome::new("billing".into(), "webhook".into(), TaskState::Exempt, None, Some(at(3)), 0, None),
        SystemOutcome::new(
            "chat".into(),
            "intercom".into(),
            if state == RequestState::Failed { TaskState::Failed } else { TaskState::NothingToErase },
            None,
            Some(at(4)),
            3,
            Some("401 from the vendor".into()),
        ),
        SystemOutcome::new(
            "crm".into(),
            "http".into(),
            TaskState::Erased,
            Some(json!({ "counts": { "contacts": 1 } })),
            Some(at(4)),
            1,
            None,
        )
        .with_label(Some(KindLabel { en: "CRM".into(), fr: "Gestion de la relation client".into() })),
    ];
    let backups = crate::config::ExpiringCopy {
        name: "nightly backups".into(),
        name_fr: Some("sauvegardes nocturnes".into()),
        expires_after: crate::config::Dur(std::time::Duration::from_secs(35 * 86_400)),
    };
    Settled::new(state, 2, at(0), at(1), at(5), systems, &[backups])
}

fn closed() -> Closed {
    let check = |result: &str, count| CheckRecord {
        after_seconds: 0.0,
        checked_at: Some(at(11)),
        result: Some(result.into()),
        count,
    };
    Closed {
        generation: 2,
        requested_at: at(0),
        finished_at: Some(at(10)),
        closed_at: at(12),
        verification: vec![
            VerifiedSystem::new("helpdesk".into(), "zendesk".into(), TaskState::Erased, vec![check("absent", Some(0))]),
            VerifiedSystem::new(
                "accounts".into(),
                "webhook".into(),
                TaskState::Erased,
                vec![check("not_verifiable", None)],
            ),
            VerifiedSystem::new("billing".into(), "webhook".into(), TaskState::Exempt, vec![]),
        ],
    }
}

#[test]
fn a_closed_request_says_which_systems_were_verified_and_which_were_not() {
    let statuses: Vec<&str> = closed().verification.iter().map(|s| s.status).collect();
    assert_eq!(statuses, ["verified", "not_verifiable", "not_checked"]);
    let event = build(Uuid::from_u128(7), &closed(), None);
    assert_eq!(event.payload["state"], "closed");
    assert_eq!(event.message_id, message_id(Uuid::from_u128(7), EventType::Closed, 2));
    assert_ne!(event.message_id, message_id(Uuid::from_u128(7), EventType::Closed, 3), "a new generation, a new id");
}

/// Every event type, as the store builds it.
fn every_event() -> Vec<NewEvent> {
    let id = Uuid::from_u128(7);
    vec![
        build(id, &settled(RequestState::Completed), None),
        build(id, &settled(RequestState::Failed), Some("product.replies".into())),
        build(id, &Cancelled { generation: 1, finished_at: at(6) }, None),
        build(
            id,
            &DeadlineExtended {
                state: RequestState::InProgress,
                generation: 1,
                deadline_at: at(8),
                previous_deadline_at: at(7),
                extension_reason: "many systems".into(),
            },
            None,
        ),
        build(id, &Rejected::new(Reason::UnknownSystem, "a system is not configured".into(), at(9), b"{}"), None),
        build(
            id,
            &Reopened {
                generation: 2,
                reopened_at: at(10),
                system: "helpdesk".into(),
                kind: "zendesk".into(),
                found_count: Some(3),
                after_seconds: 2_592_000.0,
            },
            None,
        ),
        build(id, &closed(), Some("product.replies".into())),
    ]
}

#[test]
fn every_event_type_validates_against_the_shipped_schema() {
    let schema: Value = serde_json::from_str(include_str!("../../schemas/erasure-event.v1.schema.json")).unwrap();
    let events = every_event();
    let mut seen: Vec<&str> = events.iter().map(|e| e.event.routing_key()).collect();
    seen.sort();
    seen.dedup();
    let mut listed: Vec<&str> =
        schema["properties"]["event"]["enum"].as_array().unwrap().iter().flat_map(Value::as_str).collect();
    listed.sort();
    assert_eq!(seen, listed, "one built event per event type the schema lists");
    for event in &events {
        let errors = schema_check::errors(&schema, &event.payload);
        assert!(errors.is_empty(), "{}: {errors:#?}", event.event.routing_key());
        assert_eq!(event.payload["event"], event.event.routing_key());
        assert_eq!(event.payload["message_id"], event.message_id.to_string());
    }
}

#[test]
fn the_schema_check_refuses_what_the_schema_forbids() {
    let schema: Value = serde_json::from_str(include_str!("../../schemas/erasure-event.v1.schema.json")).unwrap();
    let mut event = every_event().remove(0).payload;
    event["systems"][0]["outcome"] = json!("deleted");
    event["version"] = json!(2);
    event.as_object_mut().unwrap().remove("receipt");
    event["extra"] = json!(true);
    event["systems"][3]["label"] = json!({ "en": "CRM" });
    let errors = schema_check::errors(&schema, &event);
    assert_eq!(errors.len(), 5, "{errors:#?}");
}

/// The payloads are the ones the store wrote by hand before events had types: the contract did
/// not move (fields were only added).
#[test]
fn payloads_are_unchanged_from_the_hand_written_ones() {
    let id = Uuid::from_u128(7);
    let completed = build(id, &settled(RequestState::Completed), None);
    let message_id = message_id(id, EventType::Completed, 2);
    assert_eq!(completed.message_id, message_id);
    assert_eq!(
        completed.payload,
        json!({
            "version": 1,
            "event": "erasure.completed",
            "message_id": message_id,
            "request_id": id,
            "state": "completed",
            "generation": 2,
            "requested_at": at(0),
            "deadline_at": at(1),
            "finished_at": at(5),
            "systems": [
                { "system": "helpdesk", "kind": "zendesk", "outcome": "erased",
                  "evidence": { "counts": { "tickets_deleted": 2 } }, "finished_at": at(2), "attempts": 1 },
                { "system": "billing", "kind": "webhook", "outcome": "exempt", "evidence": {},
                  "finished_at": at(3), "attempts": 0, "reason": null },
                { "system": "chat", "kind": "intercom", "outcome": "nothing_to_erase", "evidence": {},
                  "finished_at": at(4), "attempts": 3 },
                // Added with declarative systems: a label, only where the instance has one.
                { "system": "crm", "kind": "http", "outcome": "erased", "evidence": { "counts": { "contacts": 1 } },
                  "finished_at": at(4), "attempts": 1,
                  "label": { "en": "CRM", "fr": "Gestion de la relation client" } },
            ],
            "kept": [{ "system": "billing", "reason": null }],
            // Added with [[retention.copies]]: a new field, nothing else moved.
            "expiring_copies": [{ "name": "nightly backups", "name_fr": "sauvegardes nocturnes",
                                  "expires_by": "2026-04-05T05:00:00Z" }],
            "receipt": receipt(id),
        })
    );
    let failed = build(id, &settled(RequestState::Failed), None);
    assert_eq!(failed.payload["systems"][2]["reason"], "401 from the vendor");
    assert_eq!(failed.payload["state"], "failed");

    let rejected = build(id, &Rejected::new(Reason::UnknownSystem, "why".into(), at(9), b"body"), None);
    let digest = hex::encode(&<sha2::Sha256 as sha2::Digest>::digest(b"body")[..16]);
    assert_eq!(rejected.message_id, Uuid::new_v5(&id, format!("erasure.rejected/{digest}").as_bytes()));
    assert_eq!(
        rejected.payload,
        json!({
            "version": 1, "event": "erasure.rejected", "message_id": rejected.message_id, "request_id": id,
            "state": "rejected", "reason": "unknown_system", "detail": "why", "rejected_at": at(9),
            "receipt": receipt(id),
        })
    );
}

#[test]
fn message_ids_are_stable_per_request_event_and_generation() {
    let id = Uuid::from_u128(42);
    assert_eq!(message_id(id, EventType::Completed, 1), message_id(id, EventType::Completed, 1));
    assert_ne!(message_id(id, EventType::Completed, 1), message_id(id, EventType::Completed, 2));
    assert_ne!(message_id(id, EventType::Completed, 1), message_id(id, EventType::Failed, 1));
    assert_eq!(receipt(id).len(), "ER-XXXX-XXXX-XXXX".len());
    let body = |b: &[u8]| Rejected::new(Reason::NotJson, String::new(), at(0), b);
    assert_eq!(body(b"a").message_id(id), body(b"a").message_id(id), "a redelivery repeats the id");
    assert_ne!(body(b"a").message_id(id), body(b"b").message_id(id), "another body does not");
}

/// The part of JSON Schema (2020-12) the event schema uses, checked strictly: a keyword this
/// checker does not know fails the test instead of being skipped.
mod schema_check {
    use serde_json::Value;

    pub fn errors(schema: &Value, value: &Value) -> Vec<String> {
        let mut errors = Vec::new();
        check(schema, value, "$", &mut errors);
        errors
    }

    fn check(schema: &Value, value: &Value, at: &str, errors: &mut Vec<String>) {
        let Some(schema) = schema.as_object() else { return errors.push(format!("{at}: schema is not an object")) };
        for (keyword, rule) in schema {
            match keyword.as_str() {
                "$schema" | "$id" | "title" | "description" => {}
                "type" => {
                    let types: Vec<&str> = match rule {
                        Value::String(t) => vec![t.as_str()],
                        Value::Array(ts) => ts.iter().flat_map(Value::as_str).collect(),
                        _ => vec![],
                    };
                    if !types.iter().any(|t| has_type(value, t)) {
                        errors.push(format!("{at}: not of type {rule}"));
                    }
                }
                "const" if value != rule => errors.push(format!("{at}: is not {rule}")),
                "const" => {}
                "enum" if !rule.as_array().is_some_and(|a| a.contains(value)) => {
                    errors.push(format!("{at}: {value} is not one of {rule}"))
                }
                "enum" => {}
                "format" => match (rule.as_str(), value.as_str()) {
                    (Some("uuid"), Some(text)) if uuid::Uuid::parse_str(text).is_err() => {
                        errors.push(format!("{at}: not a uuid"))
                    }
                    (Some("date-time"), Some(text)) if chrono::DateTime::parse_from_rfc3339(text).is_err() => {
                        errors.push(format!("{at}: not a date-time"))
                    }
                    (Some("uuid" | "date-time"), _) => {}
                    _ => errors.push(format!("{at}: unknown format {rule}")),
                },
                "required" => {
                    for key in rule.as_array().into_iter().flatten().flat_map(Value::as_str) {
                        if value.is_object() && value.get(key).is_none() {
                            errors.push(format!("{at}: lacks `{key}`"));
                        }
                    }
                }
                "properties" => {
                    let Some(object) = value.as_object() else { continue };
                    for (key, item) in object {
                        match rule.get(key) {
                            Some(sub) => check(sub, item, &format!("{at}.{key}"), errors),
                            // The event schema describes every field: an undescribed one is a
                            // contract change (additionalProperties is not used to say so).
                            None if !schema.contains_key("additionalProperties") => {
                                errors.push(format!("{at}: `{key}` is not described"))
                            }
                            None => {}
                        }
                    }
                }
                "additionalProperties" => {
                    let described = schema.get("properties");
                    for (key, item) in value.as_object().into_iter().flatten() {
                        if described.and_then(|p| p.get(key)).is_none() {
                            check(rule, item, &format!("{at}.{key}"), errors);
                        }
                    }
                }
                "items" => {
                    for (i, item) in value.as_array().into_iter().flatten().enumerate() {
                        check(rule, item, &format!("{at}[{i}]"), errors);
                    }
                }
                other => errors.push(format!("{at}: the checker does not know the keyword `{other}`")),
            }
        }
    }

    fn has_type(value: &Value, name: &str) -> bool {
        match name {
            "object" => value.is_object(),
            "array" => value.is_array(),
            "string" => value.is_string(),
            "integer" => value.is_i64() || value.is_u64(),
            "number" => value.is_number(),
            "boolean" => value.is_boolean(),
            "null" => value.is_null(),
            _ => false,
        }
    }
}
