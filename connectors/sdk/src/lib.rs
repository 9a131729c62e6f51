//! The connector contract of erasure-worker.
//!
//! A connector erases one subject from one external system. It classifies what happened into an
//! [`Outcome`]; the engine owns attempts, backoff, persistence and acknowledgements.
//!
//! - [`Connector`] (this file): the trait every connector implements.
//! - [`subject`]: the validated, normalised person to erase.
//! - [`outcome`]: `Outcome`, `Evidence`, `Pending`, `Found`, `Failure`.
//! - [`http`]: the shared HTTP client (rate limiter before every call) and status classifier.
//! - [`ctx`]: what the engine hands a connector for one attempt.
//! - [`progress`]: the durable progress document a connector saves before a destructive call.
//! - [`secrets`]: the secrets named by a connector's `*_env` config keys.
//! - [`config_error`]: `ConfigError`, what a constructor returns when its options are wrong.
//! - [`transport`]: loopback hosts and the PostgreSQL `sslmode` a URL resolves to.
//! - [`tls`]: `PostgresTls`, the one rustls connector of every PostgreSQL connection (the
//!   worker's and the `sql` connector's), and the checks of a CA bundle.
//! - [`duration`]: `ConfigDuration`, the type of every duration key of a connector's config.
//! - `testkit` (feature `testkit`): the conformance kit every connector passes.

pub mod config_error;
pub mod ctx;
pub mod duration;
pub mod http;
pub mod outcome;
pub mod progress;
pub mod secrets;
pub mod subject;
#[cfg(feature = "testkit")]
pub mod testkit;
pub mod tls;
pub mod transport;

pub use async_trait::async_trait;
pub use config_error::ConfigError;
pub use ctx::Ctx;
pub use duration::ConfigDuration;
pub use http::{classify, HttpClass, HttpClient, NoLimit, RateLimiter};
pub use outcome::{Evidence, Failure, FailureKind, Found, Outcome, Pending};
pub use progress::{Progress, ProgressStore};
pub use secrecy::{ExposeSecret, SecretString};
pub use secrets::Secrets;
pub use subject::{Subject, SubjectError};

/// One external system that holds personal data.
#[async_trait]
pub trait Connector: Send + Sync {
    /// The kind of system, as named in config (`webhook`, `zendesk`, ...).
    fn kind(&self) -> &'static str;

    /// Erase everything this system holds about the subject. Must be idempotent: the engine
    /// may call it again after a crash between the vendor call and the commit. When a step
    /// makes records unfindable before they are gone for good, save their vendor ids with
    /// `ctx.progress` first, so the next attempt can finish (see [`progress`]).
    async fn erase(&self, ctx: &Ctx, subject: &Subject) -> Outcome;

    /// Follow up on an erasure the system accepted but finishes later.
    async fn check(&self, ctx: &Ctx, subject: &Subject, pending: &Pending) -> Outcome;

    /// Does the system still hold data about the subject? Used to verify after erasure. A system
    /// that cannot answer says so with [`Failure::not_verifiable`].
    async fn lookup(&self, ctx: &Ctx, subject: &Subject) -> Result<Found, Failure>;

    /// When to verify an erasure with `lookup`, counted from when the task ended: at once, then
    /// after each of the vendor's hard-delete windows (soft-deleted records that come back, or
    /// are only gone for good after a while). An instance's `verify_after` config key overrides
    /// it. The default: once, at once (a system that deletes for good when it answers).
    fn verify_after(&self) -> Vec<std::time::Duration> {
        vec![std::time::Duration::ZERO]
    }

    /// Can the system be reached with the configured credentials?
    async fn healthcheck(&self) -> Result<(), Failure>;
}
