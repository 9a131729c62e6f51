//! What the simulated Zendesk account holds, and the JSON shapes Zendesk writes it in.

use super::guide_data::{with_voice, HelpCenter, Talk};
use super::html::{escape_html, plain_text};
use super::{AGENT_ID, EMAIL};
use crate::harness::RateWindow;
use crate::index::{Keys, Substrings};
use crate::text::percent_encode;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{Duration, Instant};

/// What the simulated Zendesk account holds.
pub(crate) struct Data {
    pub(super) users: BTreeMap<u64, User>,
    pub(super) tickets: BTreeMap<u64, Ticket>,
    pub(super) jobs: HashMap<String, Job>,
    pub(super) next_id: u64,
    pub(super) next_job: u64,
    pub(super) page_size: usize,
    pub(super) job_delay: Duration,
    pub(super) failing_jobs: u32,
    /// Tickets that `deleted_tickets/destroy_many` fails to purge (`Zendesk::fail_purge`).
    pub(super) failing_purges: BTreeSet<u64>,
    pub(super) rate_limit: Option<RateWindow>,
    pub(super) user_deletions: RateWindow,
    /// Export Search Results: 100 requests a minute per account (`search.rs`).
    pub(super) export_limit: RateWindow,
    pub(super) next_page_override: Option<String>,
    pub(super) help_center: HelpCenter,
    pub(super) talk: Talk,
    /// The applications a permanent user deletion cascades to, each with the time it takes to
    /// report `complete` (`None`: it never does), in `compliance_deletion_statuses`.
    pub(super) cascade: Vec<(String, Option<Duration>)>,
    /// Users and tickets by the keys lookups ask for (`index.rs`).
    pub(super) index: Index,
}

impl Default for Data {
    fn default() -> Self {
        let mut data = Data {
            users: BTreeMap::new(),
            tickets: BTreeMap::new(),
            jobs: HashMap::new(),
            next_id: AGENT_ID,
            next_job: 0,
            page_size: 5,
            job_delay: Duration::from_millis(200),
            failing_jobs: 0,
            failing_purges: BTreeSet::new(),
            rate_limit: None,
            user_deletions: RateWindow::new(700, Duration::from_secs(600)),
            export_limit: RateWindow::new(100, Duration::from_secs(60)),
            next_page_override: None,
            help_center: HelpCenter::default(),
            talk: Talk::default(),
            cascade: vec![
                ("support".into(), Some(Duration::from_millis(200))),
                ("chat".into(), Some(Duration::from_millis(400))),
            ],
            index: Index::default(),
        };
        data.add_user("Erasure Bot", Some(EMAIL), None, "admin");
        data.next_id = 35_000;
        data
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Life {
    Active,
    SoftDeleted,
    Purged,
}

impl Life {
    pub(super) fn name(self) -> &'static str {
        match self {
            Life::Active => "active",
            Life::SoftDeleted => "soft_deleted",
            Life::Purged => "purged",
        }
    }
}

pub(super) struct User {
    pub(super) id: u64,
    pub(super) name: String,
    /// The primary e-mail identity.
    pub(super) email: Option<String>,
    /// Other e-mail identities (`Zendesk::secondary_email`).
    pub(super) secondary_emails: Vec<String>,
    pub(super) external_id: Option<String>,
    pub(super) role: String,
    pub(super) life: Life,
    pub(super) purged_at: Option<Instant>,
    /// The same moment on the wall clock, for the `created_at` of its compliance statuses.
    pub(super) purged_wall: Option<chrono::DateTime<chrono::Utc>>,
    /// The identifiers it was created with, for `Zendesk::records` after a purge scrubbed them.
    pub(super) created_with: Vec<String>,
}

pub(super) struct Ticket {
    pub(super) id: u64,
    pub(super) subject: String,
    pub(super) status: String,
    pub(super) requester_id: u64,
    pub(super) email_cc_ids: Vec<u64>,
    pub(super) follower_ids: Vec<u64>,
    pub(super) comments: Vec<Comment>,
    pub(super) life: Life,
    /// Closed long ago and archived (`Zendesk::archive`): absent from the user's ticket lists.
    pub(super) archived: bool,
}

pub(super) struct Comment {
    pub(super) id: u64,
    pub(super) author_id: u64,
    pub(super) html_body: String,
    pub(super) attachments: Vec<Attachment>,
    /// A voice comment's `data` (Talk).
    pub(super) voice: Option<Value>,
}

pub(super) struct Attachment {
    pub(super) id: u64,
    pub(super) file_name: String,
}

#[derive(Clone, Copy, PartialEq)]
pub(super) enum JobAction {
    /// `tickets/destroy_many`: soft delete.
    Delete,
    /// `deleted_tickets/destroy_many`: permanent.
    Purge,
}

pub(super) struct Job {
    pub(super) action: JobAction,
    pub(super) ids: Vec<u64>,
    pub(super) created: Instant,
    pub(super) ready_at: Instant,
    pub(super) fails: bool,
    /// The results, once the job has run: per ticket for a deletion, one `{"success": ...}` for
    /// a purge.
    pub(super) results: Option<Value>,
}

impl Data {
    /// Run the jobs whose time has come.
    pub(super) fn settle(&mut self, now: Instant) {
        let due: Vec<String> = self
            .jobs
            .iter()
            .filter(|(_, j)| j.results.is_none() && j.ready_at <= now)
            .map(|(id, _)| id.clone())
            .collect();
        for id in due {
            let job = &self.jobs[&id];
            let (action, ids, fails) = (job.action, job.ids.clone(), job.fails);
            let mut results = Vec::new();
            for ticket in &ids {
                let (from, to) = match action {
                    JobAction::Delete => (Life::Active, Life::SoftDeleted),
                    JobAction::Purge => (Life::SoftDeleted, Life::Purged),
                };
                let refused = action == JobAction::Purge && self.failing_purges.contains(ticket);
                let done = !fails && !refused && self.tickets.get(ticket).is_some_and(|t| t.life == from);
                if done {
                    self.tickets.get_mut(ticket).expect("checked").life = to;
                }
                // A result's shape is the OAS's `JobStatusResultObject`: `UpdateResourceResult`
                // (`id`, `action`, `success`, `status`) or `FailedResult` (`id`, `action`,
                // `success`, `error`, `details`).
                results.push(if done {
                    json!({ "id": ticket, "action": "delete", "success": true, "status": "Deleted" })
                } else {
                    json!({ "id": ticket, "action": "delete", "success": false, "error": "RecordNotFound",
                            "details": "The ticket could not be deleted" })
                });
            }
            let results = match action {
                JobAction::Delete => Value::Array(results),
                // "If the job was to permanently delete tickets, the result is an object that will
                // only specify whether all of the tickets were successfully deleted or not"
                // (developer.zendesk.com/api-reference/ticketing/ticket-management/job_statuses/,
                // Results, Permanent Ticket Deletion): no per-ticket detail.
                JobAction::Purge => json!({ "success": results.iter().all(|r| r["success"] == true) }),
            };
            self.jobs.get_mut(&id).expect("a due job").results = Some(results);
        }
    }

    pub(super) fn new_id(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    pub(super) fn add_user(&mut self, name: &str, email: Option<&str>, external_id: Option<&str>, role: &str) -> u64 {
        let id = self.new_id();
        let email = email.map(str::to_lowercase);
        let created_with = email.iter().chain(external_id.map(str::to_string).as_ref()).cloned().collect();
        let user = User {
            id,
            name: name.to_string(),
            email,
            secondary_emails: Vec::new(),
            external_id: external_id.map(str::to_string),
            role: role.to_string(),
            life: Life::Active,
            purged_at: None,
            purged_wall: None,
            created_with,
        };
        self.users.insert(id, user);
        self.reindex_user(id);
        id
    }

    pub(super) fn add_ticket(&mut self, requester: u64, text: &str) -> u64 {
        let id = self.new_id();
        let ticket = Ticket {
            id,
            subject: "Help with my account".into(),
            status: "closed".into(),
            requester_id: requester,
            email_cc_ids: Vec::new(),
            follower_ids: Vec::new(),
            comments: Vec::new(),
            life: Life::Active,
            archived: false,
        };
        self.tickets.insert(id, ticket);
        self.reindex_ticket(id);
        self.add_comment(id, requester, text, &[]);
        id
    }

    pub(super) fn add_comment(&mut self, ticket: u64, author: u64, text: &str, files: &[&str]) -> u64 {
        let id = self.new_id();
        let attachments = files.iter().map(|f| Attachment { id: self.new_id(), file_name: f.to_string() }).collect();
        let html_body = format!("<div class=\"zd-comment\" dir=\"auto\"><p>{}</p></div>", escape_html(text));
        let comment = Comment { id, author_id: author, html_body, attachments, voice: None };
        self.tickets.get_mut(&ticket).expect("a simulated ticket").comments.push(comment);
        id
    }

    pub(super) fn find_comment(&self, id: u64) -> Option<&Comment> {
        self.tickets.values().flat_map(|t| &t.comments).find(|c| c.id == id)
    }
}

impl User {
    /// The OAS's `UserObject` types `email` as a string, never null: a user without an e-mail
    /// address has no `email` here.
    pub(super) fn json(&self, api: &str) -> Value {
        let mut user = json!({ "id": self.id, "url": format!("{api}/users/{}.json", self.id), "name": self.name,
                "external_id": self.external_id, "role": self.role,
                "active": self.life == Life::Active, "phone": null, "verified": true,
                "created_at": "2024-01-01T00:00:00Z", "updated_at": "2024-01-01T00:00:00Z" });
        if let Some(email) = &self.email {
            user["email"] = json!(email);
        }
        user
    }

    /// The answer to `DELETE /deleted_users/{id}`, the OAS's `DeletedUserObject`, which requires
    /// `time_zone`, `locale`, `locale_id`, `organization_id`, `photo` and `shared_phone_number`
    /// besides the user's own fields (Permanently Delete User,
    /// <https://developer.zendesk.com/api-reference/ticketing/users/users/#permanently-delete-user>,
    /// whose example shows the user as it was, `active: false`). The simulated account's users
    /// all belong to its one organization and use its defaults.
    pub(super) fn deleted_json(&self, api: &str) -> Value {
        let mut user = json!({ "id": self.id, "url": format!("{api}/deleted_users/{}.json", self.id),
                "name": self.name, "role": self.role, "active": false, "phone": null,
                "shared_phone_number": null, "photo": null, "time_zone": "UTC", "locale": "en-US",
                "locale_id": 1, "organization_id": ORGANIZATION_ID,
                "created_at": "2024-01-01T00:00:00Z", "updated_at": "2024-01-01T00:00:00Z" });
        if let Some(email) = &self.email {
            user["email"] = json!(email);
        }
        user
    }
}

/// The simulated account's one organization.
const ORGANIZATION_ID: u64 = 360_000;

impl Ticket {
    pub(super) fn json(&self, api: &str) -> Value {
        let collaborators: Vec<u64> = self.email_cc_ids.iter().chain(&self.follower_ids).copied().collect();
        let description = self.comments.first().map(|c| plain_text(&c.html_body)).unwrap_or_default();
        json!({ "id": self.id, "url": format!("{api}/tickets/{}.json", self.id), "subject": self.subject,
                "raw_subject": self.subject, "description": description, "status": self.status,
                "requester_id": self.requester_id, "submitter_id": self.requester_id,
                "email_cc_ids": self.email_cc_ids, "follower_ids": self.follower_ids,
                "collaborator_ids": collaborators, "created_at": "2024-01-01T00:00:00Z",
                "updated_at": "2024-01-01T00:00:00Z" })
    }
}

impl Comment {
    pub(super) fn json(&self, api: &str) -> Value {
        let plain = plain_text(&self.html_body);
        let attachments: Vec<Value> = self
            .attachments
            .iter()
            .map(|a| {
                json!({ "id": a.id, "file_name": a.file_name, "content_url": a.content_url(api),
                             "content_type": "application/octet-stream", "size": 1024 })
            })
            .collect();
        let comment = json!({ "id": self.id, "type": "Comment", "author_id": self.author_id, "body": plain,
                "html_body": self.html_body, "plain_body": plain, "public": true,
                "attachments": attachments, "created_at": "2024-01-01T00:00:00Z" });
        with_voice(comment, &self.voice)
    }
}

impl Attachment {
    pub(super) fn content_url(&self, api: &str) -> String {
        format!("{api}/attachments/{}/{}", self.id, percent_encode(&self.file_name))
    }
}

impl Job {
    pub(super) fn json(&self, id: &str, api: &str, now: Instant) -> Value {
        let status = match &self.results {
            Some(_) if self.fails => "failed",
            Some(_) => "completed",
            None if now < self.created + (self.ready_at - self.created) / 2 => "queued",
            None => "working",
        };
        let total = self.ids.len();
        let progress = if self.results.is_some() { total } else { 0 };
        let message = match status {
            "completed" => Some("Completed"),
            "failed" => Some("The job failed (simulated)"),
            _ => None,
        };
        json!({ "id": id, "url": format!("{api}/job_statuses/{id}.json"), "job_type": "Bulk Delete Tickets",
                "status": status, "total": total, "progress": progress, "message": message,
                "results": self.results })
    }
}

/// The secondary indexes of this vendor's records, kept by `index.rs`.
#[derive(Default)]
pub(crate) struct Index {
    /// Every e-mail identity, primary and secondary, in lower case.
    pub(super) emails: Substrings<u64>,
    pub(super) external_ids: Keys<String, u64>,
    /// `User::created_with`, for `Zendesk::records`.
    pub(super) created_with: Keys<String, u64>,
    /// Tickets by requester.
    pub(super) requested: Keys<u64, u64>,
    /// Tickets by CC and follower.
    pub(super) watched: Keys<u64, u64>,
}
