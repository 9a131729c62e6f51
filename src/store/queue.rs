//! What the two queues of rows waiting to be sent share (`outbox` for the relay, `mail_outbox`
//! for the mail sender): a row is sent once, or postponed with the reason until its retry time.

use super::{Store, StoreError};
use chrono::{DateTime, Utc};

/// A table of rows waiting to be sent.
#[derive(Debug, Clone, Copy)]
pub(super) enum Queue {
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
}

impl Store {
    pub(super) async fn mark_queued_sent(
        &self,
        queue: Queue,
        ids: &[i64],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        if ids.is_empty() {
            return Ok(());
        }
        let client = self.client().await?;
        let sql =
            format!("UPDATE {} SET sent_at = $2, last_error = NULL, updated_at = $2 WHERE id = ANY($1)", queue.table());
        client.execute(&sql, &[&ids, &now]).await?;
        Ok(())
    }

    /// Leave an unsent row unsent, with the reason, until `retry_at`.
    pub(super) async fn postpone_queued(
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
