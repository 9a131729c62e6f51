//! What serde cannot check in a definition, checked at start-up: set names, placeholders
//! against what is known where they are used, JSON pointers, the exact-match rule of every step
//! run for an identifier. An error is `key: message` (`erase[0].path: unknown placeholder {emial}`).

mod places;

use crate::definition::{Condition, Definition, Erase, Find, Request};
use crate::template::{Kind, Source, Template};
use places::{body, conditions, holds_batch, paginate, pointer, request, template, Allowed};
use std::collections::{BTreeMap, BTreeSet};

const RESERVED: &[&str] = &["email", "phone", "user_id", "id", "record", "vars", "job", "saved", "batch"];

/// What is known of a set: the sets its records were found from, and the identifier kinds its
/// records come from.
#[derive(Default, Clone)]
struct SetInfo {
    ancestors: BTreeSet<String>,
    kinds: BTreeSet<Kind>,
    /// Some of its records were not matched to the person (a `scope_only` step made them).
    unmatched: bool,
}

pub fn check(def: &Definition, vars: &BTreeMap<String, String>) -> Result<(), String> {
    check_structure(def)?;
    used_vars(def, vars)
}

/// Everything but the instance's `vars`.
pub fn check_structure(def: &Definition) -> Result<(), String> {
    if let Some(label) = &def.label {
        label.check().map_err(|(language, message)| format!("label.{language}: {message}"))?;
    }
    if def.find.is_empty() {
        return Err("find: a definition needs at least one find step".into());
    }
    let mut sets: BTreeMap<String, SetInfo> = BTreeMap::new();
    for (i, step) in def.find.iter().enumerate() {
        let info = find_step(i, step, &sets)?;
        match sets.get_mut(&step.name) {
            None => {
                sets.insert(step.name.clone(), info);
            }
            Some(known) => {
                known.ancestors = known.ancestors.intersection(&info.ancestors).cloned().collect();
                known.kinds.extend(info.kinds);
                known.unmatched |= info.unmatched;
            }
        }
    }
    for (j, step) in def.erase.iter().enumerate() {
        erase_step(j, step, &sets)?;
    }
    let vars_only = Allowed::default();
    for (name, value) in &def.headers {
        template(&format!("headers.{name}"), value, &vars_only)?;
    }
    if let Some(health) = &def.healthcheck {
        request("healthcheck", health, &vars_only, false)?;
    }
    for (k, mapping) in def.errors.iter().enumerate() {
        if mapping.status.iter().any(|s| !(100..=599).contains(s)) {
            return Err(format!("errors[{k}].status: a status is 100 to 599"));
        }
        if let Some(field) = &mapping.field {
            pointer(&format!("errors[{k}].field"), field)?;
        }
        if let Some(equals) = &mapping.equals {
            template(&format!("errors[{k}].equals"), equals, &vars_only)?;
        }
    }
    for (n, found) in def.evidence.found.iter().enumerate() {
        if !sets.contains_key(&found.set) {
            return Err(format!("evidence.found[{n}].set: no find step makes a set named `{}`", found.set));
        }
        if !found.note.contains("{count}") {
            return Err(format!("evidence.found[{n}].note: say how many with {{count}}"));
        }
    }
    let lookup = def.lookup_set();
    let lookup = &lookup;
    match sets.get(lookup) {
        None => return Err(format!("lookup: no find step makes a set named `{lookup}`")),
        Some(info) if info.unmatched => {
            return Err(format!("lookup: `{lookup}` is a scope-only set: look up a set matched to the person"))
        }
        Some(_) => {}
    }
    if let Some(auth) = &def.auth {
        auth_keys(auth)?;
    }
    Ok(())
}

fn find_step(i: usize, step: &Find, sets: &BTreeMap<String, SetInfo>) -> Result<SetInfo, String> {
    let key = |k: &str| format!("find[{i}].{k}");
    if step.name.is_empty() || RESERVED.contains(&step.name.as_str()) || step.name.contains(['.', '|', '{', '}']) {
        return Err(format!(
            "{}: `{}` cannot name a set (reserved, empty, or holds . | {{ }})",
            key("name"),
            step.name
        ));
    }
    let (allowed, info) = scope_of(&step.for_each, sets).ok_or_else(|| {
        format!(
            "{}: `{}` is neither an identifier kind (email, phone, user_id, id) nor the name of an earlier find step",
            key("for_each"),
            step.for_each
        )
    })?;
    match step.request() {
        Some(req) => request(&format!("find[{i}]"), &req, &allowed, false)?,
        None => {
            if Kind::parse(&step.for_each).is_some() {
                return Err(format!("{}: a step run for an identifier needs a request", key("path")));
            }
            if step.method.is_some() || !step.query.is_empty() || step.body.is_some() || step.pagination.is_some() {
                return Err(format!("{}: a step without `path` reads records out of an earlier set's records: it has no method, query, body or pagination", key("path")));
            }
        }
    }
    pointer(&key("records"), &step.records)?;
    let id = pointer(&key("id"), &step.id)?;
    if id.has_wildcard() {
        return Err(format!("{}: a record's id is one value, not `*`", key("id")));
    }
    conditions(&key("match"), &step.matches, &allowed)?;
    // Records matched to the person come from a step run for an identifier with the exact-match
    // rule, or from a step run for a set whose records are all matched; a step after a
    // scope-only set carries the rule itself.
    let parent_unmatched = sets.get(&step.for_each).is_some_and(|s| s.unmatched);
    let needs_rule = (Kind::parse(&step.for_each).is_some() || parent_unmatched) && !step.scope_only;
    let kinds: Vec<Kind> = info.kinds.iter().copied().collect();
    if needs_rule && !exact_rule(&step.matches, &kinds) {
        let kind = kinds.first().map_or("email", |k| k.name());
        return Err(format!(
            "{}: a step run for `{}` needs an exact-match rule, e.g. {{ field = \"/{kind}\", equals = \"{{{kind}}}\" }}: vendor search is often fuzzy",
            key("match"),
            step.for_each,
        ));
    }
    let info = SetInfo { unmatched: step.scope_only || (parent_unmatched && !needs_rule), ..info };
    if let Some(pagination) = &step.pagination {
        paginate(&key("pagination"), pagination)?;
    }
    Ok(info)
}

/// A condition `equals = "{KIND}"` (alone) for one of `kinds`.
fn exact_rule(matches: &[Condition], kinds: &[Kind]) -> bool {
    matches.iter().any(|c| {
        c.equals
            .as_deref()
            .and_then(|e| Template::parse(e).ok())
            .is_some_and(|t| t.alone().is_some_and(|p| matches!(p.source, Source::Identifier(k) if kinds.contains(&k))))
    })
}

/// What a step running for `for_each` may use, and what its records will know.
fn scope_of(for_each: &str, sets: &BTreeMap<String, SetInfo>) -> Option<(Allowed, SetInfo)> {
    if let Some(kind) = Kind::parse(for_each) {
        let allowed = Allowed { identifiers: [kind].into(), ..Allowed::default() };
        return Some((allowed, SetInfo { ancestors: BTreeSet::new(), kinds: [kind].into(), unmatched: false }));
    }
    let parent = sets.get(for_each)?;
    let mut ancestors = parent.ancestors.clone();
    ancestors.insert(for_each.to_string());
    let identifiers = if parent.kinds.len() == 1 { parent.kinds.clone() } else { BTreeSet::new() };
    let allowed = Allowed { identifiers, record: true, sets: ancestors.clone(), ..Allowed::default() };
    Some((allowed, SetInfo { ancestors, kinds: parent.kinds.clone(), unmatched: false }))
}

fn erase_step(j: usize, step: &Erase, sets: &BTreeMap<String, SetInfo>) -> Result<(), String> {
    let key = |k: &str| format!("erase[{j}].{k}");
    let set = match (&step.for_each, &step.bulk) {
        (Some(set), None) | (None, Some(set)) => set,
        _ => return Err(format!("{}: set exactly one of `for_each` (a call per record) and `bulk`", key("for_each"))),
    };
    let set_key = key(if step.bulk.is_some() { "bulk" } else { "for_each" });
    let Some((per_record, _)) = scope_of(set, sets).filter(|_| Kind::parse(set).is_none()) else {
        return Err(format!("{set_key}: no find step makes a set named `{set}`"));
    };
    if sets.get(set).is_some_and(|s| s.unmatched) {
        return Err(format!(
            "{set_key}: `{set}` is a scope-only set (its records are not matched to the person): erase the records found from it"
        ));
    }
    match &step.bulk {
        Some(_) => {
            let whole = Allowed { batch: true, ..Allowed::default() };
            request(&format!("erase[{j}]"), &step.request(), &whole, true)?;
            if !step.body.as_ref().is_some_and(holds_batch) {
                return Err(format!(
                    "{}: a bulk step's body holds the string \"{{batch}}\" where the records go",
                    key("body")
                ));
            }
            if let Some(each) = &step.each {
                body(&key("each"), each, &per_record)?;
            }
            if step.max_batch == Some(0) {
                return Err(format!("{}: at least 1", key("max_batch")));
            }
        }
        None => {
            if step.each.is_some() || step.max_batch.is_some() {
                return Err(format!("{}: `each` and `max_batch` are for bulk steps", key("each")));
            }
            request(&format!("erase[{j}]"), &step.request(), &per_record, false)?;
        }
    }
    if let Some(recheck) = &step.recheck {
        if !step.save_before {
            return Err(format!("{}: a recheck is for `save_before` steps", key("recheck")));
        }
        let saved = Allowed { saved: true, ..Allowed::default() };
        let req = Request { method: recheck.method.clone(), path: recheck.path.clone(), ..Request::default() };
        request(&key("recheck"), &req, &saved, false)?;
    }
    if let Some(count) = &step.count {
        if count.trim().is_empty() {
            return Err(format!("{}: name what is counted", key("count")));
        }
    }
    if let Some(vendor_ref) = &step.vendor_ref {
        pointer(&key("vendor_ref"), vendor_ref)?;
    }
    if let Some(job) = &step.job {
        pointer(&key("job.id"), &job.id)?;
        let allowed = Allowed { job: true, ..Allowed::default() };
        let req = Request { method: job.method.clone(), path: job.path.clone(), ..Request::default() };
        request(&key("job"), &req, &allowed, false)?;
        if job.done.is_empty() {
            return Err(format!("{}: a job needs the conditions that say it is done", key("job.done")));
        }
        conditions(&key("job.done"), &job.done, &Allowed::default())?;
        conditions(&key("job.failed"), &job.failed, &Allowed::default())?;
    }
    Ok(())
}

/// Every key that names a secret must be an instance `*_env` key.
fn auth_keys(auth: &crate::definition::Auth) -> Result<(), String> {
    use crate::definition::Auth;
    let keys: Vec<(&str, &str)> = match auth {
        Auth::Bearer { token } => vec![("token", token)],
        Auth::Basic { username_secret, password, .. } => {
            let mut keys = vec![("password", password.as_str())];
            keys.extend(username_secret.as_deref().map(|k| ("username_secret", k)));
            keys
        }
        Auth::ApiKey { key, header, query, .. } => {
            if header.is_some() == query.is_some() {
                return Err("auth: an API key goes in exactly one of `header` and `query`".into());
            }
            vec![("key", key)]
        }
        Auth::OAuth2 { client_id, client_secret, .. } => {
            vec![("client_id", client_id), ("client_secret", client_secret)]
        }
    };
    for (name, value) in keys {
        if !value.ends_with("_env") {
            return Err(format!(
                "auth.{name}: `{value}` must name an instance key ending in `_env` (secrets come only from the environment)"
            ));
        }
    }
    Ok(())
}

/// Every `{vars.x}` the definition uses must be set in the instance's `[vars]`.
fn used_vars(def: &Definition, vars: &BTreeMap<String, String>) -> Result<(), String> {
    let text = serde_json::to_string(&definition_strings(def)).unwrap_or_default();
    let mut rest = text.as_str();
    while let Some(start) = rest.find("{vars.") {
        let after = &rest[start + 6..];
        let end = after.find(['}', '|']).unwrap_or(after.len());
        let name = &after[..end];
        if !vars.contains_key(name) {
            return Err(format!("the definition uses {{vars.{name}}}: set `vars.{name}` in the instance's block"));
        }
        rest = &after[end..];
    }
    Ok(())
}

fn definition_strings(def: &Definition) -> Vec<String> {
    let mut all: Vec<String> = def.headers.values().cloned().collect();
    let mut request = |r: &Request| {
        all.push(r.path.clone());
        all.extend(r.query.values().cloned());
        all.extend(r.headers.values().cloned());
        all.extend(r.body.iter().map(|b| b.to_string()));
    };
    def.find.iter().filter_map(Find::request).for_each(|r| request(&r));
    def.erase.iter().for_each(|e| request(&e.request()));
    def.healthcheck.iter().for_each(&mut request);
    for e in &def.erase {
        all.extend(e.each.iter().map(|b| b.to_string()));
        all.extend(e.job.iter().map(|j| j.path.clone()));
    }
    all
}
