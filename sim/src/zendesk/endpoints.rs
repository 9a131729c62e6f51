//! What each Zendesk endpoint does to the account and answers.

use super::data::{Data, Job, JobAction, Life, User};
use super::html::{apply_redaction, strip_redaction};
use super::query::parse_terms;
use super::routes::{error, not_found, ok, throttled, Answer, Link};
use super::{AGENT_ID, MAX_BULK_IDS};
use serde_json::{json, Value};
use std::time::Instant;

impl Data {
    pub(super) fn page(&self, key: &str, items: Vec<Value>, link: &Link) -> Answer {
        let number = |k: &str| link.query.get(k).and_then(|v| v.parse::<usize>().ok());
        let per_page = number("per_page").unwrap_or(100).clamp(1, 100).min(self.page_size);
        let page = number("page").unwrap_or(1).max(1);
        let count = items.len();
        let start = (page - 1).saturating_mul(per_page);
        let items: Vec<Value> = items.into_iter().skip(start).take(per_page).collect();
        let next = (start.saturating_add(per_page) < count)
            .then(|| self.next_page_override.clone().unwrap_or_else(|| link.page(page + 1, per_page)));
        let previous = (page > 1).then(|| link.page(page - 1, per_page));
        ok(json!({ key: items, "next_page": next, "previous_page": previous, "count": count }))
    }

    /// `GET /users/search`. Zendesk's Search Users says the query "can specify a partial or full
    /// value of any user property, including name, email address, notes, or phone"
    /// (<https://developer.zendesk.com/api-reference/ticketing/users/users/#search-users>); it does
    /// not say whether `email:` also matches a user's secondary e-mail identities. The simulator
    /// matches them (fuzzily, as every search term), and answers the user with its primary `email`:
    /// a caller must check the match against the user's identities.
    pub(super) fn search(&self, link: &Link) -> Answer {
        let found: Vec<&User> = if let Some(external_id) = link.query.get("external_id") {
            self.users_among(Some(self.users_with_external_id(external_id)))
                .filter(|u| u.life == Life::Active && u.external_id.as_ref() == Some(external_id))
                .collect()
        } else if let Some(query) = link.query.get("query") {
            let terms = parse_terms(query);
            self.users_among(self.user_candidates(&terms))
                .filter(|u| u.life == Life::Active && !terms.is_empty() && terms.iter().all(|t| t.matches(u)))
                .collect()
        } else {
            return error(400, "InvalidEndpoint", "query or external_id is required");
        };
        let users = found.iter().map(|u| u.json(&link.api)).collect();
        self.page("users", users, link)
    }

    /// `GET /users/{id}/identities`: "Returns a list of identities for the given user" (List
    /// Identities, <https://developer.zendesk.com/api-reference/ticketing/users/user_identities/#list-identities>),
    /// each `{"type": "email", "value": ..., "primary": ...}`; the primary first.
    pub(super) fn identities(&self, id: u64, link: &Link) -> Answer {
        let Some(user) = self.users.get(&id).filter(|u| u.life != Life::Purged) else { return not_found() };
        let emails = user.email.iter().map(|e| (e, true)).chain(user.secondary_emails.iter().map(|e| (e, false)));
        let identities = emails
            .enumerate()
            .map(|(n, (email, primary))| {
                let identity = id * 1000 + n as u64;
                json!({ "id": identity, "url": format!("{}/users/{id}/identities/{identity}.json", link.api),
                        "user_id": id, "type": "email", "value": email, "primary": primary, "verified": true,
                        "created_at": "2024-01-01T00:00:00Z", "updated_at": "2024-01-01T00:00:00Z" })
            })
            .collect();
        self.page("identities", identities, link)
    }

    /// `GET /deleted_tickets`: soft-deleted tickets, not archived ones: "The results includes all
    /// deleted (and not yet archived) tickets that have not yet been scrubbed in the past 30 days.
    /// Archived tickets are not included in the results." (List Deleted Tickets,
    /// <https://developer.zendesk.com/api-reference/ticketing/tickets/tickets/#list-deleted-tickets>).
    pub(super) fn deleted_tickets(&self, link: &Link) -> Answer {
        let tickets = self
            .tickets
            .values()
            .filter(|t| t.life == Life::SoftDeleted && !t.archived)
            .map(|t| {
                json!({ "id": t.id, "subject": t.subject, "deleted_at": "2024-06-01T00:00:00Z",
                        "previous_state": t.status, "actor": { "id": AGENT_ID, "name": "Erasure Bot" } })
            })
            .collect();
        self.page("deleted_tickets", tickets, link)
    }

    pub(super) fn delete_user(&mut self, id: u64, api: &str) -> Answer {
        let open = self
            .tickets_among(Some(self.tickets_requested_by(id)))
            .any(|t| t.requester_id == id && t.life == Life::Active && t.status != "closed");
        match self.users.get_mut(&id) {
            Some(u) if u.life == Life::Active && id == AGENT_ID => {
                error(403, "Forbidden", "You cannot delete yourself")
            }
            Some(u) if u.life == Life::Active && open => Answer::new(
                422,
                Some(json!({ "error": "RecordInvalid", "description": "Record validation errors", "details": {
                    "base": [{ "description": "The user is the requester of tickets that are not closed" }] } })),
            ),
            Some(u) if u.life == Life::Active => {
                u.life = Life::SoftDeleted;
                ok(json!({ "user": u.json(api) }))
            }
            _ => not_found(),
        }
    }

    pub(super) fn purge_user(&mut self, id: u64, api: &str, now: Instant) -> Answer {
        if let Err(seconds) = self.user_deletions.take(now) {
            return throttled(Some(seconds));
        }
        match self.users.get_mut(&id) {
            Some(u) if u.life == Life::SoftDeleted => {
                let answer = ok(json!({ "deleted_user": u.deleted_json(api) }));
                u.life = Life::Purged;
                u.purged_at = Some(now);
                u.purged_wall = Some(chrono::Utc::now());
                u.name = "Permanently Deleted User".into();
                u.email = None;
                u.secondary_emails.clear();
                u.external_id = None;
                self.reindex_user(id);
                answer
            }
            _ => not_found(),
        }
    }

    /// `GET /api/v2/users/{user_id}/compliance_deletion_statuses`: after a permanent deletion,
    /// `request_deletion` for `all`, then per application (Zendesk's "area of compliance", e.g.
    /// support, chat, talk) `started` and, once that product has deleted its copy, `complete`,
    /// each with its `created_at` (Zendesk Support API, Users, "Show Compliance Deletion
    /// Statuses"; the spec's example shows chat `started` hours after support `complete`). An
    /// application that has not finished shows `started` alone. A user never in the account: 404.
    pub(super) fn compliance(&self, id: u64, now: Instant) -> Answer {
        let Some(user) = self.users.get(&id) else { return not_found() };
        let entry = |action: &str, application: &str, at: chrono::DateTime<chrono::Utc>, executer: Option<u64>| {
            json!({ "action": action, "application": application, "account_subdomain": "sim",
                    "executer_id": executer, "user_id": id,
                    "created_at": at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true) })
        };
        let mut statuses = Vec::new();
        if let (Some(at), Some(wall)) = (user.purged_at, user.purged_wall) {
            statuses.push(entry("request_deletion", "all", wall, Some(AGENT_ID)));
            for (application, takes) in &self.cascade {
                statuses.push(entry("started", application, wall, None));
                if let Some(takes) = takes.filter(|takes| now >= at + *takes) {
                    let done = wall + chrono::Duration::from_std(takes).unwrap_or_default();
                    statuses.push(entry("complete", application, done, None));
                }
            }
        }
        ok(json!({ "compliance_deletion_statuses": statuses }))
    }

    pub(super) fn bulk(&mut self, action: JobAction, link: &Link, now: Instant) -> Answer {
        let ids: Option<Vec<u64>> =
            link.query.get("ids").map(|ids| ids.split(',').map(|i| i.trim().parse().ok()).collect()).unwrap_or(None);
        let ids = match ids {
            Some(ids) if !ids.is_empty() && ids.len() <= MAX_BULK_IDS => ids,
            _ => return error(400, "InvalidValue", "ids must be 1 to 100 comma-separated ticket ids"),
        };
        self.next_job += 1;
        let id = format!("{:032x}", 0x5a5a_0000_u64 + self.next_job);
        let fails = self.failing_jobs > 0;
        self.failing_jobs = self.failing_jobs.saturating_sub(1);
        let job = Job { action, ids, created: now, ready_at: now + self.job_delay, fails, results: None };
        let answer = ok(json!({ "job_status": job.json(&id, &link.api, now) }));
        self.jobs.insert(id, job);
        answer
    }

    /// `PUT /tickets/{id}`: CCs, followers and status. A closed ticket refuses every change but
    /// its tags, subject and priority: "Tickets with a status set to Closed can't be updated in
    /// most cases, but they can be deleted. [...] Only the tags, subject, and priority fields can
    /// be edited on closed tickets." (About native system ticket rules,
    /// <https://support.zendesk.com/hc/en-us/articles/4408894213018>; the Update Ticket reference,
    /// <https://developer.zendesk.com/api-reference/ticketing/tickets/tickets/#update-ticket>,
    /// does not document the answer). The simulator answers 422 `RecordInvalid` with
    /// "Status: closed prevents ticket update", the answer Zendesk is reported to give; neither
    /// the status nor the wording is in Zendesk's documentation.
    pub(super) fn update_ticket(&mut self, id: u64, body: &[u8], api: &str) -> Answer {
        let Some(ticket) = self.tickets.get_mut(&id).filter(|t| t.life == Life::Active) else { return not_found() };
        let Ok(Value::Object(mut body)) = serde_json::from_slice::<Value>(body) else {
            return error(400, "InvalidValue", "the body must be {\"ticket\": {...}}");
        };
        let Some(Value::Object(update)) = body.remove("ticket") else {
            return error(400, "InvalidValue", "the body must be {\"ticket\": {...}}");
        };
        let editable_when_closed = |key: &String| matches!(key.as_str(), "tags" | "subject" | "priority");
        if ticket.status == "closed" && !update.keys().all(editable_when_closed) {
            return Answer::new(
                422,
                Some(json!({ "error": "RecordInvalid", "description": "Record validation errors", "details": {
                    "status": [{ "description": "Status: closed prevents ticket update" }] } })),
            );
        }
        for (key, list) in [("email_ccs", &mut ticket.email_cc_ids), ("followers", &mut ticket.follower_ids)] {
            for change in update.get(key).and_then(Value::as_array).into_iter().flatten() {
                // The OAS types `user_id` as a string (`EmailCCObject`, `FollowerObject`); a
                // number is read too.
                let user = change.get("user_id").and_then(|u| u.as_u64().or_else(|| u.as_str()?.parse().ok()));
                let Some(user) = user else { continue };
                match change.get("action").and_then(Value::as_str).unwrap_or("put") {
                    "delete" => list.retain(|u| *u != user),
                    _ if !list.contains(&user) => list.push(user),
                    _ => {}
                }
            }
        }
        if let Some(status) = update.get("status").and_then(Value::as_str) {
            ticket.status = status.to_string();
        }
        let answer = ok(json!({ "ticket": ticket.json(api) }));
        self.reindex_ticket(id);
        answer
    }

    /// `PUT /comment_redactions/{id}`, on any live ticket, closed and archived ones included:
    /// this endpoint provides "Redaction of comments in closed tickets" and "Redaction of comments
    /// in archived tickets" (Redact Ticket Comment In Agent Workspace,
    /// <https://developer.zendesk.com/api-reference/ticketing/tickets/ticket_comments/#redact-ticket-comment-in-agent-workspace>).
    pub(super) fn redact(&mut self, comment_id: u64, body: &[u8], api: &str) -> Answer {
        let Ok(body) = serde_json::from_slice::<Value>(body) else {
            return error(400, "InvalidValue", "the body must be JSON");
        };
        let Some(ticket_id) = body.get("ticket_id").and_then(Value::as_u64) else {
            return error(400, "InvalidValue", "ticket_id is required");
        };
        let Some(ticket) = self.tickets.get_mut(&ticket_id).filter(|t| t.life == Life::Active) else {
            return not_found();
        };
        let Some(comment) = ticket.comments.iter_mut().find(|c| c.id == comment_id) else { return not_found() };
        if let Some(html) = body.get("html_body").and_then(Value::as_str) {
            if strip_redaction(html) != comment.html_body {
                return error(422, "InvalidValue", "html_body is not the comment's html_body with redactions");
            }
            comment.html_body = apply_redaction(html);
        }
        let urls: Vec<&str> = body
            .get("external_attachment_urls")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        for attachment in &mut comment.attachments {
            if urls.contains(&attachment.content_url(api).as_str()) {
                attachment.file_name = "redacted.txt".into();
            }
        }
        ok(json!({ "comment": comment.json(api) }))
    }
}
