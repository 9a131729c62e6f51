//! The declarative `http` connector: a vendor's erasure written as a TOML definition (find steps
//! with an exact-match rule, erase steps, async jobs, error mappings, evidence) instead of Rust.
//! The format is documented in this crate's README.md.
//!
//! - [`config`]: the instance's keys; where the definition comes from (built-in, file, inline).
//! - [`definition`]: the format as serde reads it; `validate`: what serde cannot check.
//! - `template`: placeholders and their encoding; `pointer`: JSON pointers; `conditions`: the
//!   exact-match rule and other conditions.
//! - `call`: one request, sent and classified; `auth` and `oauth2`: credentials.
//! - `find` and `paginate`: the record sets; `erase`: the erase steps; `job`: async jobs.

mod auth;
mod builtin;
mod call;
mod conditions;
pub mod config;
pub mod definition;
mod erase;
mod find;
mod job;
mod oauth2;
mod paginate;
mod pointer;
mod template;
mod validate;

pub use builtin::names as builtin_names;
pub use config::Config;

use call::{Answer, Caller};
use definition::Definition;
use erasure_connector::{
    async_trait, ConfigError, Connector, Ctx, Failure, Found, HttpClient, KindLabel, Outcome, Pending, Secrets, Subject,
};
use std::collections::BTreeSet;

pub struct Http {
    definition: Definition,
    caller: Caller,
}

/// Check built-in definition `name` (its structure: the `{vars.…}` it uses are the instance's).
pub fn check_builtin(name: &str) -> Result<(), ConfigError> {
    let config =
        Config { definition: Some(name.into()), definition_file: None, base_url: None, vars: Default::default() };
    let loaded = config.load()?;
    validate::check_structure(&loaded.definition)
        .map_err(|message| ConfigError::key(loaded.key, format!("{}: {message}", loaded.origin)))
}

impl Http {
    pub fn new(config: Config, secrets: &Secrets, http: HttpClient) -> Result<Self, ConfigError> {
        let loaded = config.load()?;
        let refuse = |message: String| ConfigError::key(loaded.key, format!("{}: {message}", loaded.origin));
        validate::check(&loaded.definition, &config.vars).map_err(refuse)?;
        let base = config
            .base_url
            .clone()
            .or_else(|| loaded.definition.base_url.clone())
            .ok_or_else(|| ConfigError::key("base_url", "set `base_url` (the definition has none)"))?;
        let base = base_url(&base)?;
        let auth =
            auth::Auth::new(loaded.definition.auth.as_ref(), secrets, &http).map_err(|e| match e.key.as_deref() {
                Some("definition") => refuse(e.message),
                _ => e,
            })?;
        let caller = Caller {
            system: loaded.origin.clone(),
            http,
            base,
            headers: loaded.definition.headers.clone(),
            auth,
            rate_limit: loaded.definition.rate_limit.clone(),
            errors: loaded.definition.errors.clone(),
            vars: config.vars,
        };
        Ok(Http { definition: loaded.definition, caller })
    }
}

fn base_url(text: &str) -> Result<url::Url, ConfigError> {
    let url =
        url::Url::parse(text).map_err(|e| ConfigError::key("base_url", format!("`base_url` is not a URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") || url.query().is_some() || url.fragment().is_some() {
        return Err(ConfigError::key(
            "base_url",
            "`base_url` must be an http or https URL without a query or a fragment",
        ));
    }
    Ok(url)
}

#[async_trait]
impl Connector for Http {
    fn kind(&self) -> &'static str {
        "http"
    }

    async fn erase(&self, ctx: &Ctx, subject: &Subject) -> Outcome {
        erase::erase(&self.caller, &self.definition, ctx, subject).await.unwrap_or_else(Outcome::from)
    }

    /// Asks the status of the jobs in `pending`; a `Pending` without jobs erases again.
    async fn check(&self, ctx: &Ctx, subject: &Subject, pending: &Pending) -> Outcome {
        let jobs = job::jobs_of(pending);
        if jobs.is_empty() {
            return self.erase(ctx, subject).await;
        }
        job::check(&self.caller, &self.definition, pending, jobs).await.unwrap_or_else(Outcome::from)
    }

    async fn lookup(&self, ctx: &Ctx, subject: &Subject) -> Result<Found, Failure> {
        let set = self.definition.lookup_set();
        let only = BTreeSet::from([set.clone()]);
        let found = find::run(&self.caller, &self.definition.find, subject, &ctx.instance, Some(&only), &[]).await?;
        let count = found.sets.get(&set).map_or(0, Vec::len) as u64;
        Ok(Found { present: count > 0, count: Some(count) })
    }

    /// The definition's `[label]`.
    fn label(&self) -> Option<KindLabel> {
        self.definition.label.clone()
    }

    fn verify_after(&self) -> Vec<std::time::Duration> {
        match &self.definition.verify_after {
            Some(delays) => delays.iter().map(|d| d.get()).collect(),
            None => vec![std::time::Duration::ZERO],
        }
    }

    async fn healthcheck(&self) -> Result<(), Failure> {
        let Some(request) = &self.definition.healthcheck else { return Ok(()) };
        let scope = template::Scope { vars: Some(&self.caller.vars), ..template::Scope::default() };
        let built = self
            .caller
            .build(request, &scope, None)
            .map_err(|_| Failure::permanent("the definition's healthcheck request cannot be built"))?;
        match self.caller.send(&built, &[]).await? {
            Answer::Ok { .. } => Ok(()),
            Answer::Gone { .. } => Err(Failure::permanent("the healthcheck request answered a `gone` status")),
        }
    }
}
