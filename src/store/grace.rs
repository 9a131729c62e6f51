//! The end of the grace period: `scheduled` requests whose tasks are all due start by themselves.

use super::{Channel, Store, StoreError};
use chrono::{DateTime, Utc};

impl Store {
    /// Move every `scheduled` request whose grace period has ended to `received`, with its audit
    /// row; returns how many started.
    pub async fn start_due_requests(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let mut client = self.client().await?;
        let tx = self.begin(&mut client).await?;
        let started = tx
            .execute(
                "WITH due AS (
                     UPDATE requests r SET state = 'received', updated_at = $1
                     WHERE r.state = 'scheduled'
                       AND NOT EXISTS (SELECT 1 FROM tasks t WHERE t.request_id = r.id AND t.next_attempt_at > $1)
                     RETURNING r.id)
                 INSERT INTO audit_log (request_id, at, actor, event, detail)
                 SELECT id, $1, 'runner', 'request.started', '{\"after\": \"grace_period\"}'::jsonb FROM due",
                &[&now],
            )
            .await?;
        if started > 0 {
            tx.wake(Channel::Tasks);
        }
        tx.commit().await?;
        Ok(started)
    }
}
