//! Intake's one transaction: the request, one task per connector instance, the audit event.

use super::{audit, Store, StoreError, TASKS_CHANNEL};
use chrono::{DateTime, Utc};
use uuid::Uuid;

/// A validated request, ready to store.
#[derive(Debug, Clone)]
pub struct NewRequest {
    pub id: Uuid,
    pub body_sha256: Vec<u8>,
    pub subject: serde_json::Value,
    pub subject_hash: String,
    pub identifier_hashes: Vec<String>,
    pub locale: Option<String>,
    pub reply_to: Option<String>,
    pub requested_at: DateTime<Utc>,
    pub deadline_at: DateTime<Utc>,
    /// The end of the grace period, if any: until then the request waits `scheduled`.
    pub starts_at: Option<DateTime<Utc>>,
    pub tasks: Vec<NewTask>,
}

#[derive(Debug, Clone)]
pub struct NewTask {
    pub connector: String,
    pub kind: String,
    pub max_attempts: i32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inserted {
    /// A new request and its tasks were committed.
    Created,
    /// The same request id with the same body: a redelivery, nothing changed.
    Duplicate,
    /// The same request id with a different body: refused, never merged.
    Conflict,
}

impl Store {
    pub async fn insert_request(&self, new: &NewRequest, now: DateTime<Utc>) -> Result<Inserted, StoreError> {
        let scheduled = new.starts_at.filter(|at| *at > now);
        let state = if scheduled.is_some() { "scheduled" } else { "received" };
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let inserted = tx
            .execute(
                "INSERT INTO requests (id, state, body_sha256, subject, subject_hash, identifier_hashes, locale,
                                       reply_to, requested_at, received_at, deadline_at, created_at, updated_at)
                 VALUES ($1, $11, $2, $3, $4, $5, $6, $7, $8, $9, $10, $9, $9)
                 ON CONFLICT (id) DO NOTHING",
                &[
                    &new.id,
                    &new.body_sha256,
                    &new.subject,
                    &new.subject_hash,
                    &new.identifier_hashes,
                    &new.locale,
                    &new.reply_to,
                    &new.requested_at,
                    &now,
                    &new.deadline_at,
                    &state,
                ],
            )
            .await?;
        if inserted == 0 {
            let row = tx.query_one("SELECT body_sha256 FROM requests WHERE id = $1", &[&new.id]).await?;
            let stored: Vec<u8> = row.get(0);
            return Ok(if stored == new.body_sha256 { Inserted::Duplicate } else { Inserted::Conflict });
        }

        let connectors: Vec<&str> = new.tasks.iter().map(|t| t.connector.as_str()).collect();
        let kinds: Vec<&str> = new.tasks.iter().map(|t| t.kind.as_str()).collect();
        let max_attempts: Vec<i32> = new.tasks.iter().map(|t| t.max_attempts).collect();
        let first_attempt_at = scheduled.unwrap_or(now);
        tx.execute(
            "INSERT INTO tasks (request_id, connector, kind, state, max_attempts, next_attempt_at, created_at, updated_at)
             SELECT $1, c, k, 'pending', m, $6, $5, $5 FROM unnest($2::text[], $3::text[], $4::int[]) AS t(c, k, m)",
            &[&new.id, &connectors, &kinds, &max_attempts, &now, &first_attempt_at],
        )
        .await?;
        let detail = serde_json::json!({ "systems": connectors, "deadline_at": new.deadline_at });
        audit(&tx, new.id, None, now, "intake", "request.received", detail).await?;
        super::legal_holds::hold_matching(&tx, Some(new.id), now).await?;
        if let Some(starts_at) = scheduled {
            let detail = serde_json::json!({ "starts_at": starts_at });
            audit(&tx, new.id, None, now, "intake", "request.scheduled", detail).await?;
        }
        tx.execute(&format!("NOTIFY {TASKS_CHANNEL}"), &[]).await?;
        tx.commit().await?;
        Ok(Inserted::Created)
    }

    /// The request's state, for tests and the CLI.
    pub async fn request_state(&self, id: Uuid) -> Result<Option<String>, StoreError> {
        let client = self.client().await?;
        let row = client.query_opt("SELECT state FROM requests WHERE id = $1", &[&id]).await?;
        Ok(row.map(|r| r.get(0)))
    }
}
