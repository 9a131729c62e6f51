//! JSON pointers (RFC 6901), with one addition for conditions: a `*` segment stands for every
//! element of an array.

use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pointer {
    segments: Vec<Segment>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Key(String),
    Any,
}

impl Pointer {
    /// `""` is the whole document; otherwise the pointer starts with `/`.
    pub fn parse(text: &str) -> Result<Pointer, String> {
        if text.is_empty() {
            return Ok(Pointer { segments: Vec::new() });
        }
        let Some(rest) = text.strip_prefix('/') else {
            return Err(format!("`{text}` is not a JSON pointer (it must start with `/`, or be empty)"));
        };
        let segments = rest
            .split('/')
            .map(|s| match s {
                "*" => Segment::Any,
                s => Segment::Key(s.replace("~1", "/").replace("~0", "~")),
            })
            .collect();
        Ok(Pointer { segments })
    }

    pub fn has_wildcard(&self) -> bool {
        self.segments.contains(&Segment::Any)
    }

    /// The one value at the pointer (a `*` takes the first element).
    pub fn get<'a>(&self, value: &'a Value) -> Option<&'a Value> {
        self.all(value).into_iter().next()
    }

    /// Every value at the pointer.
    pub fn all<'a>(&self, value: &'a Value) -> Vec<&'a Value> {
        let mut current = vec![value];
        for segment in &self.segments {
            current = current
                .into_iter()
                .flat_map(|v| match (segment, v) {
                    (Segment::Any, Value::Array(items)) => items.iter().collect::<Vec<_>>(),
                    (Segment::Any, _) => Vec::new(),
                    (Segment::Key(key), Value::Object(map)) => map.get(key).into_iter().collect(),
                    (Segment::Key(key), Value::Array(items)) => {
                        key.parse::<usize>().ok().and_then(|i| items.get(i)).into_iter().collect()
                    }
                    (Segment::Key(_), _) => Vec::new(),
                })
                .collect();
        }
        current
    }

    /// The value as text, when it is a string, a number or a boolean.
    pub fn text(&self, value: &Value) -> Option<String> {
        self.get(value).and_then(scalar_text)
    }

    /// Set `new` at the pointer inside `value`, creating objects on the way (no wildcard).
    pub fn set(&self, value: &mut Value, new: Value) {
        let mut current = value;
        for segment in &self.segments {
            let Segment::Key(key) = segment else { return };
            if !current.is_object() {
                *current = Value::Object(Default::default());
            }
            current = current.as_object_mut().expect("an object").entry(key.clone()).or_insert(Value::Null);
        }
        *current = new;
    }
}

pub fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn pointers_read_nested_values_and_wildcards() {
        let doc = json!({"a": {"b~c": [1, {"d/e": "x"}]}, "list": [{"id": 1}, {"id": "2"}]});
        assert_eq!(Pointer::parse("/a/b~0c/1/d~1e").unwrap().text(&doc), Some("x".into()));
        assert_eq!(Pointer::parse("/list/*/id").unwrap().all(&doc), vec![&json!(1), &json!("2")]);
        assert_eq!(Pointer::parse("").unwrap().get(&doc), Some(&doc));
        assert_eq!(Pointer::parse("/nothing").unwrap().get(&doc), None);
        assert!(Pointer::parse("a/b").is_err());
    }

    #[test]
    fn set_creates_the_path() {
        let mut doc = json!({"pagination": {"per_page": 5}});
        Pointer::parse("/pagination/starting_after").unwrap().set(&mut doc, json!("c1"));
        assert_eq!(doc, json!({"pagination": {"per_page": 5, "starting_after": "c1"}}));
    }
}
