//! The AMQP properties intake reads besides the body: `reply_to` (stored, later published to),
//! `message_id` and `correlation_id` (copied to the dead-letter queue) and the headers (the
//! signature is there). Each is checked before anything else is done with the message; a refusal
//! never quotes the value.

use super::message::{Reason, Rejection};
use lapin::types::{AMQPValue, FieldTable};

/// The longest `reply_to`, `message_id` or `correlation_id`: an AMQP short string.
const MAX_SHORT_STRING: usize = 255;
/// More headers than this, or more bytes of them, are refused.
pub const MAX_HEADERS: usize = 32;
pub const MAX_HEADER_BYTES: usize = 8192;

/// The properties of one delivery, as they came.
#[derive(Debug, Clone, Copy, Default)]
pub struct Properties<'a> {
    pub reply_to: Option<&'a str>,
    pub message_id: Option<&'a str>,
    pub correlation_id: Option<&'a str>,
    pub headers: Option<&'a FieldTable>,
}

impl<'a> Properties<'a> {
    pub fn of(properties: &'a lapin::BasicProperties) -> Properties<'a> {
        Properties {
            reply_to: properties.reply_to().as_ref().map(|s| s.as_str()),
            message_id: properties.message_id().as_ref().map(|s| s.as_str()),
            correlation_id: properties.correlation_id().as_ref().map(|s| s.as_str()),
            headers: properties.headers().as_ref(),
        }
    }

    /// Every property within its rules, or the first that is not.
    pub fn check(&self) -> Result<(), Rejection> {
        reply_to(self.reply_to)?;
        for (name, value) in [("message_id", self.message_id), ("correlation_id", self.correlation_id)] {
            if !value.is_none_or(printable) {
                return Err(invalid(format!(
                    "the `{name}` property is not printable ASCII of at most {MAX_SHORT_STRING} bytes"
                )));
            }
        }
        if !self.headers.is_none_or(headers_within_caps) {
            return Err(invalid(format!(
                "the message has more than {MAX_HEADERS} headers or more than {MAX_HEADER_BYTES} bytes of them"
            )));
        }
        Ok(())
    }
}

/// The AMQP `reply_to` property: a queue name of letters, digits and `.-_:+/=@` (RabbitMQ's
/// generated and direct reply-to names use those), at most 255 bytes; empty means none. Anything
/// else is refused, never stored: it would be published to later.
pub fn reply_to(raw: Option<&str>) -> Result<Option<String>, Rejection> {
    let Some(raw) = raw.filter(|r| !r.is_empty()) else { return Ok(None) };
    let plain = |c: char| c.is_ascii_alphanumeric() || ".-_:+/=@".contains(c);
    if raw.len() > MAX_SHORT_STRING || !raw.chars().all(plain) {
        return Err(invalid(
            "the `reply_to` property is not a queue name (letters, digits, .-_:+/=@; at most 255 bytes)".into(),
        ));
    }
    Ok(Some(raw.to_string()))
}

/// Printable ASCII (spaces included) of at most 255 bytes: what a message id, a correlation id or
/// a signature header may be.
pub fn printable(value: &str) -> bool {
    value.len() <= MAX_SHORT_STRING && value.bytes().all(|b| (0x20..0x7f).contains(&b))
}

/// At most `MAX_HEADERS` headers (nested tables and arrays included) and `MAX_HEADER_BYTES`.
pub fn headers_within_caps(headers: &FieldTable) -> bool {
    let mut budget = Budget { entries: MAX_HEADERS, bytes: MAX_HEADER_BYTES };
    budget.table(headers)
}

struct Budget {
    entries: usize,
    bytes: usize,
}

impl Budget {
    fn table(&mut self, table: &FieldTable) -> bool {
        table.inner().iter().all(|(name, value)| self.take(1, name.as_str().len()) && self.value(value))
    }

    fn value(&mut self, value: &AMQPValue) -> bool {
        match value {
            AMQPValue::LongString(s) => self.take(0, s.as_bytes().len()),
            AMQPValue::ShortString(s) => self.take(0, s.as_str().len()),
            AMQPValue::ByteArray(b) => self.take(0, b.as_slice().len()),
            AMQPValue::FieldTable(t) => self.table(t),
            AMQPValue::FieldArray(a) => a.as_slice().iter().all(|v| self.take(1, 0) && self.value(v)),
            _ => self.take(0, 8),
        }
    }

    fn take(&mut self, entries: usize, bytes: usize) -> bool {
        let (Some(e), Some(b)) = (self.entries.checked_sub(entries), self.bytes.checked_sub(bytes)) else {
            return false;
        };
        (self.entries, self.bytes) = (e, b);
        true
    }
}

fn invalid(detail: String) -> Rejection {
    Rejection { reason: Reason::InvalidMessage, detail, request_id: None }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lapin::types::{FieldArray, LongString};

    #[test]
    fn reply_to_is_a_plain_queue_name_or_refused() {
        assert_eq!(reply_to(None), Ok(None));
        assert_eq!(reply_to(Some("")), Ok(None));
        for good in ["product.replies", "amq.gen-JzTY20BRgKO-HjmUJj0wLg", "amq.rabbitmq.reply-to.g1h2AA==/+x"] {
            assert_eq!(reply_to(Some(good)), Ok(Some(good.to_string())), "{good}");
        }
        let long = "q".repeat(256);
        for bad in ["a\0b", "a b", "line\nbreak", "caf\u{e9}", long.as_str()] {
            let refused = reply_to(Some(bad)).unwrap_err();
            assert_eq!(refused.reason, Reason::InvalidMessage);
            assert!(!refused.detail.contains(bad), "the detail never quotes the value");
        }
    }

    #[test]
    fn message_and_correlation_ids_are_printable_ascii() {
        let ok =
            Properties { message_id: Some("5b0c1f9e-8a7d"), correlation_id: Some("order 42"), ..Default::default() };
        assert!(ok.check().is_ok());
        let long = "m".repeat(256);
        for bad in ["a\0b", "tab\there", "caf\u{e9}", long.as_str()] {
            let p = Properties { message_id: Some(bad), ..Default::default() };
            assert_eq!(p.check().unwrap_err().reason, Reason::InvalidMessage, "{bad:?}");
            let p = Properties { correlation_id: Some(bad), ..Default::default() };
            let refused = p.check().unwrap_err();
            assert!(refused.detail.contains("correlation_id") && !refused.detail.contains(bad));
        }
    }

    #[test]
    fn headers_are_capped_in_count_and_bytes_nested_ones_included() {
        let mut table = FieldTable::default();
        for i in 0..MAX_HEADERS {
            table.insert(format!("h{i}").into(), AMQPValue::LongString("v".into()));
        }
        assert!(headers_within_caps(&table));
        table.insert("one-more".into(), AMQPValue::Boolean(true));
        assert!(!headers_within_caps(&table));

        let mut big = FieldTable::default();
        big.insert("x".into(), AMQPValue::LongString(LongString::from(vec![b'a'; MAX_HEADER_BYTES])));
        assert!(!headers_within_caps(&big));

        let array: FieldArray = vec![AMQPValue::LongString("v".into()); MAX_HEADERS].into();
        let mut nested = FieldTable::default();
        nested.insert("list".into(), AMQPValue::FieldArray(array));
        assert!(!headers_within_caps(&nested), "array items count as entries");
        let p = Properties { headers: Some(&nested), ..Default::default() };
        assert_eq!(p.check().unwrap_err().reason, Reason::InvalidMessage);
    }

    /// `tests/corpus/intake-properties/cases.json`: properties seen in the wild or made to hurt,
    /// each with the answer intake must give; a refusal never quotes the value.
    #[test]
    fn the_corpus_of_nasty_properties_gets_the_expected_answers() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus/intake-properties/cases.json");
        let corpus: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let cases = corpus["cases"].as_array().unwrap();
        assert!(cases.len() >= 12);
        for case in cases {
            let name = case["name"].as_str().unwrap();
            let text = |key: &str| case[key].as_str();
            let headers = case.get("headers").map(|h| table(h.as_object().unwrap()));
            let p = Properties {
                reply_to: text("reply_to"),
                message_id: text("message_id"),
                correlation_id: text("correlation_id"),
                headers: headers.as_ref(),
            };
            match (p.check(), case["expected"].as_str().unwrap()) {
                (Ok(()), "ok") => {}
                (Err(refused), expected) => {
                    assert_eq!(refused.reason.as_str(), expected, "{name}");
                    for key in ["reply_to", "message_id", "correlation_id"] {
                        assert!(
                            text(key).is_none_or(|v| !refused.detail.contains(v)),
                            "{name}: the detail quotes {key}"
                        );
                    }
                }
                (Ok(()), expected) => panic!("{name}: accepted, expected {expected}"),
            }
        }
    }

    fn table(entries: &serde_json::Map<String, serde_json::Value>) -> FieldTable {
        let mut table = FieldTable::default();
        for (name, value) in entries {
            table.insert(name.as_str().into(), header_value(value));
        }
        table
    }

    fn header_value(value: &serde_json::Value) -> AMQPValue {
        if let Some(text) = value.as_str() {
            return AMQPValue::LongString(text.into());
        }
        let object = value.as_object().expect("a string or an object");
        if let Some(n) = object.get("bytes").and_then(|n| n.as_u64()) {
            return AMQPValue::LongString(LongString::from(vec![b'a'; n as usize]));
        }
        if let Some(b) = object.get("bool").and_then(|b| b.as_bool()) {
            return AMQPValue::Boolean(b);
        }
        if let Some(inner) = object.get("table").and_then(|t| t.as_object()) {
            return AMQPValue::FieldTable(table(inner));
        }
        let items = object["array"].as_array().expect("bytes, bool, table or array");
        AMQPValue::FieldArray(items.iter().map(header_value).collect::<Vec<_>>().into())
    }

    mod random {
        use super::*;
        use proptest::prelude::*;

        /// Any header value, tables and arrays nested a few levels.
        pub fn value() -> impl Strategy<Value = AMQPValue> {
            let leaf = prop_oneof![
                any::<bool>().prop_map(AMQPValue::Boolean),
                any::<i64>().prop_map(AMQPValue::LongLongInt),
                prop::collection::vec(any::<u8>(), 0..300).prop_map(|b| AMQPValue::LongString(LongString::from(b))),
                ".{0,20}".prop_map(|s| AMQPValue::ShortString(s.as_str().into())),
            ];
            leaf.prop_recursive(3, 48, 6, |inner| {
                prop_oneof![
                    prop::collection::vec(inner.clone(), 0..6).prop_map(|v| AMQPValue::FieldArray(v.into())),
                    table_of(inner).prop_map(AMQPValue::FieldTable),
                ]
            })
        }

        pub fn table_of(values: impl Strategy<Value = AMQPValue>) -> impl Strategy<Value = FieldTable> {
            prop::collection::vec((".{0,12}", values), 0..40).prop_map(|entries| {
                let mut table = FieldTable::default();
                for (name, value) in entries {
                    table.insert(name.as_str().into(), value);
                }
                table
            })
        }

        /// Strings with the bytes that have stalled intake before: NUL, controls, non-ASCII.
        fn odd_text() -> impl Strategy<Value = String> {
            prop_oneof![".{0,300}", "[a-z.\\-_:+/=@]{0,300}", "[\\u{0}-\\u{1f} \\u{7f}\\u{e9}a-z]{0,30}"]
        }

        proptest! {
            #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

            /// Whatever the properties, the check answers without panicking, and what it lets
            /// through keeps every rule: a plain queue name, printable ids, headers within caps.
            #[test]
            fn any_properties_are_checked_and_what_passes_keeps_the_rules(
                reply_to in proptest::option::of(odd_text()),
                message_id in proptest::option::of(odd_text()),
                correlation_id in proptest::option::of(odd_text()),
                headers in proptest::option::of(table_of(value())),
            ) {
                let p = Properties {
                    reply_to: reply_to.as_deref(),
                    message_id: message_id.as_deref(),
                    correlation_id: correlation_id.as_deref(),
                    headers: headers.as_ref(),
                };
                match p.check() {
                    Ok(()) => {
                        let plain = |c: char| c.is_ascii_alphanumeric() || ".-_:+/=@".contains(c);
                        prop_assert!(reply_to.as_deref().is_none_or(|r| r.len() <= 255 && r.chars().all(plain)));
                        prop_assert!(message_id.as_deref().is_none_or(printable));
                        prop_assert!(correlation_id.as_deref().is_none_or(printable));
                        prop_assert!(headers.as_ref().is_none_or(headers_within_caps));
                    }
                    Err(rejection) => {
                        prop_assert_eq!(rejection.reason, Reason::InvalidMessage);
                        prop_assert!(!rejection.detail.is_empty() && rejection.detail.len() < 200);
                    }
                }
            }
        }
    }
}
