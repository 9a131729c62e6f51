//! What a connector reports: one outcome per attempt, with evidence a data-protection officer can read.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Duration;

/// The result of one `erase` or `check` call.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The system erased the subject's data; the evidence says what.
    Erased(Evidence),
    /// The system holds nothing about the subject.
    NothingToErase,
    /// The system accepted the erasure and finishes later; the engine calls `check` after a delay.
    Pending(Pending),
    /// A transient problem (429, 408, 5xx, timeout). `after` overrides the engine's backoff.
    /// A `throttled` retry (rate limited) does not consume an attempt.
    Retry { after: Option<Duration>, reason: String, throttled: bool },
    /// A permanent problem: a human must act (bad credentials, a refused request).
    Failed { reason: String },
}

impl Outcome {
    pub fn retry(reason: impl Into<String>) -> Self {
        Outcome::Retry { after: None, reason: reason.into(), throttled: false }
    }

    pub fn failed(reason: impl Into<String>) -> Self {
        Outcome::Failed { reason: reason.into() }
    }
}

impl From<Failure> for Outcome {
    fn from(failure: Failure) -> Self {
        match failure.kind {
            FailureKind::Transient { after } => Outcome::Retry { after, reason: failure.reason, throttled: false },
            FailureKind::Throttled { after } => Outcome::Retry { after, reason: failure.reason, throttled: true },
            FailureKind::Permanent | FailureKind::NotVerifiable => Outcome::Failed { reason: failure.reason },
        }
    }
}

/// What was erased: counts by kind of record and the vendor's own references (job ids).
/// Never holds a subject identifier.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub counts: BTreeMap<String, u64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub vendor_refs: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl Evidence {
    pub fn count(mut self, what: &str, n: u64) -> Self {
        *self.counts.entry(what.to_string()).or_insert(0) += n;
        self
    }

    pub fn vendor_ref(mut self, reference: impl Into<String>) -> Self {
        self.vendor_refs.push(reference.into());
        self
    }

    pub fn note(mut self, note: impl Into<String>) -> Self {
        self.note = Some(note.into());
        self
    }
}

/// An erasure the system accepted but has not finished. Stored in the task row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pending {
    /// When to call `check` again.
    #[serde(with = "seconds")]
    pub check_after: Duration,
    /// Whatever the connector needs to follow up (job ids, URLs). No subject identifiers.
    pub state: serde_json::Value,
    /// What has been done so far.
    #[serde(default)]
    pub evidence: Evidence,
}

/// The answer of a `lookup`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Found {
    pub present: bool,
    pub count: Option<u64>,
}

/// Why a call did not succeed, classified.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{reason}")]
pub struct Failure {
    pub kind: FailureKind,
    /// A sentence for operators. Never a subject identifier or a secret.
    pub reason: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    Transient {
        after: Option<Duration>,
    },
    Throttled {
        after: Option<Duration>,
    },
    Permanent,
    /// `lookup` (and `healthcheck`) only: this system cannot say whether it still holds data
    /// about a subject (a webhook service without a lookup endpoint, a connector keeping the
    /// default `lookup`). Verification records the system as not verified instead of retrying;
    /// nothing is wrong with the system.
    NotVerifiable,
}

impl Failure {
    pub fn transient(reason: impl Into<String>) -> Self {
        Failure { kind: FailureKind::Transient { after: None }, reason: reason.into() }
    }

    pub fn permanent(reason: impl Into<String>) -> Self {
        Failure { kind: FailureKind::Permanent, reason: reason.into() }
    }

    /// `lookup` cannot be answered by this system (see [`FailureKind::NotVerifiable`]).
    pub fn not_verifiable(reason: impl Into<String>) -> Self {
        Failure { kind: FailureKind::NotVerifiable, reason: reason.into() }
    }
}

mod seconds {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(d.as_secs_f64())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let secs = f64::deserialize(d)?;
        Duration::try_from_secs_f64(secs).map_err(serde::de::Error::custom)
    }
}
