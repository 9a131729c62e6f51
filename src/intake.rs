//! The RabbitMQ consumer: decode -> validate -> commit -> ack.
//!
//! A message is acknowledged only after its request and tasks are committed. An invalid message
//! is republished to the dead-letter queue with an `x-erasure-reason` header (confirmed) before
//! it is acknowledged, and an `erasure.rejected` event is queued when its `request_id` could be
//! read. A cancellation (`"type": "cancel"`) on the same queue cancels a request still open.
//! While the database is down, a message stays unacknowledged and is retried in place.

use crate::amqp::{self, header_text, Published};
use crate::app::App;
use crate::message::{self, CancelMessage, IntakeMessage, Reason, Rejection, Rules};
use crate::model::{receipt, EventType};
use crate::shutdown::Shutdown;
use crate::store::actions::Refused;
use crate::store::dead_letters::NewDeadLetter;
use crate::store::outbox::NewEvent;
use crate::store::requests::{Brake, Inserted, NewRequest, NewTask};
use chrono::Months;
use futures_util::StreamExt;
use lapin::message::Delivery;
use lapin::options::{BasicAckOptions, BasicCancelOptions, BasicConsumeOptions, BasicNackOptions, BasicQosOptions};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{BasicProperties, Channel};
use serde_json::json;
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
    let now = app.clock.now();
    let rules = rules(app, now);
    let reply_to = delivery.properties.reply_to().as_ref().map(|r| r.as_str().to_string()).filter(|r| !r.is_empty());
    if let Err(rejection) = app.verifier.check(delivery.properties.headers().as_ref(), &delivery.data) {
        return dead_letter(app, publisher, delivery, rejection, None, shutdown).await;
    }
    match message::decode_cancel(&delivery.data, &rules) {
        Some(Ok(cancel)) => return cancel_request(app, publisher, delivery, cancel, reply_to, shutdown).await,
        Some(Err(rejection)) => return dead_letter(app, publisher, delivery, rejection, reply_to, shutdown).await,
        None => {}
    }
    let message = match message::decode(&delivery.data, &rules) {
        Ok(message) => message,
        Err(rejection) => return dead_letter(app, publisher, delivery, rejection, reply_to, shutdown).await,
    };
    let new = new_request(app, &message, reply_to.clone());
    if new.tasks.is_empty() {
        let rejection = Rejection {
            reason: Reason::NoEnabledSystem,
            detail: "no enabled connector instance would erase anything for this request".into(),
            request_id: Some(message.request_id),
        };
        return dead_letter(app, publisher, delivery, rejection, reply_to, shutdown).await;
    }
    let inserted = retry_db(shutdown, || app.store.insert_request(&new, app.clock.now())).await;
    match inserted {
        Some(Inserted::Created) => {
            tracing::info!(request_id = %message.request_id, subject = %new.subject_hash, tasks = new.tasks.len(), "Erasure request received.");
            crate::metrics::record_intake("accepted", None);
            ack(&delivery).await;
        }
        Some(Inserted::Braked) => {
            braked(&message.request_id);
            crate::metrics::record_intake("accepted", None);
            ack(&delivery).await;
        }
        Some(Inserted::Duplicate) => {
            tracing::info!(request_id = %message.request_id, "Duplicate delivery of a known request; nothing changed.");
            crate::metrics::record_intake("duplicate", None);
            ack(&delivery).await;
        }
        Some(Inserted::Conflict) => {
            let rejection = Rejection {
                reason: Reason::RequestIdConflict,
                detail: "this request_id was already used for a different request".into(),
                request_id: Some(message.request_id),
            };
            dead_letter(app, publisher, delivery, rejection, reply_to, shutdown).await
        }
        None => requeue(&delivery).await,
    }
}

/// A cancellation: the request is cancelled (one transaction, its event queued) and the message
/// acked; a cancellation of an unknown or settled request is dead-lettered.
async fn cancel_request(
    app: &App,
    publisher: &Channel,
    delivery: Delivery,
    cancel: CancelMessage,
    reply_to: Option<String>,
    shutdown: &Shutdown,
) {
    let id = cancel.request_id;
    let Some(outcome) = retry_db(shutdown, || app.store.cancel(id, "intake", &cancel.reason, app.clock.now())).await
    else {
        return requeue(&delivery).await;
    };
    match outcome {
        Ok(()) => {
            tracing::info!(request_id = %id, "Erasure request cancelled by message.");
            crate::metrics::record_intake("cancelled", None);
            ack(&delivery).await;
        }
        Err(refused) => {
            let Some(state) = retry_db(shutdown, || app.store.request_state(id)).await else {
                return requeue(&delivery).await;
            };
            if state.as_deref() == Some("cancelled") {
                tracing::info!(request_id = %id, "Repeated cancellation of a cancelled request; nothing changed.");
                crate::metrics::record_intake("duplicate", None);
                return ack(&delivery).await;
            }
            let detail = match refused {
                Refused::NotFound => "no request has this request_id".to_string(),
                Refused::Conflict(why) => why,
            };
            // No `request_id`: a rejection event would tell the product that its request was
            // rejected, when only the cancellation was.
            let rejection = Rejection { reason: Reason::CancelNotApplicable, detail, request_id: None };
            dead_letter(app, publisher, delivery, rejection, reply_to, shutdown).await
        }
    }
}

/// The decoder's rules from the settings, at `now`.
pub(crate) fn rules(app: &App, now: chrono::DateTime<chrono::Utc>) -> Rules<'_> {
    Rules {
        max_bytes: app.settings.intake.max_message_bytes,
        known_systems: &app.known_systems,
        now,
        max_clock_skew: chrono::Duration::from_std(app.settings.intake.max_clock_skew.0).unwrap_or_default(),
    }
}

/// The request and its tasks (one per enabled instance among the requested systems).
pub(crate) fn new_request(app: &App, message: &IntakeMessage, reply_to: Option<String>) -> NewRequest {
    let systems = message.systems.clone().unwrap_or_else(|| app.settings.enabled_instances());
    let tasks = systems
        .iter()
        .filter(|name| app.settings.connectors[*name].enabled)
        .map(|name| {
            let connector = &app.settings.connectors[name];
            NewTask {
                connector: name.clone(),
                kind: connector.kind.clone(),
                max_attempts: connector.max_attempts.unwrap_or(app.settings.runner.max_attempts) as i32,
            }
        })
        .collect();
    let months = Months::new(app.settings.requests.response_period_months);
    NewRequest {
        id: message.request_id,
        body_sha256: message.fingerprint(),
        subject: serde_json::to_value(&message.subject).expect("a subject serialises"),
        subject_hash: app.hasher.subject(&message.subject),
        identifier_hashes: app.hasher.identifiers(&message.subject),
        locale: message.locale.clone(),
        reply_to,
        requested_at: message.requested_at,
        deadline_at: message.requested_at.checked_add_months(months).unwrap_or(message.requested_at),
        starts_at: grace_end(app, message.requested_at),
        tasks,
        brake: (app.settings.intake.brake_max_requests > 0).then(|| Brake {
            max_requests: i64::from(app.settings.intake.brake_max_requests),
            window: app.settings.intake.brake_window.0,
        }),
    }
}

/// When a request's grace period ends, if one is configured.
fn grace_end(app: &App, requested_at: chrono::DateTime<chrono::Utc>) -> Option<chrono::DateTime<chrono::Utc>> {
    let grace = app.settings.requests.grace_period.0;
    if grace.is_zero() {
        return None;
    }
    chrono::Duration::from_std(grace).ok().and_then(|g| requested_at.checked_add_signed(g))
}

async fn dead_letter(
    app: &App,
    publisher: &Channel,
    delivery: Delivery,
    rejection: Rejection,
    reply_to: Option<String>,
    shutdown: &Shutdown,
) {
    let mut headers = delivery.properties.headers().clone().unwrap_or_default();
    headers.insert("x-erasure-reason".into(), AMQPValue::LongString(rejection.reason.as_str().into()));
    headers.insert("x-erasure-detail".into(), AMQPValue::LongString(rejection.detail.as_str().into()));
    headers.insert("x-erasure-rejected-at".into(), AMQPValue::LongString(app.clock.now().to_rfc3339().into()));
    let mut properties = BasicProperties::default().with_headers(headers);
    if let Some(id) = delivery.properties.message_id() {
        properties = properties.with_message_id(id.clone());
    }
    if let Some(content_type) = delivery.properties.content_type() {
        properties = properties.with_content_type(content_type.clone());
    }
    let queue = &app.broker.settings().dead_letter_queue;
    match amqp::publish(publisher, "", queue, &delivery.data, properties).await {
        Ok(Published::Confirmed) => {}
        outcome => {
            tracing::error!(
                reason = rejection.reason.as_str(),
                ?outcome,
                "Cannot dead-letter an invalid message; it goes back to the queue."
            );
            return requeue(&delivery).await;
        }
    }
    tracing::warn!(
        reason = rejection.reason.as_str(),
        detail = %rejection.detail,
        request_id = ?rejection.request_id,
        "Invalid message dead-lettered."
    );
    crate::metrics::record_intake("dead_lettered", Some(rejection.reason.as_str()));
    let event = rejection.request_id.map(|request_id| NewEvent {
        request_id: Some(request_id),
        message_id: rejection_message_id(request_id, &delivery.data),
        event: EventType::Rejected,
        payload: json!({
            "version": 1,
            "event": EventType::Rejected.routing_key(),
            "message_id": rejection_message_id(request_id, &delivery.data),
            "request_id": request_id,
            "state": "rejected",
            "reason": rejection.reason.as_str(),
            "detail": rejection.detail,
            "rejected_at": app.clock.now(),
            "receipt": receipt(request_id),
        }),
        reply_to: reply_to.clone(),
    });
    let letter = NewDeadLetter {
        reason: rejection.reason.as_str(),
        detail: &rejection.detail,
        request_id: rejection.request_id,
        body: &delivery.data,
        reply_to: reply_to.as_deref(),
    };
    let recorded = retry_db(shutdown, || app.store.record_dead_letter(&letter, event.as_ref(), app.clock.now())).await;
    if recorded.is_none() {
        return requeue(&delivery).await;
    }
    ack(&delivery).await;
}

/// Deterministic per request id and body: a redelivery repeats the id, another body does not.
fn rejection_message_id(request_id: Uuid, body: &[u8]) -> Uuid {
    use sha2::{Digest, Sha256};
    let digest = hex::encode(&Sha256::digest(body)[..16]);
    Uuid::new_v5(&request_id, format!("erasure.rejected/{digest}").as_bytes())
}

/// Retry a database call with a growing delay until it works; `None` on shutdown.
async fn retry_db<T, E: std::fmt::Display, F, Fut>(shutdown: &Shutdown, mut call: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, E>>,
{
    let mut delay = Duration::from_millis(100);
    loop {
        match call().await {
            Ok(value) => return Some(value),
            Err(error) => {
                tracing::warn!(%error, "Intake cannot reach the database; the message waits unacknowledged.")
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = shutdown.wait() => return None,
        }
        delay = (delay * 2).min(Duration::from_secs(5));
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

/// The reason header of a dead-lettered message, for tools and tests.
pub fn dead_letter_reason(properties: &BasicProperties) -> Option<String> {
    header_text(properties.headers().as_ref()?, "x-erasure-reason")
}

/// The one place the brake is reported: an error-level alert and a metric.
pub(crate) fn braked(request_id: &Uuid) {
    metrics::counter!("erasure_brake_holds_total").increment(1);
    tracing::error!(
        alert = "mass_deletion_brake",
        %request_id,
        "Mass-deletion brake: too many requests recently; this one is held until an operator releases it."
    );
}
