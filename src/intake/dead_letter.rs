//! A refused delivery: republished to the dead-letter queue with the reason in its headers
//! (confirmed), recorded with its `erasure.rejected` event when its `request_id` could be read,
//! and only then acknowledged.

use super::message::Rejection;
use super::properties::{headers_within_caps, printable, Properties};
use super::signature::{KEY_ID_HEADER, SIGNATURE_HEADER};
use crate::amqp::{self, header_text, Published};
use crate::app::App;
use crate::events::{self, Rejected};
use crate::store::dead_letters::NewDeadLetter;
use crate::store::StoreError;
use lapin::message::Delivery;
use lapin::types::AMQPValue;
use lapin::{BasicProperties, Channel};

pub const REASON_HEADER: &str = "x-erasure-reason";

/// Where a dead letter ended.
pub enum DeadLettered {
    /// On the dead-letter queue and recorded: the delivery can be acked.
    Done,
    /// The broker did not confirm the copy: the delivery goes back to the queue.
    NotConfirmed,
}

/// Put the delivery on the dead-letter queue, then record the letter (retried by the caller
/// while the database is away: the copy on the queue is already there, a second one is harmless).
pub async fn publish(app: &App, publisher: &Channel, delivery: &Delivery, rejection: &Rejection) -> DeadLettered {
    // Headers beyond intake's caps are not copied: the copy carries only the reason.
    let mut headers = delivery.properties.headers().clone().filter(headers_within_caps).unwrap_or_default();
    headers.insert(REASON_HEADER.into(), AMQPValue::LongString(rejection.reason.as_str().into()));
    headers.insert("x-erasure-detail".into(), AMQPValue::LongString(rejection.detail.as_str().into()));
    headers.insert("x-erasure-rejected-at".into(), AMQPValue::LongString(app.clock.now().to_rfc3339().into()));
    let mut properties = BasicProperties::default().with_headers(headers);
    if let Some(id) = delivery.properties.message_id().as_ref().filter(|id| printable(id.as_str())) {
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
            return DeadLettered::NotConfirmed;
        }
    }
    tracing::warn!(
        reason = rejection.reason.as_str(),
        detail = %rejection.detail,
        request_id = ?rejection.request_id,
        "Invalid message dead-lettered."
    );
    crate::metrics::record_intake("dead_lettered", Some(rejection.reason.as_str()));
    DeadLettered::Done
}

/// Record the letter, with the `erasure.rejected` event when the request id is known, and the
/// signature headers it came with, so that a replay checks them again.
pub async fn record(
    app: &App,
    body: &[u8],
    properties: &Properties<'_>,
    rejection: &Rejection,
    reply_to: Option<&str>,
) -> Result<(), StoreError> {
    let now = app.clock.now();
    let event = rejection.request_id.map(|request_id| {
        let rejected = Rejected::new(rejection.reason, rejection.detail.clone(), now, body);
        events::build(request_id, &rejected, reply_to.map(str::to_string))
    });
    let (key_id, signature) =
        (signature_header(properties, KEY_ID_HEADER), signature_header(properties, SIGNATURE_HEADER));
    let letter = NewDeadLetter {
        reason: rejection.reason.as_str(),
        detail: &rejection.detail,
        request_id: rejection.request_id,
        body,
        reply_to,
        signing_key_id: key_id.as_deref(),
        signature: signature.as_deref(),
    };
    app.store.record_dead_letter(&letter, event.as_ref(), now).await
}

/// A signature header worth keeping: printable ASCII, short, within the header caps.
fn signature_header(properties: &Properties<'_>, name: &str) -> Option<String> {
    let headers = properties.headers.filter(|h| headers_within_caps(h))?;
    header_text(headers, name).filter(|v| printable(v))
}

/// The reason header of a dead-lettered message, for tools and tests.
pub fn reason(properties: &BasicProperties) -> Option<String> {
    header_text(properties.headers().as_ref()?, REASON_HEADER)
}
