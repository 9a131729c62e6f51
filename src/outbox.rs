//! The outbox relay: publishes committed events to the events exchange (and to the intake
//! message's `reply_to`) with publisher confirms, `mandatory`, and a stable message id; marks a
//! row sent only after the broker confirmed it was routed. A returned (unroutable) event stays
//! unsent, is retried with backoff, and raises an error-level alert.

use crate::amqp::{self, Published};
use crate::app::App;
use crate::runner::transition::{retry_delay, RetryPolicy};
use crate::shutdown::Shutdown;
use crate::store::outbox::{Destination, OutboxRow};
use crate::store::OUTBOX_CHANNEL;
use lapin::types::{AMQPValue, FieldTable};
use lapin::BasicProperties;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

/// How long a claimed row stays invisible to other relays.
const CLAIM_LEASE: Duration = Duration::from_secs(30);

pub async fn run(app: Arc<App>, shutdown: Shutdown) {
    let wake = Arc::new(Notify::new());
    let listener = tokio::spawn(crate::listen::listen(app.clone(), OUTBOX_CHANNEL, wake.clone(), shutdown.clone()));
    while !shutdown.is_triggered() {
        let Some(connection) = app.broker.connect("outbox", &shutdown).await else {
            break;
        };
        if let Err(error) = relay(&app, &connection, &wake, &shutdown).await {
            tracing::warn!(error = %amqp::redact(&error.to_string()), "Outbox relay lost its broker connection; reconnecting.");
        }
        let _ = connection.close(200, "outbox stopping".into()).await;
    }
    listener.abort();
    tracing::info!("Outbox relay stopped.");
}

async fn relay(app: &App, connection: &lapin::Connection, wake: &Notify, shutdown: &Shutdown) -> lapin::Result<()> {
    let channel = amqp::confirm_channel(connection).await?;
    app.broker.declare_events_exchange(&channel).await?;
    let batch = i64::from(app.settings.outbox.batch);
    while !shutdown.is_triggered() {
        let rows = match app.store.claim_outbox(batch, CLAIM_LEASE, app.clock.now()).await {
            Ok(rows) => rows,
            Err(error) => {
                tracing::warn!(%error, "Outbox relay cannot reach the database.");
                Vec::new()
            }
        };
        if rows.is_empty() {
            tokio::select! {
                _ = wake.notified() => {}
                _ = tokio::time::sleep(app.settings.outbox.poll_interval.0) => {}
                _ = shutdown.wait() => {}
            }
            continue;
        }
        let results = futures_util::future::join_all(rows.iter().map(|row| publish_row(app, &channel, row))).await;
        let mut sent = Vec::new();
        let mut broken = None;
        for (row, result) in rows.iter().zip(results) {
            match result {
                Ok(Published::Confirmed) => sent.push(row.id),
                Ok(outcome) => unsent(app, row, &format!("{outcome:?}")).await,
                Err(error) => {
                    unsent(app, row, "the broker connection failed").await;
                    broken = Some(error);
                }
            }
        }
        crate::metrics::record_publication("sent", sent.len() as u64);
        crate::metrics::record_publication("unsent", (rows.len() - sent.len()) as u64);
        if let Err(error) = app.store.mark_sent(&sent, app.clock.now()).await {
            tracing::warn!(%error, rows = sent.len(), "Published events could not be marked sent; they will be published again (same message ids).");
        }
        if let Some(error) = broken {
            return Err(error);
        }
    }
    Ok(())
}

async fn publish_row(app: &App, channel: &lapin::Channel, row: &OutboxRow) -> lapin::Result<Published> {
    if crate::mail::replaces_reply(&app.settings.mail, row) {
        return Ok(Published::Confirmed);
    }
    let body = serde_json::to_vec(&row.payload).expect("a JSON value serialises");
    let mut headers = FieldTable::default();
    headers.insert("x-erasure-event".into(), AMQPValue::LongString(row.event_type.as_str().into()));
    let mut properties = BasicProperties::default()
        .with_message_id(row.message_id.to_string().into())
        .with_content_type("application/json".into())
        .with_type(row.event_type.as_str().into())
        .with_app_id("erasure-worker".into())
        .with_timestamp(app.clock.now().timestamp() as u64)
        .with_headers(headers);
    if let Some(request_id) = row.payload.get("request_id").and_then(|v| v.as_str()) {
        properties = properties.with_correlation_id(request_id.into());
    }
    let exchange = match row.destination {
        Destination::Events => app.settings.amqp.events_exchange.as_str(),
        Destination::Reply => "",
    };
    amqp::publish(channel, exchange, &row.routing_key, &body, properties).await
}

async fn unsent(app: &App, row: &OutboxRow, why: &str) {
    let policy = RetryPolicy { base: app.settings.outbox.retry_base.0, cap: app.settings.outbox.retry_cap.0 };
    let delay = retry_delay(policy, row.attempts.max(1) as u32, row.id);
    let now = app.clock.now();
    let retry_at = now + chrono::Duration::from_std(delay).unwrap_or_default();
    let destination = match row.destination {
        Destination::Events => "the events exchange",
        Destination::Reply => "the reply_to queue",
    };
    let error = format!("not delivered to {destination}: {why}");
    tracing::error!(
        alert = "outbox_unroutable",
        event = %row.event_type,
        message_id = %row.message_id,
        attempts = row.attempts,
        retry_at = %retry_at,
        "An event was not delivered; it stays in the outbox. Bind a queue to the events exchange."
    );
    if let Err(e) = app.store.mark_unsent(row.id, &error, retry_at, now).await {
        tracing::warn!(error = %e, "Could not record an undelivered event; its claim will lapse and it will be retried.");
    }
}
