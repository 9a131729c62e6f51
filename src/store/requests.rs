//! Intake's one transaction: the request, one task per connector instance, the audit event.

use super::sealed::Identifiers;
use super::{audit, Channel, Prepared, Store, StoreError};
use crate::model::HoldKind;
use chrono::{DateTime, Utc};
use uuid::Uuid;

/// A validated request, ready to store.
#[derive(Debug, Clone)]
pub struct NewRequest {
    pub id: Uuid,
    pub body_sha256: Vec<u8>,
    /// Stored sealed with `reply_to` (`store::sealed`), never in clear.
    pub subject: serde_json::Value,
    pub subject_hash: String,
    /// One hash per identifier under every live hash key, the current key's first.
    pub identifier_hashes: Vec<String>,
    /// The ids of the keys that made `identifier_hashes`.
    pub hash_key_ids: Vec<String>,
    pub locale: Option<String>,
    pub reply_to: Option<String>,
    /// The signing key that admitted it; `None` when unsigned (signatures not required) or HTTP.
    pub signing_key_id: Option<String>,
    pub requested_at: DateTime<Utc>,
    pub deadline_at: DateTime<Utc>,
    /// The end of the grace period, if any: until then the request waits `scheduled`.
    pub starts_at: Option<DateTime<Utc>>,
    pub tasks: Vec<NewTask>,
    /// The W3C `traceparent` every attempt continues (`telemetry`).
    pub traceparent: Option<String>,
    /// The mass-deletion brake: hold the request if too many arrived recently.
    pub brake: Option<Brake>,
}

/// More than `max_requests` received within `window` puts new requests on the brake hold.
#[derive(Debug, Clone, Copy)]
pub struct Brake {
    pub max_requests: i64,
    pub window: std::time::Duration,
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
    /// Committed, and held by the mass-deletion brake until an operator releases it.
    Braked,
    /// The same request id with the same body: a redelivery, nothing changed.
    Duplicate,
    /// The same request id with a different body: refused, never merged.
    Conflict,
}

impl Store {
    pub async fn insert_request(&self, new: &NewRequest, now: DateTime<Utc>) -> Result<Inserted, StoreError> {
        let scheduled = new.starts_at.filter(|at| *at > now);
        let state = if scheduled.is_some() { "scheduled" } else { "received" };
        // The one encryption of intake: the subject and reply_to, sealed together.
        let identifiers = Identifiers { subject: new.subject.clone(), reply_to: new.reply_to.clone() };
        let sealed = identifiers.seal(self.vault(), new.id)?;
        let mut client = self.client().await?;
        let tx = self.begin(&mut client).await?;
        let inserted = tx
            .execute(
                &tx.prepared(
                    "INSERT INTO requests (id, state, body_sha256, identifiers_sealed, subject_hash, identifier_hashes,
                                       locale, identifiers_key_id, requested_at, received_at, deadline_at, created_at,
                                       updated_at, signing_key_id, hash_key_ids, traceparent)
                 VALUES ($1, $11, $2, $3, $4, $5, $6, $7, $8, $9, $10, $9, $9, $12, $13, $14)
                 ON CONFLICT (id) DO NOTHING",
                )
                .await?,
                &[
                    &new.id,
                    &new.body_sha256,
                    &sealed.bytes,
                    &new.subject_hash,
                    &new.identifier_hashes,
                    &new.locale,
                    &sealed.key_id,
                    &new.requested_at,
                    &now,
                    &new.deadline_at,
                    &state,
                    &new.signing_key_id,
                    &new.hash_key_ids,
                    &new.traceparent,
                ],
            )
            .await?;
        if inserted == 0 {
            let row =
                tx.query_one(&tx.prepared("SELECT body_sha256 FROM requests WHERE id = $1").await?, &[&new.id]).await?;
            let stored: Vec<u8> = row.get(0);
            return Ok(if stored == new.body_sha256 { Inserted::Duplicate } else { Inserted::Conflict });
        }

        let connectors: Vec<&str> = new.tasks.iter().map(|t| t.connector.as_str()).collect();
        let kinds: Vec<&str> = new.tasks.iter().map(|t| t.kind.as_str()).collect();
        let max_attempts: Vec<i32> = new.tasks.iter().map(|t| t.max_attempts).collect();
        let first_attempt_at = scheduled.unwrap_or(now);
        tx.execute(
            &tx.prepared("INSERT INTO tasks (request_id, connector, kind, state, max_attempts, next_attempt_at, created_at, updated_at)
             SELECT $1, c, k, 'pending', m, $6, $5, $5 FROM unnest($2::text[], $3::text[], $4::int[]) AS t(c, k, m)").await?,
            &[&new.id, &connectors, &kinds, &max_attempts, &now, &first_attempt_at],
        )
        .await?;
        let detail = serde_json::json!({
            "systems": connectors,
            "deadline_at": new.deadline_at,
            "signing_key_id": new.signing_key_id,
        });
        audit(&tx, new.id, None, now, "intake", "request.received", detail).await?;
        let braked = match new.brake {
            Some(brake) => apply_brake(&tx, &self.brake_count, new.id, brake, now).await?,
            None => false,
        };
        super::legal_holds::hold_matching(&tx, Some(new.id), now).await?;
        if let Some(starts_at) = scheduled {
            let detail = serde_json::json!({ "starts_at": starts_at });
            audit(&tx, new.id, None, now, "intake", "request.scheduled", detail).await?;
        }
        tx.wake(Channel::Tasks);
        tx.commit().await?;
        Ok(if braked { Inserted::Braked } else { Inserted::Created })
    }

    /// The signing key id that admitted a request: `None` when there is no such request,
    /// `Some(None)` when it was admitted unsigned.
    pub async fn request_signer(&self, id: Uuid) -> Result<Option<Option<String>>, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_opt(&client.prepared("SELECT signing_key_id FROM requests WHERE id = $1").await?, &[&id])
            .await?;
        Ok(row.map(|r| r.get(0)))
    }

    /// The request's state, for tests and the CLI.
    pub async fn request_state(&self, id: Uuid) -> Result<Option<String>, StoreError> {
        let client = self.client().await?;
        let row = client.query_opt(&client.prepared("SELECT state FROM requests WHERE id = $1").await?, &[&id]).await?;
        Ok(row.map(|r| r.get(0)))
    }
}

async fn apply_brake(
    tx: &deadpool_postgres::Transaction<'_>,
    count: &BrakeCount,
    id: Uuid,
    brake: Brake,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let recent = match count.counted_up(now) {
        Some(recent) => recent,
        None => {
            // Counting stops one past the limit: what matters is whether it is exceeded.
            let sql = "SELECT count(*) FROM (SELECT 1 FROM requests
                                             WHERE received_at > $1::timestamptz - make_interval(secs => $2::float8)
                                             LIMIT $3) recent";
            let limit = brake.max_requests + 1;
            let row = tx.query_one(&tx.prepared(sql).await?, &[&now, &super::secs(brake.window), &limit]).await?;
            count.read(now, row.get(0))
        }
    };
    if recent <= brake.max_requests {
        return Ok(false);
    }
    let reason = format!("more than {} requests within {:?}", brake.max_requests, brake.window);
    tx.execute(
        &tx.prepared("INSERT INTO request_holds (request_id, kind, reason, actor, created_at) VALUES ($1, 'brake', $2, 'intake', $3)").await?,
        &[&id, &reason, &now],
    )
    .await?;
    audit(
        tx,
        id,
        None,
        now,
        "intake",
        "request.held",
        serde_json::json!({ "kind": HoldKind::Brake.as_str(), "reason": reason }),
    )
    .await?;
    Ok(true)
}

/// The mass-deletion brake's count of recent requests (this one included), read from the
/// database at most once a second per process and counted up locally in between. Read at every
/// intake, the count cost a scan of the whole window each time (15 ms per intake, 300 s of the
/// database's time, in a benchmark burst of 20,000). In between two reads, other processes'
/// intakes are not counted: the brake may act up to a second of their traffic late.
///
/// One intake reads at a time: while it does, the others count up from the last count (a read
/// that has not answered within [`BRAKE_READ_TAKEN_OVER`] is taken over). When every intake in
/// flight read at once each second, a backlog of 200,000 with the brake raised above it spent
/// 148 ms per read, ten reads a second: most of the database's CPU during intake.
#[derive(Debug, Default)]
pub(crate) struct BrakeCount(std::sync::Mutex<BrakeState>);

#[derive(Debug, Default)]
struct BrakeState {
    /// When the count was read and what it is now.
    last: Option<(DateTime<Utc>, i64)>,
    /// When the intake reading the count now started.
    reading_since: Option<DateTime<Utc>>,
}

/// How long a count read from the database is counted up locally.
const BRAKE_COUNT_FOR: chrono::TimeDelta = chrono::TimeDelta::seconds(1);
/// A read that has not answered after this long (its transaction failed) is done by another intake.
const BRAKE_READ_TAKEN_OVER: chrono::TimeDelta = chrono::TimeDelta::seconds(5);

impl BrakeCount {
    /// The count with this request, unless this intake is to read it (`None`).
    fn counted_up(&self, now: DateTime<Utc>) -> Option<i64> {
        let mut state = self.0.lock().expect("brake count lock");
        let fresh = |at: DateTime<Utc>| at <= now && now - at < BRAKE_COUNT_FOR;
        let being_read = state.reading_since.is_some_and(|since| since <= now && now - since < BRAKE_READ_TAKEN_OVER);
        match state.last.as_mut() {
            Some((at, n)) if fresh(*at) || being_read => {
                *n += 1;
                Some(*n)
            }
            _ => {
                state.reading_since = Some(now);
                None
            }
        }
    }

    /// Keep `read` (this request included), unless another intake read meanwhile: then count up.
    fn read(&self, now: DateTime<Utc>, read: i64) -> i64 {
        let mut state = self.0.lock().expect("brake count lock");
        state.reading_since = None;
        match state.last.as_mut() {
            Some((at, n)) if *at <= now && now - *at < BRAKE_COUNT_FOR => {
                *n += 1;
                *n
            }
            _ => {
                state.last = Some((now, read));
                read
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_brake_count_is_read_once_a_second_and_counted_up_in_between() {
        let t0: DateTime<Utc> = "2026-12-03T10:00:00Z".parse().unwrap();
        let count = BrakeCount::default();
        assert_eq!(count.counted_up(t0), None, "nothing read yet");
        assert_eq!(count.read(t0, 7), 7);
        assert_eq!(count.counted_up(t0 + chrono::TimeDelta::milliseconds(400)), Some(8));
        assert_eq!(count.read(t0, 3), 9, "a read that raced another counts up instead");
        assert_eq!(count.counted_up(t0 + BRAKE_COUNT_FOR), None, "a second later it is read again");
        assert_eq!(count.read(t0 + BRAKE_COUNT_FOR, 2), 2);
    }

    #[test]
    fn one_intake_reads_the_count_while_the_others_count_up_from_the_last_one() {
        let t0: DateTime<Utc> = "2026-12-03T10:00:00Z".parse().unwrap();
        let count = BrakeCount::default();
        assert_eq!(count.counted_up(t0), None);
        assert_eq!(count.counted_up(t0), None, "nothing to count up from yet: every intake reads");
        assert_eq!(count.read(t0, 10), 10);
        let stale = t0 + BRAKE_COUNT_FOR;
        assert_eq!(count.counted_up(stale), None, "the first intake after a second reads");
        assert_eq!(count.counted_up(stale), Some(11), "the others count up meanwhile");
        assert_eq!(count.counted_up(stale + chrono::TimeDelta::milliseconds(200)), Some(12));
        assert_eq!(count.read(stale, 40), 40, "the read replaces the counted-up value");
        assert_eq!(count.counted_up(stale + chrono::TimeDelta::milliseconds(300)), Some(41));

        // A read that never answers (its transaction failed) is taken over.
        let later = stale + BRAKE_COUNT_FOR;
        assert_eq!(count.counted_up(later), None);
        assert_eq!(count.counted_up(later + chrono::TimeDelta::seconds(1)), Some(42));
        assert_eq!(count.counted_up(later + BRAKE_READ_TAKEN_OVER), None, "taken over");
    }
}
