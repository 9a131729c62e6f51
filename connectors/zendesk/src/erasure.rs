//! The erasure, step by step: one pass finds the person's users, tidies the tickets they are only
//! CC'd on, deletes (or redacts) the tickets they requested, then deletes the users. Deleting
//! tickets runs as Zendesk background jobs: the pass ends `Pending` and `follow` (from `check`)
//! takes the next step when the jobs are done, until a pass finds nothing left to do.
//!
//! Soft-deleted tickets and users are no longer listed among the person's, so before each
//! deletion their Zendesk ids are saved with `ctx.progress` ([`Saved`]): an attempt that dies
//! after Zendesk did the work is finished by the next one, which purges them by id.

use crate::api::{UserDeletion, MAX_BULK_IDS};
use crate::config::TicketPolicy;
use crate::markup::is_redacted;
use crate::model::{ComplianceStatus, Saved, Step, User};
use crate::Zendesk;
use erasure_connector::{Ctx, Evidence, Failure, FailureKind, Outcome, Pending, Subject};
use std::collections::BTreeSet;

/// Added to the note when the person stays on closed tickets (`closed_tickets_left`).
const CLOSED_TICKETS_NOTE: &str = " The person stays among the CCs or followers of closed tickets someone else \
     requested (closed_tickets_left): Zendesk refuses any change to a closed ticket but its tags, subject and \
     priority. Their comments on those tickets were redacted, and their user was deleted permanently, so Zendesk \
     names them there as a deleted user.";

/// A failed background job is started again at most this many times.
const MAX_RESTARTS: u32 = 3;

/// What earlier steps of this attempt did and left.
#[derive(Default)]
pub(crate) struct Earlier {
    pub evidence: Evidence,
    pub restarts: u32,
    /// Tickets deleted (or being deleted) by earlier jobs, still to purge.
    pub carried: Vec<i64>,
}

/// What became of one user.
enum Removal {
    Purged,
    /// Nothing left to delete.
    Gone,
    /// Zendesk keeps the requester of tickets that are not closed.
    Refused,
}

/// How the background jobs of a step stand.
enum Jobs {
    Running,
    /// Every job completed (or is forgotten); `certain` when each job's results say that every
    /// record succeeded.
    Done {
        certain: bool,
    },
    Failed,
}

impl Zendesk {
    /// One pass; Zendesk's failures become retries or failures.
    pub(crate) async fn pass(&self, ctx: &Ctx, subject: &Subject, earlier: Earlier) -> Outcome {
        self.try_pass(ctx, subject, earlier).await.unwrap_or_else(Outcome::from)
    }

    /// The step after `step`, once its jobs are done.
    pub(crate) async fn follow(&self, ctx: &Ctx, subject: &Subject, step: Step, evidence: Evidence) -> Outcome {
        self.try_follow(ctx, subject, step, evidence).await.unwrap_or_else(Outcome::from)
    }

    async fn try_pass(&self, ctx: &Ctx, subject: &Subject, mut earlier: Earlier) -> Result<Outcome, Failure> {
        let saved: Saved = ctx.progress.get()?.unwrap_or_default();
        let mut users = self.find_users(ctx, subject).await?;
        self.add_saved_users(&saved, &mut users, &mut earlier.evidence).await?;
        if users.iter().any(|u| !u.is_end_user()) {
            return Ok(Outcome::failed(
                "the person's zendesk user is an agent or admin; the connector deletes end users only, an admin must act",
            ));
        }
        let active: Vec<i64> = users.iter().filter(|u| u.active).map(|u| u.id).collect();
        let mut requested = BTreeSet::new();
        for user in &active {
            requested.extend(self.api.requested(*user).await?.into_iter().map(|t| t.id));
            // Archived tickets (closed for about 120 days) are not in that list; search finds them.
            requested.extend(self.api.search_tickets("requester", *user).await?.into_iter().map(|t| t.id));
        }
        let mut closed_left = 0;
        for user in &active {
            closed_left += self.leave_others_tickets(*user, &requested, &mut earlier.evidence).await?;
        }
        // Every pass meets the same closed tickets again: the count is of one pass.
        let counted = earlier.evidence.counts.get("closed_tickets_left").copied().unwrap_or(0);
        add(&mut earlier.evidence, "closed_tickets_left", closed_left.saturating_sub(counted));
        // Tickets an earlier step or attempt deleted (or started to): soft-deleted tickets are not
        // listed among the person's any more, so they are purged by id.
        earlier.carried.extend(saved.tickets.iter().copied());
        earlier.carried.sort_unstable();
        earlier.carried.dedup();
        match self.tickets {
            TicketPolicy::Delete if !requested.is_empty() => return self.delete_tickets(ctx, requested, earlier).await,
            TicketPolicy::Delete => {}
            TicketPolicy::Redact => {
                for ticket in &requested {
                    let redacted = self.redact_comments(*ticket, None).await?;
                    self.delete_call_recordings(*ticket, None, &mut earlier.evidence).await?;
                    if redacted > 0 {
                        add(&mut earlier.evidence, "tickets_redacted", 1);
                        add(&mut earlier.evidence, "comments_redacted", redacted);
                    }
                }
            }
        }
        if !earlier.carried.is_empty() {
            let tickets = std::mem::take(&mut earlier.carried);
            return self.purge_tickets(tickets, earlier.restarts, earlier.evidence).await;
        }
        for user in &active {
            self.erase_help_center(*user, &mut earlier.evidence).await?;
        }
        self.delete_users(ctx, &users, earlier.evidence).await
    }

    /// The users an earlier attempt saved before deleting them: search no longer finds a
    /// soft-deleted user, `GET /users/{id}` does. One that is gone for good was deleted by that
    /// attempt if Zendesk recorded a deletion request for it: the evidence says so.
    async fn add_saved_users(
        &self,
        saved: &Saved,
        users: &mut Vec<User>,
        evidence: &mut Evidence,
    ) -> Result<(), Failure> {
        for id in &saved.users {
            if users.iter().any(|u| u.id == *id) {
                continue;
            }
            match self.api.user(*id).await? {
                Some(user) => users.push(user),
                None if self.deleted_for_good(*id).await? => add(evidence, "users_deleted", 1),
                None => {}
            }
        }
        Ok(())
    }

    /// A user no longer found was permanently deleted if Zendesk recorded the request
    /// (`compliance_deletion_statuses`): an answer to that deletion was lost, not the deletion.
    async fn deleted_for_good(&self, id: i64) -> Result<bool, Failure> {
        let statuses = self.api.compliance(id).await?.unwrap_or_default();
        Ok(statuses.iter().any(|s| s.action == "request_deletion"))
    }

    async fn try_follow(
        &self,
        ctx: &Ctx,
        subject: &Subject,
        step: Step,
        evidence: Evidence,
    ) -> Result<Outcome, Failure> {
        match step {
            Step::DeleteTickets { jobs, tickets, restarts } => match self.jobs(&jobs).await? {
                Jobs::Running => Ok(self.wait(Step::DeleteTickets { jobs, tickets, restarts }, evidence)),
                Jobs::Done { .. } => self.purge_tickets(tickets, restarts, evidence).await,
                Jobs::Failed if restarts >= MAX_RESTARTS => Ok(gave_up()),
                Jobs::Failed => {
                    restarting(restarts);
                    Ok(self.pass(ctx, subject, Earlier { evidence, restarts: restarts + 1, carried: tickets }).await)
                }
            },
            Step::PurgeTickets { jobs, tickets, restarts } => match self.jobs(&jobs).await? {
                Jobs::Running => Ok(self.wait(Step::PurgeTickets { jobs, tickets, restarts }, evidence)),
                Jobs::Done { certain } => self.purged(ctx, subject, tickets, certain, restarts, evidence).await,
                Jobs::Failed if restarts >= MAX_RESTARTS => Ok(gave_up()),
                Jobs::Failed => {
                    restarting(restarts);
                    self.purge_tickets(tickets, restarts + 1, evidence).await
                }
            },
            Step::PurgeUsers { users } => {
                let mut evidence = evidence;
                for id in users {
                    // The soft deletion may or may not have happened: ask.
                    let Some(user) = self.api.user(id).await? else {
                        if self.deleted_for_good(id).await? {
                            add(&mut evidence, "users_deleted", 1);
                        }
                        continue;
                    };
                    match self.remove_user(id, user.active).await? {
                        Removal::Purged => add(&mut evidence, "users_deleted", 1),
                        Removal::Gone => {}
                        Removal::Refused => {
                            return Ok(self.pass(ctx, subject, Earlier { evidence, ..Earlier::default() }).await)
                        }
                    }
                }
                self.after_users(ctx, &[], evidence).await
            }
            Step::AwaitCascade { users } => self.after_users(ctx, &users, evidence).await,
        }
    }

    /// On a ticket someone else requested: redact the user's own comments, then take the user
    /// off its CCs and followers. The ticket stays. A closed ticket cannot be changed (Zendesk
    /// answers 422) but its comments can be redacted: the user stays on its CCs, counted in
    /// `closed_tickets_left` (returned), until the permanent deletion of the user scrubs the
    /// identity.
    async fn leave_others_tickets(
        &self,
        user: i64,
        requested: &BTreeSet<i64>,
        evidence: &mut Evidence,
    ) -> Result<u64, Failure> {
        // Archived tickets are not in the user's list of CC'd tickets; search finds them.
        let mut tickets = self.api.ccd(user).await?;
        tickets.extend(self.api.search_tickets("cc", user).await?);
        let (mut seen, mut closed_left) = (BTreeSet::new(), 0);
        for ticket in tickets {
            if requested.contains(&ticket.id) || !seen.insert(ticket.id) {
                continue;
            }
            let redacted = self.redact_comments(ticket.id, Some(user)).await?;
            add(evidence, "comments_redacted", redacted);
            self.delete_call_recordings(ticket.id, Some(user), evidence).await?;
            if ticket.is_closed() {
                closed_left += 1;
                continue;
            }
            self.api.unwatch(ticket.id, user).await?;
            add(evidence, "cc_removals", 1);
        }
        Ok(closed_left)
    }

    /// Redact the comments of `ticket` (only those by `author` if given) not redacted yet.
    async fn redact_comments(&self, ticket: i64, author: Option<i64>) -> Result<u64, Failure> {
        let mut redacted = 0;
        for comment in self.api.comments(ticket).await? {
            if author.is_some_and(|a| comment.author_id != Some(a)) || is_redacted(&comment) {
                continue;
            }
            self.api.redact(ticket, &comment).await?;
            redacted += 1;
        }
        Ok(redacted)
    }

    /// Start deleting `requested` (100 a job); earlier deleted tickets are purged with them. The
    /// ids are saved first: once deleted, they are no longer listed among the person's tickets.
    async fn delete_tickets(&self, ctx: &Ctx, requested: BTreeSet<i64>, earlier: Earlier) -> Result<Outcome, Failure> {
        let requested: Vec<i64> = requested.into_iter().collect();
        let Earlier { mut evidence, restarts, carried: mut tickets } = earlier;
        let mut saved: Saved = ctx.progress.get()?.unwrap_or_default();
        saved.add_tickets(&requested);
        ctx.progress.save(&saved).await?;
        let mut jobs = Vec::new();
        for chunk in requested.chunks(MAX_BULK_IDS) {
            match self.api.delete_tickets(chunk).await {
                Ok(job) => {
                    jobs.push(job);
                    tickets.extend_from_slice(chunk);
                }
                // The jobs already started are followed; the next pass finds the other tickets.
                Err(_) if !jobs.is_empty() => break,
                Err(failure) => return Err(failure),
            }
        }
        for job in &jobs {
            evidence = evidence.vendor_ref(format!("job_status:{job}"));
        }
        tickets.sort_unstable();
        tickets.dedup();
        Ok(self.wait(Step::DeleteTickets { jobs, tickets, restarts }, evidence))
    }

    /// The purge jobs of `tickets` are done. Zendesk's results only say whether every ticket of a
    /// job was purged; when one was not (or a job is forgotten), the tickets still among Zendesk's
    /// deleted tickets were not purged: they are purged again, and only the others are counted
    /// and leave the saved progress.
    async fn purged(
        &self,
        ctx: &Ctx,
        subject: &Subject,
        tickets: Vec<i64>,
        certain: bool,
        restarts: u32,
        mut evidence: Evidence,
    ) -> Result<Outcome, Failure> {
        let still_deleted: BTreeSet<i64> =
            if certain { BTreeSet::new() } else { self.api.deleted_tickets().await?.into_iter().collect() };
        let (left, purged): (Vec<i64>, Vec<i64>) = tickets.into_iter().partition(|t| still_deleted.contains(t));
        let mut saved: Saved = ctx.progress.get()?.unwrap_or_default();
        if saved.tickets.iter().any(|t| purged.contains(t)) {
            saved.tickets.retain(|t| !purged.contains(t));
            ctx.progress.save(&saved).await?;
        }
        add(&mut evidence, "tickets_deleted", purged.len() as u64);
        if left.is_empty() {
            return Ok(self.pass(ctx, subject, Earlier { evidence, restarts, carried: Vec::new() }).await);
        }
        if restarts >= MAX_RESTARTS {
            return Ok(Outcome::failed(format!(
                "zendesk could not purge {} ticket(s) in {} tries; they stay soft-deleted until Zendesk purges them \
                 after 30 days, and the user is not deleted yet",
                left.len(),
                MAX_RESTARTS + 1
            )));
        }
        restarting(restarts);
        self.purge_tickets(left, restarts + 1, evidence).await
    }

    /// Start purging deleted tickets (100 a job).
    async fn purge_tickets(&self, tickets: Vec<i64>, restarts: u32, evidence: Evidence) -> Result<Outcome, Failure> {
        let mut evidence = evidence;
        let mut jobs = Vec::new();
        for chunk in tickets.chunks(MAX_BULK_IDS) {
            let job = self.api.purge_tickets(chunk).await?;
            evidence = evidence.vendor_ref(format!("job_status:{job}"));
            jobs.push(job);
        }
        Ok(self.wait(Step::PurgeTickets { jobs, tickets, restarts }, evidence))
    }

    /// Delete each user for good. Once one may be soft-deleted, search no longer finds it: the
    /// ids are saved first, and a failure that is not permanent ends `Pending` with the ids
    /// still to delete.
    async fn delete_users(&self, ctx: &Ctx, users: &[User], mut evidence: Evidence) -> Result<Outcome, Failure> {
        let ids: Vec<i64> = users.iter().map(|u| u.id).collect();
        let mut saved: Saved = ctx.progress.get()?.unwrap_or_default();
        if users.iter().any(|u| u.active && !saved.users.contains(&u.id)) {
            saved.add_users(&ids);
            ctx.progress.save(&saved).await?;
        }
        for (i, user) in users.iter().enumerate() {
            let after = match self.remove_user(user.id, user.active).await {
                Ok(Removal::Purged) => {
                    add(&mut evidence, "users_deleted", 1);
                    continue;
                }
                Ok(Removal::Gone) => continue,
                Ok(Removal::Refused) => return Ok(self.refused()),
                Err(failure) => match failure.kind {
                    FailureKind::Permanent => return Err(failure),
                    FailureKind::Transient { after } | FailureKind::Throttled { after } => after,
                },
            };
            let step = Step::PurgeUsers { users: ids[i..].to_vec() };
            return Ok(Outcome::Pending(Pending {
                check_after: after.unwrap_or(self.check_after),
                state: serde_json::to_value(step).expect("a step serialises"),
                evidence,
            }));
        }
        self.after_users(ctx, &ids, evidence).await
    }

    /// Once the users are deleted for good: Zendesk then deletes the person's data in each of its
    /// applications (support, chat, talk, ...) and reports each in `compliance_deletion_statuses`.
    /// The erasure is finished when every application that `started` reports `complete`; the
    /// evidence lists each with its time. Until then the task waits (`Step::AwaitCascade`).
    async fn after_users(&self, ctx: &Ctx, users: &[i64], mut evidence: Evidence) -> Result<Outcome, Failure> {
        let saved: Saved = ctx.progress.get()?.unwrap_or_default();
        let mut all: Vec<i64> = users.to_vec();
        all.extend(saved.users.iter().copied());
        all.sort_unstable();
        all.dedup();
        let mut cascade = Cascade::default();
        for id in &all {
            if let Some(statuses) = self.api.compliance(*id).await? {
                cascade.add(&statuses);
            }
        }
        if !cascade.unfinished.is_empty() {
            return Ok(self.wait(Step::AwaitCascade { users: all }, evidence));
        }
        for (application, at) in &cascade.complete {
            evidence = evidence.vendor_ref(format!("compliance_deletion:{application}:complete:{at}"));
        }
        Ok(self.finished(evidence))
    }

    /// Soft-delete the user if it is still `active`, then delete it permanently.
    async fn remove_user(&self, id: i64, active: bool) -> Result<Removal, Failure> {
        if active {
            match self.api.delete_user(id).await? {
                UserDeletion::Deleted | UserDeletion::AlreadyGone => {}
                UserDeletion::Refused => return Ok(Removal::Refused),
            }
        }
        match self.api.purge_user(id).await.map_err(still_soft_deleted)? {
            true => Ok(Removal::Purged),
            false => Ok(Removal::Gone),
        }
    }

    async fn jobs(&self, ids: &[String]) -> Result<Jobs, Failure> {
        let (mut running, mut certain) = (false, true);
        for id in ids {
            // A job Zendesk no longer knows has long finished; the next step checks what is left.
            let Some(job) = self.api.job(id).await? else {
                certain = false;
                continue;
            };
            match job.status.as_str() {
                "completed" => certain &= job.all_succeeded(),
                "queued" | "working" => running = true,
                _ => return Ok(Jobs::Failed),
            }
        }
        Ok(if running { Jobs::Running } else { Jobs::Done { certain } })
    }

    fn wait(&self, step: Step, evidence: Evidence) -> Outcome {
        let state = serde_json::to_value(step).expect("a step serialises");
        Outcome::Pending(Pending { check_after: self.check_after, state, evidence })
    }

    fn refused(&self) -> Outcome {
        match self.tickets {
            TicketPolicy::Delete => {
                Outcome::retry("zendesk refused to delete the user (HTTP 422): new tickets may have come in meanwhile")
            }
            TicketPolicy::Redact => Outcome::failed(
                "zendesk refused to delete the user (HTTP 422): with tickets = \"redact\" their tickets stay, and \
                 Zendesk keeps the requester of tickets that are not closed; close them, or use tickets = \"delete\"",
            ),
        }
    }

    /// `Erased` with the note, or `NothingToErase` if no step did anything.
    pub(crate) fn finished(&self, evidence: Evidence) -> Outcome {
        if evidence.counts.is_empty() && evidence.vendor_refs.is_empty() {
            Outcome::NothingToErase
        } else {
            let mut note = self.note.clone();
            if evidence.counts.contains_key("closed_tickets_left") {
                note.push_str(CLOSED_TICKETS_NOTE);
            }
            // A step's own note (Help Center not enabled) follows the connector's.
            if let Some(step) = &evidence.note {
                note = format!("{note} {step}");
            }
            Outcome::Erased(evidence.note(note))
        }
    }

    /// Is Zendesk still deleting the user's data in some product?
    pub(crate) async fn deletion_in_progress(&self, user: i64) -> Result<bool, Failure> {
        let Some(statuses) = self.api.compliance(user).await? else { return Ok(false) };
        let requested = statuses.iter().any(|s| s.action == "request_deletion");
        let complete =
            |application: &str| statuses.iter().any(|s| s.action == "complete" && s.application == application);
        let unfinished = statuses.iter().any(|s| s.action == "started" && !complete(&s.application));
        let any_complete = statuses.iter().any(|s| s.action == "complete");
        Ok(requested && (unfinished || !any_complete))
    }
}

/// What `compliance_deletion_statuses` say of the users deleted for good, per application.
#[derive(Default)]
struct Cascade {
    /// Applications whose deletion `started` and has not reported `complete` for some user.
    unfinished: BTreeSet<String>,
    /// Applications that reported `complete`, with the latest time any user's was.
    complete: std::collections::BTreeMap<String, String>,
}

impl Cascade {
    fn add(&mut self, statuses: &[ComplianceStatus]) {
        if !statuses.iter().any(|s| s.action == "request_deletion") {
            return;
        }
        for started in statuses.iter().filter(|s| s.action == "started") {
            let done = statuses.iter().filter(|s| s.action == "complete" && s.application == started.application);
            match done.map(|s| s.created_at.clone()).max() {
                Some(at) => {
                    let latest = self.complete.entry(started.application.clone()).or_default();
                    if at > *latest {
                        *latest = at;
                    }
                }
                None => {
                    self.unfinished.insert(started.application.clone());
                }
            }
        }
    }
}

fn add(evidence: &mut Evidence, what: &str, n: u64) {
    if n > 0 {
        *evidence = std::mem::take(evidence).count(what, n);
    }
}

fn restarting(restarts: u32) {
    tracing::warn!(connector = "zendesk", restarts, "A Zendesk background job failed; starting its step again.");
}

fn gave_up() -> Outcome {
    Outcome::failed(format!("a zendesk background job failed {} times in a row", MAX_RESTARTS + 1))
}

/// A permanent failure to purge a user already soft-deleted says what is left behind.
fn still_soft_deleted(failure: Failure) -> Failure {
    match failure.kind {
        FailureKind::Permanent => Failure::permanent(format!(
            "{} on the permanent deletion: the user is soft-deleted; an admin can delete it permanently, \
             or Zendesk purges it after 30 days",
            failure.reason
        )),
        _ => failure,
    }
}
