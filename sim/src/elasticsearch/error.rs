//! Elasticsearch's error answers.

use serde_json::{json, Value};

/// An Elasticsearch error answer.
pub(super) struct EsError {
    pub(super) status: u16,
    pub(super) kind: &'static str,
    pub(super) reason: String,
}

impl EsError {
    pub(super) fn new(status: u16, kind: &'static str, reason: impl Into<String>) -> Self {
        EsError { status, kind, reason: reason.into() }
    }

    pub(super) fn bad(reason: impl Into<String>) -> Self {
        EsError::new(400, "parsing_exception", reason)
    }
}

pub(super) fn error_body(status: u16, kind: &str, reason: &str) -> Value {
    json!({
        "error": { "root_cause": [{ "type": kind, "reason": reason }], "type": kind, "reason": reason },
        "status": status,
    })
}
