//! The `elasticsearch` connector: deletes the documents of a log store (Elasticsearch or
//! OpenSearch) whose keyword fields hold one of the subject's identifiers, with a delete-by-query
//! task that it follows until a count finds nothing left. Calls, rounds and limits are in this
//! crate's README.md.
//!
//! - `query.rs`: the `terms` query (identifiers are data, matched whole).
//! - `api.rs`: `_count`, `_delete_by_query`, `_tasks`, authenticated, errors classified.
//! - `task.rs`: what a task answer says (running, done, failures).

mod api;
mod query;
mod task;

use api::{Api, Auth};
use erasure_connector::{
    async_trait, Connector, Ctx, Evidence, ExposeSecret, Failure, Found, HttpClient, Outcome, Pending, Secrets, Subject,
};
use reqwest::header::HeaderValue;
use serde::Deserialize;
use serde_json::{json, Value};
use std::time::Duration;
use task::{Report, Task, Trouble};

/// Delete-by-query tasks one erasure may start: the first, then one per leftover (documents
/// written or changed while a task ran) or transient failure.
const MAX_ROUNDS: u64 = 5;

/// `[connectors.NAME]` keys for `kind = "elasticsearch"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The cluster's URL, e.g. `https://logs.internal:9200`; a path prefix (a proxy's) is kept.
    pub base_url: String,
    /// The indices to erase from: a name, an alias, a pattern such as `logs-*`, or a
    /// comma-separated list of those.
    pub index: String,
    /// Keyword fields that hold identifiers, e.g. `["user.email", "user.id", "client.phone"]`.
    /// Every identifier is looked for in every field, matched whole and case-sensitively.
    pub fields: Vec<String>,
    /// User for Basic authentication, with `password_env`.
    #[serde(default)]
    pub username: Option<String>,
    /// Environment variable holding the password of `username`.
    #[serde(default)]
    pub password_env: Option<String>,
    /// Environment variable holding an API key (its `encoded` form), sent as
    /// `Authorization: ApiKey <key>`; instead of `username` and `password_env`.
    #[serde(default)]
    pub api_key_env: Option<String>,
    /// When to look at a running delete-by-query task again.
    #[serde(default = "default_check_after")]
    pub check_after_seconds: u64,
}

fn default_check_after() -> u64 {
    30
}

pub struct Elasticsearch {
    api: Api,
    fields: Vec<String>,
    check_after: Duration,
}

impl Elasticsearch {
    pub fn new(config: Config, secrets: &Secrets, http: HttpClient) -> Result<Self, String> {
        let base = url::Url::parse(&config.base_url).map_err(|e| format!("base_url is not a URL: {e}"))?;
        if !matches!(base.scheme(), "http" | "https") || base.cannot_be_a_base() {
            return Err("base_url must be an http or https URL".into());
        }
        if base.query().is_some() || base.fragment().is_some() {
            return Err("base_url must have no query string or fragment".into());
        }
        check_index(&config.index)?;
        let mut fields: Vec<String> = Vec::new();
        for field in config.fields {
            if field.is_empty() || field.contains(|c: char| c.is_whitespace() || c.is_control() || c == '*') {
                return Err("fields must be field names (no spaces, no wildcards)".into());
            }
            if !fields.contains(&field) {
                fields.push(field);
            }
        }
        if fields.is_empty() {
            return Err("fields must name at least one keyword field that holds identifiers".into());
        }
        let auth = match (config.username, config.password_env.is_some(), config.api_key_env.is_some()) {
            (Some(username), true, false) => Auth::Basic { username, password: secrets.get("password_env")?.clone() },
            (None, false, true) => {
                let key = secrets.get("api_key_env")?.expose_secret();
                let mut header = HeaderValue::from_str(&format!("ApiKey {key}"))
                    .map_err(|_| "the API key holds characters a header cannot carry".to_string())?;
                header.set_sensitive(true);
                Auth::ApiKey(header)
            }
            (None, false, false) => return Err("set username and password_env, or api_key_env".into()),
            (Some(_), false, _) => return Err("username needs password_env".into()),
            (None, true, _) => return Err("password_env needs username".into()),
            (_, true, true) => return Err("set username and password_env, or api_key_env, not both".into()),
        };
        Ok(Elasticsearch {
            api: Api::new(base, config.index, auth, http),
            fields,
            check_after: Duration::from_secs(config.check_after_seconds),
        })
    }

    /// The query for the subject, or `None` if it has no identifier this system could hold.
    fn query(&self, ctx: &Ctx, subject: &Subject) -> Option<Value> {
        let values = query::identifiers(subject, &ctx.instance);
        (!values.is_empty()).then(|| query::body(&self.fields, &values))
    }

    /// Start round `round` if anything still matches: `Erased` when nothing does (and something
    /// was erased before), otherwise `Pending` on a new task.
    async fn next_round(&self, query: &Value, round: u64, evidence: Evidence) -> Outcome {
        let remaining = match self.api.count(query).await {
            Ok(n) => n,
            Err(failure) => return failure.into(),
        };
        if remaining == 0 {
            return if round == 1 { Outcome::NothingToErase } else { Outcome::Erased(evidence) };
        }
        if round > MAX_ROUNDS {
            return Outcome::failed(format!(
                "{remaining} document(s) still match after {MAX_ROUNDS} delete-by-query tasks: \
                 are they still being written?"
            ));
        }
        match self.api.start_delete(query).await {
            Ok(task) => Outcome::Pending(Pending {
                check_after: self.check_after,
                state: json!({ "task": task, "round": round }),
                evidence: evidence.vendor_ref(task),
            }),
            Err(failure) => failure.into(),
        }
    }

    /// Come back later and start round `round` then.
    fn later(&self, round: u64, evidence: Evidence, why: String) -> Outcome {
        tracing::warn!(round, reason = %why, "elasticsearch: another delete-by-query round");
        Outcome::Pending(Pending {
            check_after: self.check_after,
            state: json!({ "task": null, "round": round }),
            evidence: evidence.note(format!("round {}: {why}", round - 1)),
        })
    }
}

/// An index expression goes into the URL path: names, patterns and lists, nothing that could
/// reach another API.
fn check_index(index: &str) -> Result<(), String> {
    let bad = |part: &str| {
        part.is_empty()
            || (part.starts_with('_') && part != "_all")
            || part.contains(|c: char| c.is_whitespace() || c.is_control() || "/\\?#\"<>|".contains(c))
    };
    if index.split(',').any(bad) {
        return Err("index must be an index name, alias or pattern (e.g. `logs-*`), or a comma-separated list".into());
    }
    Ok(())
}

#[async_trait]
impl Connector for Elasticsearch {
    fn kind(&self) -> &'static str {
        "elasticsearch"
    }

    async fn erase(&self, ctx: &Ctx, subject: &Subject) -> Outcome {
        match self.query(ctx, subject) {
            Some(query) => self.next_round(&query, 1, Evidence::default()).await,
            None => Outcome::NothingToErase,
        }
    }

    async fn check(&self, ctx: &Ctx, subject: &Subject, pending: &Pending) -> Outcome {
        let Some(query) = self.query(ctx, subject) else { return Outcome::NothingToErase };
        let round = pending.state.get("round").and_then(Value::as_u64).unwrap_or(1);
        let evidence = pending.evidence.clone();
        let Some(task_id) = pending.state.get("task").and_then(Value::as_str) else {
            return self.next_round(&query, round, evidence).await;
        };
        let answer = match self.api.task(task_id).await {
            Ok(Some(answer)) => answer,
            Ok(None) => return self.later(round + 1, evidence, "the cluster no longer knows the task".into()),
            Err(failure) => return failure.into(),
        };
        let report = match task::read(&answer) {
            Some(Task::Running) => return Outcome::Pending(pending.clone()),
            Some(Task::Ended(report)) => report,
            None => return Outcome::failed("elasticsearch: the answer to _tasks is not what Elasticsearch sends"),
        };
        let Report { deleted, version_conflicts, trouble } = report;
        let mut evidence = evidence.count("documents", deleted);
        if version_conflicts > 0 {
            evidence = evidence.count("version_conflicts", version_conflicts);
        }
        match trouble {
            None => self.next_round(&query, round + 1, evidence).await,
            Some(Trouble::Transient(why)) => self.later(round + 1, evidence, why),
            Some(Trouble::Permanent(why)) => Outcome::failed(why),
        }
    }

    async fn lookup(&self, ctx: &Ctx, subject: &Subject) -> Result<Found, Failure> {
        let Some(query) = self.query(ctx, subject) else { return Ok(Found { present: false, count: Some(0) }) };
        let count = self.api.count(&query).await?;
        Ok(Found { present: count > 0, count: Some(count) })
    }

    async fn healthcheck(&self) -> Result<(), Failure> {
        self.api.count(&query::nothing()).await.map(|_| ())
    }
}
