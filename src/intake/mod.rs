//! The RabbitMQ consumer: each delivery goes through `admit` and is then acked, dead-lettered or
//! handed back.
//!
//! A message is acknowledged only after its request and tasks are committed. An invalid message
//! is republished to the dead-letter queue with an `x-erasure-reason` header (confirmed) before
//! it is acknowledged, and an `erasure.rejected` event is queued when its `request_id` could be
//! read. A cancellation (`"type": "cancel"`) on the same queue cancels a request still open.
//! While the database is down, a message stays unacknowledged and is retried in place.
//!
//! `admit.rs` is the one admission path (the API's submission and dead-letter replay call it
//! too); `message.rs` the v1 message; `signature.rs` signed intake; `dead_letter.rs` refusals.

pub mod admit;
pub mod dead_letter;
pub mod message;
pub mod signature;

pub use dead_letter::reason as dead_letter_reason;

use crate::amqp;
use crate::app::App;
use crate::shutdown::Shutdown;
use admit::{admit, Admitted, Envelope, Refusal, Source};
use backon::{ExponentialBuilder, Retryable};
use dead_letter::DeadLettered;
use futures_util::StreamExt;
use lapin::message::Delivery;
use lapin::options::{BasicAckOptions, BasicCancelOptions, BasicConsumeOptions, BasicNackOptions, BasicQosOptions};
use lapin::types::FieldTable;
use lapin::Channel;
use message::Rejection;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use uuid::Uuid;

/// Consume until shutdown, reconnecting after any broker failure.
pub async fn run(app: Arc<App>, shutdown: Shutdown) {
    while !shutdown.is_triggered() {
        let Some(connection) = app.broker.connect("intake", &shutdown).await else {
            break;
        };
        match consume(&app, &connection, &shutdown).await {
            Ok(()) => {}
            Err(error) => {
                tracing::warn!(error = %amqp::redact(&error.to_string()), "Intake lost its broker connection; reconnecting.")
            }
        }
        let _ = connection.close(200, "intake stopping".into()).await;
    }
    tracing::info!("Intake stopped.");
}

async fn consume(app: &Arc<App>, connection: &lapin::Connection, shutdown: &Shutdown) -> lapin::Result<()> {
    let settings = app.broker.settings();
    let channel = connection.create_channel().await?;
    app.broker.declare_topology(&channel).await?;
    channel.basic_qos(settings.prefetch, BasicQosOptions::default()).await?;
    let publisher = Arc::new(amqp::confirm_channel(connection).await?);
    let tag = format!("erasure-intake-{}", Uuid::new_v4().simple());
    let mut consumer = channel
        .basic_consume(
            settings.requests_queue.as_str().into(),
            tag.as_str().into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await?;
    tracing::info!(queue = %settings.requests_queue, "Intake is consuming.");

    let slots = Arc::new(Semaphore::new(app.settings.intake.concurrency));
    let mut in_flight = JoinSet::new();
    let result = loop {
        tokio::select! {
            _ = shutdown.wait() => break Ok(()),
            Some(_) = in_flight.join_next(), if !in_flight.is_empty() => {}
            delivery = consumer.next() => match delivery {
                Some(Ok(delivery)) => {
                    let permit = slots.clone().acquire_owned().await.expect("the semaphore is never closed");
                    let (app, publisher, shutdown) = (app.clone(), publisher.clone(), shutdown.clone());
                    in_flight.spawn(async move {
                        handle(&app, &publisher, delivery, &shutdown).await;
                        drop(permit);
                    });
                }
                Some(Err(error)) => break Err(error),
                None => break Err(lapin::Error::from(lapin::ErrorKind::InvalidChannelState(
                    lapin::ChannelState::Closed, "the consumer was cancelled by the broker",
                ))),
            },
        }
    };
    let _ = channel.basic_cancel(tag.as_str().into(), BasicCancelOptions::default()).await;
    let drain = app.settings.runner.drain_timeout.0;
    let _ = tokio::time::timeout(drain, async { while in_flight.join_next().await.is_some() {} }).await;
    result
}

/// One delivery, to its end: committed and acked, dead-lettered and acked, or (on shutdown while
/// the database is down) handed back to the broker.
async fn handle(app: &App, publisher: &Channel, delivery: Delivery, shutdown: &Shutdown) {
    let reply_to = delivery.properties.reply_to().as_ref().map(|r| r.as_str().to_string()).filter(|r| !r.is_empty());
    let envelope = Envelope { body: &delivery.data, headers: delivery.properties.headers().as_ref(), reply_to };
    let judged = in_place(shutdown, || admit(app, &envelope, Source::Queue), |r| matches!(r, Refusal::Unavailable(_)));
    match judged.await {
        Some(Ok(admitted)) => {
            let outcome = match admitted {
                Admitted::Created { .. } => "accepted",
                Admitted::Duplicate { .. } | Admitted::AlreadyCancelled { .. } => "duplicate",
                Admitted::Cancelled { .. } => "cancelled",
            };
            crate::metrics::record_intake(outcome, None);
            ack(&delivery).await
        }
        Some(Err(Refusal::Rejected(rejection))) => {
            dead_letter(app, publisher, &delivery, &rejection, envelope.reply_to.as_deref(), shutdown).await
        }
        Some(Err(Refusal::Unavailable(_))) | None => requeue(&delivery).await,
    }
}

async fn dead_letter(
    app: &App,
    publisher: &Channel,
    delivery: &Delivery,
    rejection: &Rejection,
    reply_to: Option<&str>,
    shutdown: &Shutdown,
) {
    if let DeadLettered::NotConfirmed = dead_letter::publish(app, publisher, delivery, rejection).await {
        return requeue(delivery).await;
    }
    let recorded = in_place(shutdown, || dead_letter::record(app, &delivery.data, rejection, reply_to), |_| true);
    match recorded.await {
        Some(Ok(())) => ack(delivery).await,
        Some(Err(_)) | None => requeue(delivery).await,
    }
}

/// Call until it works or fails for a reason `waits` does not wait out (while the database is
/// away, with a growing delay); `None` on shutdown.
async fn in_place<T, E, F, Fut>(shutdown: &Shutdown, call: F, waits: impl FnMut(&E) -> bool) -> Option<Result<T, E>>
where
    E: std::fmt::Display,
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, E>>,
{
    let backoff = ExponentialBuilder::default()
        .with_min_delay(Duration::from_millis(100))
        .with_max_delay(Duration::from_secs(5))
        .without_max_times();
    let attempts = call.retry(backoff).when(waits).notify(
        |error, _| tracing::warn!(%error, "Intake cannot reach the database; the message waits unacknowledged."),
    );
    tokio::select! {
        result = attempts => Some(result),
        _ = shutdown.wait() => None,
    }
}

async fn ack(delivery: &Delivery) {
    if let Err(error) = delivery.ack(BasicAckOptions::default()).await {
        tracing::warn!(%error, "Could not acknowledge a delivery; the broker will redeliver it (a no-op).");
    }
}

async fn requeue(delivery: &Delivery) {
    let options = BasicNackOptions { requeue: true, ..BasicNackOptions::default() };
    if let Err(error) = delivery.nack(options).await {
        tracing::warn!(%error, "Could not hand a delivery back; the broker will redeliver it.");
    }
}
