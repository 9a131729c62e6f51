//! What a request asks: the query subset the simulator understands, and the URL parameters.

use super::error::EsError;
use super::mapping::{standard_tokens, Mapping};
use crate::text::glob;
use serde_json::Value;
use std::collections::HashMap;

/// A query of the subset the simulator understands.
pub(super) enum SimQuery {
    All,
    None,
    Terms { field: String, values: Vec<String> },
    Bool { must: Vec<SimQuery>, must_not: Vec<SimQuery>, should: Vec<SimQuery>, minimum_should_match: usize },
}

impl SimQuery {
    pub(super) fn parse(value: &Value) -> Result<SimQuery, EsError> {
        let object = value
            .as_object()
            .filter(|o| o.len() == 1)
            .ok_or_else(|| EsError::bad("a query must be an object with exactly one key (the query type)"))?;
        let (kind, body) = object.iter().next().expect("one key");
        match kind.as_str() {
            "match_all" => Ok(SimQuery::All),
            "match_none" => Ok(SimQuery::None),
            "term" => {
                let (field, value) = single_field(body, "term")?;
                let value = value.get("value").unwrap_or(value);
                Ok(SimQuery::Terms { field, values: vec![scalar(value)?] })
            }
            "terms" => {
                let (field, values) = single_field(body, "terms")?;
                let values = values
                    .as_array()
                    .ok_or_else(|| EsError::bad("[terms] takes an array of values (terms lookup is not simulated)"))?;
                let values = values.iter().map(scalar).collect::<Result<_, _>>()?;
                Ok(SimQuery::Terms { field, values })
            }
            "bool" => SimQuery::parse_bool(body),
            other => Err(EsError::bad(format!(
                "unknown query [{other}] (the simulator understands bool, term, terms, match_all, match_none)"
            ))),
        }
    }

    pub(super) fn parse_bool(body: &Value) -> Result<SimQuery, EsError> {
        let object = body.as_object().ok_or_else(|| EsError::bad("[bool] must be an object"))?;
        let clauses = |key: &str| -> Result<Vec<SimQuery>, EsError> {
            match object.get(key) {
                None => Ok(Vec::new()),
                Some(Value::Array(items)) => items.iter().map(SimQuery::parse).collect(),
                Some(one) => Ok(vec![SimQuery::parse(one)?]),
            }
        };
        let mut must = clauses("must")?;
        must.extend(clauses("filter")?);
        let should = clauses("should")?;
        let minimum_should_match = match object.get("minimum_should_match") {
            None => usize::from(must.is_empty() && !should.is_empty()),
            Some(Value::Number(n)) => n.as_u64().ok_or_else(|| EsError::bad("minimum_should_match: a count"))? as usize,
            Some(Value::String(s)) => s.parse().map_err(|_| EsError::bad("minimum_should_match: a count"))?,
            Some(_) => return Err(EsError::bad("minimum_should_match: a count")),
        };
        for key in object.keys() {
            if !matches!(key.as_str(), "must" | "filter" | "should" | "must_not" | "minimum_should_match" | "boost") {
                return Err(EsError::bad(format!("[bool] query does not support [{key}]")));
            }
        }
        Ok(SimQuery::Bool { must, must_not: clauses("must_not")?, should, minimum_should_match })
    }

    /// Whether the document matches, its fields typed by its index's `mapping` (`None`: every
    /// field compared whole, as the tests' own view of what is stored).
    ///
    /// A `term`/`terms` query is not analysed, and matches a `text` field's analysed tokens only
    /// (<https://www.elastic.co/guide/en/elasticsearch/reference/current/query-dsl-term-query.html>:
    /// "Avoid using the term query for text fields. By default, Elasticsearch changes the values of
    /// text fields as part of analysis. This can make finding exact matches for text field values
    /// difficult."; the terms query "is the same as the term query, except you can search for
    /// multiple values", <https://www.elastic.co/guide/en/elasticsearch/reference/current/query-dsl-terms-query.html>).
    /// So `{"terms": {"user.email": ["ana@example.com"]}}` finds nothing in a `text` field that
    /// holds `ana@example.com` (indexed as `ana` and `example.com`). A field the index does not map
    /// matches nothing.
    pub(super) fn matches(&self, source: &Value, mapping: Option<&Mapping>) -> bool {
        match self {
            SimQuery::All => true,
            SimQuery::None => false,
            SimQuery::Terms { field, values } => match mapping.map(|m| m.get(field)) {
                None => field_values(source, field).iter().any(|v| values.contains(v)),
                Some(None) => false,
                Some(Some(mapped)) if mapped.kind == "text" => field_values(source, &mapped.source)
                    .iter()
                    .flat_map(|v| standard_tokens(v))
                    .any(|token| values.contains(&token)),
                Some(Some(mapped)) => field_values(source, &mapped.source).iter().any(|v| values.contains(v)),
            },
            SimQuery::Bool { must, must_not, should, minimum_should_match } => {
                must.iter().all(|q| q.matches(source, mapping))
                    && !must_not.iter().any(|q| q.matches(source, mapping))
                    && should.iter().filter(|q| q.matches(source, mapping)).count() >= *minimum_should_match
            }
        }
    }

    /// Every value the query looks for: what the call record shows as identifiers.
    pub(super) fn values(&self) -> Vec<String> {
        match self {
            SimQuery::All | SimQuery::None => Vec::new(),
            SimQuery::Terms { values, .. } => values.clone(),
            SimQuery::Bool { must, must_not, should, .. } => {
                must.iter().chain(must_not).chain(should).flat_map(SimQuery::values).collect()
            }
        }
    }
}

pub(super) fn single_field<'a>(body: &'a Value, kind: &str) -> Result<(String, &'a Value), EsError> {
    let object = body.as_object().ok_or_else(|| EsError::bad(format!("[{kind}] must be an object")))?;
    let mut fields = object.iter().filter(|(k, _)| !matches!(k.as_str(), "boost" | "_name"));
    match (fields.next(), fields.next()) {
        (Some((field, value)), None) => Ok((field.clone(), value)),
        _ => Err(EsError::bad(format!("[{kind}] query takes exactly one field"))),
    }
}

pub(super) fn scalar(value: &Value) -> Result<String, EsError> {
    match value {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        _ => Err(EsError::bad("a term must be a string, number or boolean")),
    }
}

/// The values at `path` in a `_source`: nested objects and dotted keys alike, arrays flattened.
pub(super) fn field_values(source: &Value, path: &str) -> Vec<String> {
    let parts: Vec<&str> = path.split('.').collect();
    let mut found = Vec::new();
    collect(source, &parts, &mut found);
    found
}

pub(super) fn collect(value: &Value, parts: &[&str], found: &mut Vec<String>) {
    match value {
        Value::Array(items) => items.iter().for_each(|item| collect(item, parts, found)),
        Value::Object(object) if !parts.is_empty() => {
            for split in 1..=parts.len() {
                if let Some(child) = object.get(&parts[..split].join(".")) {
                    collect(child, &parts[split..], found);
                }
            }
        }
        Value::String(_) | Value::Number(_) | Value::Bool(_) if parts.is_empty() => {
            found.extend(scalar(value).ok());
        }
        _ => {}
    }
}

/// Whether an index expression (as in a path) selects `name`, ignoring exclusions.
pub(super) fn selects(expr: &str, name: &str) -> bool {
    expr.split(',').any(|part| part == "_all" || glob(part, name))
}

pub(super) fn flag(params: &HashMap<String, String>, key: &str, default: bool) -> Result<bool, EsError> {
    match params.get(key).map(String::as_str) {
        None => Ok(default),
        Some("" | "true") => Ok(true),
        Some("false") => Ok(false),
        Some(other) => Err(EsError::new(
            400,
            "illegal_argument_exception",
            format!("Failed to parse value [{other}] as only [true] or [false] are allowed."),
        )),
    }
}

pub(super) fn check_params(params: &HashMap<String, String>, allowed: &[&str]) -> Result<(), EsError> {
    if params.contains_key("q") {
        return Err(EsError::new(400, "illegal_argument_exception", "the simulator refuses query strings (`q`)"));
    }
    match params.keys().find(|key| !allowed.contains(&key.as_str()) && key.as_str() != "pretty") {
        Some(key) => Err(EsError::new(400, "illegal_argument_exception", format!("unrecognized parameter: [{key}]"))),
        None => Ok(()),
    }
}

/// The body's `query` (absent: all documents), or why it is refused.
pub(super) fn body_query(body: &[u8], required: bool) -> Result<SimQuery, EsError> {
    if body.is_empty() {
        return if required { Err(EsError::bad("request body is required")) } else { Ok(SimQuery::All) };
    }
    let value: Value = serde_json::from_slice(body).map_err(|_| EsError::bad("the body is not JSON"))?;
    let object = value.as_object().ok_or_else(|| EsError::bad("the body must be an object"))?;
    if let Some(key) = object.keys().find(|k| k.as_str() != "query") {
        return Err(EsError::bad(format!("request does not support [{key}]")));
    }
    match object.get("query") {
        Some(query) => SimQuery::parse(query),
        None if required => Err(EsError::new(400, "action_request_validation_exception", "query is missing")),
        None => Ok(SimQuery::All),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fields_are_read_nested_or_dotted() {
        let source = json!({ "user": { "email": "a@x.io" }, "client.phone": ["+331", "+332"], "n": 7 });
        assert_eq!(field_values(&source, "user.email"), ["a@x.io"]);
        assert_eq!(field_values(&source, "client.phone"), ["+331", "+332"]);
        assert_eq!(field_values(&source, "n"), ["7"]);
        assert!(field_values(&source, "user").is_empty());
    }

    #[test]
    fn queries_are_exact_and_refuse_full_text() {
        let q = SimQuery::parse(
            &json!({ "bool": { "should": [ { "terms": { "user.email": ["*@x.io"] } } ], "minimum_should_match": 1 } }),
        )
        .ok()
        .unwrap();
        assert!(!q.matches(&json!({ "user": { "email": "a@x.io" } }), None));
        assert!(q.matches(&json!({ "user": { "email": "*@x.io" } }), None));
        assert!(SimQuery::parse(&json!({ "match": { "user.email": "a@x.io" } })).is_err());
        assert!(SimQuery::parse(&json!({ "query_string": { "query": "*" } })).is_err());
    }

    #[test]
    fn terms_on_a_text_field_match_analysed_tokens_only() {
        use crate::elasticsearch::mapping::{add_dynamic, Mapped};
        let doc = json!({ "user": { "email": "Ana@example.com", "id": "u_ana" } });
        let mut mapping = Mapping::new();
        mapping.insert("user.id".into(), Mapped { kind: "keyword".into(), source: "user.id".into() });
        add_dynamic(&mut mapping, &doc);
        let terms = |field: &str, value: &str| SimQuery::Terms { field: field.into(), values: vec![value.into()] };
        assert!(!terms("user.email", "Ana@example.com").matches(&doc, Some(&mapping)), "text: no whole value");
        assert!(terms("user.email", "ana").matches(&doc, Some(&mapping)), "text: a lower-cased token");
        assert!(terms("user.email.keyword", "Ana@example.com").matches(&doc, Some(&mapping)));
        assert!(!terms("user.email.keyword", "ana@example.com").matches(&doc, Some(&mapping)), "keyword: exact");
        assert!(terms("user.id", "u_ana").matches(&doc, Some(&mapping)));
        assert!(!terms("client.phone", "u_ana").matches(&doc, Some(&mapping)), "unmapped: nothing");
    }
}
