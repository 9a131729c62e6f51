//! The `zendesk` connector: erases a person from a Zendesk Support account. It finds their end
//! users (exact e-mail, external id, or the id the product gave), redacts their comments on other
//! people's tickets and takes them off those tickets' CCs, deletes (or redacts) the tickets they
//! requested, then deletes the users permanently. README.md in this crate lists every call.
//!
//! - [`config`]: the config keys and their checks.
//! - `api`: one method per Zendesk call; pagination; Zendesk's 429.
//! - `erasure`: the steps of an erasure and their follow-up.
//! - `find`: who the person is (exact e-mail identity, external id, or the id the product gave).
//! - `markup`: the search term and the redaction markup.
//! - `model`: Zendesk's answers, and the follow-up state.
//! - `help_center`: the person's Help Center (Guide) content, deleted before their user.
//! - `talk`: the recordings of calls on the tickets that stay.

mod api;
pub mod config;
mod erasure;
mod find;
mod help_center;
mod markup;
mod model;
mod talk;

pub use config::{Config, HelpCenterPolicy, TicketPolicy};

use api::Api;
use erasure::Earlier;
use erasure_connector::{
    async_trait, ConfigError, Connector, Ctx, Failure, Found, HttpClient, Outcome, Pending, Secrets, Subject,
};
use model::Step;
use std::time::Duration;

/// Zendesk scrubs soft-deleted data after 30 days: "all deleted (and not yet archived) tickets
/// that have not yet been scrubbed in the past 30 days" (List Deleted Tickets,
/// <https://developer.zendesk.com/api-reference/ticketing/tickets/tickets/#list-deleted-tickets>).
const ZENDESK_PURGE: Duration = Duration::from_secs(30 * 86_400);

pub struct Zendesk {
    api: Api,
    tickets: TicketPolicy,
    help_center: HelpCenterPolicy,
    check_after: Duration,
    /// When to verify: at once, and after `hard_delete_after` (30 days unless set).
    hard_delete_after: Duration,
    /// The note every `Erased` evidence carries.
    note: String,
}

impl Zendesk {
    pub fn new(config: Config, secrets: &Secrets, http: HttpClient) -> Result<Self, ConfigError> {
        let checked = config.check(secrets)?;
        let mut note = String::from(
            "Zendesk deletes a permanently deleted user's data in its other products in the background; \
             anything left soft-deleted is purged by Zendesk after 30 days.",
        );
        if config.help_center == HelpCenterPolicy::Keep {
            note.push(' ');
            note.push_str(help_center::KEPT);
        }
        if let Some(after) = &config.hard_delete_after {
            note.push_str(&format!(" Verify again after {}.", after.as_written()));
        }
        Ok(Zendesk {
            api: Api::new(http, &checked),
            tickets: config.tickets,
            help_center: config.help_center,
            check_after: checked.check_after,
            hard_delete_after: config.hard_delete_after.as_ref().map_or(ZENDESK_PURGE, |after| after.get()),
            note,
        })
    }
}

#[async_trait]
impl Connector for Zendesk {
    fn kind(&self) -> &'static str {
        "zendesk"
    }

    async fn erase(&self, ctx: &Ctx, subject: &Subject) -> Outcome {
        self.pass(ctx, subject, Earlier::default()).await
    }

    /// At once, then after Zendesk's 30-day purge of soft-deleted data (`hard_delete_after`).
    fn verify_after(&self) -> Vec<Duration> {
        vec![Duration::ZERO, self.hard_delete_after]
    }

    async fn check(&self, ctx: &Ctx, subject: &Subject, pending: &Pending) -> Outcome {
        match serde_json::from_value::<Step>(pending.state.clone()) {
            Ok(step) => self.follow(ctx, subject, step, pending.evidence.clone()).await,
            Err(_) => Outcome::failed("the stored zendesk follow-up state is unreadable"),
        }
    }

    /// Present while a user is found (soft-deleted ones included, when the product gave the id)
    /// or Zendesk is still deleting one; the count is users plus the tickets they requested.
    async fn lookup(&self, ctx: &Ctx, subject: &Subject) -> Result<Found, Failure> {
        let users = self.find_users(ctx, subject).await?;
        if users.is_empty() {
            let known = subject.id_in(&ctx.instance).and_then(|id| id.parse::<i64>().ok());
            if let Some(id) = known {
                if self.deletion_in_progress(id).await? {
                    return Ok(Found { present: true, count: None });
                }
            }
            return Ok(Found { present: false, count: Some(0) });
        }
        let mut count = users.len() as u64;
        for user in users.iter().filter(|u| u.active) {
            count += self.api.requested_count(user.id).await?;
        }
        Ok(Found { present: true, count: Some(count) })
    }

    async fn healthcheck(&self) -> Result<(), Failure> {
        match self.api.me().await? {
            Some(_) => Ok(()),
            None => Err(Failure::permanent("zendesk took the call as anonymous: the credentials were not accepted")),
        }
    }
}
