//! What a `GET /_tasks/{task_id}` answer says about a delete-by-query task.

use crate::api::is_type_name;
use serde_json::Value;

#[derive(Debug, PartialEq, Eq)]
pub enum Task {
    Running,
    /// The task ended; what it did and what went wrong.
    Ended(Report),
}

#[derive(Debug, PartialEq, Eq)]
pub struct Report {
    pub deleted: u64,
    pub version_conflicts: u64,
    pub trouble: Option<Trouble>,
}

/// Why a task ended before deleting everything it matched. Reasons hold error types and
/// statuses, never document ids or error texts (which may quote identifiers).
#[derive(Debug, PartialEq, Eq)]
pub enum Trouble {
    /// Worth another round: rejections (429), unavailable shards (5xx), a failed or lost task.
    Transient(String),
    /// A human must act: a write block, a mapping or permission problem (other 4xx).
    Permanent(String),
}

/// Read a task answer; `None` if it is not one.
pub fn read(answer: &Value) -> Option<Task> {
    if !answer.get("completed")?.as_bool()? {
        return Some(Task::Running);
    }
    if let Some(error) = answer.get("error") {
        let kind = error.get("type").and_then(Value::as_str).filter(|t| is_type_name(t)).unwrap_or("unknown");
        return Some(Task::Ended(Report {
            deleted: 0,
            version_conflicts: 0,
            trouble: Some(Trouble::Transient(format!("the delete-by-query task failed ({kind})"))),
        }));
    }
    let response = answer.get("response")?;
    let count = |key: &str| response.get(key).and_then(Value::as_u64).unwrap_or(0);
    let failures = response.get("failures").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    Some(Task::Ended(Report {
        deleted: count("deleted"),
        version_conflicts: count("version_conflicts"),
        trouble: trouble(failures, count("deleted")),
    }))
}

/// Bulk failures (`status`, `cause.type`) and search failures (`reason.type`, maybe no status).
fn trouble(failures: &[Value], deleted: u64) -> Option<Trouble> {
    if failures.is_empty() {
        return None;
    }
    let mut kinds: Vec<String> = Vec::new();
    let mut permanent = false;
    for failure in failures {
        let status = failure.get("status").and_then(|s| s.as_u64().or_else(|| s.as_str()?.parse().ok()));
        permanent |= status.is_some_and(|s| (400..500).contains(&s) && !matches!(s, 408 | 409 | 429));
        let cause = failure.get("cause").or_else(|| failure.get("reason"));
        let kind = cause.and_then(|c| c.get("type")).and_then(Value::as_str).filter(|t| is_type_name(t));
        let label = match (kind, status) {
            (Some(kind), Some(status)) => format!("{kind}, HTTP {status}"),
            (Some(kind), None) => kind.to_string(),
            (None, Some(status)) => format!("HTTP {status}"),
            (None, None) => "unknown".to_string(),
        };
        if !kinds.contains(&label) && kinds.len() < 3 {
            kinds.push(label);
        }
    }
    let reason = format!(
        "the delete-by-query task stopped on {} failure(s) ({}) after deleting {deleted} document(s)",
        failures.len(),
        kinds.join("; ")
    );
    Some(if permanent { Trouble::Permanent(reason) } else { Trouble::Transient(reason) })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ended(response: Value) -> Report {
        match read(&json!({ "completed": true, "task": {}, "response": response })) {
            Some(Task::Ended(report)) => report,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn running_done_and_unreadable() {
        assert_eq!(read(&json!({ "completed": false, "task": {} })), Some(Task::Running));
        let report = ended(json!({ "deleted": 7, "version_conflicts": 1, "failures": [] }));
        assert_eq!(report, Report { deleted: 7, version_conflicts: 1, trouble: None });
        assert_eq!(read(&json!({ "nodes": {} })), None);
        assert_eq!(read(&json!({ "completed": true, "task": {} })), None);
    }

    #[test]
    fn rejections_are_transient_blocks_are_permanent() {
        let rejected = json!({ "index": "logs-1", "id": "a@x.io", "status": 429,
            "cause": { "type": "es_rejected_execution_exception", "reason": "queue full for a@x.io" } });
        let report = ended(json!({ "deleted": 2, "failures": [rejected.clone(), rejected] }));
        let Some(Trouble::Transient(reason)) = report.trouble else { panic!("transient") };
        assert_eq!(
            reason,
            "the delete-by-query task stopped on 2 failure(s) (es_rejected_execution_exception, HTTP 429) \
             after deleting 2 document(s)"
        );
        let blocked =
            json!({ "index": "logs-1", "id": "x", "status": 403, "cause": { "type": "cluster_block_exception" } });
        let shard = json!({ "index": "logs-1", "shard": 0, "reason": { "type": "node_not_connected_exception" } });
        let report = ended(json!({ "deleted": 0, "failures": [shard, blocked] }));
        assert!(matches!(report.trouble, Some(Trouble::Permanent(_))), "{report:?}");
    }

    #[test]
    fn a_failed_task_is_transient() {
        let answer =
            json!({ "completed": true, "task": {}, "error": { "type": "task_cancelled_exception", "reason": "x" } });
        let Some(Task::Ended(report)) = read(&answer) else { panic!("ended") };
        assert_eq!(
            report.trouble,
            Some(Trouble::Transient("the delete-by-query task failed (task_cancelled_exception)".into()))
        );
    }
}
