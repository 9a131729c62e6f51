//! The `webhook` connector: a signed HTTP call to an internal service that erases the subject
//! and answers `erased`, `nothing_to_erase` or `pending` (with a check URL). The protocol is in
//! this crate's README.md, for the teams who implement it.
//!
//! - [`config`]: the config keys and their checks.
//! - `api`: the signed call, and the origin a check URL must keep.
//! - `erasure`: the call bodies, and what each answer means.
//! - `protocol`: the protocol's bodies and answers; `signing`: its HMAC signature; `standard`: the
//!   Standard Webhooks signature sent beside it.

mod api;
pub mod config;
mod erasure;
mod protocol;
mod signing;
pub mod standard;

pub use config::Config;
pub use protocol::{Action, Answer, CallBody, LookupAnswer, SubjectBody};
pub use signing::{sign, verify, SIGNATURE_HEADER, TIMESTAMP_HEADER};

use erasure_connector::{
    async_trait, ConfigError, Connector, Ctx, ExposeSecret, Failure, Found, HttpClient, Outcome, Pending, SecretString,
    Secrets, Subject,
};
use secrecy::SecretSlice;
use std::time::Duration;

pub struct Webhook {
    url: url::Url,
    secret: SecretString,
    /// The Standard Webhooks key of `secret` (`standard::key_of`).
    standard_key: SecretSlice<u8>,
    http: HttpClient,
    default_check_after: Duration,
    /// Where lookups go; `None`: the service answers no lookup (not verifiable).
    lookup_url: Option<url::Url>,
}

impl Webhook {
    pub fn new(config: Config, secrets: &Secrets, http: HttpClient) -> Result<Self, ConfigError> {
        let secret = secrets.get("secret_env")?.clone();
        let url = config.endpoint()?;
        let standard_key = standard::key_of(secret.expose_secret()).ok_or_else(|| {
            ConfigError::key(
                "secret_env",
                "the secret starts with whsec_ but the rest is not base64 (Standard Webhooks)",
            )
        })?;
        let mut webhook = Webhook {
            url,
            secret,
            standard_key: standard_key.into(),
            http,
            default_check_after: config.default_check_after.get(),
            lookup_url: None,
        };
        if let Some(lookup_url) = &config.lookup_url {
            let checked = webhook.same_origin(lookup_url).ok_or_else(|| {
                ConfigError::key("lookup_url", "the lookup URL must be on the origin (scheme, host and port) of `url`")
            })?;
            webhook.lookup_url = Some(checked);
        }
        Ok(webhook)
    }
}

#[async_trait]
impl Connector for Webhook {
    fn kind(&self) -> &'static str {
        "webhook"
    }

    async fn erase(&self, ctx: &Ctx, subject: &Subject) -> Outcome {
        match self.call::<Answer>(&self.url, &self.body(Action::Erase, ctx, subject)).await {
            Ok(answer) => self.outcome(answer),
            Err(failure) => failure.into(),
        }
    }

    async fn check(&self, ctx: &Ctx, subject: &Subject, pending: &Pending) -> Outcome {
        let Some(url) = pending.state.get("check_url").and_then(|u| u.as_str()).and_then(|u| self.same_origin(u))
        else {
            return Outcome::failed("the stored check URL is missing or not on the configured host");
        };
        match self.call::<Answer>(&url, &self.body(Action::Check, ctx, subject)).await {
            Ok(answer) => self.checked(answer, pending),
            Err(failure) => failure.into(),
        }
    }

    /// Only when `lookup_url` is configured: the protocol's `lookup` is optional for services.
    async fn lookup(&self, ctx: &Ctx, subject: &Subject) -> Result<Found, Failure> {
        let Some(url) = &self.lookup_url else {
            return Err(Failure::not_verifiable("the webhook has no lookup_url: the service is not asked"));
        };
        let answer: LookupAnswer = self.call(url, &self.body(Action::Lookup, ctx, subject)).await?;
        Ok(Found { present: answer.found, count: answer.count })
    }

    /// Without `lookup_url` the service cannot be asked: no check is scheduled, and the system is
    /// recorded as not verifiable when its task ends (the e-mail and the receipt say so).
    fn verify_after(&self) -> Vec<std::time::Duration> {
        match self.lookup_url {
            Some(_) => vec![std::time::Duration::ZERO],
            None => Vec::new(),
        }
    }

    async fn healthcheck(&self) -> Result<(), Failure> {
        let body = CallBody { action: Action::Ping, request_id: None, idempotency_key: "ping", subject: None };
        self.call::<serde_json::Value>(&self.url, &body).await.map(|_| ())
    }
}
