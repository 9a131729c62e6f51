//! The outbox: events committed with the state change that caused them, published later by the
//! relay. A row is claimed by pushing its `next_attempt_at` forward, so a crashed relay's rows
//! come back by themselves.

use super::queue::Queue;
use super::{secs, Store, StoreError, OUTBOX_CHANNEL};
use crate::model::EventType;
use chrono::{DateTime, Utc};
use deadpool_postgres::Transaction;
use std::time::Duration;
use uuid::Uuid;

/// An event to publish on the events exchange and, if set, to the intake message's `reply_to`.
#[derive(Debug, Clone)]
pub struct NewEvent {
    pub request_id: Option<Uuid>,
    pub message_id: Uuid,
    pub event: EventType,
    pub payload: serde_json::Value,
    pub reply_to: Option<String>,
}

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

    /// Claim up to `limit` due rows for `lease`; unsent rows reappear when it runs out.
    pub async fn claim_outbox(
        &self,
        limit: i64,
        lease: Duration,
        now: DateTime<Utc>,
    ) -> Result<Vec<OutboxRow>, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query(
                "UPDATE outbox o SET next_attempt_at = $2 + make_interval(secs => $3::float8), attempts = o.attempts + 1
                 FROM (SELECT id FROM outbox WHERE sent_at IS NULL AND next_attempt_at <= $2
                       ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED) due
                 WHERE o.id = due.id
                 RETURNING o.id, o.message_id, o.event_type, o.destination, o.routing_key, o.payload, o.attempts,
                           EXISTS (SELECT 1 FROM mail_outbox m WHERE m.message_id = o.message_id)",
                &[&limit, &now, &secs(lease)],
            )
            .await?;
        let mut claimed: Vec<OutboxRow> = rows
            .iter()
            .map(|r| OutboxRow {
                id: r.get(0),
                message_id: r.get(1),
                event_type: r.get(2),
                destination: if r.get::<_, &str>(3) == "reply" { Destination::Reply } else { Destination::Events },
                routing_key: r.get(4),
                payload: r.get(5),
                attempts: r.get(6),
                mailed: r.get(7),
            })
            .collect();
        claimed.sort_by_key(|r| r.id);
        Ok(claimed)
    }

    pub async fn mark_sent(&self, ids: &[i64], now: DateTime<Utc>) -> Result<(), StoreError> {
        self.mark_queued_sent(Queue::Outbox, ids, now).await
    }

    /// Leave the row unsent, with the reason, until `retry_at`.
    pub async fn mark_unsent(
        &self,
        id: i64,
        error: &str,
        retry_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.postpone_queued(Queue::Outbox, id, error, retry_at, now).await
    }
}
