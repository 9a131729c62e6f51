//! What Zendesk answers (only the fields the connector reads), and the follow-up state kept in
//! `Pending.state` between `check`s.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct User {
    pub id: i64,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub external_id: Option<String>,
    #[serde(default)]
    pub role: Option<String>,
    /// False once soft-deleted (only `GET /users/{id}` still shows such a user).
    #[serde(default = "yes")]
    pub active: bool,
}

impl User {
    pub fn is_end_user(&self) -> bool {
        self.role.as_deref().is_none_or(|r| r == "end-user")
    }
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Ticket {
    pub id: i64,
    /// `new`, `open`, `pending`, `hold`, `solved` or `closed`.
    #[serde(default)]
    pub status: Option<String>,
}

impl Ticket {
    /// Zendesk refuses any change to a closed ticket but its tags, subject and priority.
    pub fn is_closed(&self) -> bool {
        self.status.as_deref() == Some("closed")
    }
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Comment {
    pub id: i64,
    #[serde(default)]
    pub author_id: Option<i64>,
    #[serde(default)]
    pub html_body: String,
    #[serde(default)]
    pub plain_body: String,
    #[serde(default)]
    pub attachments: Vec<Attachment>,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Attachment {
    #[serde(default)]
    pub file_name: String,
    #[serde(default)]
    pub content_url: Option<String>,
}

/// One of a user's identities (`GET /users/{id}/identities`).
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Identity {
    /// `email`, `phone_number`, `twitter`, ...
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub value: String,
}

/// `{"job_status": {...}}`: a background job (bulk deletions).
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct JobStatus {
    pub id: String,
    /// `queued`, `working`, `completed`, `failed` or `killed`.
    pub status: String,
    /// Per record for most jobs; one `{"success": bool}` for a permanent ticket deletion.
    #[serde(default)]
    pub results: Option<serde_json::Value>,
}

impl JobStatus {
    /// Do the results say that every record succeeded? A permanent ticket deletion says only
    /// `{"success": true}` or `false`, never which ticket failed.
    pub fn all_succeeded(&self) -> bool {
        use serde_json::Value;
        match &self.results {
            Some(Value::Object(result)) => result.get("success") == Some(&Value::Bool(true)),
            Some(Value::Array(results)) => results.iter().all(|r| r.get("success") == Some(&Value::Bool(true))),
            _ => false,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct ComplianceStatus {
    /// `request_deletion`, `started`, `complete`.
    pub action: String,
    /// `all`, `support`, `chat`, ...
    pub application: String,
    /// When Zendesk recorded the action (ISO 8601).
    #[serde(default)]
    pub created_at: String,
}

/// Where an accepted erasure stands, in `Pending.state`. Holds Zendesk's own ids (jobs, tickets,
/// soft-deleted users), never an e-mail or the product's ids.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "step", rename_all = "snake_case")]
pub(crate) enum Step {
    /// `tickets/destroy_many` jobs; the tickets are purged once they finish.
    DeleteTickets {
        jobs: Vec<String>,
        tickets: Vec<i64>,
        #[serde(default)]
        restarts: u32,
    },
    /// `deleted_tickets/destroy_many` jobs; then the users are deleted.
    PurgeTickets {
        jobs: Vec<String>,
        tickets: Vec<i64>,
        #[serde(default)]
        restarts: u32,
    },
    /// Users already soft-deleted whose permanent deletion must be asked again (rate limit).
    PurgeUsers { users: Vec<i64> },
    /// Users deleted for good: wait until every Zendesk application their deletion started in
    /// reports it `complete` (`compliance_deletion_statuses`).
    AwaitCascade { users: Vec<i64> },
}

/// The connector's durable progress (`ctx.progress`), saved before each step that hides records
/// from the person's listings: tickets deleted or being deleted, users whose soft deletion was
/// asked, not yet known to be purged. Zendesk's own ids only.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct Saved {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tickets: Vec<i64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub users: Vec<i64>,
}

impl Saved {
    pub fn add_tickets(&mut self, ids: &[i64]) {
        merge(&mut self.tickets, ids);
    }

    pub fn add_users(&mut self, ids: &[i64]) {
        merge(&mut self.users, ids);
    }
}

fn merge(into: &mut Vec<i64>, ids: &[i64]) {
    into.extend_from_slice(ids);
    into.sort_unstable();
    into.dedup();
}
