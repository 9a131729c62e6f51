//! The places of a definition that hold placeholders or pointers (requests, bodies, conditions,
//! pagination), each checked against what is known there: [`Allowed`].

use crate::definition::{Condition, Pagination, Request};
use crate::pointer::Pointer;
use crate::template::{Kind, Source, Template};
use serde_json::Value;
use std::collections::BTreeSet;

/// What placeholders may refer to at one place of the definition.
#[derive(Default, Clone)]
pub struct Allowed {
    pub identifiers: BTreeSet<Kind>,
    pub record: bool,
    pub sets: BTreeSet<String>,
    pub job: bool,
    pub saved: bool,
    pub batch: bool,
}

pub fn request(key: &str, req: &Request, allowed: &Allowed, bulk: bool) -> Result<(), String> {
    let method = req.method.to_ascii_uppercase();
    if !["GET", "POST", "PUT", "PATCH", "DELETE"].contains(&method.as_str()) {
        return Err(format!("{key}.method: `{}` is not one of GET, POST, PUT, PATCH, DELETE", req.method));
    }
    if !req.path.starts_with('/') {
        return Err(format!("{key}.path: a path starts with `/` (it follows the base URL)"));
    }
    let no_batch = Allowed { batch: false, ..allowed.clone() };
    template(&format!("{key}.path"), &req.path, &no_batch)?;
    for (name, value) in &req.query {
        template(&format!("{key}.query.{name}"), value, &no_batch)?;
    }
    for (name, value) in &req.headers {
        template(&format!("{key}.headers.{name}"), value, &no_batch)?;
    }
    if let Some(b) = &req.body {
        body(&format!("{key}.body"), b, if bulk { allowed } else { &no_batch })?;
    }
    Ok(())
}

pub fn body(key: &str, value: &Value, allowed: &Allowed) -> Result<(), String> {
    match value {
        Value::String(text) => {
            let parsed = template(key, text, &Allowed { batch: false, ..allowed.clone() });
            match (parsed, allowed.batch && text == "{batch}") {
                (_, true) => Ok(()),
                (result, false) => result.map(|_| ()),
            }
        }
        Value::Array(items) => items.iter().enumerate().try_for_each(|(n, v)| body(&format!("{key}[{n}]"), v, allowed)),
        Value::Object(map) => map.iter().try_for_each(|(k, v)| body(&format!("{key}.{k}"), v, allowed)),
        _ => Ok(()),
    }
}

pub fn holds_batch(value: &Value) -> bool {
    match value {
        Value::String(text) => text == "{batch}",
        Value::Array(items) => items.iter().any(holds_batch),
        Value::Object(map) => map.values().any(holds_batch),
        _ => false,
    }
}

/// Parse `text` and check each placeholder is known where it is used.
pub fn template(key: &str, text: &str, allowed: &Allowed) -> Result<Template, String> {
    let parsed = Template::parse(text).map_err(|e| format!("{key}: {e}"))?;
    for p in parsed.placeholders() {
        let ok = match &p.source {
            Source::Identifier(kind) => allowed.identifiers.contains(kind),
            Source::Record(_) => allowed.record,
            Source::Set(set, _) => allowed.sets.contains(set),
            Source::Var(_) => true,
            Source::Job => allowed.job,
            Source::Saved => allowed.saved,
            Source::Batch => false,
        };
        if !ok {
            return Err(format!("{key}: placeholder {{{}}} is not known here{}", p.text, hint(&p.source)));
        }
    }
    Ok(parsed)
}

fn hint(source: &Source) -> &'static str {
    match source {
        Source::Identifier(_) => " (a step has the identifier it runs for, or its records were all found from)",
        Source::Record(_) => " ({record.…} is a record of the set the step runs for)",
        Source::Set(..) => " (the set is not one this step's records were found from)",
        Source::Job => " ({job.id} is for [erase.job] requests)",
        Source::Saved => " ({saved.id} is for a recheck)",
        Source::Batch => " (\"{batch}\" is a whole string in a bulk step's body)",
        Source::Var(_) => "",
    }
}

pub fn conditions(key: &str, list: &[Condition], allowed: &Allowed) -> Result<(), String> {
    for (n, c) in list.iter().enumerate() {
        let at = format!("{key}[{n}]");
        pointer(&format!("{at}.field"), &c.field)?;
        if let Some(equals) = &c.equals {
            template(&format!("{at}.equals"), equals, allowed)?;
        }
        if c.equals.is_none() && c.one_of.is_none() && c.not_in.is_none() && c.present.is_none() {
            return Err(format!("{at}: say what must hold: equals, in, not_in or present"));
        }
    }
    Ok(())
}

pub fn paginate(key: &str, pagination: &Pagination) -> Result<(), String> {
    let place = |query: &Option<String>, body: &Option<String>| match (query, body) {
        (Some(_), None) => Ok(()),
        (None, Some(b)) => pointer(&format!("{key}.body"), b).map(|_| ()),
        _ => Err(format!("{key}: set exactly one of `query` (a parameter name) and `body` (a JSON pointer)")),
    };
    match pagination {
        Pagination::Cursor { next, query, body } => {
            pointer(&format!("{key}.next"), next)?;
            place(query, body)
        }
        Pagination::Link => Ok(()),
        Pagination::Page { query, body, .. } => place(query, body),
        Pagination::Offset { query, body, size } => {
            if *size == 0 {
                return Err(format!("{key}.size: at least 1"));
            }
            place(query, body)
        }
    }
}

pub fn pointer(key: &str, text: &str) -> Result<Pointer, String> {
    Pointer::parse(text).map_err(|e| format!("{key}: {e}"))
}
