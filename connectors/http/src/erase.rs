//! The erase steps: one call per record, or bulk calls carrying up to `max_batch` records. A step
//! with `save_before` saves its records' ids with `ctx.progress` before its call (the call makes
//! them unfindable), so the next attempt counts a saved id no longer there as erased.

use crate::call::{Answer, Built, Caller};
use crate::definition::{Definition, Erase};
use crate::find::{self, Record, SavedIds};
use crate::job::{self, PendingJob};
use crate::pointer::Pointer;
use crate::template::{RenderError, Scope};
use erasure_connector::{Ctx, Evidence, Failure, Outcome, Pending, Subject};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// The progress document: vendor ids and counts only, never a subject identifier.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Saved {
    /// Per erase step (its index): the ids saved before its calls.
    #[serde(default)]
    pub ids: BTreeMap<usize, Vec<String>>,
    /// The counts of steps without `save_before`, as of the last save.
    #[serde(default)]
    pub counts: BTreeMap<String, u64>,
}

/// What one erasure has done so far.
#[derive(Default)]
struct Tally {
    counts: BTreeMap<String, u64>,
    /// Counts of `save_before` steps, by step: saved ids found gone, plus calls made now.
    unfindable: BTreeMap<usize, u64>,
    vendor_refs: Vec<String>,
    jobs: Vec<PendingJob>,
    acted: bool,
}

pub async fn erase(caller: &Caller, def: &Definition, ctx: &Ctx, subject: &Subject) -> Result<Outcome, Failure> {
    let mut saved: Saved = ctx.progress.get()?.unwrap_or_default();
    let carried: Vec<SavedIds> = def
        .erase
        .iter()
        .enumerate()
        .filter(|(_, step)| step.save_before)
        .map(|(j, step)| SavedIds {
            step: j,
            set: step.set().to_string(),
            ids: saved.ids.get(&j).cloned().unwrap_or_default(),
            recheck: step.recheck.clone(),
        })
        .collect();
    let found = find::run(caller, &def.find, subject, &ctx.instance, None, &carried).await?;
    let mut tally = Tally { counts: saved.counts.clone(), unfindable: found.saved_gone.clone(), ..Tally::default() };
    tally.acted = tally.counts.values().chain(tally.unfindable.values()).any(|n| *n > 0);
    for (j, step) in def.erase.iter().enumerate() {
        let records = found.sets.get(step.set()).map(Vec::as_slice).unwrap_or_default();
        match step.bulk.is_some() {
            true => {
                for chunk in records.chunks(step.max_batch.unwrap_or(100).max(1)) {
                    erase_chunk(caller, ctx, j, step, set_name(step), chunk, &mut saved, &mut tally).await?;
                }
            }
            false => {
                for record in records {
                    let chunk = std::slice::from_ref(record);
                    erase_chunk(caller, ctx, j, step, set_name(step), chunk, &mut saved, &mut tally).await?;
                }
            }
        }
    }
    Ok(outcome(def, tally, &found.sets))
}

fn set_name(step: &Erase) -> &str {
    step.set()
}

/// One call: for one record, or (bulk) for a chunk of records.
#[allow(clippy::too_many_arguments)]
async fn erase_chunk(
    caller: &Caller,
    ctx: &Ctx,
    j: usize,
    step: &Erase,
    set: &str,
    chunk: &[Record],
    saved: &mut Saved,
    tally: &mut Tally,
) -> Result<(), Failure> {
    let Some(built) = build(caller, j, step, set, chunk)? else {
        tracing::warn!(step = j, "a record's id cannot address one resource: it is not erased");
        return Ok(());
    };
    if step.save_before {
        let ids = saved.ids.entry(j).or_default();
        for record in chunk {
            if !ids.contains(&record.id) {
                ids.push(record.id.clone());
            }
        }
        saved.counts = tally.counts.clone();
        ctx.progress.save(&*saved).await?;
    }
    match caller.send(&built, &step.gone).await? {
        Answer::Gone { count } => {
            if let Some(count) = count {
                *tally.counts.entry(count).or_insert(0) += chunk.len() as u64;
                tally.acted = true;
            }
        }
        Answer::Ok { body, .. } => {
            tally.acted = true;
            if let Some(pointer) = step.vendor_ref.as_deref().and_then(|p| Pointer::parse(p).ok()) {
                tally.vendor_refs.extend(pointer.text(&body));
            }
            if let Some(spec) = &step.job {
                tally.jobs.push(job::started(caller, j, spec, &body)?);
            }
            match step.save_before {
                true => *tally.unfindable.entry(j).or_insert(0) += chunk.len() as u64,
                false => {
                    if let Some(count) = &step.count {
                        *tally.counts.entry(count.clone()).or_insert(0) += chunk.len() as u64;
                    }
                }
            }
        }
    }
    Ok(())
}

/// The request for `chunk`; `None` when a record cannot be addressed (an id that is `.` or `..`).
fn build(caller: &Caller, j: usize, step: &Erase, set: &str, chunk: &[Record]) -> Result<Option<Built>, Failure> {
    let missing =
        |p: String| Failure::permanent(format!("{}: erase[{j}]: {{{p}}} has no value for a record", caller.system));
    let result = match step.bulk.is_some() {
        true => {
            let mut batch = Vec::with_capacity(chunk.len());
            for record in chunk {
                let lineage = record.lineage(set);
                let scope = record_scope(caller, record, &lineage);
                let item = match &step.each {
                    Some(each) => crate::call::render_body(each, &scope, None),
                    None => Ok(Value::String(record.id.clone())),
                };
                match item {
                    Ok(item) => batch.push(item),
                    Err(RenderError::Missing(p)) => return Err(missing(p)),
                    Err(RenderError::Unaddressable) => return Ok(None),
                }
            }
            let scope = Scope { vars: Some(&caller.vars), ..Scope::default() };
            caller.build(&step.request(), &scope, Some(&Value::Array(batch)))
        }
        false => {
            let record = &chunk[0];
            let lineage = record.lineage(set);
            caller.build(&step.request(), &record_scope(caller, record, &lineage), None)
        }
    };
    match result {
        Ok(built) => Ok(Some(built)),
        Err(RenderError::Unaddressable) => Ok(None),
        Err(RenderError::Missing(p)) => Err(missing(p)),
    }
}

fn record_scope<'a>(caller: &'a Caller, record: &'a Record, lineage: &'a [(String, Value)]) -> Scope<'a> {
    Scope {
        identifier: record.identifier.as_ref().map(|(k, v)| (*k, v.as_str())),
        record: Some(&record.value),
        ancestors: lineage,
        vars: Some(&caller.vars),
        ..Scope::default()
    }
}

fn outcome(def: &Definition, tally: Tally, sets: &find::Sets) -> Outcome {
    if !tally.acted && tally.jobs.is_empty() {
        return Outcome::NothingToErase;
    }
    let mut evidence = Evidence::default();
    for (what, n) in &tally.counts {
        evidence = evidence.count(what, *n);
    }
    for (j, n) in &tally.unfindable {
        if let Some(count) = &def.erase[*j].count {
            evidence = evidence.count(count, *n);
        }
    }
    evidence.vendor_refs = tally.vendor_refs;
    let mut notes: Vec<String> = def.evidence.note.iter().cloned().collect();
    for found in &def.evidence.found {
        let ids: std::collections::BTreeSet<&str> =
            sets.get(&found.set).into_iter().flatten().map(|r| r.id.as_str()).collect();
        if !ids.is_empty() {
            notes.push(found.note.replace("{count}", &ids.len().to_string()));
        }
    }
    if !notes.is_empty() {
        evidence = evidence.note(notes.join("; "));
    }
    if tally.jobs.is_empty() {
        return Outcome::Erased(evidence);
    }
    let check_after = tally.jobs.iter().map(|j| j.check_after(def)).min().unwrap_or_default();
    Outcome::Pending(Pending { check_after, state: job::state(&tally.jobs), evidence })
}
