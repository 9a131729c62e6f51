//! The outbox: events committed with the state change that caused them, published later by the
//! relay. Claimed, marked sent and postponed like every queue (`store::queue`).

use super::queue::{Queue, Queued};
use super::sealed::OUTBOX_REPLY_TO;
use super::Tx;
use super::{Channel, Prepared, Store, StoreError};
pub use crate::events::NewEvent;
use crate::vault::Vault;
use chrono::{DateTime, Utc};
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Destination {
    Events,
    Reply,
}

#[derive(Debug, Clone)]
pub struct OutboxRow {
    pub id: i64,
    pub message_id: Uuid,
    pub event_type: String,
    pub destination: Destination,
    pub routing_key: String,
    pub payload: serde_json::Value,
    pub attempts: i32,
    /// A message to the person was queued with this event (`store::mail` decided, at enqueue).
    pub mailed: bool,
}

/// Queue an event inside the caller's transaction.
/// The `reply_to` queue is stored sealed (bound to the message id), with an empty routing key.
pub(crate) async fn enqueue(
    tx: &Tx<'_>,
    vault: &Vault,
    event: &NewEvent,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let event_type = event.event.routing_key();
    let mut rows = vec![("events", event_type.to_string(), None)];
    if let Some(reply_to) = &event.reply_to {
        let sealed = vault.seal(event.message_id.as_bytes(), OUTBOX_REPLY_TO, reply_to.as_bytes())?;
        rows.push(("reply", String::new(), Some(sealed)));
    }
    for (destination, routing_key, sealed) in rows {
        let (sealed, key_id) = sealed.map(|s| (s.bytes, s.key_id)).unzip();
        tx.execute(
            &tx.prepared(
                "INSERT INTO outbox (request_id, message_id, event_type, destination, routing_key, payload,
                                 next_attempt_at, created_at, updated_at, reply_to_sealed, reply_to_key_id)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $7, $8, $9)
             ON CONFLICT (message_id, destination) DO NOTHING",
            )
            .await?,
            &[
                &event.request_id,
                &event.message_id,
                &event_type,
                &destination,
                &routing_key,
                &event.payload,
                &now,
                &sealed,
                &key_id,
            ],
        )
        .await?;
    }
    tx.wake(Channel::Outbox);
    super::mail::enqueue(tx, event.request_id, event.message_id, event.event, &event.payload, now).await?;
    Ok(())
}

impl Store {
    /// Queue an event on its own (a rejection, which has no request row).
    pub async fn enqueue_event(&self, event: &NewEvent, now: DateTime<Utc>) -> Result<(), StoreError> {
        let mut client = self.client().await?;
        let tx = self.begin(&mut client).await?;
        enqueue(&tx, self.vault(), event, now).await?;
        tx.commit().await?;
        Ok(())
    }
}

impl Queued for OutboxRow {
    const QUEUE: Queue = Queue::Outbox;
    const SELECT: &'static str =
        "SELECT c.id, c.message_id, c.event_type, c.destination, c.routing_key, c.payload, c.attempts,
                EXISTS (SELECT 1 FROM mail_outbox m WHERE m.message_id = c.message_id),
                c.reply_to_sealed, c.reply_to_key_id
         FROM claimed c ORDER BY c.id";

    /// A reply row's routing key is its `reply_to`, opened here.
    fn from_row(r: &tokio_postgres::Row, vault: &Vault) -> Result<OutboxRow, StoreError> {
        let message_id: Uuid = r.get(1);
        let mut routing_key: String = r.get(4);
        if let (Some(sealed), Some(key_id)) = (r.get::<_, Option<Vec<u8>>>(8), r.get::<_, Option<String>>(9)) {
            let clear = vault.open(&key_id, message_id.as_bytes(), OUTBOX_REPLY_TO, &sealed)?;
            routing_key = String::from_utf8(clear)
                .map_err(|_| StoreError::Corrupt("an event's sealed reply_to is not text".into()))?;
        }
        Ok(OutboxRow {
            id: r.get(0),
            message_id,
            event_type: r.get(2),
            destination: if r.get::<_, &str>(3) == "reply" { Destination::Reply } else { Destination::Events },
            routing_key,
            payload: r.get(5),
            attempts: r.get(6),
            mailed: r.get(7),
        })
    }
}
