//! The runner: claims due tasks per connector instance, calls the connector, records the outcome.
//!
//! Each instance has its own concurrency slots, so a slow or rate-limited system never holds up
//! the others. Claims take a lease with a fencing token; heartbeats renew it; an outcome is
//! recorded only while the token matches. Tasks of lost workers are rescued when their lease
//! expires. A notification wakes the runner when intake commits; polling is the fallback.

pub mod limiter;
mod progress;
pub mod transition;

use crate::app::App;
use crate::model::TaskState;
use crate::registry::Instance;
use crate::shutdown::Shutdown;
use crate::store::tasks::{ClaimedTask, Guard, Recorded, Transition};
use crate::store::TASKS_CHANNEL;
use erasure_connector::{Ctx, Outcome, Pending, Subject};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Notify;
use tokio::task::JoinSet;
use transition::{decide, RetryPolicy};

pub async fn run(app: Arc<App>, instances: Arc<Vec<Instance>>, shutdown: Shutdown) {
    let owner = format!("runner-{}-{}", std::process::id(), uuid::Uuid::new_v4().simple());
    let wake = Arc::new(Notify::new());
    let listener = tokio::spawn(crate::listen::listen(app.clone(), TASKS_CHANNEL, wake.clone(), shutdown.clone()));
    let in_flight: Arc<Mutex<HashMap<i64, ClaimedTask>>> = Arc::default();
    let mut workers = JoinSet::new();
    let configured: Vec<String> = app.settings.connectors.keys().cloned().collect();
    let poll = app.settings.runner.poll_interval.0;
    // Sweeps (rescue of expired leases, orphans) run once per poll interval, not on every wake.
    let mut last_sweep: Option<std::time::Instant> = None;
    let mut sweeps: u64 = 0;
    tracing::info!(instances = instances.len(), "Runner started.");

    while !shutdown.is_triggered() {
        let now = app.clock.now();
        if last_sweep.is_none_or(|at| at.elapsed() >= poll) {
            last_sweep = Some(std::time::Instant::now());
            if let Err(error) = rescue_expired(&app).await {
                tracing::warn!(%error, "Could not rescue expired leases.");
            }
            match app.store.start_due_requests(now).await {
                Ok(0) => {}
                Ok(started) => tracing::info!(started, "Requests whose grace period ended have started."),
                Err(error) => tracing::warn!(%error, "Could not start requests whose grace period ended."),
            }
            if sweeps % 30 == 0 {
                if let Err(error) = fail_orphans(&app, &configured).await {
                    tracing::warn!(%error, "Could not check for tasks of unconfigured connectors.");
                }
                if let Err(error) = app.store.purge_dead_letters(app.settings.amqp.dead_letter_ttl.0, now).await {
                    tracing::warn!(%error, "Could not purge expired dead letters.");
                }
            }
            sweeps += 1;
        }
        for instance in instances.iter() {
            let free = instance.slots.available_permits().min(app.settings.runner.claim_batch as usize);
            if free == 0 {
                continue;
            }
            let claimed =
                match app.store.claim(&instance.name, free as i64, &owner, app.settings.runner.lease.0, now).await {
                    Ok(claimed) => claimed,
                    Err(error) => {
                        tracing::warn!(connector = %instance.name, %error, "Could not claim tasks.");
                        continue;
                    }
                };
            for task in claimed {
                let permit = instance.slots.clone().try_acquire_owned().expect("claimed no more than the free slots");
                in_flight.lock().expect("in-flight lock").insert(task.id, task.clone());
                let (app, instance, in_flight, wake, owner) =
                    (app.clone(), instance.clone(), in_flight.clone(), wake.clone(), owner.clone());
                workers.spawn(async move {
                    execute(&app, &instance, &task, &owner).await;
                    in_flight.lock().expect("in-flight lock").remove(&task.id);
                    drop(permit);
                    wake.notify_one();
                });
            }
        }
        while workers.try_join_next().is_some() {}
        tokio::select! {
            _ = wake.notified() => {}
            _ = tokio::time::sleep(poll) => {}
            _ = shutdown.wait() => {}
        }
    }

    let drain = app.settings.runner.drain_timeout.0;
    let running = in_flight.lock().expect("in-flight lock").len();
    tracing::info!(running, drain_timeout = ?drain, "Runner stopping: no new claims; draining in-flight work.");
    let drained = tokio::time::timeout(drain, async { while workers.join_next().await.is_some() {} }).await.is_ok();
    if !drained {
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
    listener.abort();
    tracing::info!("Runner stopped.");
}

fn policy(app: &App) -> RetryPolicy {
    RetryPolicy { base: app.settings.runner.retry_base.0, cap: app.settings.runner.retry_cap.0 }
}

/// One attempt: call the connector under a heartbeat and a timeout, then record the outcome.
async fn execute(app: &Arc<App>, instance: &Instance, task: &ClaimedTask, owner: &str) {
    let started = std::time::Instant::now();
    let outcome = call_connector(app, instance, task).await;
    let transition = decide(task, &outcome, policy(app), app.clock.now());
    let recorded = record(app, task, Guard::Lease(task.lease_token), &transition, owner).await;
    let elapsed_ms = started.elapsed().as_millis() as u64;
    match recorded {
        Some(Recorded::Applied(settled)) => log_outcome(task, &transition, settled, elapsed_ms),
        Some(Recorded::Stale) => tracing::warn!(
            connector = %task.connector, task_id = task.id, request_id = %task.request_id,
            "The lease moved on while the connector ran; the outcome was discarded (the task runs again)."
        ),
        None => {}
    }
}

async fn call_connector(app: &Arc<App>, instance: &Instance, task: &ClaimedTask) -> Outcome {
    let subject: Subject = match serde_json::from_value(task.subject.clone()) {
        Ok(subject) => subject,
        Err(_) => return Outcome::failed("the stored subject is unreadable or was already forgotten"),
    };
    let pending: Option<Pending> = match task.pending.clone().map(serde_json::from_value).transpose() {
        Ok(pending) => pending,
        Err(_) => return Outcome::failed("the stored follow-up state of an accepted erasure is unreadable"),
    };
    let ctx = Ctx {
        request_id: task.request_id,
        task_id: task.id,
        instance: task.connector.clone(),
        attempt: task.attempt.max(1) as u32,
        idempotency_key: format!("{}:{}", task.request_id, task.connector),
        http: instance.http.clone(),
        progress: progress::for_attempt(app, task.id, task.lease_token, task.progress.clone()),
    };
    let heartbeat = tokio::spawn(heartbeat(app.clone(), task.id, task.lease_token));
    let connector = instance.connector.clone();
    let call = tokio::spawn(async move {
        match &pending {
            Some(pending) => connector.check(&ctx, &subject, pending).await,
            None => connector.erase(&ctx, &subject).await,
        }
    });
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
async fn record(app: &App, task: &ClaimedTask, guard: Guard, transition: &Transition, actor: &str) -> Option<Recorded> {
    use backon::{ExponentialBuilder, Retryable};
    let attempt = || app.store.record(task.id, task.request_id, guard, transition, actor, app.clock.now());
    let backoff =
        ExponentialBuilder::default().with_min_delay(Duration::from_millis(50)).with_max_times(5).with_jitter();
    match attempt.retry(backoff).await {
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

/// Running tasks whose lease expired: the worker was lost. The attempt counts as failed.
async fn rescue_expired(app: &App) -> Result<(), crate::store::StoreError> {
    let now = app.clock.now();
    for task in app.store.expired_leases(now, 100).await? {
        let outcome = Outcome::retry("the lease expired: the worker running this attempt was lost");
        let mut transition = decide(&task, &outcome, policy(app), now);
        transition.next_attempt_at = now;
        if let Some(Recorded::Applied(_)) =
            record(app, &task, Guard::ExpiredLease(task.lease_token), &transition, "rescue").await
        {
            tracing::warn!(connector = %task.connector, task_id = task.id, request_id = %task.request_id, "Rescued a task whose worker was lost.");
        }
    }
    Ok(())
}

/// A task whose connector instance is no longer configured fails with that reason instead of
/// waiting forever (after a grace period, so a rolling deploy that adds an instance is safe).
async fn fail_orphans(app: &App, configured: &[String]) -> Result<(), crate::store::StoreError> {
    let now = app.clock.now();
    for (id, request_id, connector, attempt) in
        app.store.orphaned_tasks(configured, app.settings.runner.orphan_grace.0, now).await?
    {
        let transition = Transition {
            state: TaskState::Failed,
            attempt,
            next_attempt_at: now,
            pending: None,
            evidence: None,
            error: Some(format!("the connector instance `{connector}` is not configured on any worker")),
        };
        let recorded = app.store.record(id, request_id, Guard::NotRunning, &transition, "runner", now).await?;
        if recorded != Recorded::Stale {
            tracing::error!(%connector, task_id = id, %request_id, "A task's connector instance is not configured; the task failed.");
        }
    }
    Ok(())
}
