//! Intercom's search bodies: filters (`{"field", "operator", "value"}`, nested `AND`/`OR`) and
//! cursor pagination.

use super::answer::{bad_request, Answer};
use serde_json::{json, Value};

/// A searchable field's values, and whether they compare case-insensitively; `None`: not searchable.
pub(super) type Field = Option<(Vec<String>, bool)>;

/// A search body as Intercom takes it: a `query` object and an optional `pagination`, nothing
/// else. (Prism does not check these bodies: the spec's recursive filter schema defeats it.)
pub(super) fn search_body(request: Option<Value>) -> Result<Value, Answer> {
    let Some(request) = request.filter(|r| r["query"].is_object()) else {
        return Err(bad_request("the body must be JSON with a query"));
    };
    let only = |v: &Value, keys: &[&str]| v.as_object().is_none_or(|m| m.keys().all(|k| keys.contains(&k.as_str())));
    if !only(&request, &["query", "pagination"]) || !only(&request["pagination"], &["per_page", "starting_after"]) {
        return Err(bad_request("a search body holds query and pagination (per_page, starting_after) only"));
    }
    Ok(request)
}

/// Does the item match the filter? `field` gives a field's values (and whether they compare
/// case-insensitively), or `None` for a field the endpoint cannot search.
pub(super) fn matches(filter: &Value, field: &dyn Fn(&str) -> Field) -> Result<bool, String> {
    let operator = filter["operator"].as_str().ok_or("every filter needs an operator")?;
    if matches!(operator, "AND" | "OR") {
        let filters = filter["value"].as_array().ok_or("AND and OR take an array of filters")?;
        let results = filters.iter().map(|f| matches(f, field)).collect::<Result<Vec<_>, _>>()?;
        return Ok(if operator == "AND" { results.iter().all(|r| *r) } else { results.iter().any(|r| *r) });
    }
    let name = filter["field"].as_str().ok_or("a filter needs a field")?;
    let (values, folded) = field(name).ok_or_else(|| format!("{name} is not a searchable field"))?;
    let fold = |s: &str| if folded { s.to_lowercase() } else { s.to_string() };
    let wanted: Vec<String> = match &filter["value"] {
        Value::String(s) => vec![fold(s)],
        Value::Array(items) if matches!(operator, "IN" | "NIN") => {
            items.iter().map(|i| i.as_str().map(fold).ok_or("IN and NIN take strings")).collect::<Result<_, _>>()?
        }
        _ => return Err(format!("the value for {name} must be a string")),
    };
    let any = |test: &dyn Fn(&str, &str) -> bool| values.iter().any(|v| wanted.iter().any(|w| test(v, w)));
    Ok(match operator {
        "=" | "IN" => any(&|v, w| v == w),
        "!=" | "NIN" => !any(&|v, w| v == w),
        "~" => any(&|v, w| v.contains(w)),
        "!~" => !any(&|v, w| v.contains(w)),
        "^" => any(&|v, w| v.starts_with(w)),
        "$" => any(&|v, w| v.ends_with(w)),
        other => return Err(format!("operator {other} is not supported on {name}")),
    })
}

/// Every string a filter searches for: what the call carried, for the call record.
pub(super) fn filter_values(filter: &Value) -> Vec<String> {
    match filter {
        Value::Object(map) if map.contains_key("field") => match map.get("value") {
            Some(Value::String(s)) => vec![s.clone()],
            Some(Value::Array(items)) => items.iter().filter_map(|i| i.as_str().map(str::to_string)).collect(),
            _ => Vec::new(),
        },
        Value::Object(map) => {
            map.get("value").and_then(Value::as_array).into_iter().flatten().flat_map(filter_values).collect()
        }
        _ => Vec::new(),
    }
}

/// One page of `items` (sorted by their cursor key) after `pagination.starting_after`: the items,
/// the total count and the `pages` object. The cursor is the last key returned, hex-encoded, so a
/// deletion between two pages never makes the next page skip anyone.
pub(super) fn paginate(
    items: Vec<(String, Value)>,
    pagination: &Value,
    default_per_page: usize,
    cap: usize,
) -> Result<(Vec<Value>, usize, Value), Answer> {
    let per_page = match &pagination["per_page"] {
        Value::Null => default_per_page,
        n => n.as_u64().filter(|n| (1..=150).contains(n)).ok_or_else(|| bad_request("per_page must be 1 to 150"))?
            as usize,
    }
    .min(cap.max(1));
    let after = match pagination["starting_after"].as_str() {
        None => None,
        Some(cursor) => Some(
            hex::decode(cursor)
                .ok()
                .and_then(|k| String::from_utf8(k).ok())
                .ok_or_else(|| bad_request("starting_after is not a cursor from this search"))?,
        ),
    };
    let total = items.len();
    let skipped = after.as_ref().map_or(0, |after| items.iter().filter(|(k, _)| k <= after).count());
    let rest: Vec<(String, Value)> = items.into_iter().skip(skipped).collect();
    let more = rest.len() > per_page;
    let page: Vec<(String, Value)> = rest.into_iter().take(per_page).collect();
    let mut pages = json!({
        "type": "pages",
        "page": skipped / per_page + 1,
        "per_page": per_page,
        "total_pages": total.div_ceil(per_page),
    });
    if let (true, Some((last, _))) = (more, page.last()) {
        pages["next"] = json!({ "per_page": per_page, "starting_after": hex::encode(last) });
    }
    Ok((page.into_iter().map(|(_, v)| v).collect(), total, pages))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(values: &[&str]) -> impl Fn(&str) -> Field {
        let values: Vec<String> = values.iter().map(|v| v.to_lowercase()).collect();
        move |name| (name == "email").then(|| (values.clone(), true))
    }

    #[test]
    fn filters_match_exactly_unless_asked_otherwise() {
        let ana = field(&["Ana@Example.com"]);
        let test = |filter: Value| matches(&filter, &ana);
        assert_eq!(test(json!({ "field": "email", "operator": "=", "value": "ana@example.COM" })), Ok(true));
        assert_eq!(test(json!({ "field": "email", "operator": "=", "value": "*@example.com" })), Ok(false));
        assert_eq!(test(json!({ "field": "email", "operator": "~", "value": "example" })), Ok(true));
        assert_eq!(
            test(json!({ "field": "email", "operator": "IN", "value": ["x@y.io", "ana@example.com"] })),
            Ok(true)
        );
        let either = json!({ "operator": "OR", "value": [
            { "field": "email", "operator": "=", "value": "x@y.io" },
            { "field": "email", "operator": "$", "value": ".com" } ] });
        assert_eq!(test(either), Ok(true));
        assert!(test(json!({ "field": "password", "operator": "=", "value": "x" })).is_err());
        assert!(test(json!({ "field": "email", "operator": "==", "value": "x" })).is_err());
        assert!(test(json!({ "field": "email", "operator": "=", "value": 5 })).is_err());
    }

    #[test]
    fn a_cursor_skips_no_one_when_an_item_is_deleted_between_pages() {
        let items = |keys: &[&str]| keys.iter().map(|k| (k.to_string(), json!(k))).collect::<Vec<_>>();
        let (first, total, pages) =
            paginate(items(&["a", "b", "c", "d", "e"]), &json!({ "per_page": 2 }), 50, 3).unwrap();
        assert_eq!((first, total), (vec![json!("a"), json!("b")], 5));
        let cursor = pages["next"]["starting_after"].clone();
        let (second, _, pages) =
            paginate(items(&["c", "d", "e"]), &json!({ "per_page": 2, "starting_after": cursor }), 50, 3).unwrap();
        assert_eq!(second, vec![json!("c"), json!("d")]);
        assert!(pages["next"].is_object());
        let (capped, _, _) = paginate(items(&["a", "b", "c", "d", "e"]), &Value::Null, 50, 3).unwrap();
        assert_eq!(capped.len(), 3, "the page size caps what the caller asks for");
        assert!(paginate(items(&["a"]), &json!({ "starting_after": "not hex" }), 50, 3).is_err());
    }
}
