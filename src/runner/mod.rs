//! The runner: claims due tasks per connector instance, calls the connector, records the outcome.
//!
//! Each instance has its own concurrency slots, so a slow or rate-limited system never holds up
//! the others. Claims take a lease with a fencing token; heartbeats renew it; an outcome is
//! recorded only while the token matches. Tasks of lost workers are rescued when their lease
//! expires. A notification wakes the runner when intake commits; polling is the fallback.

pub mod limiter;
mod progress;
mod recorder;
mod sweep;
pub mod transition;
pub mod verify;

use crate::app::App;
use crate::model::TaskState;
use crate::poll::{Pass, Poller};
use crate::registry::Instance;
use crate::retry::RetryPolicy;
use crate::shutdown::Shutdown;
use crate::store::tasks::{ClaimedTask, Guard, Recorded, Transition};
use crate::store::Channel;
use crate::telemetry::TraceParent;
use erasure_connector::{Ctx, Outcome, Pending, Subject};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::OwnedSemaphorePermit;
use tokio::task::JoinSet;
use tracing::Instrument;
use transition::decide;

pub async fn run(app: Arc<App>, instances: Arc<Vec<Instance>>, shutdown: Shutdown) {
    let owner = format!("runner-{}-{}", std::process::id(), uuid::Uuid::new_v4().simple());
    let poll = app.settings.runner.poll_interval.0;
    let poller = Poller::listen(&app, "runner", Channel::Tasks, poll, &shutdown);
    let wake = poller.waker();
    let in_flight: Arc<Mutex<HashMap<i64, ClaimedTask>>> = Arc::default();
    let mut workers = JoinSet::new();
    let mut sweeper = sweep::Sweeper::new(app.settings.connectors.keys().cloned().collect(), poll);
    let (recorder, mut writers) = recorder::Recorder::start(app.clone(), owner.clone());
    tracing::info!(instances = instances.len(), "Runner started.");

    // Every pass ends idle: finished work wakes the loop through `wake`.
    let mut last = Pass::Busy;
    while poller.again(last).await {
        let now = app.clock.now();
        sweeper.sweep_if_due(&app, now).await;
        for instance in instances.iter() {
            for (task, permit) in claim(&app, instance, &owner, now).await {
                in_flight.lock().expect("in-flight lock").insert(task.id, task.clone());
                let (app, instance, in_flight, wake, recorder) =
                    (app.clone(), instance.clone(), in_flight.clone(), wake.clone(), recorder.clone());
                workers.spawn(async move {
                    execute(&app, &instance, &task, &recorder).await;
                    in_flight.lock().expect("in-flight lock").remove(&task.id);
                    drop(permit);
                    wake.notify_one();
                });
            }
            // A lost check needs no release: its lease expires and it is due again.
            for (check, permit) in verify::claim(&app, instance, &owner, now).await {
                let (app, instance, wake, recorder) = (app.clone(), instance.clone(), wake.clone(), recorder.clone());
                workers.spawn(async move {
                    verify::execute(&app, &instance, &check, &recorder).await;
                    drop(permit);
                    wake.notify_one();
                });
            }
        }
        while workers.try_join_next().is_some() {}
        last = Pass::Idle;
    }

    drain(&app, workers, &in_flight).await;
    drop(recorder);
    while writers.join_next().await.is_some() {}
    drop(poller);
    tracing::info!("Runner stopped.");
}

/// Claim as many due tasks of `instance` as it has free slots (up to a batch), with a slot each.
async fn claim(
    app: &App,
    instance: &Instance,
    owner: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Vec<(ClaimedTask, OwnedSemaphorePermit)> {
    let free = instance.slots.available_permits().min(app.settings.runner.claim_batch as usize);
    if free == 0 {
        return Vec::new();
    }
    let claimed = match app.store.claim(&instance.name, free as i64, owner, app.settings.runner.lease.0, now).await {
        Ok(claimed) => claimed,
        Err(error) => {
            tracing::warn!(connector = %instance.name, %error, "Could not claim tasks.");
            return Vec::new();
        }
    };
    claimed
        .into_iter()
        .map(|task| {
            let permit = instance.slots.clone().try_acquire_owned().expect("claimed no more than the free slots");
            (task, permit)
        })
        .collect()
}

/// On shutdown: in-flight work gets `drain_timeout`, then the leases of what is unfinished are
/// released so another worker takes it at once.
async fn drain(app: &App, mut workers: JoinSet<()>, in_flight: &Mutex<HashMap<i64, ClaimedTask>>) {
    let drain = app.settings.runner.drain_timeout.0;
    let running = in_flight.lock().expect("in-flight lock").len();
    tracing::info!(running, drain_timeout = ?drain, "Runner stopping: no new claims; draining in-flight work.");
    let drained = tokio::time::timeout(drain, async { while workers.join_next().await.is_some() {} }).await.is_ok();
    if drained {
        return;
    }
    workers.abort_all();
    while workers.join_next().await.is_some() {}
    let left: Vec<ClaimedTask> = in_flight.lock().expect("in-flight lock").drain().map(|(_, t)| t).collect();
    for task in &left {
        if let Err(error) = app.store.release(task, app.clock.now()).await {
            tracing::warn!(task_id = task.id, %error, "Could not release a lease; it will expire instead.");
        }
    }
    tracing::warn!(released = left.len(), "Drain timeout reached; released the leases of unfinished tasks.");
}

pub(crate) fn policy(app: &App) -> RetryPolicy {
    RetryPolicy { base: app.settings.runner.retry_base.0, cap: app.settings.runner.retry_cap.0 }
}

/// One attempt: call the connector under a heartbeat and a timeout, then record the outcome;
/// under the `attempt` span, a child of the request's trace.
async fn execute(app: &Arc<App>, instance: &Instance, task: &ClaimedTask, recorder: &recorder::Recorder) {
    let span = tracing::info_span!(
        "attempt",
        connector = %task.connector,
        kind = %task.kind,
        attempt = task.attempt,
        task_id = task.id,
        request_id = %task.request_id,
    );
    continue_request_trace(&span, task);
    attempt(app, instance, task, recorder).instrument(span).await
}

/// Make `span` a child of the request's trace (`telemetry`). A task of a request stored before
/// traces were kept starts a trace of its own.
pub(crate) fn continue_request_trace(span: &tracing::Span, task: &ClaimedTask) {
    let parent = task.traceparent.as_deref().and_then(TraceParent::parse);
    crate::telemetry::continue_from(span, parent.as_ref());
}

async fn attempt(app: &Arc<App>, instance: &Instance, task: &ClaimedTask, recorder: &recorder::Recorder) {
    let started = std::time::Instant::now();
    let outcome = call_connector(app, instance, task, recorder).await;
    let mut transition = decide(task, &outcome, policy(app), app.clock.now());
    transition.verify_after =
        verify::checks_for(transition.state, &instance.verify_after, app.settings.verification.enabled);
    let recorded = recorder.record(task, transition.clone()).await;
    let elapsed_ms = started.elapsed().as_millis() as u64;
    match recorded {
        Some(Recorded::Applied(settled)) => {
            log_outcome(task, &transition, settled, elapsed_ms);
        }
        Some(Recorded::Stale) => tracing::warn!(
            connector = %task.connector, task_id = task.id, request_id = %task.request_id,
            "The lease moved on while the connector ran; the outcome was discarded (the task runs again)."
        ),
        None => {}
    }
}

async fn call_connector(
    app: &Arc<App>,
    instance: &Instance,
    task: &ClaimedTask,
    recorder: &recorder::Recorder,
) -> Outcome {
    let subject: Subject = match serde_json::from_value(task.subject.clone()) {
        Ok(subject) => subject,
        Err(_) => return Outcome::failed("the stored subject is unreadable or was already forgotten"),
    };
    let pending: Option<Pending> = match task.pending.clone().map(serde_json::from_value).transpose() {
        Ok(pending) => pending,
        Err(_) => return Outcome::failed("the stored follow-up state of an accepted erasure is unreadable"),
    };
    let ctx = connector_ctx(instance, task, recorder);
    let heartbeat = tokio::spawn(heartbeat(app.clone(), task.id, task.lease_token));
    let connector = instance.connector.clone();
    let call = tokio::spawn(
        async move {
            match &pending {
                Some(pending) => connector.check(&ctx, &subject, pending).await,
                None => connector.erase(&ctx, &subject).await,
            }
        }
        .in_current_span(),
    );
    let timeout = app.settings.runner.attempt_timeout.0;
    let abort = call.abort_handle();
    let outcome = match tokio::time::timeout(timeout, call).await {
        Ok(Ok(outcome)) => outcome,
        Ok(Err(join)) if join.is_panic() => Outcome::retry(format!("the {} connector panicked", instance.kind)),
        Ok(Err(_)) => Outcome::retry("the attempt was cancelled"),
        Err(_) => {
            abort.abort();
            Outcome::retry(format!("the attempt took longer than {timeout:?}"))
        }
    };
    heartbeat.abort();
    outcome
}

/// What the connector gets for one call about `task`. The idempotency key is the same for every
/// attempt of one generation; a reopened request's new generation gets a new one, so a service
/// that remembers its first answer erases the resurfaced data instead of repeating it.
pub(crate) fn connector_ctx(instance: &Instance, task: &ClaimedTask, recorder: &recorder::Recorder) -> Ctx {
    let idempotency_key = match task.generation {
        1 => format!("{}:{}", task.request_id, task.connector),
        generation => format!("{}:{}:{generation}", task.request_id, task.connector),
    };
    Ctx {
        request_id: task.request_id,
        task_id: task.id,
        instance: task.connector.clone(),
        attempt: task.attempt.max(1) as u32,
        requested_at: task.requested_at,
        idempotency_key,
        // The current span's (the attempt's) when traces are exported, else the request's.
        traceparent: crate::telemetry::traceparent_of(&tracing::Span::current())
            .map(|t| t.to_string())
            .or_else(|| task.traceparent.clone()),
        http: instance.http.clone(),
        progress: progress::for_attempt(recorder, task.id, task.lease_token, task.progress.clone()),
    }
}

/// Renew the lease every third of its length until aborted or the lease is lost.
async fn heartbeat(app: Arc<App>, task_id: i64, token: i64) {
    let lease = app.settings.runner.lease.0;
    loop {
        tokio::time::sleep(lease / 3).await;
        let until = app.clock.now() + chrono::Duration::from_std(lease).unwrap_or_default();
        match app.store.renew_lease(task_id, token, until).await {
            Ok(true) => {}
            Ok(false) => return,
            Err(error) => tracing::warn!(task_id, %error, "Could not renew a lease."),
        }
    }
}

/// Record with a few quick in-process retries; if the database stays away, the lease expires
/// and another worker redoes the (idempotent) attempt.
pub(crate) async fn record(
    app: &App,
    task: &ClaimedTask,
    guard: Guard,
    transition: &Transition,
    actor: &str,
) -> Option<Recorded> {
    use backon::Retryable;
    let attempt = || app.store.record(task.id, task.request_id, guard, transition, actor, app.clock.now());
    match attempt.retry(crate::retry::in_process()).await {
        Ok(recorded) => Some(recorded),
        Err(error) => {
            tracing::error!(connector = %task.connector, task_id = task.id, %error, "Could not record an outcome; the lease will expire and the task run again.");
            None
        }
    }
}

fn log_outcome(task: &ClaimedTask, t: &Transition, settled: Option<crate::model::RequestState>, elapsed_ms: u64) {
    let (connector, request_id, subject) = (&task.connector, task.request_id, &task.subject_hash);
    crate::metrics::record_attempt(connector, t.state.as_str(), elapsed_ms as f64 / 1000.0);
    match t.state {
        TaskState::Failed => {
            tracing::warn!(%connector, task_id = task.id, %request_id, %subject, error = t.error.as_deref().unwrap_or(""), elapsed_ms, "Erasure failed; a human must act.")
        }
        TaskState::Retrying => {
            tracing::info!(%connector, task_id = task.id, %request_id, attempt = t.attempt, next_attempt_at = %t.next_attempt_at, error = t.error.as_deref().unwrap_or(""), "Erasure attempt failed; retry scheduled.")
        }
        state => {
            tracing::info!(%connector, task_id = task.id, %request_id, %subject, state = %state, elapsed_ms, "Erasure attempt finished.")
        }
    }
    if let Some(state) = settled {
        tracing::info!(%request_id, state = %state, "Erasure request settled.");
    }
}
