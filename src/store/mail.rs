//! Messages to the person, queued with the event that causes them (same transaction), and the one
//! place that decides which events the person hears about. Claimed, marked sent and postponed
//! like every queue (`store::queue`); a refused row is never claimed again.

use super::queue::{Queue, Queued};
use super::sealed::identifiers_from;
use super::Tx;
use super::{Channel, Prepared, Store, StoreError};
use crate::events::EventType;
use crate::vault::Vault;
use chrono::{DateTime, Utc};
use uuid::Uuid;

/// A claimed message with what the sender needs from its request.
#[derive(Debug, Clone)]
pub struct MailRow {
    pub id: i64,
    pub message_id: Uuid,
    pub event_type: String,
    pub payload: serde_json::Value,
    pub attempts: i32,
    /// The request's `subject` (its `emails` are the recipients); null once it was purged.
    pub subject: serde_json::Value,
    pub locale: Option<String>,
}

/// The events the person hears about: the one place that decides it, when the event is queued.
fn concerns_the_person(event: EventType) -> bool {
    matches!(event, EventType::Completed | EventType::Failed | EventType::Cancelled | EventType::DeadlineExtended)
}

/// Queue the message for `event` of request `request_id` inside the caller's transaction (once
/// per message id), if the person hears about it and mail is switched on.
pub(super) async fn enqueue(
    tx: &Tx<'_>,
    request_id: Option<Uuid>,
    message_id: Uuid,
    event: EventType,
    payload: &serde_json::Value,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let Some(request_id) = request_id.filter(|_| concerns_the_person(event)) else {
        return Ok(());
    };
    let queued = tx
        .execute(
            &tx.prepared("INSERT INTO mail_outbox (request_id, message_id, event_type, payload, next_attempt_at, created_at, updated_at)
             SELECT $1, $2, $3, $4, $5, $5, $5 FROM mail_switch WHERE enabled
             ON CONFLICT (message_id) DO NOTHING").await?,
            &[&request_id, &message_id, &event.routing_key(), payload, &now],
        )
        .await?;
    if queued > 0 {
        tx.wake(Channel::Mail);
    }
    Ok(())
}

impl Store {
    /// Queue messages from now on, or not (`[mail] enabled`; the same on every worker).
    pub async fn set_mail_enabled(&self, enabled: bool) -> Result<(), StoreError> {
        let client = self.client().await?;
        client.execute(&client.prepared("UPDATE mail_switch SET enabled = $1").await?, &[&enabled]).await?;
        Ok(())
    }

    /// A permanent refusal (or nothing to send to): recorded with the reason, never retried.
    pub async fn mark_mail_refused(&self, id: i64, error: &str, now: DateTime<Utc>) -> Result<(), StoreError> {
        let client = self.client().await?;
        client
            .execute(
                &client.prepared("UPDATE mail_outbox SET refused_at = $3, last_error = $2, updated_at = $3 WHERE id = $1 AND sent_at IS NULL").await?,
                &[&id, &error, &now],
            )
            .await?;
        Ok(())
    }
}

impl Queued for MailRow {
    const QUEUE: Queue = Queue::Mail;
    const SELECT: &'static str = "SELECT c.id, c.message_id, c.event_type, c.payload, c.attempts, r.locale, r.id,
                                         r.identifiers_sealed, r.identifiers_key_id, r.subject, r.reply_to
                                  FROM claimed c JOIN requests r ON r.id = c.request_id
                                  ORDER BY c.id";

    /// The recipients come from the request's sealed identifiers, opened here.
    fn from_row(r: &tokio_postgres::Row, vault: &Vault) -> Result<MailRow, StoreError> {
        let identifiers = identifiers_from(vault, r.get(6), r, 7)?;
        Ok(MailRow {
            id: r.get(0),
            message_id: r.get(1),
            event_type: r.get(2),
            payload: r.get(3),
            attempts: r.get(4),
            subject: identifiers.map(|i| i.subject).unwrap_or_default(),
            locale: r.get(5),
        })
    }
}
