//! The `intercom` connector: erases a person from an Intercom workspace (REST API 2.14).
//!
//! It finds the person's contacts by exact match (`find.rs`), redacts every message they wrote in
//! their conversations (`redact.rs`), then deletes the contacts. Intercom answers at once and
//! hard-deletes a deleted contact 7 days later, so an erasure is never `Pending`. The calls, what
//! is erased and what is left are in this crate's README.md.
//!
//! - [`config`]: the config keys and their checks.
//! - `api`: one method per Intercom call; `throttle`: Intercom's 429; `wire`: its answers.
//! - `erasure`: the steps of an erasure; `find`: the person's contacts; `redact`: their messages;
//!   `calls`: Intercom Phone recordings on their conversations (reported: API 2.14 cannot delete them).

mod api;
mod calls;
pub mod config;
mod erasure;
mod find;
mod redact;
mod throttle;
mod wire;

pub use api::VERSION;
pub use config::{Config, Region};

use erasure_connector::{
    async_trait, ConfigError, Connector, Ctx, Failure, Found, HttpClient, Outcome, Secrets, Subject,
};

pub struct Intercom {
    api: api::Api,
}

impl Intercom {
    pub fn new(config: Config, secrets: &Secrets, http: HttpClient) -> Result<Self, ConfigError> {
        let (base, token) = config.check(secrets)?;
        Ok(Intercom { api: api::Api::new(http, base, token, config.page_size) })
    }
}

#[async_trait]
impl Connector for Intercom {
    fn kind(&self) -> &'static str {
        "intercom"
    }

    async fn erase(&self, ctx: &Ctx, subject: &Subject) -> Outcome {
        self.erase_contacts(ctx, subject).await.unwrap_or_else(Outcome::from)
    }

    /// At once, then after Intercom's hard deletion of a deleted contact 7 days later ("How do I
    /// delete users and leads in Intercom?",
    /// <https://www.intercom.com/help/en/articles/1815435-how-do-i-delete-users-and-leads-in-intercom>).
    fn verify_after(&self) -> Vec<std::time::Duration> {
        vec![std::time::Duration::ZERO, std::time::Duration::from_secs(7 * 86_400)]
    }

    async fn lookup(&self, ctx: &Ctx, subject: &Subject) -> Result<Found, Failure> {
        let contacts = find::contacts(&self.api, subject, &ctx.instance).await?;
        Ok(Found { present: !contacts.is_empty(), count: Some(contacts.len() as u64) })
    }

    async fn healthcheck(&self) -> Result<(), Failure> {
        self.api.me().await
    }
}
