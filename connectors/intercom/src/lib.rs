//! The `intercom` connector: erases a person from an Intercom workspace (REST API 2.14).
//!
//! It finds the person's contacts by exact match (`find.rs`), redacts every message they wrote in
//! their conversations (`redact.rs`), then deletes the contacts. Intercom answers at once and
//! hard-deletes a deleted contact 7 days later, so an erasure is never `Pending`. The calls, what
//! is erased and what is left are in this crate's README.md.

mod api;
mod find;
mod redact;
mod throttle;
mod wire;

pub use api::VERSION;

use erasure_connector::{
    async_trait, Connector, Ctx, Evidence, Failure, Found, HttpClient, Outcome, Pending, Secrets, Subject,
};
use serde::Deserialize;

const NOTE: &str = "Intercom hard-deletes a contact 7 days after its deletion; \
                    redacted conversation messages keep only Intercom's deletion notice";

/// `[connectors.NAME]` keys for `kind = "intercom"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Where the workspace's data is hosted: `us` (api.intercom.io, the default), `eu`
    /// (api.eu.intercom.io) or `au` (api.au.intercom.io).
    #[serde(default)]
    pub region: Region,
    /// Overrides the region's API host, e.g. `http://127.0.0.1:18089/intercom` for the simulator.
    #[serde(default)]
    pub base_url: Option<String>,
    /// Environment variable holding the access token (of an Intercom app with read and write
    /// access to contacts and conversations).
    pub access_token_env: String,
    /// Results per page of the contact and conversation searches, 1 to 150.
    #[serde(default = "default_page_size")]
    pub page_size: u32,
}

fn default_page_size() -> u32 {
    50
}

/// Intercom's data-hosting regions, each with its own API host.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Region {
    #[default]
    Us,
    Eu,
    Au,
}

impl Region {
    pub fn base_url(self) -> &'static str {
        match self {
            Region::Us => "https://api.intercom.io",
            Region::Eu => "https://api.eu.intercom.io",
            Region::Au => "https://api.au.intercom.io",
        }
    }
}

pub struct Intercom {
    api: api::Api,
}

impl Intercom {
    pub fn new(config: Config, secrets: &Secrets, http: HttpClient) -> Result<Self, String> {
        let token = secrets.get("access_token_env")?.clone();
        let base = config.base_url.unwrap_or_else(|| config.region.base_url().to_string());
        let url = url::Url::parse(&base).map_err(|e| format!("`base_url` is not a URL: {e}"))?;
        if !matches!(url.scheme(), "http" | "https") || url.query().is_some() || url.fragment().is_some() {
            return Err("`base_url` must be an http or https URL without a query or a fragment".into());
        }
        if !(1..=150).contains(&config.page_size) {
            return Err("`page_size` must be 1 to 150".into());
        }
        Ok(Intercom { api: api::Api::new(http, base, token, config.page_size) })
    }

    async fn erase_contacts(&self, ctx: &Ctx, subject: &Subject) -> Result<Outcome, Failure> {
        let earlier: Saved = ctx.progress.get()?.unwrap_or_default();
        let mut contacts = find::contacts(&self.api, subject, &ctx.instance).await?;
        // Contacts an earlier attempt was deleting: search no longer finds a deleted contact, so
        // one gone since counts as deleted; one still there is erased like the others.
        let mut deleted = 0;
        for id in &earlier.deleting {
            if contacts.contains(id) {
                continue;
            }
            match self.api.contact(id).await? {
                Some(contact) => contacts.push(contact.id),
                None => deleted += 1,
            }
        }
        let mut tally = redact::Tally::default();
        let mut deleting = earlier.deleting.clone();
        for contact in &contacts {
            redact::contact_messages(&self.api, contact, &mut tally).await?;
            deleting.push(contact.clone());
            deleting.sort();
            deleting.dedup();
            ctx.progress
                .save(&Saved { deleting: deleting.clone(), redacted: earlier.redacted + tally.redacted })
                .await?;
            if self.api.delete_contact(contact).await? {
                deleted += 1;
            }
        }
        let redacted = earlier.redacted + tally.redacted;
        if deleted == 0 && redacted == 0 {
            return Ok(Outcome::NothingToErase);
        }
        let mut evidence =
            Evidence::default().count("contacts", deleted).count("conversation_parts", redacted).note(NOTE);
        if tally.not_redactable > 0 {
            tracing::warn!(parts = tally.not_redactable, "intercom refused to redact some conversation parts");
            evidence = evidence.count("conversation_parts_not_redactable", tally.not_redactable);
        }
        Ok(Outcome::Erased(evidence))
    }
}

/// Saved with `ctx.progress` before each contact deletion: a deleted contact is no longer found,
/// so the next attempt (after a worker died, or the answer was lost) counts it from here, with
/// the messages redacted before it. Intercom's contact ids only.
#[derive(Debug, Clone, Default, serde::Serialize, Deserialize)]
struct Saved {
    #[serde(default)]
    deleting: Vec<String>,
    #[serde(default)]
    redacted: u64,
}

#[async_trait]
impl Connector for Intercom {
    fn kind(&self) -> &'static str {
        "intercom"
    }

    async fn erase(&self, ctx: &Ctx, subject: &Subject) -> Outcome {
        self.erase_contacts(ctx, subject).await.unwrap_or_else(Outcome::from)
    }

    /// Intercom erases synchronously, so `erase` never answers `Pending`; a check that comes
    /// anyway erases again, which is harmless.
    async fn check(&self, ctx: &Ctx, subject: &Subject, _pending: &Pending) -> Outcome {
        self.erase(ctx, subject).await
    }

    async fn lookup(&self, ctx: &Ctx, subject: &Subject) -> Result<Found, Failure> {
        let contacts = find::contacts(&self.api, subject, &ctx.instance).await?;
        Ok(Found { present: !contacts.is_empty(), count: Some(contacts.len() as u64) })
    }

    async fn healthcheck(&self) -> Result<(), Failure> {
        self.api.me().await
    }
}
