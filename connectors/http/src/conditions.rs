//! Conditions on a record (the exact-match rule) or an answer (a job's status, an error body).
//! `equals = "{email}"` compares the field normalised like the subject's e-mail (`{phone}`: as a
//! phone number), so a vendor's fuzzy search never decides alone whose data is erased.

use crate::definition::Condition;
use crate::pointer::{scalar_text, Pointer};
use crate::template::{Kind, Scope, Source, Template};
use erasure_connector::subject::{normalise_email, normalise_phone};
use serde_json::Value;

/// Whether every condition holds for `value`. (Pointers and templates were checked at start-up:
/// one that does not parse here cannot hold.)
pub fn all_hold(conditions: &[Condition], value: &Value, scope: &Scope) -> bool {
    conditions.iter().all(|c| holds(c, value, scope))
}

pub fn holds(condition: &Condition, value: &Value, scope: &Scope) -> bool {
    let Ok(pointer) = Pointer::parse(&condition.field) else { return false };
    let found = pointer.all(value);
    if let Some(equals) = &condition.equals {
        let Ok(template) = Template::parse(equals) else { return false };
        if !found.iter().any(|v| equals_template(v, &template, scope)) {
            return false;
        }
    }
    if let Some(allowed) = &condition.one_of {
        if !found.iter().any(|v| allowed.contains(v)) {
            return false;
        }
    }
    if let Some(refused) = &condition.not_in {
        if found.iter().any(|v| refused.contains(v)) {
            return false;
        }
    }
    if let Some(present) = condition.present {
        let is_present = found.iter().any(|v| match v {
            Value::Null => false,
            Value::String(s) => !s.trim().is_empty(),
            Value::Array(items) => !items.is_empty(),
            Value::Object(map) => !map.is_empty(),
            _ => true,
        });
        if is_present != present {
            return false;
        }
    }
    true
}

fn equals_template(field: &Value, template: &Template, scope: &Scope) -> bool {
    let Some(text) = scalar_text(field) else { return false };
    let normalised = match template.alone() {
        Some(p) if p.transforms.is_empty() => match p.source {
            Source::Identifier(Kind::Email) => normalise_email(&text),
            Source::Identifier(Kind::Phone) => normalise_phone(&text),
            _ => Some(text),
        },
        _ => Some(text),
    };
    match (normalised, template.render_raw(scope)) {
        (Some(field), Ok(expected)) => field == expected,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn condition(text: &str) -> Condition {
        toml::from_str(text).unwrap()
    }

    #[test]
    fn an_email_matches_only_when_it_normalises_to_the_subject_s() {
        let rule = condition(
            r#"field = "/email"
equals = "{email}""#,
        );
        let scope = Scope { identifier: Some((Kind::Email, "ann@example.com")), ..Scope::default() };
        assert!(holds(&rule, &json!({"email": " Ann@EXAMPLE.com"}), &scope));
        assert!(!holds(&rule, &json!({"email": "ann+x@example.com"}), &scope));
        assert!(!holds(&rule, &json!({"email": "xann@example.com"}), &scope));
        assert!(!holds(&rule, &json!({}), &scope));
    }

    #[test]
    fn wildcards_lists_and_presence() {
        let ancestors = vec![("contacts".to_string(), json!({"id": "c1"}))];
        let scope = Scope { ancestors: &ancestors, ..Scope::default() };
        let by = condition(
            r#"field = "/contacts/*/id"
equals = "{contacts.id}""#,
        );
        assert!(holds(&by, &json!({"contacts": [{"id": "c0"}, {"id": "c1"}]}), &scope));
        assert!(!holds(&by, &json!({"contacts": [{"id": "c0"}]}), &scope));
        let kind = condition(
            r#"field = "/author/type"
in = ["user", "lead"]"#,
        );
        assert!(holds(&kind, &json!({"author": {"type": "lead"}}), &scope));
        assert!(!holds(&kind, &json!({"author": {"type": "admin"}}), &scope));
        let unredacted = condition(
            r#"field = "/redacted"
not_in = [true]"#,
        );
        assert!(holds(&unredacted, &json!({}), &scope));
        assert!(!holds(&unredacted, &json!({"redacted": true}), &scope));
        let body = condition(
            r#"field = "/body"
present = true"#,
        );
        assert!(holds(&body, &json!({"body": "hi"}), &scope));
        assert!(!holds(&body, &json!({"body": "  "}), &scope));
        assert!(!holds(&body, &json!({"body": null}), &scope));
        assert!(!holds(&body, &json!({"body": []}), &scope));
        assert!(holds(&body, &json!({"body": [{"text": "hi"}]}), &scope));
    }
}
