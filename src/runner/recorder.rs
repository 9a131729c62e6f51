//! Outcomes written in batches: attempts that finish at about the same time share one
//! transaction (`Store::record_all`), and so do verification checks (`Store::record_checks`) and
//! connectors' progress documents (`Store::save_progress_all`), so a busy runner commits once per
//! batch, not once per task, check or step.
//!
//! An attempt hands its transition over and waits for the answer, so nothing is acknowledged
//! before its commit. A batch takes whatever is waiting when the writer is free (never waiting to
//! fill up), so a lone outcome is written at once. When a batch cannot be written, its outcomes
//! are written one by one, so one outcome the database refuses does not hold back the others.

use super::record;
use crate::app::App;
use crate::store::tasks::{ClaimedTask, Guard, Recorded, Recording, Transition};
use crate::store::verification::{CheckOutcome, CheckRecorded, ClaimedCheck};
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot, Mutex};

/// Outcomes in one transaction at most.
const BATCH: usize = 64;
/// Batches written at once. One: outcomes of one request arrive together, and two writers lock
/// the same requests and audit chains in turn (measured with `scripts/bench 3000`, durable: four
/// writers 101 requests/s with most of the database's time spent waiting on those locks, one
/// writer 167 requests/s).
const WRITERS: usize = 1;

enum Job {
    Task(TaskJob),
    Check(CheckJob),
    Progress(ProgressJob),
}

struct TaskJob {
    task: ClaimedTask,
    transition: Transition,
    answer: oneshot::Sender<Option<Recorded>>,
}

struct CheckJob {
    check: ClaimedCheck,
    outcome: CheckOutcome,
    answer: oneshot::Sender<Option<CheckRecorded>>,
}

struct ProgressJob {
    task_id: i64,
    lease_token: i64,
    document: serde_json::Value,
    answer: oneshot::Sender<Option<bool>>,
}

/// Where attempts hand their outcomes; the writers stop once every handle is dropped and the
/// queue is empty.
#[derive(Clone)]
pub(crate) struct Recorder {
    jobs: mpsc::UnboundedSender<Job>,
}

impl Recorder {
    pub(crate) fn start(app: Arc<App>, actor: String) -> (Recorder, tokio::task::JoinSet<()>) {
        let (jobs, queue) = mpsc::unbounded_channel();
        let queue = Arc::new(Mutex::new(queue));
        let mut writers = tokio::task::JoinSet::new();
        for _ in 0..WRITERS {
            writers.spawn(write_batches(app.clone(), queue.clone(), actor.clone()));
        }
        (Recorder { jobs }, writers)
    }

    /// Record `transition` of `task` under its lease; `None` when it could not be written (the
    /// lease then expires and the task runs again).
    pub(crate) async fn record(&self, task: &ClaimedTask, transition: Transition) -> Option<Recorded> {
        let (answer, answered) = oneshot::channel();
        self.jobs.send(Job::Task(TaskJob { task: task.clone(), transition, answer })).ok()?;
        answered.await.ok().flatten()
    }

    /// Save a connector's progress document under the attempt's lease: `Some(false)` when the
    /// lease moved on or expired, `None` when it could not be written.
    pub(crate) async fn save_progress(
        &self,
        task_id: i64,
        lease_token: i64,
        document: serde_json::Value,
    ) -> Option<bool> {
        let (answer, answered) = oneshot::channel();
        self.jobs.send(Job::Progress(ProgressJob { task_id, lease_token, document, answer })).ok()?;
        answered.await.ok().flatten()
    }

    /// Record a verification check's result under its lease; `None` when it could not be
    /// written (the lease then expires and the check runs again).
    pub(crate) async fn record_check(&self, check: &ClaimedCheck, outcome: CheckOutcome) -> Option<CheckRecorded> {
        let (answer, answered) = oneshot::channel();
        self.jobs.send(Job::Check(CheckJob { check: check.clone(), outcome, answer })).ok()?;
        answered.await.ok().flatten()
    }
}

async fn write_batches(app: Arc<App>, queue: Arc<Mutex<mpsc::UnboundedReceiver<Job>>>, actor: String) {
    loop {
        let mut batch = Vec::new();
        {
            let mut queue = queue.lock().await;
            if queue.recv_many(&mut batch, BATCH).await == 0 {
                return;
            }
        }
        let (mut tasks, mut checks, mut saves) = (Vec::new(), Vec::new(), Vec::new());
        for job in batch {
            match job {
                Job::Task(job) => tasks.push(job),
                Job::Check(job) => checks.push(job),
                Job::Progress(job) => saves.push(job),
            }
        }
        // First: an attempt waits on its save before its next call to the system.
        if !saves.is_empty() {
            write_progress(&app, saves).await;
        }
        if !tasks.is_empty() {
            write_tasks(&app, tasks, &actor).await;
        }
        if !checks.is_empty() {
            write_checks(&app, checks, &actor).await;
        }
    }
}

async fn write_tasks(app: &App, batch: Vec<TaskJob>, actor: &str) {
    use backon::Retryable;
    let recordings: Vec<Recording<'_>> = batch
        .iter()
        .map(|job| Recording {
            task_id: job.task.id,
            request_id: job.task.request_id,
            guard: Guard::Lease(job.task.lease_token),
            transition: &job.transition,
        })
        .collect();
    let attempt = || app.store.record_all(&recordings, actor, app.clock.now());
    match attempt.retry(crate::retry::in_process()).await {
        Ok(answers) => {
            for (job, answer) in batch.into_iter().zip(answers) {
                let _ = job.answer.send(Some(answer));
            }
        }
        Err(error) if batch.len() > 1 => {
            tracing::warn!(outcomes = batch.len(), %error, "Could not record a batch of outcomes; recording them one by one.");
            for job in batch {
                let answer = record(app, &job.task, Guard::Lease(job.task.lease_token), &job.transition, actor).await;
                let _ = job.answer.send(answer);
            }
        }
        Err(error) => {
            let task = &batch[0].task;
            tracing::error!(connector = %task.connector, task_id = task.id, %error, "Could not record an outcome; the lease will expire and the task run again.");
        }
    }
}

async fn write_checks(app: &App, batch: Vec<CheckJob>, actor: &str) {
    use backon::Retryable;
    let checks: Vec<(&ClaimedCheck, &CheckOutcome)> = batch.iter().map(|job| (&job.check, &job.outcome)).collect();
    let attempt = || app.store.record_checks(&checks, actor, app.clock.now());
    match attempt.retry(crate::retry::in_process()).await {
        Ok(answers) => {
            for (job, answer) in batch.into_iter().zip(answers) {
                let _ = job.answer.send(Some(answer));
            }
        }
        Err(error) if batch.len() > 1 => {
            tracing::warn!(checks = batch.len(), %error, "Could not record a batch of verification checks; recording them one by one.");
            for job in batch {
                let attempt = || app.store.record_check(&job.check, &job.outcome, actor, app.clock.now());
                let _ = job.answer.send(attempt.retry(crate::retry::in_process()).await.ok());
            }
        }
        Err(error) => {
            let check = &batch[0].check;
            tracing::error!(connector = %check.task.connector, check_id = check.id, %error, "Could not record a verification check; its lease will expire and it runs again.");
        }
    }
}

async fn write_progress(app: &App, batch: Vec<ProgressJob>) {
    use backon::Retryable;
    let saves: Vec<(i64, i64, &serde_json::Value)> =
        batch.iter().map(|job| (job.task_id, job.lease_token, &job.document)).collect();
    let attempt = || app.store.save_progress_all(&saves, app.clock.now());
    match attempt.retry(crate::retry::in_process()).await {
        Ok(answers) => {
            for (job, answer) in batch.into_iter().zip(answers) {
                let _ = job.answer.send(Some(answer));
            }
        }
        Err(error) => {
            tracing::warn!(saves = batch.len(), %error, "Could not save connectors' progress; their next steps were not taken.");
            for job in batch {
                let _ = job.answer.send(None);
            }
        }
    }
}
