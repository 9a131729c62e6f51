//! The outbox relay: publishes committed events to the events exchange (and to the intake
//! message's `reply_to`) with publisher confirms, `mandatory`, and a stable message id; marks a
//! row sent only after the broker confirmed it was routed. A returned (unroutable) event stays
//! unsent, is retried with backoff, and raises an error-level alert.

use crate::amqp::{self, Published};
use crate::app::App;
use crate::config::MailSettings;
use crate::poll::{self, Pass, Poller};
use crate::retry::RetryPolicy;
use crate::shutdown::Shutdown;
use crate::store::outbox::{Destination, OutboxRow};
use crate::store::queue::Queue;
use crate::store::Channel;
use lapin::types::{AMQPValue, FieldTable};
use lapin::BasicProperties;
use std::sync::Arc;
use std::time::Duration;

/// How long a claimed row stays invisible to other relays.
const CLAIM_LEASE: Duration = Duration::from_secs(30);

pub async fn run(app: Arc<App>, shutdown: Shutdown) {
    let poller = Poller::listen(&app, "outbox", Channel::Outbox, app.settings.outbox.poll_interval.0, &shutdown);
    while !shutdown.is_triggered() {
        let Some(connection) = app.broker.connect("outbox", &shutdown).await else {
            break;
        };
        if let Err(error) = relay(&app, &connection, &poller).await {
            tracing::warn!(error = %amqp::redact(&error.to_string()), "Outbox relay lost its broker connection; reconnecting.");
        }
        crate::metrics::set_amqp_connected("outbox", false);
        let _ = connection.close(200, "outbox stopping".into()).await;
    }
    drop(poller);
    tracing::info!("Outbox relay stopped.");
}

async fn relay(app: &App, connection: &lapin::Connection, poller: &Poller) -> lapin::Result<()> {
    let channel = amqp::confirm_channel(connection).await?;
    app.broker.declare_events_exchange(&channel).await?;
    let mut last = Pass::Busy;
    while poller.again(last).await {
        last = pass(app, &channel).await?;
    }
    Ok(())
}

/// Claim a batch and publish it.
async fn pass(app: &App, channel: &lapin::Channel) -> lapin::Result<Pass> {
    let claim =
        app.store.claim_queued::<OutboxRow>(i64::from(app.settings.outbox.batch), CLAIM_LEASE, app.clock.now()).await;
    let Some(rows) = poll::claimed("Outbox relay", claim) else {
        return Ok(Pass::Idle);
    };
    publish_batch(app, channel, &rows).await?;
    Ok(Pass::Busy)
}

/// Publish the rows at once and record each one's fate; a broken connection is returned.
async fn publish_batch(app: &App, channel: &lapin::Channel, rows: &[OutboxRow]) -> lapin::Result<()> {
    let results = futures_util::future::join_all(rows.iter().map(|row| publish_row(app, channel, row))).await;
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
    if let Err(error) = app.store.mark_sent(Queue::Outbox, &sent, app.clock.now()).await {
        tracing::warn!(%error, rows = sent.len(), "Published events could not be marked sent; they will be published again (same message ids).");
    }
    broken.map_or(Ok(()), Err)
}

/// True when an e-mail to the person replaces the product's `reply_to` copy of this event
/// (`[mail] also_reply = false`): the relay then counts the row as delivered without publishing
/// it. Whether the event is mailed was decided when it was queued (`OutboxRow::mailed`).
fn replaced_by_mail(settings: &MailSettings, row: &OutboxRow) -> bool {
    settings.enabled && !settings.also_reply && row.destination == Destination::Reply && row.mailed
}

async fn publish_row(app: &App, channel: &lapin::Channel, row: &OutboxRow) -> lapin::Result<Published> {
    if replaced_by_mail(&app.settings.mail, row) {
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
    let now = app.clock.now();
    let retry_at = policy.retry_at(row.attempts, row.id, now);
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
    if let Err(e) = app.store.postpone(Queue::Outbox, row.id, &error, retry_at, now).await {
        tracing::warn!(error = %e, "Could not record an undelivered event; its claim will lapse and it will be retried.");
    }
}
