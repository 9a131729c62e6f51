//! Asynchronous jobs: an erase call's answer names a job (`[erase.job] id`); the erasure is
//! `Pending` with the jobs' ids in its state, and `check` asks each job's status until the `done`
//! conditions hold (or the `failed` ones do).

use crate::call::{Answer, Caller};
use crate::conditions;
use crate::definition::{Definition, Job, Request};
use crate::pointer::Pointer;
use crate::template::Scope;
use erasure_connector::{Failure, Outcome, Pending};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::time::Duration;

/// A job the vendor is running: the erase step that started it and the vendor's job id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PendingJob {
    pub step: usize,
    pub id: String,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct State {
    #[serde(default)]
    jobs: Vec<PendingJob>,
}

impl PendingJob {
    pub fn check_after(&self, def: &Definition) -> Duration {
        def.erase.get(self.step).and_then(|s| s.job.as_ref()).map(|j| j.check_after.get()).unwrap_or_default()
    }
}

/// The job an erase call's answer started.
pub fn started(caller: &Caller, step: usize, spec: &Job, answer: &Value) -> Result<PendingJob, Failure> {
    Pointer::parse(&spec.id)
        .ok()
        .and_then(|p| p.text(answer))
        .filter(|id| !id.is_empty())
        .map(|id| PendingJob { step, id })
        .ok_or_else(|| {
            Failure::permanent(format!("{}: erase[{step}]: the answer has no job id at `{}`", caller.system, spec.id))
        })
}

pub fn state(jobs: &[PendingJob]) -> Value {
    serde_json::json!({ "jobs": jobs })
}

/// The jobs in a `Pending` state; empty when the state holds none (then erase again).
pub fn jobs_of(pending: &Pending) -> Vec<PendingJob> {
    serde_json::from_value::<State>(pending.state.clone()).map(|s| s.jobs).unwrap_or_default()
}

/// Ask every job's status: `Erased` once all are done, `Failed` if one failed, else `Pending`.
pub async fn check(
    caller: &Caller,
    def: &Definition,
    pending: &Pending,
    jobs: Vec<PendingJob>,
) -> Result<Outcome, Failure> {
    let mut running = Vec::new();
    for job in jobs {
        let Some(spec) = def.erase.get(job.step).and_then(|s| s.job.as_ref()) else {
            return Err(Failure::permanent(format!(
                "{}: a pending job belongs to erase[{}], which the definition no longer has",
                caller.system, job.step
            )));
        };
        let request = Request { method: spec.method.clone(), path: spec.path.clone(), ..Request::default() };
        let scope = Scope { job: Some(&job.id), vars: Some(&caller.vars), ..Scope::default() };
        let built = caller.build(&request, &scope, None).map_err(|_| {
            Failure::permanent(format!("{}: erase[{}].job: the job id cannot be addressed", caller.system, job.step))
        })?;
        let body = match caller.send(&built, &[]).await? {
            Answer::Ok { body, .. } => body,
            Answer::Gone { .. } => Value::Null,
        };
        let empty = Scope::default();
        if !spec.failed.is_empty() && conditions::all_hold(&spec.failed, &body, &empty) {
            return Ok(Outcome::failed(format!("{}: the vendor's job of erase[{}] failed", caller.system, job.step)));
        }
        let done = !spec.done.is_empty() && conditions::all_hold(&spec.done, &body, &empty);
        if !done {
            running.push(job);
        }
    }
    if running.is_empty() {
        return Ok(Outcome::Erased(pending.evidence.clone()));
    }
    let check_after = running.iter().map(|j| j.check_after(def)).min().unwrap_or_default();
    Ok(Outcome::Pending(Pending { check_after, state: state(&running), evidence: pending.evidence.clone() }))
}
