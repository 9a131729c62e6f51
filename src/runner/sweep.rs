//! The runner's sweeps, once per poll interval rather than on every wake-up: rescue of expired
//! leases, requests whose grace period ended, the gauges' settled counts, and (every 30th sweep)
//! tasks of unconfigured connectors, expired dead letters, and forgetting: the identifiers of
//! requests that are over, and sent events and messages past their retention.

use super::{policy, record, transition::decide};
use crate::app::App;
use crate::model::TaskState;
use crate::store::tasks::{Guard, Recorded, Transition};
use chrono::{DateTime, Utc};
use erasure_connector::Outcome;
use std::time::{Duration, Instant};

pub(super) struct Sweeper {
    configured: Vec<String>,
    every: Duration,
    last: Option<Instant>,
    count: u64,
}

impl Sweeper {
    pub(super) fn new(configured: Vec<String>, every: Duration) -> Sweeper {
        Sweeper { configured, every, last: None, count: 0 }
    }

    pub(super) async fn sweep_if_due(&mut self, app: &App, now: DateTime<Utc>) {
        if self.last.is_some_and(|at| at.elapsed() < self.every) {
            return;
        }
        self.last = Some(Instant::now());
        if let Err(error) = rescue_expired(app).await {
            tracing::warn!(%error, "Could not rescue expired leases.");
        }
        match app.store.start_due_requests(now).await {
            Ok(0) => {}
            Ok(started) => tracing::info!(started, "Requests whose grace period ended have started."),
            Err(error) => tracing::warn!(%error, "Could not start requests whose grace period ended."),
        }
        if let Err(error) = app.store.fold_settled_counts().await {
            tracing::warn!(%error, "Could not fold the settled counts of the gauges.");
        }
        if self.count % 30 == 0 {
            if let Err(error) = fail_orphans(app, &self.configured).await {
                tracing::warn!(%error, "Could not check for tasks of unconfigured connectors.");
            }
            if let Err(error) = app.store.purge_dead_letters(app.settings.amqp.dead_letter_ttl.0, now).await {
                tracing::warn!(%error, "Could not purge expired dead letters.");
            }
            forget(app, now).await;
        }
        self.count += 1;
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
            verify_after: None,
        };
        let recorded = app.store.record(id, request_id, Guard::NotRunning, &transition, "runner", now).await?;
        if recorded != Recorded::Stale {
            tracing::error!(%connector, task_id = id, %request_id, "A task's connector instance is not configured; the task failed.");
        }
    }
    Ok(())
}

/// Delete the identifiers of requests that are over (`store::forget`), in batches, then sent
/// events and messages past their retention. Logs counts and request ids only.
async fn forget(app: &App, now: DateTime<Utc>) {
    let retention = &app.settings.retention;
    loop {
        match app.store.forget_settled(retention.settled_identifiers.0, 100, now).await {
            Ok(ids) if ids.is_empty() => break,
            Ok(ids) => {
                tracing::info!(forgotten = ids.len(), "Deleted the identifiers of requests that are over.");
                if ids.len() < 100 {
                    break;
                }
            }
            Err(error) => {
                tracing::warn!(%error, "Could not delete the identifiers of requests that are over.");
                break;
            }
        }
    }
    match app.store.prune_sent(retention.sent_messages.0, now).await {
        Ok(0) => {}
        Ok(pruned) => tracing::info!(pruned, "Deleted sent events and messages past their retention."),
        Err(error) => tracing::warn!(%error, "Could not delete sent events and messages."),
    }
}
