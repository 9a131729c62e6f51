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

/// `{"job_status": {...}}`: a background job (bulk deletions).
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct JobStatus {
    pub id: String,
    /// `queued`, `working`, `completed`, `failed` or `killed`.
    pub status: String,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct ComplianceStatus {
    /// `request_deletion`, `started`, `complete`.
    pub action: String,
    /// `all`, `support`, `chat`, ...
    pub application: String,
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
}
