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
pub mod properties;
pub mod signature;

pub use dead_letter::reason as dead_letter_reason;

use crate::amqp;
use crate::app::App;
use crate::liveness::Heartbeat;
use crate::retry;
use crate::shutdown::Shutdown;
use crate::store::StoreError;
use admit::{admit, Admitted, Envelope, Refusal, Source};
use dead_letter::DeadLettered;
use futures_util::StreamExt;
use lapin::message::Delivery;
use lapin::options::{BasicAckOptions, BasicCancelOptions, BasicConsumeOptions, BasicNackOptions, BasicQosOptions};
use lapin::types::FieldTable;
use lapin::Channel;
use message::Rejection;
use properties::Properties;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use uuid::Uuid;

/// Consume until shutdown, reconnecting after any broker failure.
pub async fn run(app: Arc<App>, shutdown: Shutdown) {
    let heartbeat = app.liveness.register("intake", app.settings.probes.stale_after.0);
    while !shutdown.is_triggered() {
        let Some(connection) = app.broker.connect("intake", &shutdown).await else {
            break;
        };
        let consumed = consume(&app, &connection, &heartbeat, &shutdown).await;
        heartbeat.stopped();
        match consumed {
            Ok(()) => {}
            Err(error) => {
                tracing::warn!(error = %amqp::redact(&error.to_string()), "Intake lost its broker connection; reconnecting.")
            }
        }
        crate::metrics::set_amqp_connected("intake", false);
        let _ = connection.close(200, "intake stopping".into()).await;
    }
    tracing::info!("Intake stopped.");
}

/// Alive (`heartbeat`) while the consumer is attached and this loop takes deliveries.
async fn consume(
    app: &Arc<App>,
    connection: &lapin::Connection,
    heartbeat: &Heartbeat,
    shutdown: &Shutdown,
) -> lapin::Result<()> {
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
    let mut beats = tokio::time::interval((app.settings.probes.stale_after.0 / 3).max(Duration::from_millis(100)));
    let result = loop {
        tokio::select! {
            _ = shutdown.wait() => break Ok(()),
            _ = beats.tick() => heartbeat.beat(),
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

/// A server error that is not about availability, seen this many times for one delivery, is the
/// message's doing: it is dead-lettered as `unstorable`.
const REPEATS_BEFORE_DEAD_LETTER: u32 = 5;

/// One delivery, to its end: committed and acked, dead-lettered and acked, or (on shutdown while
/// the database is down) handed back to the broker.
async fn handle(app: &App, publisher: &Channel, delivery: Delivery, shutdown: &Shutdown) {
    let envelope = Envelope { body: &delivery.data, properties: Properties::of(&delivery.properties) };
    // Only an unavailable database is waited out; a refusal is an answer, and so is a server
    // error that is not about availability and keeps coming back for this message.
    let suspect_failures = AtomicU32::new(0);
    let judge = || async {
        match admit(app, &envelope, Source::Queue).await {
            Ok(admitted) => Ok(Ok(admitted)),
            Err(Refusal::Rejected(rejection)) => Ok(Err(rejection)),
            Err(Refusal::Unavailable(error)) if error.is_transient() => Err(error),
            Err(Refusal::Unavailable(error)) => {
                if suspect_failures.fetch_add(1, Ordering::Relaxed) + 1 >= REPEATS_BEFORE_DEAD_LETTER {
                    return Ok(Err(admit::unstorable(&error)));
                }
                Err(error)
            }
        }
    };
    match in_place(shutdown, judge).await {
        Some(Ok(admitted)) => {
            let outcome = match admitted {
                Admitted::Created { .. } => "accepted",
                Admitted::Duplicate { .. } | Admitted::AlreadyCancelled { .. } => "duplicate",
                Admitted::Cancelled { .. } => "cancelled",
            };
            crate::metrics::record_intake(outcome, None);
            ack(&delivery).await
        }
        Some(Err(rejection)) => {
            dead_letter(app, publisher, &delivery, &rejection, envelope.valid_reply_to().as_deref(), shutdown).await
        }
        None => requeue(&delivery).await,
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
    // A value the database refuses is refused again: the copy on the dead-letter queue stands.
    let record = || async {
        let properties = Properties::of(&delivery.properties);
        match dead_letter::record(app, &delivery.data, &properties, rejection, reply_to).await {
            Err(error) if error.is_refused_value() => Ok(Err(error)),
            other => other.map(Ok),
        }
    };
    match in_place(shutdown, record).await {
        Some(Ok(())) => ack(delivery).await,
        Some(Err(error)) => {
            let sqlstate = error.sqlstate().unwrap_or("?");
            tracing::error!(sqlstate, reason = rejection.reason.as_str(), "A dead letter could not be recorded (the database refused a value); its copy is on the dead-letter queue.");
            ack(delivery).await
        }
        None => requeue(delivery).await,
    }
}

/// Call until the database answers, with a growing delay; `None` on shutdown (the delivery
/// waits unacknowledged meanwhile).
async fn in_place<T, Fut>(shutdown: &Shutdown, call: impl FnMut() -> Fut) -> Option<T>
where
    Fut: std::future::Future<Output = Result<T, StoreError>>,
{
    let backoff = retry::while_unavailable(Duration::from_millis(100), Duration::from_secs(5), None);
    retry::until_shutdown(backoff, shutdown, call, |error: &StoreError| {
        tracing::warn!(%error, "Intake cannot reach the database; the message waits unacknowledged.")
    })
    .await
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
