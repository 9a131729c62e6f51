//! What the configured fields are, index by index: a `terms` query finds whole identifiers only in
//! fields that keep whole values (`keyword` and its kin). A `text` field holds analysed tokens
//! (`ana@example.com` is indexed as `ana` and `example.com`), so the query would find nothing
//! and the person would be told there was nothing to erase.

use serde_json::Value;

/// Field types whose `terms` query compares whole stored values.
const EXACT_TYPES: &[&str] = &["keyword", "constant_keyword", "wildcard"];

/// Problems listed in a reason, at most.
const LISTED: usize = 3;

/// Check a `GET /{index}/_mapping/field/{fields}` answer: `Ok` when every field is an exact type in
/// every index; otherwise the reason, naming fields, types and indices (never values). `None` if
/// the answer is not Elasticsearch's.
pub fn check(answer: &Value, fields: &[String]) -> Option<Result<(), String>> {
    let indices = answer.as_object()?;
    let mut problems: Vec<String> = Vec::new();
    let mut count = 0;
    for (index, body) in indices {
        let mappings = body.get("mappings")?.as_object()?;
        for field in fields {
            let problem = match mappings.get(field).map(field_type) {
                None => format!("`{field}` is not mapped in index {index}"),
                Some(None) => return None,
                Some(Some(kind)) if EXACT_TYPES.contains(&kind) => continue,
                Some(Some(kind)) => format!("`{field}` is `{}` in index {index}", printable(kind)),
            };
            count += 1;
            if problems.len() < LISTED {
                problems.push(problem);
            }
        }
    }
    if count == 0 {
        return Some(Ok(()));
    }
    let more = if count > problems.len() { format!(" and {} more", count - problems.len()) } else { String::new() };
    Some(Err(format!(
        "elasticsearch: fields must be keyword fields, but {}{more}: a terms query finds whole identifiers \
         only in keyword fields (with dynamic mapping, configure `<field>.keyword`)",
        problems.join("; ")
    )))
}

/// The type in `{"full_name": ..., "mapping": {"<leaf>": {"type": ...}}}`.
fn field_type(entry: &Value) -> Option<&str> {
    let mapping = entry.get("mapping")?.as_object()?;
    mapping.values().next()?.get("type")?.as_str()
}

/// A type name as Elasticsearch spells them, else a placeholder.
fn printable(kind: &str) -> &str {
    let plain = !kind.is_empty() && kind.len() <= 40 && kind.bytes().all(|b| b.is_ascii_lowercase() || b == b'_');
    if plain {
        kind
    } else {
        "an unknown type"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fields() -> Vec<String> {
        vec!["user.email".to_string(), "user.id".to_string()]
    }

    fn entry(field: &str, kind: &str) -> Value {
        let leaf = field.rsplit('.').next().unwrap();
        json!({ "full_name": field, "mapping": { leaf: { "type": kind } } })
    }

    #[test]
    fn keyword_fields_everywhere_pass() {
        let answer = json!({
            "logs-1": { "mappings": { "user.email": entry("user.email", "keyword"), "user.id": entry("user.id", "wildcard") } },
        });
        assert_eq!(check(&answer, &fields()), Some(Ok(())));
        assert_eq!(check(&json!({}), &fields()), Some(Ok(())), "no index: nothing to check");
    }

    #[test]
    fn text_and_missing_fields_are_named() {
        let answer = json!({
            "logs-1": { "mappings": { "user.email": entry("user.email", "keyword"), "user.id": entry("user.id", "keyword") } },
            "logs-2": { "mappings": { "user.email": entry("user.email", "text") } },
        });
        assert_eq!(
            check(&answer, &fields()),
            Some(Err("elasticsearch: fields must be keyword fields, but `user.email` is `text` in index logs-2; \
                      `user.id` is not mapped in index logs-2: a terms query finds whole identifiers only in keyword \
                      fields (with dynamic mapping, configure `<field>.keyword`)"
                .into()))
        );
        assert_eq!(check(&json!({ "logs-1": {} }), &fields()), None);
        assert_eq!(check(&json!([]), &fields()), None);
    }
}
