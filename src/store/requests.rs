//! Intake's transaction: each request, one task per connector instance, its audit rows, the
//! mass-deletion brake and the legal holds; requests that arrive together share it (`intake_batch`).

use super::sealed::Identifiers;
use super::{audit, audit_many, AuditRow, Channel, Prepared, Store, StoreError, Tx};
use crate::model::HoldKind;
use crate::vault::Sealed;
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
    /// Store a request with its tasks and audit rows, or say why not (a duplicate, a conflict).
    /// Requests that arrive while another intake transaction is being written are written
    /// together in the next one (`intake_batch`).
    pub async fn insert_request(&self, new: &NewRequest, now: DateTime<Utc>) -> Result<Inserted, StoreError> {
        self.intake.insert(self, new.clone(), now).await
    }

    /// Intake's one transaction for several requests with distinct ids: each request, its
    /// tasks, its audit rows, the brake and the legal holds that match it. Answers in the order given.
    pub(crate) async fn insert_requests(
        &self,
        news: &[&NewRequest],
        now: DateTime<Utc>,
    ) -> Result<Vec<Inserted>, StoreError> {
        // The one encryption of intake: each subject and reply_to, sealed together.
        let sealed = news
            .iter()
            .map(|new| {
                let identifiers = Identifiers { subject: new.subject.clone(), reply_to: new.reply_to.clone() };
                identifiers.seal(self.vault(), new.id)
            })
            .collect::<Result<Vec<_>, _>>()?;
        let scheduled: Vec<Option<DateTime<Utc>>> =
            news.iter().map(|new| new.starts_at.filter(|at| *at > now)).collect();
        let mut client = self.client().await?;
        let tx = self.begin(&mut client).await?;
        let inserted = insert_rows(&tx, news, &sealed, &scheduled, now).await?;
        let mut answers: Vec<Inserted> = Vec::with_capacity(news.len());
        let refused: Vec<Uuid> = news.iter().map(|n| n.id).filter(|id| !inserted.contains(id)).collect();
        let stored: std::collections::HashMap<Uuid, Vec<u8>> = if refused.is_empty() {
            Default::default()
        } else {
            let sql = "SELECT id, body_sha256 FROM requests WHERE id = ANY($1)";
            tx.query(&tx.prepared(sql).await?, &[&refused]).await?.iter().map(|r| (r.get(0), r.get(1))).collect()
        };
        // Created ones in id order: the order their audit chains are written in.
        let mut created: Vec<usize> = (0..news.len()).filter(|&i| inserted.contains(&news[i].id)).collect();
        created.sort_by_key(|&i| news[i].id);
        insert_tasks(&tx, news, &created, &scheduled, now).await?;
        let received: Vec<AuditRow> = created
            .iter()
            .map(|&i| AuditRow {
                request_id: news[i].id,
                task_id: None,
                event: "request.received".into(),
                detail: serde_json::json!({
                    "systems": news[i].tasks.iter().map(|t| t.connector.as_str()).collect::<Vec<_>>(),
                    "deadline_at": news[i].deadline_at,
                    "signing_key_id": news[i].signing_key_id,
                }),
            })
            .collect();
        audit_many(&tx, &received, now, "intake").await?;
        let mut braked = std::collections::HashSet::new();
        for &i in &created {
            if let Some(brake) = news[i].brake {
                if apply_brake(&tx, &self.brake_count, news[i].id, brake, now).await? {
                    braked.insert(news[i].id);
                }
            }
        }
        let created_ids: Vec<Uuid> = created.iter().map(|&i| news[i].id).collect();
        super::legal_holds::hold_matching(&tx, Some(&created_ids), now).await?;
        let waiting: Vec<AuditRow> = created
            .iter()
            .filter_map(|&i| {
                scheduled[i].map(|starts_at| AuditRow {
                    request_id: news[i].id,
                    task_id: None,
                    event: "request.scheduled".into(),
                    detail: serde_json::json!({ "starts_at": starts_at }),
                })
            })
            .collect();
        audit_many(&tx, &waiting, now, "intake").await?;
        if !created.is_empty() {
            tx.wake(Channel::Tasks);
        }
        tx.commit().await?;
        for new in news {
            answers.push(if braked.contains(&new.id) {
                Inserted::Braked
            } else if inserted.contains(&new.id) {
                Inserted::Created
            } else if stored.get(&new.id) == Some(&new.body_sha256) {
                Inserted::Duplicate
            } else {
                Inserted::Conflict
            });
        }
        Ok(answers)
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

/// The requests' rows; the ids of those inserted (an id already stored is left as it is).
async fn insert_rows(
    tx: &Tx<'_>,
    news: &[&NewRequest],
    sealed: &[Sealed],
    scheduled: &[Option<DateTime<Utc>>],
    now: DateTime<Utc>,
) -> Result<std::collections::HashSet<Uuid>, StoreError> {
    let ids: Vec<Uuid> = news.iter().map(|n| n.id).collect();
    let states: Vec<&str> = scheduled.iter().map(|s| if s.is_some() { "scheduled" } else { "received" }).collect();
    let bodies: Vec<&[u8]> = news.iter().map(|n| n.body_sha256.as_slice()).collect();
    let ciphertexts: Vec<&[u8]> = sealed.iter().map(|s| s.bytes.as_slice()).collect();
    let key_ids: Vec<&str> = sealed.iter().map(|s| s.key_id.as_str()).collect();
    let subject_hashes: Vec<&str> = news.iter().map(|n| n.subject_hash.as_str()).collect();
    // Arrays of arrays of different lengths: one JSON array each.
    let identifier_hashes: Vec<serde_json::Value> =
        news.iter().map(|n| serde_json::json!(n.identifier_hashes)).collect();
    let hash_key_ids: Vec<serde_json::Value> = news.iter().map(|n| serde_json::json!(n.hash_key_ids)).collect();
    let locales: Vec<Option<&str>> = news.iter().map(|n| n.locale.as_deref()).collect();
    let requested: Vec<DateTime<Utc>> = news.iter().map(|n| n.requested_at).collect();
    let deadlines: Vec<DateTime<Utc>> = news.iter().map(|n| n.deadline_at).collect();
    let signers: Vec<Option<&str>> = news.iter().map(|n| n.signing_key_id.as_deref()).collect();
    let traceparents: Vec<Option<&str>> = news.iter().map(|n| n.traceparent.as_deref()).collect();
    let sql = "INSERT INTO requests (id, state, body_sha256, identifiers_sealed, identifiers_key_id, subject_hash,
                                     identifier_hashes, hash_key_ids, locale, requested_at, deadline_at,
                                     signing_key_id, traceparent, received_at, created_at, updated_at)
               SELECT id, state, body, sealed, key_id, subject_hash,
                      ARRAY(SELECT jsonb_array_elements_text(hashes)), ARRAY(SELECT jsonb_array_elements_text(keys)),
                      locale, requested_at, deadline_at, signer, traceparent, $14, $14, $14
               FROM unnest($1::uuid[], $2::text[], $3::bytea[], $4::bytea[], $5::text[], $6::text[], $7::jsonb[],
                           $8::jsonb[], $9::text[], $10::timestamptz[], $11::timestamptz[], $12::text[], $13::text[])
                    AS x(id, state, body, sealed, key_id, subject_hash, hashes, keys, locale, requested_at,
                         deadline_at, signer, traceparent)
               ORDER BY id
               ON CONFLICT (id) DO NOTHING
               RETURNING id";
    let rows = tx
        .query(
            &tx.prepared(sql).await?,
            &[
                &ids,
                &states,
                &bodies,
                &ciphertexts,
                &key_ids,
                &subject_hashes,
                &identifier_hashes,
                &hash_key_ids,
                &locales,
                &requested,
                &deadlines,
                &signers,
                &traceparents,
                &now,
            ],
        )
        .await?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}

/// One task per requested instance of each created request (`created`: indexes into `news`).
async fn insert_tasks(
    tx: &Tx<'_>,
    news: &[&NewRequest],
    created: &[usize],
    scheduled: &[Option<DateTime<Utc>>],
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let (mut request_ids, mut connectors, mut kinds, mut max_attempts, mut first_attempts) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for &i in created {
        for task in &news[i].tasks {
            request_ids.push(news[i].id);
            connectors.push(task.connector.as_str());
            kinds.push(task.kind.as_str());
            max_attempts.push(task.max_attempts);
            first_attempts.push(scheduled[i].unwrap_or(now));
        }
    }
    if request_ids.is_empty() {
        return Ok(());
    }
    let sql = "INSERT INTO tasks (request_id, connector, kind, state, max_attempts, next_attempt_at, created_at, updated_at)
               SELECT r, c, k, 'pending', m, n, $6, $6
               FROM unnest($1::uuid[], $2::text[], $3::text[], $4::int[], $5::timestamptz[]) WITH ORDINALITY AS t(r, c, k, m, n, o)
               ORDER BY o";
    tx.execute(&tx.prepared(sql).await?, &[&request_ids, &connectors, &kinds, &max_attempts, &first_attempts, &now])
        .await?;
    Ok(())
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
