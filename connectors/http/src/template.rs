//! Placeholders: `{email}`, `{record./id}`, `{contacts.id}`, `{vars.list_id}`, `{job.id}`,
//! `{saved.id}`, `{batch}`, each with optional transforms (`{email|lower|md5}`). A template is
//! parsed into text and placeholders; a value is encoded for where it lands by the caller
//! (`render` takes the encoder), never spliced raw into a URL or a JSON text.

use crate::pointer::Pointer;
use md5::{Digest, Md5};
use serde_json::Value;
use std::collections::BTreeMap;

/// The kinds of subject identifier a step can run for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    Email,
    Phone,
    UserId,
    Id,
}

impl Kind {
    pub fn parse(name: &str) -> Option<Kind> {
        match name {
            "email" => Some(Kind::Email),
            "phone" => Some(Kind::Phone),
            "user_id" => Some(Kind::UserId),
            "id" => Some(Kind::Id),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Kind::Email => "email",
            Kind::Phone => "phone",
            Kind::UserId => "user_id",
            Kind::Id => "id",
        }
    }
}

/// Where a placeholder's value comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    Identifier(Kind),
    /// A field of the record the step runs for.
    Record(Pointer),
    /// A field of the record of an earlier set this one was found from.
    Set(String, Pointer),
    Var(String),
    Job,
    Saved,
    Batch,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transform {
    Lower,
    Md5,
    /// Percent-encoded as one path segment (for a path inside a JSON body).
    Segment,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Placeholder {
    pub source: Source,
    pub transforms: Vec<Transform>,
    /// As written, without the braces, for error messages.
    pub text: String,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Piece {
    Text(String),
    Value(Placeholder),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Template(pub Vec<Piece>);

/// Why a template could not be rendered for one record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RenderError {
    /// The placeholder has no value here (a record without that field).
    Missing(String),
    /// A path segment would be empty, `.` or `..`: it cannot address one resource.
    Unaddressable,
}

/// What placeholders can refer to while one request is rendered.
#[derive(Default, Clone, Copy)]
pub struct Scope<'a> {
    pub identifier: Option<(Kind, &'a str)>,
    pub record: Option<&'a Value>,
    /// Earlier records this one was found from, nearest last: (set name, record).
    pub ancestors: &'a [(String, Value)],
    pub vars: Option<&'a BTreeMap<String, String>>,
    pub job: Option<&'a str>,
    pub saved: Option<&'a str>,
}

impl Template {
    pub fn parse(text: &str) -> Result<Template, String> {
        let mut pieces = Vec::new();
        let mut rest = text;
        while let Some(open) = rest.find('{') {
            if open > 0 {
                pieces.push(Piece::Text(rest[..open].to_string()));
            }
            let after = &rest[open + 1..];
            let close = after.find('}').ok_or_else(|| format!("`{{` without `}}` in `{text}`"))?;
            pieces.push(Piece::Value(Placeholder::parse(&after[..close])?));
            rest = &after[close + 1..];
        }
        if !rest.is_empty() {
            pieces.push(Piece::Text(rest.to_string()));
        }
        Ok(Template(pieces))
    }

    pub fn placeholders(&self) -> impl Iterator<Item = &Placeholder> {
        self.0.iter().filter_map(|p| match p {
            Piece::Value(p) => Some(p),
            Piece::Text(_) => None,
        })
    }

    /// The one placeholder a template consists of, if it is exactly one.
    pub fn alone(&self) -> Option<&Placeholder> {
        match self.0.as_slice() {
            [Piece::Value(p)] => Some(p),
            _ => None,
        }
    }

    /// The text, each placeholder's value passed through `encode` (which may refuse it).
    pub fn render(
        &self,
        scope: &Scope,
        encode: impl Fn(String) -> Result<String, RenderError>,
    ) -> Result<String, RenderError> {
        let mut out = String::new();
        for piece in &self.0 {
            match piece {
                Piece::Text(text) => out.push_str(text),
                Piece::Value(p) => out.push_str(&encode(p.value(scope)?)?),
            }
        }
        Ok(out)
    }

    /// The text with values as they are: for query values, headers and JSON strings, whose
    /// encoders (the URL builder, the JSON serialiser) come after.
    pub fn render_raw(&self, scope: &Scope) -> Result<String, RenderError> {
        self.render(scope, Ok)
    }
}

impl Placeholder {
    fn parse(inner: &str) -> Result<Placeholder, String> {
        let mut parts = inner.split('|');
        let name = parts.next().unwrap_or("").trim();
        let transforms = parts
            .map(|t| match t.trim() {
                "lower" => Ok(Transform::Lower),
                "md5" => Ok(Transform::Md5),
                "segment" => Ok(Transform::Segment),
                other => Err(format!("unknown transform `{other}` in {{{inner}}} (known: lower, md5, segment)")),
            })
            .collect::<Result<Vec<_>, _>>()?;
        let source = if let Some(kind) = Kind::parse(name) {
            Source::Identifier(kind)
        } else {
            match name.split_once('.') {
                Some(("record", field)) => Source::Record(field_pointer(field, inner)?),
                Some(("vars", var)) if !var.is_empty() => Source::Var(var.to_string()),
                Some(("job", "id")) => Source::Job,
                Some(("saved", "id")) => Source::Saved,
                Some((set, field)) if !set.is_empty() => Source::Set(set.to_string(), field_pointer(field, inner)?),
                _ if name == "batch" => Source::Batch,
                _ => return Err(format!("unknown placeholder {{{inner}}}")),
            }
        };
        Ok(Placeholder { source, transforms, text: inner.to_string() })
    }

    /// The value in `scope`, transformed.
    pub fn value(&self, scope: &Scope) -> Result<String, RenderError> {
        let missing = || RenderError::Missing(self.text.clone());
        let mut value = match &self.source {
            Source::Identifier(kind) => match scope.identifier {
                Some((k, v)) if k == *kind => v.to_string(),
                _ => return Err(missing()),
            },
            Source::Record(pointer) => scope.record.and_then(|r| pointer.text(r)).ok_or_else(missing)?,
            Source::Set(set, pointer) => scope
                .ancestors
                .iter()
                .rev()
                .find(|(name, _)| name == set)
                .and_then(|(_, record)| pointer.text(record))
                .ok_or_else(missing)?,
            Source::Var(name) => scope.vars.and_then(|v| v.get(name)).cloned().ok_or_else(missing)?,
            Source::Job => scope.job.map(str::to_string).ok_or_else(missing)?,
            Source::Saved => scope.saved.map(str::to_string).ok_or_else(missing)?,
            Source::Batch => return Err(missing()),
        };
        for transform in &self.transforms {
            value = match transform {
                Transform::Lower => value.to_lowercase(),
                Transform::Md5 => hex::encode(Md5::digest(value.as_bytes())),
                Transform::Segment => path_segment(value)?,
            };
        }
        Ok(value)
    }
}

/// `/a/b` is a JSON pointer; `a.b` means `/a/b`.
fn field_pointer(field: &str, inner: &str) -> Result<Pointer, String> {
    let text = if field.starts_with('/') { field.to_string() } else { format!("/{}", field.replace('.', "/")) };
    Pointer::parse(&text).map_err(|e| format!("{{{inner}}}: {e}"))
}

/// Percent-encode one path segment: everything but RFC 3986's unreserved characters, so a value
/// can never add a segment, a query or a fragment; `""`, `.` and `..` are refused (URL parsers
/// resolve dot segments, even percent-encoded).
pub fn path_segment(value: String) -> Result<String, RenderError> {
    if matches!(value.as_str(), "" | "." | "..") {
        return Err(RenderError::Unaddressable);
    }
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn scope_with<'a>(record: &'a Value, vars: &'a BTreeMap<String, String>) -> Scope<'a> {
        Scope {
            identifier: Some((Kind::Email, "Ann@Example.com")),
            record: Some(record),
            vars: Some(vars),
            ..Scope::default()
        }
    }

    #[test]
    fn placeholders_parse_and_render_with_transforms() {
        let record = json!({"id": 7, "source": {"id": "s1"}});
        let vars = BTreeMap::from([("list".to_string(), "L1".to_string())]);
        let scope = scope_with(&record, &vars);
        let t = Template::parse("/lists/{vars.list}/members/{email|lower|md5}?r={record.id}&s={record./source/id}")
            .unwrap();
        let hash = hex::encode(Md5::digest(b"ann@example.com"));
        assert_eq!(t.render_raw(&scope).unwrap(), format!("/lists/L1/members/{hash}?r=7&s=s1"));
        assert!(Template::parse("{emial}").unwrap_err().contains("unknown placeholder {emial}"));
        assert!(Template::parse("{email|upper}").unwrap_err().contains("unknown transform `upper`"));
        assert!(Template::parse("/x/{email").is_err());
        assert_eq!(
            Template::parse("{record./missing}").unwrap().render_raw(&scope),
            Err(RenderError::Missing("record./missing".into()))
        );
    }

    #[test]
    fn hostile_values_stay_inside_their_path_segment() {
        let enc = |v: &str| path_segment(v.to_string());
        assert_eq!(enc("u_123-a.b~c").unwrap(), "u_123-a.b~c");
        assert_eq!(enc("a/../b").unwrap(), "a%2F..%2Fb");
        assert_eq!(enc("x?y=1").unwrap(), "x%3Fy%3D1");
        assert_eq!(enc("a#b").unwrap(), "a%23b");
        assert_eq!(enc("\"}").unwrap(), "%22%7D");
        assert_eq!(enc("%2e%2e").unwrap(), "%252e%252e");
        assert_eq!(enc("é").unwrap(), "%C3%A9");
        for bad in ["", ".", ".."] {
            assert_eq!(enc(bad), Err(RenderError::Unaddressable), "{bad:?}");
        }
    }

    #[test]
    fn an_identifier_of_another_kind_is_missing() {
        let t = Template::parse("{phone}").unwrap();
        let scope = Scope { identifier: Some((Kind::Email, "a@b.c")), ..Scope::default() };
        assert_eq!(t.render_raw(&scope), Err(RenderError::Missing("phone".into())));
    }
}
