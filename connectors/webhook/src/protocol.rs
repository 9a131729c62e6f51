//! The JSON bodies of the webhook protocol (README.md in this crate describes them).

use erasure_connector::Subject;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Erase,
    Check,
    Lookup,
    Ping,
}

/// What the worker sends.
#[derive(Debug, Serialize, Deserialize)]
pub struct CallBody<'a> {
    pub action: Action,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub request_id: Option<Uuid>,
    pub idempotency_key: &'a str,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub subject: Option<SubjectBody>,
    /// Sent as the W3C `traceparent` header, not in the body: the service's spans join the
    /// request's trace.
    #[serde(skip)]
    pub traceparent: Option<&'a str>,
}

/// The subject as the service sees it: normalised identifiers, and its own id if known.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SubjectBody {
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub user_id: Option<String>,
    #[serde(default)]
    pub emails: Vec<String>,
    #[serde(default)]
    pub phones: Vec<String>,
    /// The subject's id in this system (`subject.ids.<instance>` of the request).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub id: Option<String>,
}

impl SubjectBody {
    pub fn of(subject: &Subject, instance: &str) -> Self {
        SubjectBody {
            user_id: subject.user_id().map(str::to_string),
            emails: subject.emails().to_vec(),
            phones: subject.phones().to_vec(),
            id: subject.id_in(instance).map(str::to_string),
        }
    }
}

/// What the service answers to `erase` and `check`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Answer {
    Erased {
        /// Records erased, by kind (`{"orders": 3, "profile": 1}`).
        #[serde(default)]
        counts: BTreeMap<String, u64>,
        /// The service's own reference for this erasure (a job id), kept as evidence.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reference: Option<String>,
    },
    NothingToErase {},
    Pending {
        /// Where to ask again (same origin as the configured URL).
        check_url: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        check_after_seconds: Option<u64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reference: Option<String>,
    },
}

/// What the service answers to `lookup`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LookupAnswer {
    pub found: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
}
