//! The read side for operators: one request with its tasks and audit trail, and lists with
//! keyset pagination (stable order: received_at, then id).

use super::{Store, StoreError};
use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

#[derive(Debug, Clone, Serialize)]
pub struct RequestView {
    pub id: Uuid,
    pub state: String,
    pub generation: i32,
    /// Keyed hash of the subject: never the identifiers.
    pub subject_hash: String,
    pub requested_at: DateTime<Utc>,
    pub received_at: DateTime<Utc>,
    pub deadline_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub overdue: bool,
    /// Set once the deadline was extended (it can be, once).
    pub deadline_extended_at: Option<DateTime<Utc>>,
    pub holds: Vec<HoldView>,
}

#[derive(Debug, Clone, Serialize)]
pub struct HoldView {
    pub kind: String,
    pub reason: String,
    pub actor: String,
    pub since: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize)]
pub struct TaskView {
    pub system: String,
    pub kind: String,
    pub state: String,
    pub attempt: i32,
    pub max_attempts: i32,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub evidence: Option<serde_json::Value>,
    pub finished_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Serialize)]
pub struct AuditView {
    pub at: DateTime<Utc>,
    pub actor: String,
    pub event: String,
    pub system: Option<String>,
    pub detail: serde_json::Value,
}

#[derive(Debug, Clone, Serialize)]
pub struct RequestDetail {
    #[serde(flatten)]
    pub request: RequestView,
    pub tasks: Vec<TaskView>,
    /// Every verification check, with its time and result (the evidence of verification).
    pub checks: Vec<super::verification::CheckRow>,
    pub timeline: Vec<AuditView>,
}

/// Filters of the list; every one optional.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    pub state: Option<String>,
    pub connector: Option<String>,
    pub overdue: Option<bool>,
    pub due_before: Option<DateTime<Utc>>,
    pub identifier_hashes: Vec<String>,
    /// The order of the list, and the key `after` continues from.
    pub order: ListOrder,
    /// Continue after this request: its (received_at, id) in `Received` order, its
    /// (deadline_at, id) in `Urgent` order (with `after_settled`).
    pub after: Option<(DateTime<Utc>, Uuid)>,
    /// In `Urgent` order, whether the request `after` names was settled.
    pub after_settled: bool,
    pub limit: i64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ListOrder {
    /// Oldest received first (the API's order).
    #[default]
    Received,
    /// Most urgent first: unsettled requests by deadline, then settled ones by deadline (V17's
    /// `requests_urgency` index, read in order).
    Urgent,
}

const REQUEST_COLUMNS: &str = "r.id, r.state, r.generation, r.subject_hash, r.requested_at, r.received_at, \
     r.deadline_at, r.finished_at, \
     COALESCE((SELECT json_agg(json_build_object('kind', h.kind, 'reason', h.reason, 'actor', h.actor, \
               'since', h.created_at) ORDER BY h.kind) FROM request_holds h WHERE h.request_id = r.id), '[]'), \
     r.deadline_extended_at";

fn request_view(row: &tokio_postgres::Row, now: DateTime<Utc>) -> RequestView {
    let state: String = row.get(1);
    let deadline_at: DateTime<Utc> = row.get(6);
    let finished_at: Option<DateTime<Utc>> = row.get(7);
    let holds: serde_json::Value = row.get(8);
    let holds = holds
        .as_array()
        .into_iter()
        .flatten()
        .map(|h| HoldView {
            kind: h["kind"].as_str().unwrap_or_default().to_string(),
            reason: h["reason"].as_str().unwrap_or_default().to_string(),
            actor: h["actor"].as_str().unwrap_or_default().to_string(),
            since: h["since"].as_str().and_then(|s| s.parse().ok()).unwrap_or(now),
        })
        .collect();
    RequestView {
        id: row.get(0),
        overdue: finished_at.unwrap_or(now) > deadline_at,
        state,
        generation: row.get(2),
        subject_hash: row.get(3),
        requested_at: row.get(4),
        received_at: row.get(5),
        deadline_at,
        finished_at,
        deadline_extended_at: row.get(9),
        holds,
    }
}

impl Store {
    pub async fn request_detail(&self, id: Uuid, now: DateTime<Utc>) -> Result<Option<RequestDetail>, StoreError> {
        let client = self.client().await?;
        let Some(row) =
            client.query_opt(&format!("SELECT {REQUEST_COLUMNS} FROM requests r WHERE r.id = $1"), &[&id]).await?
        else {
            return Ok(None);
        };
        let request = request_view(&row, now);
        let tasks = client
            .query(
                "SELECT connector, kind, state, attempt, max_attempts, next_attempt_at, last_error, evidence, finished_at
                 FROM tasks WHERE request_id = $1 ORDER BY connector",
                &[&id],
            )
            .await?
            .iter()
            .map(|r| {
                let state: String = r.get(2);
                let waiting = matches!(state.as_str(), "pending" | "retrying" | "waiting");
                TaskView {
                    system: r.get(0),
                    kind: r.get(1),
                    state,
                    attempt: r.get(3),
                    max_attempts: r.get(4),
                    next_attempt_at: waiting.then(|| r.get(5)),
                    last_error: r.get(6),
                    evidence: r.get(7),
                    finished_at: r.get(8),
                }
            })
            .collect();
        let timeline = client
            .query(
                "SELECT a.at, a.actor, a.event, t.connector, a.detail FROM audit_log a
                 LEFT JOIN tasks t ON t.id = a.task_id WHERE a.request_id = $1 ORDER BY a.id",
                &[&id],
            )
            .await?
            .iter()
            .map(|r| AuditView { at: r.get(0), actor: r.get(1), event: r.get(2), system: r.get(3), detail: r.get(4) })
            .collect();
        drop(client);
        let checks = self.checks_of(id).await?;
        Ok(Some(RequestDetail { request, tasks, checks, timeline }))
    }

    /// Requests matching `filter`, in `filter.order`, at most `filter.limit`.
    pub async fn list_requests(&self, filter: &ListFilter, now: DateTime<Utc>) -> Result<Vec<RequestView>, StoreError> {
        let client = self.client().await?;
        let (after_at, after_id) = match filter.after {
            Some((at, id)) => (Some(at), Some(id)),
            None => (None, None),
        };
        let hashes = (!filter.identifier_hashes.is_empty()).then_some(&filter.identifier_hashes);
        let (after, order) = match filter.order {
            ListOrder::Received => ("(r.received_at, r.id) > ($7, $8::uuid)", "r.received_at, r.id"),
            ListOrder::Urgent => (
                "((r.finished_at IS NOT NULL), r.deadline_at, r.id) > ($10::bool, $7, $8::uuid)",
                "(r.finished_at IS NOT NULL), r.deadline_at, r.id",
            ),
        };
        let mut params: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = vec![
            &filter.state,
            &filter.connector,
            &filter.overdue,
            &now,
            &filter.due_before,
            &hashes,
            &after_at,
            &after_id,
            &filter.limit,
        ];
        if filter.order == ListOrder::Urgent {
            params.push(&filter.after_settled);
        }
        let rows = client
            .query(
                &format!(
                    "SELECT {REQUEST_COLUMNS} FROM requests r
                     WHERE ($1::text IS NULL OR r.state = $1)
                       AND ($2::text IS NULL OR EXISTS (SELECT 1 FROM tasks t WHERE t.request_id = r.id AND t.connector = $2))
                       AND ($3::bool IS NULL OR $3 = (COALESCE(r.finished_at, $4) > r.deadline_at))
                       AND ($5::timestamptz IS NULL OR (r.deadline_at < $5 AND r.finished_at IS NULL))
                       AND ($6::text[] IS NULL OR r.identifier_hashes && $6)
                       AND ($7::timestamptz IS NULL OR {after})
                     ORDER BY {order}
                     LIMIT $9"
                ),
                &params,
            )
            .await?;
        Ok(rows.iter().map(|r| request_view(r, now)).collect())
    }
}
