//! The `webhook` connector: a signed HTTP call to an internal service that erases the subject
//! and answers `erased`, `nothing_to_erase` or `pending` (with a check URL). The protocol is in
//! this crate's README.md, for the teams who implement it.
//!
//! - [`config`]: the config keys and their checks.
//! - `api`: the signed call, and the origin a check URL must keep.
//! - `erasure`: the call bodies, and what each answer means.
//! - `protocol`: the protocol's bodies and answers; `signing`: its HMAC signature.

mod api;
pub mod config;
mod erasure;
mod protocol;
mod signing;

pub use config::Config;
pub use protocol::{Action, Answer, CallBody, LookupAnswer, SubjectBody};
pub use signing::{sign, verify, SIGNATURE_HEADER, TIMESTAMP_HEADER};

use erasure_connector::{
    async_trait, ConfigError, Connector, Ctx, Failure, Found, HttpClient, Outcome, Pending, SecretString, Secrets,
    Subject,
};
use std::time::Duration;

pub struct Webhook {
    url: url::Url,
    secret: SecretString,
    http: HttpClient,
    default_check_after: Duration,
}

impl Webhook {
    pub fn new(config: Config, secrets: &Secrets, http: HttpClient) -> Result<Self, ConfigError> {
        let secret = secrets.get("secret_env")?.clone();
        let url = config.endpoint()?;
        Ok(Webhook { url, secret, http, default_check_after: config.default_check_after.get() })
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

    async fn lookup(&self, ctx: &Ctx, subject: &Subject) -> Result<Found, Failure> {
        let answer: LookupAnswer = self.call(&self.url, &self.body(Action::Lookup, ctx, subject)).await?;
        Ok(Found { present: answer.found, count: answer.count })
    }

    async fn healthcheck(&self) -> Result<(), Failure> {
        let body = CallBody { action: Action::Ping, request_id: None, idempotency_key: "ping", subject: None };
        self.call::<serde_json::Value>(&self.url, &body).await.map(|_| ())
    }
}
