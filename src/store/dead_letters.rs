//! Dead letters: invalid intake messages kept for operators, with their reason, and their body for
//! a replay after a fix. The body and reply_to are stored sealed (`store::sealed`). Purged after
//! the dead-letter TTL, like the queue.

use super::outbox::{enqueue, NewEvent};
use super::sealed::{frame_dead_letter, unframe_dead_letter, DEAD_LETTER};
use super::{secs, Store, StoreError};
use crate::vault::Vault;
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::time::Duration;
use uuid::Uuid;

#[derive(Debug, Clone, Serialize)]
pub struct DeadLetter {
    pub id: i64,
    pub reason: String,
    pub detail: String,
    pub request_id: Option<Uuid>,
    pub dead_lettered_at: DateTime<Utc>,
    pub replayed_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub discarded_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub discarded_by: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub discard_reason: Option<String>,
    /// The key id the message was signed with, if any (not a secret).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signing_key_id: Option<String>,
    /// Only for callers allowed to see message bodies (they can hold personal data).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    #[serde(skip)]
    pub raw_body: Vec<u8>,
    #[serde(skip)]
    pub reply_to: Option<String>,
    /// The `x-erasure-signature` header it came with, checked again on replay.
    #[serde(skip)]
    pub signature: Option<String>,
}

pub struct NewDeadLetter<'a> {
    pub reason: &'a str,
    pub detail: &'a str,
    pub request_id: Option<Uuid>,
    pub body: &'a [u8],
    pub reply_to: Option<&'a str>,
    pub signing_key_id: Option<&'a str>,
    pub signature: Option<&'a str>,
}

impl Store {
    /// Keep a dead letter and, when the product can be told, its `erasure.rejected` event, in
    /// one transaction.
    pub async fn record_dead_letter(
        &self,
        letter: &NewDeadLetter<'_>,
        event: Option<&NewEvent>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut client = self.client().await?;
        let tx = self.begin(&mut client).await?;
        // The id first: the body and reply_to are sealed for this row.
        let id: i64 = tx.query_one("SELECT nextval(pg_get_serial_sequence('dead_letters', 'id'))", &[]).await?.get(0);
        let clear = frame_dead_letter(letter.body, letter.reply_to);
        let sealed = self.vault().seal(&id.to_be_bytes(), DEAD_LETTER, &clear)?;
        tx.execute(
            "INSERT INTO dead_letters (id, reason, detail, request_id, sealed, sealed_key_id, dead_lettered_at,
                                       signing_key_id, signature)
             OVERRIDING SYSTEM VALUE
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            &[
                &id,
                &letter.reason,
                &letter.detail,
                &letter.request_id,
                &sealed.bytes,
                &sealed.key_id,
                &now,
                &letter.signing_key_id,
                &letter.signature,
            ],
        )
        .await?;
        if let Some(event) = event {
            enqueue(&tx, self.vault(), event, now).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The newest dead letters first.
    pub async fn dead_letters(&self, limit: i64, with_bodies: bool) -> Result<Vec<DeadLetter>, StoreError> {
        let client = self.client().await?;
        let rows =
            client.query(&format!("SELECT {COLUMNS} FROM dead_letters ORDER BY id DESC LIMIT $1"), &[&limit]).await?;
        rows.iter().map(|r| dead_letter(self.vault(), r, with_bodies)).collect()
    }

    pub async fn dead_letter(&self, id: i64) -> Result<Option<DeadLetter>, StoreError> {
        let client = self.client().await?;
        let row = client.query_opt(&format!("SELECT {COLUMNS} FROM dead_letters WHERE id = $1"), &[&id]).await?;
        row.map(|r| dead_letter(self.vault(), &r, true)).transpose()
    }

    pub async fn mark_replayed(&self, id: i64, actor: &str, now: DateTime<Utc>) -> Result<(), StoreError> {
        let client = self.client().await?;
        client
            .execute("UPDATE dead_letters SET replayed_at = $2, replayed_by = $3 WHERE id = $1", &[&id, &now, &actor])
            .await?;
        Ok(())
    }

    /// Set a dead letter aside without replaying it: it no longer counts in the dead-letter gauge
    /// (and its alert). Who, when and why stay on the letter, and in the request's audit log when
    /// its request id is known. `Ok(false)`: already replayed or discarded.
    pub async fn discard_dead_letter(
        &self,
        id: i64,
        actor: &str,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let mut client = self.client().await?;
        let tx = self.begin(&mut client).await?;
        let row = tx
            .query_opt(
                "UPDATE dead_letters SET discarded_at = $2, discarded_by = $3, discard_reason = $4
                 WHERE id = $1 AND replayed_at IS NULL AND discarded_at IS NULL
                 RETURNING request_id, reason",
                &[&id, &now, &actor, &reason],
            )
            .await?;
        let Some(row) = row else { return Ok(false) };
        if let Some(request_id) = row.get::<_, Option<Uuid>>(0) {
            let detail = serde_json::json!({ "dead_letter": id, "reason": row.get::<_, String>(1), "why": reason });
            super::audit(&tx, request_id, None, now, actor, "dead_letter.discarded", detail).await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    /// Forget dead letters older than `ttl`.
    pub async fn purge_dead_letters(&self, ttl: Duration, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let client = self.client().await?;
        Ok(client
            .execute(
                "DELETE FROM dead_letters WHERE dead_lettered_at < $1::timestamptz - make_interval(secs => $2::float8)",
                &[&now, &secs(ttl)],
            )
            .await?)
    }
}

const COLUMNS: &str = "id, reason, detail, request_id, dead_lettered_at, replayed_at, body, reply_to, \
                       discarded_at, discarded_by, discard_reason, signing_key_id, signature, sealed, sealed_key_id";

/// A dead letter, its body and reply_to opened (or read in clear from a letter kept before
/// encryption).
fn dead_letter(vault: &Vault, r: &tokio_postgres::Row, with_bodies: bool) -> Result<DeadLetter, StoreError> {
    let id: i64 = r.get(0);
    let (raw_body, reply_to) = match (r.get::<_, Option<Vec<u8>>>(13), r.get::<_, Option<String>>(14)) {
        (Some(sealed), Some(key_id)) => {
            unframe_dead_letter(&vault.open(&key_id, &id.to_be_bytes(), DEAD_LETTER, &sealed)?)?
        }
        _ => (r.get::<_, Option<Vec<u8>>>(6).unwrap_or_default(), r.get(7)),
    };
    Ok(DeadLetter {
        id,
        reason: r.get(1),
        detail: r.get(2),
        request_id: r.get(3),
        dead_lettered_at: r.get(4),
        replayed_at: r.get(5),
        body: with_bodies.then(|| String::from_utf8_lossy(&raw_body).into_owned()),
        raw_body,
        reply_to,
        discarded_at: r.get(8),
        discarded_by: r.get(9),
        discard_reason: r.get(10),
        signing_key_id: r.get(11),
        signature: r.get(12),
    })
}
