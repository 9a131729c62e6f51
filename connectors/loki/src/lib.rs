//! The `loki` connector: erases a person's log lines from Grafana Loki with the compactor's delete
//! API, one delete request per identifier (matched as a whole token, in the configured streams),
//! then follows the requests until Loki has processed them. The calls, in order, are in this
//! crate's README.md.
//!
//! - [`config`]: the config keys and their checks.
//! - `api`: Loki's delete and query endpoints, authenticated, errors classified.
//! - `logql`: an identifier as a whole-token LogQL query; `count`: its lines, window by window.
//! - `erasure`: the delete requests of an erasure, and their follow-up.

mod api;
pub mod config;
mod count;
mod erasure;
mod logql;

pub use config::{Config, DeletionMode, IdentifierKind};
pub use logql::Token;

use api::Api;
use config::Checked;
use count::Limits;
use erasure_connector::{
    async_trait, ConfigDuration, ConfigError, Connector, Ctx, Failure, Found, HttpClient, Outcome, Pending, Secrets,
    Subject,
};
use std::time::Duration;

pub struct Loki {
    api: Api,
    selector: String,
    lookback: ConfigDuration,
    max_interval: Option<u64>,
    identifiers: Vec<IdentifierKind>,
    min_identifier_length: usize,
    id_patterns: Vec<String>,
    deletion_mode: DeletionMode,
    cancel_period: ConfigDuration,
    limits: Limits,
    check_interval: Duration,
}

impl Loki {
    pub fn new(config: Config, secrets: &Secrets, http: HttpClient) -> Result<Self, ConfigError> {
        let Checked { base, selector, auth } = config.check(secrets)?;
        let api = Api { base, tenant: config.tenant, auth, http };
        Ok(Loki {
            api,
            selector,
            lookback: config.lookback,
            max_interval: config.max_interval.as_ref().map(ConfigDuration::secs),
            identifiers: config.identifiers,
            min_identifier_length: config.min_identifier_length,
            id_patterns: config.id_patterns,
            deletion_mode: config.deletion_mode,
            cancel_period: config.delete_request_cancel_period,
            limits: Limits {
                window_ns: i64::try_from(config.query_window.get().as_nanos()).unwrap_or(i64::MAX),
                page_size: config.page_size,
                max_lines: config.max_lines_counted,
            },
            check_interval: config.check_interval.get(),
        })
    }
}

#[async_trait]
impl Connector for Loki {
    fn kind(&self) -> &'static str {
        "loki"
    }

    async fn erase(&self, ctx: &Ctx, subject: &Subject) -> Outcome {
        self.try_erase(ctx, subject).await.unwrap_or_else(Outcome::from)
    }

    /// At once (the task ends when Loki has processed its delete requests), then once more after
    /// `delete_request_cancel_period`: "The deletion of the log entries takes place after a
    /// configurable cancellation time period expires" (Loki, "Log entry deletion",
    /// <https://grafana.com/docs/loki/latest/operations/storage/logs-deletion/>), so lines a later
    /// request's cancellation or a late ingestion left behind show up by then.
    fn verify_after(&self) -> Vec<Duration> {
        vec![Duration::ZERO, self.cancel_period.get()]
    }

    async fn check(&self, _ctx: &Ctx, _subject: &Subject, pending: &Pending) -> Outcome {
        self.try_check(pending).await.unwrap_or_else(Outcome::from)
    }

    async fn lookup(&self, ctx: &Ctx, subject: &Subject) -> Result<Found, Failure> {
        let tokens = self.tokens(ctx, subject).map_err(Failure::permanent)?;
        let (_, span) = self.times();
        let (_, lines) = self.count_all(&tokens, span).await?;
        Ok(Found { present: lines > 0, count: Some(lines) })
    }

    async fn healthcheck(&self) -> Result<(), Failure> {
        self.api.delete_requests().await.map(|_| ())
    }
}
