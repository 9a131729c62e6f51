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
//! - [`label`]: `KindLabel`, the kind of system in the person's words (English and French).
//! - [`transport`]: loopback hosts and the PostgreSQL `sslmode` a URL resolves to.
//! - [`tls`]: `PostgresTls`, the one rustls connector of every PostgreSQL connection (the
//!   worker's and the `sql` connector's), and the checks of a CA bundle.
//! - [`duration`]: `ConfigDuration`, the type of every duration key of a connector's config.
//! - `testkit` (feature `testkit`): the conformance kit every connector passes.

pub mod config_error;
pub mod ctx;
#[cfg(test)]
mod defaults_tests;
pub mod duration;
pub mod http;
pub mod label;
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
pub use label::KindLabel;
pub use outcome::{Evidence, Failure, FailureKind, Found, Outcome, Pending};
pub use progress::{Progress, ProgressStore};
pub use secrecy::{ExposeSecret, SecretString};
pub use secrets::Secrets;
pub use subject::{Subject, SubjectError};

/// One external system that holds personal data.
///
/// Only [`kind`](Connector::kind) and [`erase`](Connector::erase) must be written. The others have
/// defaults, each right for one kind of system; override them when yours is not that kind:
///
/// | method | default | override when |
/// | --- | --- | --- |
/// | [`check`](Connector::check) | erase again | `erase` can answer [`Outcome::Pending`]: follow the vendor's job instead |
/// | [`lookup`](Connector::lookup) | [`Failure::not_verifiable`] | the vendor can be asked whether it still holds the subject (then override `verify_after` too) |
/// | [`verify_after`](Connector::verify_after) | `[]`, no check | `lookup` is written: when to ask it |
/// | [`healthcheck`](Connector::healthcheck) | [`Failure::not_verifiable`], nothing called | a cheap authenticated call exists (a "me" or list endpoint) |
/// | [`label`](Connector::label) | `None`: the worker's wording for the kind | one kind stands for many kinds of system (the `http` connector's definitions) |
///
/// The conformance kit (`testkit`) holds `lookup` and `verify_after` to each other: a connector
/// whose `verify_after` schedules checks must answer `lookup`, and one that cannot must schedule none.
#[async_trait]
pub trait Connector: Send + Sync {
    /// The kind of system, as named in config (`webhook`, `zendesk`, ...).
    fn kind(&self) -> &'static str;

    /// Erase everything this system holds about the subject. Must be idempotent: the engine
    /// may call it again after a crash between the vendor call and the commit. When a step
    /// makes records unfindable before they are gone for good, save their vendor ids with
    /// `ctx.progress` first, so the next attempt can finish (see [`progress`]).
    async fn erase(&self, ctx: &Ctx, subject: &Subject) -> Outcome;

    /// Follow up on an erasure the system accepted but finishes later (`erase` answered
    /// [`Outcome::Pending`]; `pending` is what it stored).
    ///
    /// The default erases again, which is right for a system that erases synchronously and
    /// idempotently: its `erase` never answers `Pending`, and a check that comes anyway (an
    /// operator's retry of a task stored as waiting) finds what is left and erases it. A
    /// connector whose `erase` can answer `Pending` must override it and follow the vendor's job.
    async fn check(&self, ctx: &Ctx, subject: &Subject, pending: &Pending) -> Outcome {
        let _ = pending;
        self.erase(ctx, subject).await
    }

    /// Does the system still hold data about the subject? Used to verify after erasure (at each
    /// [`verify_after`](Connector::verify_after) delay) and by `erasure connector erase --dry-run`.
    ///
    /// The default answers [`Failure::not_verifiable`]: the system cannot be asked, and the
    /// engine records it as not verified (the person's e-mail and the receipt say so) instead of
    /// retrying. Override it whenever the vendor can be asked, with the same exact-match rules
    /// as `erase`, and override `verify_after` with it: its default schedules no check.
    async fn lookup(&self, ctx: &Ctx, subject: &Subject) -> Result<Found, Failure> {
        let _ = (ctx, subject);
        Err(Failure::not_verifiable(format!("the {} connector cannot look a subject up", self.kind())))
    }

    /// When to verify an erasure with `lookup`, counted from when the task ended: at once
    /// (`Duration::ZERO`), then after each of the vendor's hard-delete windows (soft-deleted
    /// records that come back, or are only gone for good after a while). An instance's
    /// `verify_after` config key overrides it.
    ///
    /// The default, `[]`, goes with the default `lookup`: no check is scheduled, and the system is
    /// recorded as not verifiable when its task ends. A connector that writes `lookup` returns
    /// at least `vec![Duration::ZERO]` (a system that deletes for good when it answers).
    fn verify_after(&self) -> Vec<std::time::Duration> {
        Vec::new()
    }

    /// Can the system be reached with the configured credentials? Called by `erasure connector
    /// check NAME`.
    ///
    /// The default calls nothing and answers [`Failure::not_verifiable`], so the command says the
    /// instance was not checked rather than claim it is healthy. Override it with the vendor's
    /// cheapest authenticated call.
    async fn healthcheck(&self) -> Result<(), Failure> {
        Err(Failure::not_verifiable(format!("the {} connector has no healthcheck: nothing was called", self.kind())))
    }

    /// The kind of system in the person's words, for the e-mail that confirms the erasure.
    ///
    /// The default, `None`, leaves it to the worker, which words each kind it ships ("Customer
    /// support (tickets)" for `zendesk`) and says "Other system" for a kind it does not know. A
    /// connector whose instances are different kinds of system (the declarative `http` one: a CRM,
    /// an e-mail marketing platform) names each one. An instance's `label_en`/`label_fr` keys
    /// override both.
    fn label(&self) -> Option<KindLabel> {
        None
    }
}
