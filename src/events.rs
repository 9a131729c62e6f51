//! The events published on the `erasure.events` exchange and to a request's `reply_to`, as
//! `schemas/erasure-event.v1.schema.json` describes them: one type per event, its deterministic
//! message id, and `build`, which makes the outbox row. The store takes a built event; it never
//! writes event JSON itself. No I/O here.

use crate::intake::message::Reason;
use crate::model::{RequestState, TaskState};
use chrono::{DateTime, Utc};
use erasure_connector::KindLabel;
use serde::Serialize;
use uuid::Uuid;

/// Routing keys of the events on the `erasure.events` exchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    Completed,
    Failed,
    Rejected,
    Cancelled,
    DeadlineExtended,
    Reopened,
    Closed,
}

impl EventType {
    pub fn routing_key(self) -> &'static str {
        match self {
            EventType::Completed => "erasure.completed",
            EventType::Failed => "erasure.failed",
            EventType::Rejected => "erasure.rejected",
            EventType::Cancelled => "erasure.cancelled",
            EventType::DeadlineExtended => "erasure.deadline_extended",
            EventType::Reopened => "erasure.reopened",
            EventType::Closed => "erasure.closed",
        }
    }
}

const MESSAGE_ID_NAMESPACE: Uuid = Uuid::from_u128(0x2f1c_7a4e_55b0_4c1d_9a6e_0e5a_7c3b_91d4);

/// Deterministic, so that consumers can deduplicate: the same event of the same generation of
/// the same request always carries the same id.
pub fn message_id(request_id: Uuid, event: EventType, generation: i32) -> Uuid {
    Uuid::new_v5(&MESSAGE_ID_NAMESPACE, format!("{request_id}/{}/{generation}", event.routing_key()).as_bytes())
}

/// A reference the person can quote to a support team, derived from the request id.
pub fn receipt(request_id: Uuid) -> String {
    let hex = Uuid::new_v5(&MESSAGE_ID_NAMESPACE, request_id.as_bytes()).simple().to_string().to_uppercase();
    format!("ER-{}-{}-{}", &hex[0..4], &hex[4..8], &hex[8..12])
}

/// An event ready for the outbox: published on the events exchange and, if set, to `reply_to`.
#[derive(Debug, Clone)]
pub struct NewEvent {
    pub request_id: Option<Uuid>,
    pub message_id: Uuid,
    pub event: EventType,
    pub payload: serde_json::Value,
    pub reply_to: Option<String>,
}

/// What one kind of event says beyond the fields every event carries.
pub trait EventBody: Serialize {
    fn event_type(&self) -> EventType;
    /// The `state` field: the request's state, or `rejected`.
    fn state(&self) -> &'static str;
    fn message_id(&self, request_id: Uuid) -> Uuid;
}

/// The fields every event carries, then the body's.
#[derive(Serialize)]
struct Envelope<'a, B> {
    version: u8,
    event: &'static str,
    message_id: Uuid,
    request_id: Uuid,
    state: &'static str,
    receipt: String,
    #[serde(flatten)]
    body: &'a B,
}

/// The outbox row for `body`, an event about request `request_id`.
pub fn build(request_id: Uuid, body: &impl EventBody, reply_to: Option<String>) -> NewEvent {
    let event = body.event_type();
    let message_id = body.message_id(request_id);
    let envelope = Envelope {
        version: 1,
        event: event.routing_key(),
        message_id,
        request_id,
        state: body.state(),
        receipt: receipt(request_id),
        body,
    };
    let payload = serde_json::to_value(&envelope).expect("an event serialises");
    NewEvent { request_id: Some(request_id), message_id, event, payload, reply_to }
}

/// `erasure.completed` or `erasure.failed`: every task of the request is terminal.
#[derive(Debug, Clone, Serialize)]
pub struct Settled {
    #[serde(skip)]
    pub state: RequestState,
    pub generation: i32,
    pub requested_at: DateTime<Utc>,
    pub deadline_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    pub systems: Vec<SystemOutcome>,
    /// What was kept and why: the exempt systems.
    pub kept: Vec<Kept>,
    /// Copies no API reaches that expire on their own (`[[retention.copies]]`), with the date
    /// by which each is overwritten.
    pub expiring_copies: Vec<ExpiringCopyBy>,
}

/// A declared copy and the date it is gone by: the erasure's date plus its `expires_after`.
#[derive(Debug, Clone, Serialize)]
pub struct ExpiringCopyBy {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name_fr: Option<String>,
    pub expires_by: DateTime<Utc>,
}

impl ExpiringCopyBy {
    pub fn from_settings(copies: &[crate::config::ExpiringCopy], from: DateTime<Utc>) -> Vec<ExpiringCopyBy> {
        copies
            .iter()
            .map(|c| ExpiringCopyBy {
                name: c.name.clone(),
                name_fr: c.name_fr.clone(),
                expires_by: chrono::Duration::from_std(c.expires_after.0)
                    .ok()
                    .and_then(|d| from.checked_add_signed(d))
                    .unwrap_or(DateTime::<Utc>::MAX_UTC),
            })
            .collect()
    }
}

/// One system's part of a settled request.
#[derive(Debug, Clone, Serialize)]
pub struct SystemOutcome {
    pub system: String,
    pub kind: String,
    pub outcome: TaskState,
    pub evidence: serde_json::Value,
    pub finished_at: Option<DateTime<Utc>>,
    pub attempts: i32,
    /// Present for failed and exempt systems only: why it failed, or the legal basis (which can
    /// be unknown: `null`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<Option<String>>,
    /// Erased and nothing-to-erase systems, when verification is on: `scheduled` (it will be
    /// looked up again, see `erasure.closed`) or `not_verifiable` (it cannot be, and is not).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verification: Option<String>,
    /// The kind of system in the person's words (`en`, `fr`), when the instance or its
    /// definition names one; absent, `kind` is worded by whoever shows it (the e-mail does).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<KindLabel>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Kept {
    pub system: String,
    pub reason: Option<String>,
}

impl SystemOutcome {
    pub fn new(
        system: String,
        kind: String,
        outcome: TaskState,
        evidence: Option<serde_json::Value>,
        finished_at: Option<DateTime<Utc>>,
        attempts: i32,
        last_error: Option<String>,
    ) -> SystemOutcome {
        let reason = matches!(outcome, TaskState::Failed | TaskState::Exempt).then_some(last_error);
        let evidence = evidence.unwrap_or_else(|| serde_json::json!({}));
        SystemOutcome {
            system,
            kind,
            outcome,
            evidence,
            finished_at,
            attempts,
            reason,
            verification: None,
            label: None,
        }
    }

    /// The instance's label (`[connectors.NAME] label_en/label_fr` or its definition's `[label]`).
    pub fn with_label(mut self, label: Option<KindLabel>) -> SystemOutcome {
        self.label = label;
        self
    }

    /// What verification this system gets (`scheduled` or `not_verifiable`).
    pub fn with_verification(mut self, verification: Option<String>) -> SystemOutcome {
        self.verification = verification;
        self
    }
}

impl Settled {
    /// `state` is the request's settled state (completed or failed); `kept` comes from `systems`.
    pub fn new(
        state: RequestState,
        generation: i32,
        requested_at: DateTime<Utc>,
        deadline_at: DateTime<Utc>,
        finished_at: DateTime<Utc>,
        systems: Vec<SystemOutcome>,
        copies: &[crate::config::ExpiringCopy],
    ) -> Settled {
        let kept = systems
            .iter()
            .filter(|s| s.outcome == TaskState::Exempt)
            .map(|s| Kept { system: s.system.clone(), reason: s.reason.clone().flatten() })
            .collect();
        let expiring_copies = ExpiringCopyBy::from_settings(copies, finished_at);
        Settled { state, generation, requested_at, deadline_at, finished_at, systems, kept, expiring_copies }
    }
}

impl EventBody for Settled {
    fn event_type(&self) -> EventType {
        if self.state == RequestState::Completed {
            EventType::Completed
        } else {
            EventType::Failed
        }
    }

    fn state(&self) -> &'static str {
        self.state.as_str()
    }

    fn message_id(&self, request_id: Uuid) -> Uuid {
        message_id(request_id, self.event_type(), self.generation)
    }
}

/// `erasure.cancelled`: the request was stopped before it settled.
#[derive(Debug, Clone, Serialize)]
pub struct Cancelled {
    pub generation: i32,
    pub finished_at: DateTime<Utc>,
}

impl EventBody for Cancelled {
    fn event_type(&self) -> EventType {
        EventType::Cancelled
    }

    fn state(&self) -> &'static str {
        RequestState::Cancelled.as_str()
    }

    fn message_id(&self, request_id: Uuid) -> Uuid {
        message_id(request_id, EventType::Cancelled, self.generation)
    }
}

/// `erasure.deadline_extended`: the legal deadline moved (GDPR art. 12(3)), with the reason the
/// person is told.
#[derive(Debug, Clone, Serialize)]
pub struct DeadlineExtended {
    #[serde(skip)]
    pub state: RequestState,
    pub generation: i32,
    pub deadline_at: DateTime<Utc>,
    pub previous_deadline_at: DateTime<Utc>,
    pub extension_reason: String,
}

impl EventBody for DeadlineExtended {
    fn event_type(&self) -> EventType {
        EventType::DeadlineExtended
    }

    fn state(&self) -> &'static str {
        self.state.as_str()
    }

    fn message_id(&self, request_id: Uuid) -> Uuid {
        message_id(request_id, EventType::DeadlineExtended, self.generation)
    }
}

/// `erasure.reopened`: a verification check found the subject again in a system after the
/// request completed; the system's task runs again, under the request's new generation.
#[derive(Debug, Clone, Serialize)]
pub struct Reopened {
    pub generation: i32,
    pub reopened_at: DateTime<Utc>,
    /// The system where the subject resurfaced.
    pub system: String,
    pub kind: String,
    /// What its lookup counted, when it says.
    pub found_count: Option<i64>,
    /// The check's `verify_after` delay, in seconds after the task ended.
    pub after_seconds: f64,
}

impl EventBody for Reopened {
    fn event_type(&self) -> EventType {
        EventType::Reopened
    }

    fn state(&self) -> &'static str {
        RequestState::InProgress.as_str()
    }

    fn message_id(&self, request_id: Uuid) -> Uuid {
        message_id(request_id, EventType::Reopened, self.generation)
    }
}

/// `erasure.closed`: the request completed and every verification check passed; its identifiers
/// are forgotten. Each system says whether it was verified.
#[derive(Debug, Clone, Serialize)]
pub struct Closed {
    pub generation: i32,
    pub requested_at: DateTime<Utc>,
    /// When the request completed.
    pub finished_at: Option<DateTime<Utc>>,
    pub closed_at: DateTime<Utc>,
    /// Each system's verification.
    pub verification: Vec<VerifiedSystem>,
}

/// One system of a closed request: its outcome and its checks (superseded ones left out).
#[derive(Debug, Clone, Serialize)]
pub struct VerifiedSystem {
    pub system: String,
    pub kind: String,
    pub outcome: TaskState,
    /// `verified` (a lookup found nothing), `not_verifiable` (the system cannot look up: this
    /// system was not verified) or `not_checked` (no check: an exempt system).
    pub status: &'static str,
    pub checks: Vec<CheckRecord>,
}

/// One verification check, as evidence: when, which delay, the result and the count.
#[derive(Debug, Clone, Serialize)]
pub struct CheckRecord {
    pub after_seconds: f64,
    pub checked_at: Option<DateTime<Utc>>,
    pub result: Option<String>,
    pub count: Option<i64>,
}

impl VerifiedSystem {
    pub fn new(system: String, kind: String, outcome: TaskState, checks: Vec<CheckRecord>) -> VerifiedSystem {
        let results = || checks.iter().filter_map(|c| c.result.as_deref());
        let status = if checks.is_empty() {
            "not_checked"
        } else if results().any(|r| r == "absent") {
            "verified"
        } else {
            "not_verifiable"
        };
        VerifiedSystem { system, kind, outcome, status, checks }
    }
}

impl EventBody for Closed {
    fn event_type(&self) -> EventType {
        EventType::Closed
    }

    fn state(&self) -> &'static str {
        RequestState::Closed.as_str()
    }

    fn message_id(&self, request_id: Uuid) -> Uuid {
        message_id(request_id, EventType::Closed, self.generation)
    }
}

/// `erasure.rejected`: intake refused a message whose `request_id` could be read.
#[derive(Debug, Clone, Serialize)]
pub struct Rejected {
    pub reason: Reason,
    /// A sentence that never repeats a value of the message.
    pub detail: String,
    pub rejected_at: DateTime<Utc>,
    /// Digest of the refused body: a redelivery repeats the message id, another body does not.
    #[serde(skip)]
    pub body_digest: String,
}

impl Rejected {
    pub fn new(reason: Reason, detail: String, rejected_at: DateTime<Utc>, body: &[u8]) -> Rejected {
        use sha2::{Digest, Sha256};
        Rejected { reason, detail, rejected_at, body_digest: hex::encode(&Sha256::digest(body)[..16]) }
    }
}

impl EventBody for Rejected {
    fn event_type(&self) -> EventType {
        EventType::Rejected
    }

    fn state(&self) -> &'static str {
        "rejected"
    }

    fn message_id(&self, request_id: Uuid) -> Uuid {
        Uuid::new_v5(&request_id, format!("erasure.rejected/{}", self.body_digest).as_bytes())
    }
}

#[cfg(test)]
mod tests;
