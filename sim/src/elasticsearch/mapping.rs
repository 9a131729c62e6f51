//! Field mappings, as Elasticsearch keeps them per index: explicit ones, and the dynamic ones it
//! adds when a document brings a new field; and how a `text` field is analysed.

use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// One mapped field: its type and the `_source` path its values come from (a multi-field such as
/// `user.email.keyword` reads `user.email`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Mapped {
    pub(super) kind: String,
    pub(super) source: String,
}

/// An index's mapping: full field path -> mapped field.
pub(super) type Mapping = BTreeMap<String, Mapped>;

/// Dynamic mapping of a new document's fields, as Elasticsearch does by default.
///
/// <https://www.elastic.co/guide/en/elasticsearch/reference/7.11/dynamic-field-mapping.html>:
/// "When Elasticsearch detects a new field in a document, it dynamically adds the field to the
/// type mapping by default", and a JSON "string that doesn't pass date detection or numeric
/// detection" is mapped as "text with a .keyword sub-field"; `true or false` as `boolean`,
/// an integer as `long`, a double as `float`. (Date and numeric detection of strings are not
/// simulated: every string is `text` with `.keyword`.) Fields already mapped keep their type.
pub(super) fn add_dynamic(mapping: &mut Mapping, source: &Value) {
    let mut leaves = Vec::new();
    collect_leaves(source, "", &mut leaves);
    for (path, kind) in leaves {
        if mapping.contains_key(&path) {
            continue;
        }
        mapping.insert(path.clone(), Mapped { kind: kind.to_string(), source: path.clone() });
        if kind == "text" {
            let keyword = format!("{path}.keyword");
            mapping.entry(keyword).or_insert(Mapped { kind: "keyword".into(), source: path });
        }
    }
}

fn collect_leaves(value: &Value, prefix: &str, out: &mut Vec<(String, &'static str)>) {
    let kind = match value {
        Value::Object(object) => {
            for (key, child) in object {
                let path = if prefix.is_empty() { key.clone() } else { format!("{prefix}.{key}") };
                collect_leaves(child, &path, out);
            }
            return;
        }
        Value::Array(items) => {
            items.iter().for_each(|item| collect_leaves(item, prefix, out));
            return;
        }
        Value::Null => return,
        Value::String(_) => "text",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_f64() => "float",
        Value::Number(_) => "long",
    };
    if !prefix.is_empty() && !out.iter().any(|(path, _)| path == prefix) {
        out.push((prefix.to_string(), kind));
    }
}

/// The tokens the `standard` analyzer indexes for a `text` value: word boundaries of Unicode
/// Text Segmentation, then lower case.
///
/// <https://www.elastic.co/guide/en/elasticsearch/reference/current/analysis-standard-tokenizer.html>:
/// "The standard tokenizer provides grammar based tokenization (based on the Unicode Text
/// Segmentation algorithm, as specified in Unicode Standard Annex #29)"; Lucene's
/// StandardTokenizer notes that "URLs and email addresses are not tokenized as single tokens, but
/// are instead split up into tokens according to the UAX#29 word break rules"
/// (<https://lucene.apache.org/core/8_11_2/core/org/apache/lucene/analysis/standard/package-summary.html>),
/// and the standard analyzer lower-cases them
/// (<https://www.elastic.co/guide/en/elasticsearch/reference/current/analysis-standard-analyzer.html>).
///
/// Approximated here: letters, digits and `_` make words; `.`, `'` and `:` stay inside a word
/// between two letters or digits, `,` and `;` between two digits; anything else (`@`, `+`,
/// spaces, `-`) separates. So `ana@example.com` is `ana` and `example.com`, and
/// `+33612345678` is `33612345678`.
pub(super) fn standard_tokens(text: &str) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let word = |c: char| c.is_alphanumeric() || c == '_';
    let mut tokens = Vec::new();
    let mut current = String::new();
    for (i, &c) in chars.iter().enumerate() {
        let before = i.checked_sub(1).map(|j| chars[j]);
        let after = chars.get(i + 1).copied();
        let joins = match c {
            '.' | '\'' | ':' => before.is_some_and(|b| b.is_alphanumeric()) && after.is_some_and(char::is_alphanumeric),
            ',' | ';' => before.is_some_and(|b| b.is_numeric()) && after.is_some_and(char::is_numeric),
            _ => false,
        };
        if word(c) || (joins && !current.is_empty()) {
            current.extend(c.to_lowercase());
        } else if !current.is_empty() {
            tokens.push(std::mem::take(&mut current));
        }
    }
    if !current.is_empty() {
        tokens.push(current);
    }
    tokens
}

/// The answer of `GET /{index}/_mapping/field/{fields}` for the resolved `indices`.
///
/// <https://www.elastic.co/guide/en/elasticsearch/reference/current/indices-get-field-mapping.html>:
/// "Retrieves mapping definitions for one or more fields"; the answer has, per index,
/// `{"mappings": {"<field>": {"full_name": "<field>", "mapping": {"<leaf name>": {"type": ...}}}}}`,
/// and an index that does not map a field has no entry for it (`"mappings": {}`).
pub(super) fn field_mapping_answer(mappings: &BTreeMap<String, Mapping>, indices: &[String], fields: &[&str]) -> Value {
    let mut answer = Map::new();
    let empty = Mapping::new();
    for index in indices {
        let mapping = mappings.get(index).unwrap_or(&empty);
        let mut found = Map::new();
        for field in fields {
            let Some(mapped) = mapping.get(*field) else { continue };
            let leaf = field.rsplit('.').next().unwrap_or(field);
            let mut definition = json!({ "type": mapped.kind });
            let keyword = format!("{field}.keyword");
            if mapping.get(&keyword).is_some_and(|k| k.source == *field) {
                definition["fields"] = json!({ "keyword": { "type": "keyword", "ignore_above": 256 } });
            }
            found.insert(field.to_string(), json!({ "full_name": field, "mapping": { leaf: definition } }));
        }
        answer.insert(index.clone(), json!({ "mappings": found }));
    }
    Value::Object(answer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_text_with_a_keyword_sub_field() {
        let mut mapping = Mapping::new();
        mapping.insert("user.id".into(), Mapped { kind: "keyword".into(), source: "user.id".into() });
        add_dynamic(&mut mapping, &json!({ "user": { "email": "a@x.io", "id": "u_1" }, "n": 7, "ok": true }));
        assert_eq!(mapping["user.email"].kind, "text");
        assert_eq!(mapping["user.email.keyword"], Mapped { kind: "keyword".into(), source: "user.email".into() });
        assert_eq!(mapping["user.id"].kind, "keyword", "an explicit mapping stays");
        assert!(!mapping.contains_key("user.id.keyword"));
        assert_eq!((mapping["n"].kind.as_str(), mapping["ok"].kind.as_str()), ("long", "boolean"));
    }

    #[test]
    fn the_standard_analyzer_splits_addresses() {
        assert_eq!(standard_tokens("Ana@Example.com"), ["ana", "example.com"]);
        assert_eq!(standard_tokens("+33612345678"), ["33612345678"]);
        assert_eq!(standard_tokens("u_ana signed-in, 1,5 x."), ["u_ana", "signed", "in", "1,5", "x"]);
    }

    #[test]
    fn the_field_mapping_answer() {
        let mut mapping = Mapping::new();
        add_dynamic(&mut mapping, &json!({ "user": { "email": "a@x.io" } }));
        let mappings = BTreeMap::from([("logs-1".to_string(), mapping)]);
        let indices = vec!["logs-1".to_string(), "logs-2".to_string()];
        let answer = field_mapping_answer(&mappings, &indices, &["user.email", "user.id"]);
        assert_eq!(
            answer,
            json!({
                "logs-1": { "mappings": { "user.email": { "full_name": "user.email", "mapping": { "email": {
                    "type": "text", "fields": { "keyword": { "type": "keyword", "ignore_above": 256 } } } } } } },
                "logs-2": { "mappings": {} },
            })
        );
    }
}
