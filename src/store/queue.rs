//! What the two queues of rows waiting to be sent share (`outbox` for the relay, `mail_outbox`
//! for the mail sender). A row is claimed by pushing its `next_attempt_at` forward, so a crashed
//! sender's rows come back by themselves; it is then marked sent once, or postponed with the
//! reason until its retry time.

use super::{secs, Prepared, Store, StoreError};
use crate::vault::Vault;
use chrono::{DateTime, Utc};
use std::time::Duration;

/// A table of rows waiting to be sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Queue {
    Outbox,
    Mail,
}

impl Queue {
    fn table(self) -> &'static str {
        match self {
            Queue::Outbox => "outbox",
            Queue::Mail => "mail_outbox",
        }
    }

    /// Rows still to send (a refused message is never claimed again).
    fn unsent(self) -> &'static str {
        match self {
            Queue::Outbox => "sent_at IS NULL",
            Queue::Mail => "sent_at IS NULL AND refused_at IS NULL",
        }
    }
}

/// A claimed row as its sender reads it.
pub trait Queued: Sized {
    const QUEUE: Queue;
    /// What to read, from the rows just claimed (`claimed`), in id order.
    const SELECT: &'static str;
    /// The row, with its sealed columns opened by `vault`.
    fn from_row(row: &tokio_postgres::Row, vault: &Vault) -> Result<Self, StoreError>;
}

impl Store {
    /// Claim up to `limit` due rows for `lease`; unsent rows reappear when it runs out.
    pub async fn claim_queued<R: Queued>(
        &self,
        limit: i64,
        lease: Duration,
        now: DateTime<Utc>,
    ) -> Result<Vec<R>, StoreError> {
        let (table, unsent) = (R::QUEUE.table(), R::QUEUE.unsent());
        let sql = format!(
            "WITH claimed AS (
                 UPDATE {table} q SET next_attempt_at = $2 + make_interval(secs => $3::float8),
                                      attempts = q.attempts + 1
                 FROM (SELECT id FROM {table} WHERE {unsent} AND next_attempt_at <= $2
                       ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED) due
                 WHERE q.id = due.id
                 RETURNING q.*)
             {}",
            R::SELECT
        );
        let client = self.client().await?;
        let rows = client.query(&client.prepared(&sql).await?, &[&limit, &now, &secs(lease)]).await?;
        rows.iter().map(|row| R::from_row(row, self.vault())).collect()
    }

    pub async fn mark_sent(&self, queue: Queue, ids: &[i64], now: DateTime<Utc>) -> Result<(), StoreError> {
        if ids.is_empty() {
            return Ok(());
        }
        let client = self.client().await?;
        let sql =
            format!("UPDATE {} SET sent_at = $2, last_error = NULL, updated_at = $2 WHERE id = ANY($1)", queue.table());
        client.execute(&client.prepared(&sql).await?, &[&ids, &now]).await?;
        Ok(())
    }

    /// Leave an unsent row unsent, with the reason, until `retry_at`.
    pub async fn postpone(
        &self,
        queue: Queue,
        id: i64,
        error: &str,
        retry_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let client = self.client().await?;
        let sql = format!(
            "UPDATE {} SET last_error = $2, next_attempt_at = $3, updated_at = $4 WHERE id = $1 AND sent_at IS NULL",
            queue.table()
        );
        client.execute(&sql, &[&id, &error, &retry_at, &now]).await?;
        Ok(())
    }
}
