//! The outbox: events committed with the state change that caused them, published later by the
//! relay. Claimed, marked sent and postponed like every queue (`store::queue`).

use super::queue::{Queue, Queued};
use super::{Store, StoreError, OUTBOX_CHANNEL};
pub use crate::events::NewEvent;
use chrono::{DateTime, Utc};
use deadpool_postgres::Transaction;
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
pub(crate) async fn enqueue(tx: &Transaction<'_>, event: &NewEvent, now: DateTime<Utc>) -> Result<(), StoreError> {
    let event_type = event.event.routing_key();
    let mut rows = vec![("events", event_type.to_string())];
    if let Some(reply_to) = &event.reply_to {
        rows.push(("reply", reply_to.clone()));
    }
    for (destination, routing_key) in rows {
        tx.execute(
            "INSERT INTO outbox (request_id, message_id, event_type, destination, routing_key, payload,
                                 next_attempt_at, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $7)
             ON CONFLICT (message_id, destination) DO NOTHING",
            &[&event.request_id, &event.message_id, &event_type, &destination, &routing_key, &event.payload, &now],
        )
        .await?;
    }
    tx.execute(&format!("NOTIFY {OUTBOX_CHANNEL}"), &[]).await?;
    super::mail::enqueue(tx, event.request_id, event.message_id, event.event, &event.payload, now).await?;
    Ok(())
}

impl Store {
    /// Queue an event on its own (a rejection, which has no request row).
    pub async fn enqueue_event(&self, event: &NewEvent, now: DateTime<Utc>) -> Result<(), StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        enqueue(&tx, event, now).await?;
        tx.commit().await?;
        Ok(())
    }
}

impl Queued for OutboxRow {
    const QUEUE: Queue = Queue::Outbox;
    const SELECT: &'static str =
        "SELECT c.id, c.message_id, c.event_type, c.destination, c.routing_key, c.payload, c.attempts,
                EXISTS (SELECT 1 FROM mail_outbox m WHERE m.message_id = c.message_id)
         FROM claimed c ORDER BY c.id";

    fn from_row(r: &tokio_postgres::Row) -> OutboxRow {
        OutboxRow {
            id: r.get(0),
            message_id: r.get(1),
            event_type: r.get(2),
            destination: if r.get::<_, &str>(3) == "reply" { Destination::Reply } else { Destination::Events },
            routing_key: r.get(4),
            payload: r.get(5),
            attempts: r.get(6),
            mailed: r.get(7),
        }
    }
}
