//! The find steps: each adds the records it finds (exact matches only, each id once) to its named
//! set. A step runs once per subject identifier of a kind, or once per record of an earlier set.

use crate::call::{Answer, Caller};
use crate::conditions;
use crate::definition::{Find, Recheck, Request};
use crate::paginate::Pages;
use crate::pointer::Pointer;
use crate::template::{Kind, RenderError, Scope};
use erasure_connector::{Failure, Subject};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// One record of a set: its id, its JSON, the identifier and the earlier records it was found from.
#[derive(Debug, Clone)]
pub struct Record {
    pub id: String,
    pub value: Value,
    pub identifier: Option<(Kind, String)>,
    /// (set, record) from the first step on; the record itself is not in it.
    pub ancestors: Vec<(String, Value)>,
}

impl Record {
    /// The ancestors and the record itself, as the scope of a step running for it.
    pub fn lineage(&self, set: &str) -> Vec<(String, Value)> {
        let mut lineage = self.ancestors.clone();
        lineage.push((set.to_string(), self.value.clone()));
        lineage
    }
}

pub type Sets = BTreeMap<String, Vec<Record>>;

/// Ids an earlier attempt saved before a call that makes a record unfindable.
pub struct SavedIds {
    pub step: usize,
    pub set: String,
    pub ids: Vec<String>,
    pub recheck: Option<Recheck>,
}

pub struct Found {
    pub sets: Sets,
    /// Per erase step: saved ids now gone (erased by an earlier attempt).
    pub saved_gone: BTreeMap<usize, u64>,
}

/// Run the find steps (those producing `only` and what they need, when given).
pub async fn run(
    caller: &Caller,
    steps: &[Find],
    subject: &Subject,
    instance: &str,
    only: Option<&BTreeSet<String>>,
    saved: &[SavedIds],
) -> Result<Found, Failure> {
    let needed = only.map(|sets| needed_steps(steps, sets));
    let last_of: BTreeMap<&str, usize> = steps.iter().enumerate().map(|(i, s)| (s.name.as_str(), i)).collect();
    let mut found = Found { sets: Sets::new(), saved_gone: BTreeMap::new() };
    for (i, step) in steps.iter().enumerate() {
        if needed.as_ref().is_some_and(|n| !n.contains(&i)) {
            continue;
        }
        let mut records = found.sets.remove(&step.name).unwrap_or_default();
        for input in inputs(step, &found.sets, subject, instance) {
            for record in run_for(caller, i, step, &input).await? {
                // Once per id; for a set found from another, once per id and lineage (a
                // conversation of two of the person's contacts is read for each of them).
                if !records.iter().any(|r| r.id == record.id && r.ancestors == record.ancestors) {
                    records.push(record);
                }
            }
        }
        if last_of[step.name.as_str()] == i {
            for saved in saved.iter().filter(|s| s.set == step.name) {
                let gone = recheck(caller, saved, &mut records).await?;
                *found.saved_gone.entry(saved.step).or_insert(0) += gone;
            }
        }
        found.sets.insert(step.name.clone(), records);
    }
    Ok(found)
}

/// What one run of a step starts from: an identifier, or a record of an earlier set.
struct Input {
    identifier: Option<(Kind, String)>,
    record: Option<Value>,
    lineage: Vec<(String, Value)>,
}

fn inputs(step: &Find, sets: &Sets, subject: &Subject, instance: &str) -> Vec<Input> {
    let by_identifier = |kind: Kind, values: Vec<String>| {
        values
            .into_iter()
            .map(|v| Input { identifier: Some((kind, v)), record: None, lineage: Vec::new() })
            .collect::<Vec<_>>()
    };
    match Kind::parse(&step.for_each) {
        Some(Kind::Email) => by_identifier(Kind::Email, subject.emails().to_vec()),
        Some(Kind::Phone) => by_identifier(Kind::Phone, subject.phones().to_vec()),
        Some(Kind::UserId) => by_identifier(Kind::UserId, subject.user_id().map(str::to_string).into_iter().collect()),
        Some(Kind::Id) => by_identifier(Kind::Id, subject.id_in(instance).map(str::to_string).into_iter().collect()),
        None => sets
            .get(&step.for_each)
            .map(|records| {
                records
                    .iter()
                    .map(|r| Input {
                        identifier: r.identifier.clone(),
                        record: Some(r.value.clone()),
                        lineage: r.lineage(&step.for_each),
                    })
                    .collect()
            })
            .unwrap_or_default(),
    }
}

/// One run of step `i` for one input: every page, the records kept by the exact-match rule.
async fn run_for(caller: &Caller, i: usize, step: &Find, input: &Input) -> Result<Vec<Record>, Failure> {
    let scope = Scope {
        identifier: input.identifier.as_ref().map(|(k, v)| (*k, v.as_str())),
        record: input.record.as_ref(),
        ancestors: &input.lineage,
        vars: Some(&caller.vars),
        ..Scope::default()
    };
    let answers = match step.request() {
        None => vec![input.record.clone().unwrap_or(Value::Null)],
        Some(request) => match fetch_all(caller, i, step, &request, &scope).await? {
            Some(answers) => answers,
            None => return Ok(Vec::new()),
        },
    };
    let records_at = Pointer::parse(&step.records).map_err(|e| invalid(i, &e))?;
    let id_at = Pointer::parse(&step.id).map_err(|e| invalid(i, &e))?;
    let mut kept = Vec::new();
    for answer in &answers {
        let listed = match records_at.get(answer) {
            Some(Value::Array(items)) => items.clone(),
            Some(Value::Null) | None if step.request().is_none() => Vec::new(),
            Some(object @ Value::Object(_)) => vec![object.clone()],
            _ => {
                return Err(Failure::permanent(format!(
                    "{}: find[{i}] ({}): the answer holds no records at `{}`",
                    caller.system, step.name, step.records
                )))
            }
        };
        for value in listed {
            let Some(id) = id_at.text(&value) else { continue };
            if conditions::all_hold(&step.matches, &value, &scope) {
                kept.push(Record { id, value, identifier: input.identifier.clone(), ancestors: input.lineage.clone() });
            }
        }
    }
    Ok(kept)
}

/// Every page's answer; `None` when the request cannot address one resource (an identifier that
/// is `.` or `..` as a path segment) or answers a `gone` status: nothing is found then.
async fn fetch_all(
    caller: &Caller,
    i: usize,
    step: &Find,
    request: &Request,
    scope: &Scope<'_>,
) -> Result<Option<Vec<Value>>, Failure> {
    let built = match caller.build(request, scope, None) {
        Ok(built) => built,
        Err(RenderError::Unaddressable) => return Ok(None),
        Err(RenderError::Missing(p)) => {
            return Err(Failure::permanent(format!(
                "{}: find[{i}] ({}): {{{p}}} has no value",
                caller.system, step.name
            )))
        }
    };
    let mut pages = Pages::new(step.pagination.as_ref(), built);
    let mut answers = Vec::new();
    while let Some(built) = pages.next_request(caller, &step.name)? {
        match caller.send(&built, &step.gone).await? {
            Answer::Gone { .. } => break,
            Answer::Ok { body, headers } => {
                let count = Pointer::parse(&step.records)
                    .ok()
                    .and_then(|p| p.get(&body).map(|v| v.as_array().map_or(1, Vec::len)))
                    .unwrap_or(0);
                pages.advance(&body, &headers, count);
                answers.push(body);
            }
        }
    }
    Ok(Some(answers))
}

/// Saved ids the steps no longer find: a `recheck` request tells "still there" (the record is
/// added back, to be erased like the others) from "gone" (counted as erased by the earlier
/// attempt); without one, not found counts as gone.
async fn recheck(caller: &Caller, saved: &SavedIds, records: &mut Vec<Record>) -> Result<u64, Failure> {
    let mut gone = 0;
    let missing: Vec<&String> = saved.ids.iter().filter(|id| !records.iter().any(|r| &r.id == *id)).collect();
    for id in missing {
        let Some(spec) = &saved.recheck else {
            gone += 1;
            continue;
        };
        let request = Request { method: spec.method.clone(), path: spec.path.clone(), ..Request::default() };
        let scope = Scope { saved: Some(id), vars: Some(&caller.vars), ..Scope::default() };
        let Ok(built) = caller.build(&request, &scope, None) else {
            gone += 1;
            continue;
        };
        match caller.send(&built, &spec.gone).await? {
            Answer::Gone { .. } => gone += 1,
            Answer::Ok { body, .. } => {
                records.push(Record { id: id.clone(), value: body, identifier: None, ancestors: Vec::new() })
            }
        }
    }
    Ok(gone)
}

/// The steps that produce `sets`, and the steps those run for, transitively.
fn needed_steps(steps: &[Find], sets: &BTreeSet<String>) -> BTreeSet<usize> {
    let mut wanted = sets.clone();
    let mut needed = BTreeSet::new();
    for (i, step) in steps.iter().enumerate().rev() {
        if wanted.contains(&step.name) {
            needed.insert(i);
            if Kind::parse(&step.for_each).is_none() {
                wanted.insert(step.for_each.clone());
            }
        }
    }
    needed
}

fn invalid(i: usize, message: &str) -> Failure {
    Failure::permanent(format!("find[{i}]: {message}"))
}
