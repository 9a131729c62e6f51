//! Forgetting ourselves: once a request is over, its sealed identifiers (subject, reply_to) and
//! everything derived from them that is not a keyed hash are deleted, leaving a tombstone: the
//! request id, states and dates, the keyed hashes, the hash of the original message (a replay of
//! the same message is a duplicate and changes nothing), evidence, the audit log. Sent events and
//! messages are pruned after their own retention.

use super::{audit, secs, Store, StoreError};
use chrono::{DateTime, Utc};
use std::time::Duration;
use uuid::Uuid;

impl Store {
    /// Forget up to `limit` requests that are over: `closed` ones at once, `failed` and
    /// `cancelled` ones settled more than `settled_for` ago. A request whose event for the
    /// product's `reply_to`, or whose message to the person, is still unsent keeps what sending
    /// it needs until it is sent (or refused). Returns the requests forgotten.
    pub async fn forget_settled(
        &self,
        settled_for: Duration,
        limit: i64,
        now: DateTime<Utc>,
    ) -> Result<Vec<Uuid>, StoreError> {
        let mut client = self.client().await?;
        let tx = self.begin(&mut client).await?;
        let forgotten: Vec<Uuid> = tx
            .query(
                "WITH due AS (
                     SELECT r.id FROM requests r
                     WHERE r.forgotten_at IS NULL
                       AND (r.state = 'closed'
                            OR (r.state IN ('failed', 'cancelled')
                                AND r.finished_at <= $1::timestamptz - make_interval(secs => $2::float8)))
                       AND NOT EXISTS (SELECT 1 FROM outbox o
                                       WHERE o.request_id = r.id AND o.sent_at IS NULL AND o.destination = 'reply')
                       AND NOT EXISTS (SELECT 1 FROM mail_outbox m
                                       WHERE m.request_id = r.id AND m.sent_at IS NULL AND m.refused_at IS NULL)
                     ORDER BY r.finished_at NULLS FIRST
                     LIMIT $3
                     FOR UPDATE OF r SKIP LOCKED)
                 UPDATE requests r SET identifiers_sealed = NULL, identifiers_key_id = NULL, subject = NULL,
                        reply_to = NULL, forgotten_at = $1, updated_at = $1
                 FROM due WHERE r.id = due.id
                 RETURNING r.id",
                &[&now, &secs(settled_for), &limit],
            )
            .await?
            .iter()
            .map(|r| r.get(0))
            .collect();
        if forgotten.is_empty() {
            return Ok(forgotten);
        }
        // What a connector saved about the person at the vendor (record ids, job ids) goes too;
        // evidence (counts and the vendor's job references, never an identifier) stays.
        tx.execute("UPDATE tasks SET progress = NULL, pending = NULL WHERE request_id = ANY($1)", &[&forgotten])
            .await?;
        tx.execute(
            "UPDATE outbox SET reply_to_sealed = NULL, reply_to_key_id = NULL
             WHERE request_id = ANY($1) AND reply_to_sealed IS NOT NULL",
            &[&forgotten],
        )
        .await?;
        // Refused messages carrying this request id (a conflicting body, ...): the request is over.
        tx.execute("DELETE FROM dead_letters WHERE request_id = ANY($1)", &[&forgotten]).await?;
        for id in &forgotten {
            audit(&tx, *id, None, now, "sweep", "request.forgotten", serde_json::json!({})).await?;
        }
        tx.commit().await?;
        Ok(forgotten)
    }

    /// Delete events sent, and messages to the person sent or refused, more than `kept_for`
    /// ago. Returns how many rows went.
    pub async fn prune_sent(&self, kept_for: Duration, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let client = self.client().await?;
        let events = client
            .execute(
                "DELETE FROM outbox WHERE sent_at IS NOT NULL
                   AND sent_at < $1::timestamptz - make_interval(secs => $2::float8)",
                &[&now, &secs(kept_for)],
            )
            .await?;
        let messages = client
            .execute(
                "DELETE FROM mail_outbox WHERE (sent_at IS NOT NULL OR refused_at IS NOT NULL)
                   AND updated_at < $1::timestamptz - make_interval(secs => $2::float8)",
                &[&now, &secs(kept_for)],
            )
            .await?;
        Ok(events + messages)
    }
}
