//! The v1 intake message (`schemas/erasure-request.v1.schema.json`): decode, validate, and say
//! why not. A refusal carries a machine-readable reason and a detail that never repeats a value
//! from the message (it could be personal data).

use chrono::{DateTime, Duration, Utc};
use erasure_connector::subject::RawSubject;
use erasure_connector::Subject;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;
use uuid::Uuid;

/// A valid request.
#[derive(Debug, Clone, PartialEq)]
pub struct IntakeMessage {
    pub request_id: Uuid,
    pub subject: Subject,
    pub requested_at: DateTime<Utc>,
    pub locale: Option<String>,
    /// Connector instances to erase from; `None` means every enabled one.
    pub systems: Option<Vec<String>>,
}

/// Why a message was refused; the value of the `x-erasure-reason` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    TooLarge,
    NotJson,
    UnsupportedVersion,
    InvalidMessage,
    InvalidSubject,
    UnknownSystem,
    /// Every requested system is disabled (or none is configured): nothing would be erased.
    NoEnabledSystem,
    /// Not signed with an active key while signatures are required, or signed wrongly.
    BadSignature,
    RequestIdConflict,
    /// A cancellation names no request that is still open (unknown, or already settled).
    CancelNotApplicable,
    /// The database refused a value of the message (SQLSTATE class 22 or 23): the same message
    /// would be refused again, so it is not retried.
    Unstorable,
}

impl Reason {
    /// Every reason (the labels `erasure_dead_lettered_total` is pre-registered with).
    pub const ALL: [Reason; 11] = [
        Reason::TooLarge,
        Reason::NotJson,
        Reason::UnsupportedVersion,
        Reason::InvalidMessage,
        Reason::InvalidSubject,
        Reason::UnknownSystem,
        Reason::NoEnabledSystem,
        Reason::BadSignature,
        Reason::RequestIdConflict,
        Reason::CancelNotApplicable,
        Reason::Unstorable,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Reason::TooLarge => "too_large",
            Reason::NotJson => "not_json",
            Reason::UnsupportedVersion => "unsupported_version",
            Reason::InvalidMessage => "invalid_message",
            Reason::InvalidSubject => "invalid_subject",
            Reason::UnknownSystem => "unknown_system",
            Reason::NoEnabledSystem => "no_enabled_system",
            Reason::BadSignature => "bad_signature",
            Reason::RequestIdConflict => "request_id_conflict",
            Reason::CancelNotApplicable => "cancel_not_applicable",
            Reason::Unstorable => "unstorable",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Rejection {
    pub reason: Reason,
    pub detail: String,
    /// Set when the message had a readable `request_id`: the product is told by an event.
    pub request_id: Option<Uuid>,
}

/// No erasure request predates this; older times (and those PostgreSQL cannot store) are refused.
fn earliest_requested_at() -> DateTime<Utc> {
    DateTime::from_timestamp(946_684_800, 0).expect("2000-01-01T00:00:00Z")
}

/// What the decoder checks against.
pub struct Rules<'a> {
    pub max_bytes: usize,
    pub known_systems: &'a BTreeSet<String>,
    pub now: DateTime<Utc>,
    pub max_clock_skew: Duration,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMessage {
    #[allow(dead_code)]
    version: u32,
    request_id: Uuid,
    subject: RawSubject,
    requested_at: DateTime<Utc>,
    #[serde(default)]
    locale: Option<String>,
    #[serde(default)]
    systems: Option<Vec<String>>,
}

/// A valid cancellation (`schemas/erasure-cancel.v1.schema.json`).
#[derive(Debug, Clone, PartialEq)]
pub struct CancelMessage {
    pub request_id: Uuid,
    pub reason: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCancel {
    #[allow(dead_code)]
    version: u32,
    #[allow(dead_code)]
    r#type: String,
    request_id: Uuid,
    #[serde(default)]
    reason: Option<String>,
}

const MAX_CANCEL_REASON: usize = 500;

/// `Some` when the body is a cancellation (`"type": "cancel"`), decoded or refused; `None` for
/// anything else, which `decode` then reads as a request.
pub fn decode_cancel(body: &[u8], rules: &Rules<'_>) -> Option<Result<CancelMessage, Rejection>> {
    if body.len() > rules.max_bytes {
        return None;
    }
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    if value.get("type").and_then(|t| t.as_str()) != Some("cancel") {
        return None;
    }
    let request_id = value.get("request_id").and_then(|v| v.as_str()).and_then(|s| Uuid::parse_str(s).ok());
    let reject = |reason, detail: &str| Some(Err(Rejection { reason, detail: detail.into(), request_id }));
    if value.get("version").and_then(|v| v.as_u64()) != Some(1) {
        return reject(Reason::UnsupportedVersion, "this worker reads version 1 of a cancellation");
    }
    let raw: RawCancel = match serde_path_to_error::deserialize(value) {
        Ok(raw) => raw,
        Err(e) => return Some(Err(Rejection { reason: Reason::InvalidMessage, detail: describe(&e), request_id })),
    };
    let reason = raw.reason.map(|r| r.trim().to_string()).filter(|r| !r.is_empty());
    if reason.as_ref().is_some_and(|r| r.chars().count() > MAX_CANCEL_REASON) {
        return reject(Reason::InvalidMessage, "`reason` is longer than 500 characters");
    }
    Some(Ok(CancelMessage {
        request_id: raw.request_id,
        reason: reason.unwrap_or_else(|| "cancelled by the product".into()),
    }))
}

/// The canonical form that is hashed to tell a redelivery from a conflicting re-use of an id.
#[derive(Serialize)]
struct Canonical<'a> {
    request_id: Uuid,
    subject: &'a Subject,
    requested_at: String,
    locale: &'a Option<String>,
    systems: &'a Option<Vec<String>>,
}

pub fn decode(body: &[u8], rules: &Rules<'_>) -> Result<IntakeMessage, Rejection> {
    let reject = |reason, detail: String, request_id| Rejection { reason, detail, request_id };
    if body.len() > rules.max_bytes {
        let detail = format!("the message has {} bytes; the limit is {}", body.len(), rules.max_bytes);
        return Err(reject(Reason::TooLarge, detail, None));
    }
    let value: serde_json::Value = serde_json::from_slice(body).map_err(|e| {
        reject(Reason::NotJson, format!("not valid JSON (line {}, column {})", e.line(), e.column()), None)
    })?;
    let Some(object) = value.as_object() else {
        return Err(reject(Reason::InvalidMessage, "the message must be a JSON object".into(), None));
    };
    let request_id = object.get("request_id").and_then(|v| v.as_str()).and_then(|s| Uuid::parse_str(s).ok());
    match object.get("version") {
        Some(v) if v.as_u64() == Some(1) => {}
        Some(_) => return Err(reject(Reason::UnsupportedVersion, "this worker reads version 1".into(), request_id)),
        None => return Err(reject(Reason::InvalidMessage, "missing field `version`".into(), request_id)),
    }
    // Decoded again from the bytes, not from the `Value`: a repeated key is refused, never resolved
    // to whichever copy a parser happens to keep.
    let raw: RawMessage = serde_path_to_error::deserialize(&mut serde_json::Deserializer::from_slice(body))
        .map_err(|e| reject(Reason::InvalidMessage, describe(&e), request_id))?;
    drop(value);

    let subject = Subject::new(raw.subject).map_err(|e| reject(Reason::InvalidSubject, e.to_string(), request_id))?;
    for system in subject.ids().keys() {
        if !rules.known_systems.contains(system) {
            return Err(reject(
                Reason::UnknownSystem,
                "subject.ids names a system that is not configured".into(),
                request_id,
            ));
        }
    }
    let systems = match raw.systems {
        None => None,
        Some(list) if list.is_empty() => {
            return Err(reject(
                Reason::InvalidMessage,
                "`systems` is empty; leave it out to mean all".into(),
                request_id,
            ))
        }
        Some(list) => {
            if list.iter().any(|s| !rules.known_systems.contains(s)) {
                return Err(reject(
                    Reason::UnknownSystem,
                    "`systems` names a system that is not configured".into(),
                    request_id,
                ));
            }
            let sorted: BTreeSet<String> = list.into_iter().collect();
            Some(sorted.into_iter().collect())
        }
    };
    if let Some(locale) = &raw.locale {
        if !valid_locale(locale) {
            return Err(reject(
                Reason::InvalidMessage,
                "`locale` is not a language tag such as fr or en-GB".into(),
                request_id,
            ));
        }
    }
    if raw.requested_at > rules.now + rules.max_clock_skew {
        return Err(reject(Reason::InvalidMessage, "`requested_at` is in the future".into(), request_id));
    }
    if raw.requested_at < earliest_requested_at() {
        return Err(reject(Reason::InvalidMessage, "`requested_at` is before 2000-01-01".into(), request_id));
    }
    Ok(IntakeMessage {
        request_id: raw.request_id,
        subject,
        requested_at: raw.requested_at,
        locale: raw.locale.map(|l| l.to_lowercase()),
        systems,
    })
}

impl IntakeMessage {
    /// SHA-256 of the canonical form: equal for a redelivery, different for another request.
    pub fn fingerprint(&self) -> Vec<u8> {
        let canonical = Canonical {
            request_id: self.request_id,
            subject: &self.subject,
            requested_at: self.requested_at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            locale: &self.locale,
            systems: &self.systems,
        };
        let bytes = serde_json::to_vec(&canonical).expect("the canonical form serialises");
        Sha256::digest(bytes).to_vec()
    }
}

/// serde's message names fields for missing and unknown keys; otherwise it may quote the value,
/// so only the path is kept. A key the producer chose (an unknown field, a key of `subject.ids`)
/// can be anything, an address included, so only plain names are repeated: any other is `*`.
fn describe(e: &serde_path_to_error::Error<serde_json::Error>) -> String {
    let path = plain_path(&e.path().to_string());
    let message = e.inner().to_string();
    let at = |what: String| if path.is_empty() || path == "." { what } else { format!("{what} in `{path}`") };
    if let Some(rest) = message.strip_prefix("missing field `") {
        let field = rest.split('`').next().unwrap_or_default();
        return at(format!("missing field `{}`", plain(field)));
    }
    if let Some(rest) = message.strip_prefix("unknown field `") {
        let field = rest.split('`').next().unwrap_or_default();
        // The path of an unknown field ends with the field itself.
        let parent = plain_path(e.path().to_string().strip_suffix(field).unwrap_or_default().trim_end_matches('.'));
        let what = format!("unknown field `{}`", plain(field));
        return if parent.is_empty() { what } else { format!("{what} in `{parent}`") };
    }
    if message.starts_with("duplicate field `") {
        return "a key appears twice".into();
    }
    format!("`{path}` has the wrong type or an invalid value")
}

/// A key as it may be repeated: ASCII letters, digits and `_`, at most 32; anything else is `*`.
fn plain(key: &str) -> &str {
    let ok = !key.is_empty() && key.len() <= 32 && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if ok {
        key
    } else {
        "*"
    }
}

/// A serde path (`subject.emails[0]`) with every key that is not plain replaced by `*`.
fn plain_path(path: &str) -> String {
    path.split('.')
        .map(|segment| {
            let key = segment.split('[').next().unwrap_or_default();
            let index = &segment[key.len()..];
            let index_ok = index.bytes().all(|b| b.is_ascii_digit() || b == b'[' || b == b']');
            if (key.is_empty() || plain(key) == key) && index_ok {
                segment.to_string()
            } else {
                "*".into()
            }
        })
        .collect::<Vec<_>>()
        .join(".")
}

fn valid_locale(locale: &str) -> bool {
    let mut parts = locale.split(['-', '_']);
    let language = parts.next().unwrap_or_default();
    (2..=3).contains(&language.len())
        && language.chars().all(|c| c.is_ascii_alphabetic())
        && parts.all(|p| (2..=8).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphanumeric()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn systems() -> BTreeSet<String> {
        ["helpdesk", "chat"].iter().map(|s| s.to_string()).collect()
    }

    fn decode_json(value: serde_json::Value) -> Result<IntakeMessage, Rejection> {
        let known = systems();
        let rules = Rules {
            max_bytes: 4096,
            known_systems: &known,
            now: "2026-11-24T04:00:00Z".parse().unwrap(),
            max_clock_skew: Duration::minutes(5),
        };
        decode(&serde_json::to_vec(&value).unwrap(), &rules)
    }

    fn valid() -> serde_json::Value {
        json!({
            "version": 1,
            "request_id": "5b0c1f9e-8a7d-4c1e-9f3a-2b6d8e0a1c4f",
            "subject": { "user_id": "u_123", "emails": ["Ana@Example.com"], "phones": ["+33 6 12 34 56 78"],
                         "ids": { "helpdesk": "3712" } },
            "requested_at": "2026-11-24T03:00:00Z",
            "locale": "fr",
            "systems": ["helpdesk", "chat"]
        })
    }

    fn reason(value: serde_json::Value) -> (Reason, String, Option<Uuid>) {
        let r = decode_json(value).unwrap_err();
        (r.reason, r.detail, r.request_id)
    }

    #[test]
    fn the_documented_example_decodes_and_normalises() {
        let m = decode_json(valid()).unwrap();
        assert_eq!(m.subject.emails(), ["ana@example.com"]);
        assert_eq!(m.subject.phones(), ["+33612345678"]);
        assert_eq!(m.systems, Some(vec!["chat".to_string(), "helpdesk".to_string()]));
    }

    #[test]
    fn the_fingerprint_ignores_formatting_and_order_but_not_content() {
        let a = decode_json(valid()).unwrap();
        let mut reordered = valid();
        reordered["systems"] = json!(["chat", "helpdesk"]);
        reordered["subject"]["emails"] = json!(["  ana@example.com "]);
        assert_eq!(a.fingerprint(), decode_json(reordered).unwrap().fingerprint());
        let mut other = valid();
        other["subject"]["emails"] = json!(["bob@example.com"]);
        assert_ne!(a.fingerprint(), decode_json(other).unwrap().fingerprint());
    }

    #[test]
    fn requested_at_before_2000_is_refused_as_invalid() {
        let mut v = valid();
        v["requested_at"] = json!("1999-12-31T23:59:59Z");
        assert_eq!(reason(v).0, Reason::InvalidMessage);
        let mut v = valid();
        v["requested_at"] = json!("2000-01-01T00:00:00Z");
        assert!(decode_json(v).is_ok());
    }

    #[test]
    fn each_kind_of_bad_message_has_its_reason_and_never_echoes_values() {
        let id = Some(Uuid::parse_str("5b0c1f9e-8a7d-4c1e-9f3a-2b6d8e0a1c4f").unwrap());
        let mut v = valid();
        v["version"] = json!(2);
        assert_eq!(reason(v).0, Reason::UnsupportedVersion);
        let mut v = valid();
        v["subject"]["emails"] = json!(["secret-person"]);
        let (r, detail, rid) = reason(v);
        assert_eq!((r, rid), (Reason::InvalidSubject, id));
        assert!(!detail.contains("secret-person"));
        let mut v = valid();
        v["systems"] = json!(["payroll"]);
        assert_eq!(reason(v).0, Reason::UnknownSystem);
        let mut v = valid();
        v["subject"]["ids"] = json!({ "payroll": "1" });
        assert_eq!(reason(v).0, Reason::UnknownSystem);
        let mut v = valid();
        v["subject"]["emails"] = json!("ana@example.com");
        let (r, detail, _) = reason(v);
        assert_eq!(r, Reason::InvalidMessage);
        assert!(!detail.contains("ana@"), "{detail}");
        let mut v = valid();
        v["extra"] = json!(1);
        assert_eq!(reason(v).1, "unknown field `extra`");
        let mut v = valid();
        v.as_object_mut().unwrap().remove("requested_at");
        assert_eq!(reason(v).1, "missing field `requested_at`");
        let mut v = valid();
        v["requested_at"] = json!("2027-01-01T00:00:00Z");
        assert_eq!(reason(v).0, Reason::InvalidMessage);
        let mut v = valid();
        v["subject"] = json!({});
        assert_eq!(reason(v).0, Reason::InvalidSubject);
        assert_eq!(reason(json!([1, 2])).0, Reason::InvalidMessage);
    }

    #[test]
    fn the_shipped_json_schema_and_the_decoder_agree() {
        let schema: serde_json::Value =
            serde_json::from_str(include_str!("../../schemas/erasure-request.v1.schema.json")).unwrap();
        let known: BTreeSet<String> = ["accounts", "billing"].iter().map(|s| s.to_string()).collect();
        let rules = Rules { max_bytes: 4096, known_systems: &known, now: Utc::now(), max_clock_skew: Duration::zero() };
        let example = &schema["examples"][0];
        decode(&serde_json::to_vec(example).unwrap(), &rules).expect("the schema's example is valid");
        for required in schema["required"].as_array().unwrap() {
            let mut v = example.clone();
            v.as_object_mut().unwrap().remove(required.as_str().unwrap());
            assert!(decode(&serde_json::to_vec(&v).unwrap(), &rules).is_err(), "{required} is required");
        }
        let properties: BTreeSet<&str> = schema["properties"].as_object().unwrap().keys().map(String::as_str).collect();
        let example_keys: BTreeSet<&str> = example.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(properties, example_keys, "the example shows every field");
        let subject_fields: BTreeSet<&str> =
            schema["properties"]["subject"]["properties"].as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(subject_fields, ["emails", "ids", "phones", "user_id"].into_iter().collect());
    }

    #[test]
    fn a_cancellation_is_told_apart_from_a_request_and_checked() {
        let known = systems();
        let rules = Rules { max_bytes: 4096, known_systems: &known, now: Utc::now(), max_clock_skew: Duration::zero() };
        let cancel = |v: serde_json::Value| decode_cancel(&serde_json::to_vec(&v).unwrap(), &rules);
        assert!(cancel(valid()).is_none(), "a request is not a cancellation");
        let id = "5b0c1f9e-8a7d-4c1e-9f3a-2b6d8e0a1c4f";
        let ok = cancel(json!({ "version": 1, "type": "cancel", "request_id": id, "reason": "changed my mind" }));
        assert_eq!(ok.unwrap().unwrap().reason, "changed my mind");
        let bare = cancel(json!({ "version": 1, "type": "cancel", "request_id": id })).unwrap().unwrap();
        assert_eq!(bare.request_id.to_string(), id);
        let extra = cancel(json!({ "version": 1, "type": "cancel", "request_id": id, "x": 1 })).unwrap().unwrap_err();
        assert_eq!(extra.reason, Reason::InvalidMessage);
        let v2 = cancel(json!({ "version": 2, "type": "cancel", "request_id": id })).unwrap().unwrap_err();
        assert_eq!(v2.reason, Reason::UnsupportedVersion);
        let schema: serde_json::Value =
            serde_json::from_str(include_str!("../../schemas/erasure-cancel.v1.schema.json")).unwrap();
        cancel(schema["examples"][0].clone()).unwrap().expect("the schema's example is valid");
    }

    #[test]
    fn size_and_syntax_are_checked_first() {
        let known = systems();
        let rules = Rules { max_bytes: 10, known_systems: &known, now: Utc::now(), max_clock_skew: Duration::zero() };
        assert_eq!(decode(b"{\"version\": 1, \"x\": 1}", &rules).unwrap_err().reason, Reason::TooLarge);
        assert_eq!(decode(b"{nope", &rules).unwrap_err().reason, Reason::NotJson);
        assert_eq!(decode(&[0xff, 0xfe], &rules).unwrap_err().reason, Reason::NotJson);
    }

    #[test]
    fn the_corpus_of_nasty_messages_gets_the_expected_reasons() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus/intake");
        let expected: std::collections::BTreeMap<String, String> =
            serde_json::from_str(&std::fs::read_to_string(dir.join("expected-reasons.json")).unwrap()).unwrap();
        let known = systems();
        let rules = Rules {
            max_bytes: 65_536,
            known_systems: &known,
            now: "2026-11-24T04:00:00Z".parse().unwrap(),
            max_clock_skew: Duration::minutes(5),
        };
        assert!(expected.len() >= 20);
        for (name, reason) in &expected {
            let body = std::fs::read(dir.join(format!("{name}.json"))).unwrap();
            let rejection = decode(&body, &rules).expect_err(name);
            assert_eq!(rejection.reason.as_str(), reason, "{name}: {}", rejection.detail);
            assert!(!rejection.detail.is_empty() && rejection.detail.len() < 200, "{name}: {}", rejection.detail);
            assert!(!rejection.detail.chars().any(char::is_control), "{name}: a control character in the detail");
            for secret in ["a@x.io", "everyone@x.io", "DROP TABLE", "<script>", "06 12 34"] {
                assert!(
                    !rejection.detail.contains(secret),
                    "{name}: the detail echoes the message: {}",
                    rejection.detail
                );
            }
        }
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        fn rules(known: &BTreeSet<String>) -> Rules<'_> {
            Rules { max_bytes: 4096, known_systems: known, now: Utc::now(), max_clock_skew: Duration::minutes(5) }
        }

        /// Any JSON value, nested a few levels, with odd strings.
        fn json_value() -> impl Strategy<Value = serde_json::Value> {
            let leaf = prop_oneof![
                Just(serde_json::Value::Null),
                any::<bool>().prop_map(serde_json::Value::from),
                any::<i64>().prop_map(serde_json::Value::from),
                any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(serde_json::Value::from),
                ".{0,40}".prop_map(serde_json::Value::from),
                "[\\u{0}-\\u{1f}\\u{202e}\\u{feff}@+*\"{}]{0,20}".prop_map(serde_json::Value::from),
            ];
            leaf.prop_recursive(4, 64, 8, |inner| {
                prop_oneof![
                    prop::collection::vec(inner.clone(), 0..8).prop_map(serde_json::Value::from),
                    prop::collection::btree_map(".{0,12}", inner, 0..8)
                        .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
                ]
            })
        }

        /// A message close to a valid one, with one part replaced by anything.
        fn near_valid() -> impl Strategy<Value = serde_json::Value> {
            let keys = prop_oneof![
                Just("version"),
                Just("request_id"),
                Just("subject"),
                Just("requested_at"),
                Just("locale"),
                Just("systems"),
                Just("extra"),
            ];
            let subject_keys = prop_oneof![Just("emails"), Just("phones"), Just("user_id"), Just("ids"), Just("name")];
            (keys, subject_keys, json_value(), any::<bool>()).prop_map(|(key, subject_key, value, in_subject)| {
                let mut message = valid();
                if in_subject {
                    message["subject"][subject_key] = value;
                } else {
                    message[key] = value;
                }
                message
            })
        }

        proptest! {
            #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

            #[test]
            fn random_bytes_never_panic_and_always_get_a_reason(body in prop::collection::vec(any::<u8>(), 0..600)) {
                let known = systems();
                if let Err(rejection) = decode(&body, &rules(&known)) {
                    prop_assert!(!rejection.detail.is_empty());
                }
            }

            #[test]
            fn any_json_is_decoded_or_refused_with_a_reason(value in json_value()) {
                let known = systems();
                let body = serde_json::to_vec(&value).unwrap();
                let rejection = decode(&body, &rules(&known)).expect_err("random JSON is not a request");
                prop_assert!(!rejection.detail.is_empty());
            }

            #[test]
            fn a_damaged_message_is_decoded_normalised_or_refused_never_echoed(message in near_valid()) {
                let known = systems();
                let body = serde_json::to_vec(&message).unwrap();
                match decode(&body, &rules(&known)) {
                    Ok(decoded) => {
                        for email in decoded.subject.emails() {
                            prop_assert_eq!(email.trim(), email.as_str());
                            prop_assert!(email.contains('@'));
                        }
                        for phone in decoded.subject.phones() {
                            prop_assert!(phone.starts_with('+') && phone[1..].chars().all(|c| c.is_ascii_digit()));
                        }
                    }
                    Err(rejection) => {
                        prop_assert!(!rejection.detail.is_empty());
                        prop_assert!(!rejection.detail.contains("ana@example.com"));
                    }
                }
            }

            #[test]
            fn many_identifiers_are_bounded(count in 0usize..80) {
                let known = systems();
                let mut message = valid();
                message["subject"]["emails"] = serde_json::json!((0..count).map(|i| format!("p{i}@example.com")).collect::<Vec<_>>());
                let result = decode(&serde_json::to_vec(&message).unwrap(), &rules(&known));
                prop_assert_eq!(result.is_ok(), count <= erasure_connector::subject::MAX_EMAILS);
            }

            /// Phone numbers go through `phonenumber`'s parser and e-mail domains through UTS 46:
            /// any string gets an answer, never a panic, and what passes is stable.
            #[test]
            fn any_phone_or_email_string_is_answered(
                phone in prop_oneof!["\\+[0-9 ()./+a-zA-Z\\-\u{ff10}-\u{ff19}\u{200b}]{0,30}", "\\+.{0,30}", ".{0,40}"],
                email in prop_oneof!["[a-z.\u{200b}\u{ff21}\u{fe0f}]{0,8}@[a-z0-9.\\-\u{e0}-\u{ff}\u{ff0e}]{0,20}", ".{0,40}"],
            ) {
                use erasure_connector::subject::{normalise_email, normalise_phone};
                if let Some(e164) = normalise_phone(&phone) {
                    prop_assert!(e164.starts_with('+') && e164[1..].chars().all(|c| c.is_ascii_digit()));
                    prop_assert_eq!(normalise_phone(&e164), Some(e164.clone()));
                }
                if let Some(address) = normalise_email(&email) {
                    prop_assert_eq!(normalise_email(&address), Some(address.clone()));
                }
            }
        }
    }
}
