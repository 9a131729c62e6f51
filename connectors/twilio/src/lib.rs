//! The `twilio` connector: deletes a person's voice recordings and their transcriptions from a
//! Twilio account, found through the calls to and from the person's phone numbers, redacts or
//! deletes their SMS and MMS, and deletes the call records too if configured. The API calls,
//! what stays and the limits are in this crate's README.md.
//!
//! - [`config`]: the config keys and their checks.
//! - `api`: one method per Twilio call, Twilio's errors classified.
//! - `scope`: which records are the person's (their numbers, before the request, own numbers).
//! - `sweep`: the walk over calls, recordings and transcriptions.
//! - `messages`: the person's messages and their media.
//! - `erasure`: one erase pass and what it adds up to.

mod api;
pub mod config;
mod erasure;
mod messages;
mod scope;
mod sweep;

pub use config::{Config, MessagesMode};

use api::Api;
use erasure_connector::{
    async_trait, ConfigError, Connector, Ctx, Evidence, Failure, Found, HttpClient, Outcome, Pending, Secrets, Subject,
};
use std::time::Duration;

pub struct Twilio {
    api: Api,
    delete_calls: bool,
    messages: MessagesMode,
    own_numbers: Vec<String>,
    in_progress_check_after: Duration,
}

impl Twilio {
    pub fn new(config: Config, secrets: &Secrets, http: HttpClient) -> Result<Self, ConfigError> {
        let (user, password) = config.credentials(secrets)?;
        Ok(Twilio {
            api: Api::new(http, &config.base_url, config.account_sid, user, password, config.page_size),
            delete_calls: config.delete_calls,
            messages: config.messages,
            own_numbers: config.own_numbers,
            in_progress_check_after: config.in_progress_check_after.get(),
        })
    }
}

impl Twilio {
    fn scope<'a>(&'a self, ctx: &Ctx, subject: &'a Subject) -> scope::Scope<'a> {
        scope::Scope { phones: subject.phones(), requested_at: ctx.requested_at, own_numbers: &self.own_numbers }
    }
}

#[async_trait]
impl Connector for Twilio {
    fn kind(&self) -> &'static str {
        "twilio"
    }

    async fn erase(&self, ctx: &Ctx, subject: &Subject) -> Outcome {
        self.pass(&self.scope(ctx, subject), &Evidence::default(), None).await
    }

    /// At once, then after the 40 days for which Twilio keeps a deleted recording's metadata
    /// (<https://help.twilio.com/articles/47764651477403>).
    fn verify_after(&self) -> Vec<Duration> {
        vec![Duration::ZERO, Duration::from_secs(40 * 86_400)]
    }

    /// Calls were in progress or messages in flight: walk everything again (an ended call may
    /// have left new recordings), adding to what the earlier passes did.
    async fn check(&self, ctx: &Ctx, subject: &Subject, pending: &Pending) -> Outcome {
        let since = pending.state.get("waiting_since").and_then(|s| s.as_u64());
        self.pass(&self.scope(ctx, subject), &pending.evidence, since).await
    }

    async fn lookup(&self, ctx: &Ctx, subject: &Subject) -> Result<Found, Failure> {
        let scope = self.scope(ctx, subject);
        let count = sweep::count(&self.api, &scope, self.delete_calls).await?
            + messages::count(&self.api, &scope, self.messages).await?;
        Ok(Found { present: count > 0, count: Some(count) })
    }

    async fn healthcheck(&self) -> Result<(), Failure> {
        self.api.ping().await
    }
}
