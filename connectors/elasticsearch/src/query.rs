//! The one query the connector sends: exact `terms` on the configured keyword fields.
//!
//! Identifiers only ever enter JSON strings of a `terms` query, which matches whole values as
//! stored: `*`, quotes and Lucene syntax are plain characters there, never patterns or operators.

use erasure_connector::Subject;
use serde_json::{json, Value};

/// The identifiers this system may hold about the subject: the product's user id, e-mails,
/// phones and the subject's id in this instance (ids in other systems are not ours to match).
pub fn identifiers(subject: &Subject, instance: &str) -> Vec<String> {
    let mut values: Vec<String> = Vec::new();
    let all = subject.user_id().into_iter().chain(subject.emails().iter().map(String::as_str));
    for value in all.chain(subject.phones().iter().map(String::as_str)).chain(subject.id_in(instance)) {
        if !values.iter().any(|v| v == value) {
            values.push(value.to_string());
        }
    }
    values
}

/// `{"query": {"bool": {"should": [{"terms": {FIELD: VALUES}}, ...], "minimum_should_match": 1}}}`.
pub fn body(fields: &[String], values: &[String]) -> Value {
    let should: Vec<Value> = fields.iter().map(|field| json!({ "terms": { field: values } })).collect();
    json!({ "query": { "bool": { "should": should, "minimum_should_match": 1 } } })
}

/// A query that matches nothing: an authenticated call that touches no document.
pub fn nothing() -> Value {
    json!({ "query": { "match_none": {} } })
}

#[cfg(test)]
mod tests {
    use super::*;
    use erasure_connector::subject::RawSubject;
    use std::collections::BTreeMap;

    #[test]
    fn identifiers_are_ours_only_and_deduplicated() {
        let subject = Subject::new(RawSubject {
            user_id: Some("u_1".into()),
            emails: vec!["a@x.io".into()],
            phones: vec!["+33612345678".into()],
            ids: BTreeMap::from([("logs".into(), "u_1".into()), ("helpdesk".into(), "3712".into())]),
        })
        .unwrap();
        assert_eq!(identifiers(&subject, "logs"), ["u_1", "a@x.io", "+33612345678"]);
    }

    #[test]
    fn hostile_values_stay_json_strings_of_a_terms_query() {
        let fields = vec!["user.email".to_string(), "user.id".to_string()];
        let values = vec!["*@x.io".to_string(), "a\"b@x.io".to_string(), "x OR *".to_string()];
        let body = body(&fields, &values);
        assert_eq!(
            body,
            json!({ "query": { "bool": { "should": [
                { "terms": { "user.email": ["*@x.io", "a\"b@x.io", "x OR *"] } },
                { "terms": { "user.id": ["*@x.io", "a\"b@x.io", "x OR *"] } },
            ], "minimum_should_match": 1 } } })
        );
        assert!(body.to_string().contains(r#""a\"b@x.io""#));
    }
}
