//! The `elasticsearch` connector: deletes the documents of a log store (Elasticsearch or
//! OpenSearch) whose keyword fields hold one of the subject's identifiers, with a delete-by-query
//! task that it follows until a count finds nothing left. Calls, rounds and limits are in this
//! crate's README.md.
//!
//! - `query.rs`: the `terms` query (identifiers are data, matched whole).
//! - `api.rs`: `_count`, `_delete_by_query`, `_tasks`, `_mapping/field`, `.tasks/_doc`,
//!   authenticated, errors classified.
//! - `mapping.rs`: the configured fields must be keyword fields in every index.
//! - `task.rs`: what a task answer says (running, done, failures).
//! - [`config`]: the config keys and their checks.
//! - `erasure.rs`: the rounds of an erasure.

mod api;
pub mod config;
mod erasure;
mod mapping;
mod query;
mod task;

pub use config::Config;

use api::Api;
use erasure_connector::{
    async_trait, ConfigError, Connector, Ctx, Evidence, Failure, Found, HttpClient, Outcome, Pending, Secrets, Subject,
};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

pub struct Elasticsearch {
    api: Api,
    fields: Vec<String>,
    check_after: Duration,
    /// The fields were found to be keyword fields in every index (checked once per instance).
    mapping_checked: AtomicBool,
}

impl Elasticsearch {
    pub fn new(config: Config, secrets: &Secrets, http: HttpClient) -> Result<Self, ConfigError> {
        let checked = config.check(secrets)?;
        Ok(Elasticsearch {
            api: Api::new(checked.base, config.index, checked.auth, http),
            fields: checked.fields,
            check_after: config.check_after.get(),
            mapping_checked: AtomicBool::new(false),
        })
    }

    /// The fields must be keyword fields in every index `index` names: a `text` field would make
    /// the query find nothing, and the person be told there was nothing to erase. Checked with
    /// `GET /{index}/_mapping/field/{fields}` once per instance; a failed check is checked again.
    async fn check_mapping(&self) -> Result<(), Failure> {
        if self.mapping_checked.load(Ordering::Relaxed) {
            return Ok(());
        }
        let answer = self.api.field_mappings(&self.fields).await?;
        match mapping::check(&answer, &self.fields) {
            Some(Ok(())) => {
                self.mapping_checked.store(true, Ordering::Relaxed);
                Ok(())
            }
            Some(Err(reason)) => Err(Failure::permanent(reason)),
            None => Err(Failure::permanent("elasticsearch: the answer to _mapping is not what Elasticsearch sends")),
        }
    }
}

#[async_trait]
impl Connector for Elasticsearch {
    fn kind(&self) -> &'static str {
        "elasticsearch"
    }

    async fn erase(&self, ctx: &Ctx, subject: &Subject) -> Outcome {
        if let Err(failure) = self.check_mapping().await {
            return failure.into();
        }
        match self.query(ctx, subject) {
            Some(query) => self.next_round(&query, 1, Evidence::default()).await,
            None => Outcome::NothingToErase,
        }
    }

    /// At once: the task ends when its delete-by-query tasks finished, and they refresh the
    /// index (`refresh=true`), so what they deleted is gone from searches.
    fn verify_after(&self) -> Vec<Duration> {
        vec![Duration::ZERO]
    }

    async fn check(&self, ctx: &Ctx, subject: &Subject, pending: &Pending) -> Outcome {
        if let Err(failure) = self.check_mapping().await {
            return failure.into();
        }
        match self.query(ctx, subject) {
            Some(query) => self.follow(&query, pending).await,
            None => Outcome::NothingToErase,
        }
    }

    async fn lookup(&self, ctx: &Ctx, subject: &Subject) -> Result<Found, Failure> {
        self.check_mapping().await?;
        let Some(query) = self.query(ctx, subject) else { return Ok(Found { present: false, count: Some(0) }) };
        let count = self.api.count(&query).await?;
        Ok(Found { present: count > 0, count: Some(count) })
    }

    async fn healthcheck(&self) -> Result<(), Failure> {
        self.api.count(&query::nothing()).await?;
        self.mapping_checked.store(false, Ordering::Relaxed);
        self.check_mapping().await
    }
}
