//! One line per connector kind: the kind's name in config -> its constructor. Explicit, no macros.
//! To add a kind: `erasure connector new NAME` writes its crate under `connectors/`, its
//! dependency line in the root Cargo.toml and its line in `CONSTRUCTORS` (`KINDS` is derived
//! from it).

use crate::config::{secret_from_env, ConfigError, Settings};
use crate::runner::limiter::SharedRateLimiter;
use crate::store::Store;
use erasure_connector::{ConfigError as KindConfigError, Connector, HttpClient, NoLimit, RateLimiter, Secrets};
use serde::de::DeserializeOwned;
use std::sync::Arc;
use tokio::sync::Semaphore;

/// A configured connector instance, ready to run.
#[derive(Clone)]
pub struct Instance {
    pub name: String,
    pub kind: String,
    pub connector: Arc<dyn Connector>,
    pub http: HttpClient,
    /// Tasks of this instance running at once in this process.
    pub slots: Arc<Semaphore>,
    /// When to verify an erasure: the instance's `verify_after`, else the kind's default.
    pub verify_after: Vec<std::time::Duration>,
}

/// Builds one instance of a kind from its `[connectors.NAME]` block.
type Constructor = fn(&Settings, &str, &Secrets, HttpClient) -> Result<Arc<dyn Connector>, ConfigError>;

/// Every kind this build knows: its name in config, and its constructor.
const CONSTRUCTORS: &[(&str, Constructor)] = &[
    ("webhook", |s, name, secrets, http| build_kind(s, name, secrets, http, erasure_connector_webhook::Webhook::new)),
    ("zendesk", |s, name, secrets, http| build_kind(s, name, secrets, http, erasure_connector_zendesk::Zendesk::new)),
    ("intercom", |s, name, secrets, http| {
        build_kind(s, name, secrets, http, erasure_connector_intercom::Intercom::new)
    }),
    ("twilio", |s, name, secrets, http| build_kind(s, name, secrets, http, erasure_connector_twilio::Twilio::new)),
    ("elasticsearch", |s, name, secrets, http| {
        build_kind(s, name, secrets, http, erasure_connector_elasticsearch::Elasticsearch::new)
    }),
    ("loki", |s, name, secrets, http| build_kind(s, name, secrets, http, erasure_connector_loki::Loki::new)),
    ("sql", |s, name, secrets, http| build_kind(s, name, secrets, http, erasure_connector_sql::Sql::new)),
    ("http", |s, name, secrets, http| build_kind(s, name, secrets, http, erasure_connector_http::Http::new)),
];

/// The kinds this build knows, in the order of [`CONSTRUCTORS`].
pub const KINDS: &[&str] = &kind_names();

const fn kind_names() -> [&'static str; CONSTRUCTORS.len()] {
    let mut names = [""; CONSTRUCTORS.len()];
    let mut i = 0;
    while i < CONSTRUCTORS.len() {
        names[i] = CONSTRUCTORS[i].0;
        i += 1;
    }
    names
}

/// Read the block's kind-specific keys into the kind's `Config` and call its constructor; a
/// refusal names `connectors.NAME.KEY` (or the block, when no one key is at fault) and its origin.
fn build_kind<T: DeserializeOwned, C: Connector + 'static>(
    settings: &Settings,
    name: &str,
    secrets: &Secrets,
    http: HttpClient,
    new: fn(T, &Secrets, HttpClient) -> Result<C, KindConfigError>,
) -> Result<Arc<dyn Connector>, ConfigError> {
    match new(settings.connector_options(name)?, secrets, http) {
        Ok(connector) => Ok(Arc::new(connector)),
        Err(refused) => Err(settings
            .connector_options_error(name, refused.key.as_deref().unwrap_or(""))
            .with_message(refused.message)),
    }
}

fn build_connector(
    settings: &Settings,
    name: &str,
    secrets: &Secrets,
    http: HttpClient,
) -> Result<Arc<dyn Connector>, ConfigError> {
    let kind = settings.connectors[name].kind.as_str();
    match CONSTRUCTORS.iter().find(|(known, _)| *known == kind) {
        Some((_, construct)) => construct(settings, name, secrets, http),
        None => Err(settings
            .connector_options_error(name, "kind")
            .with_message(format!("unknown connector kind `{kind}`; this build knows: {}", KINDS.join(", ")))),
    }
}

/// Resolve every `*_env` key of an instance's block from the environment; a missing variable
/// stops start-up naming the key and the variable.
fn secrets(settings: &Settings, name: &str) -> Result<Secrets, ConfigError> {
    let mut values = std::collections::BTreeMap::new();
    for (key, value) in &settings.connectors[name].options {
        if let (true, Some(var)) = (key.ends_with("_env"), value.as_str()) {
            values.insert(key.clone(), secret_from_env(&format!("connectors.{name}.{key}"), var)?);
        }
    }
    Ok(Secrets::new(values))
}

/// Build every configured instance (disabled ones too: their existing tasks still run).
pub fn build(settings: &Settings, store: &Store) -> Result<Vec<Instance>, ConfigError> {
    settings.connectors.keys().map(|name| build_one(settings, name, Some(store))).collect()
}

/// Build one instance; without a store its calls are not rate-limited (one-off CLI runs).
pub fn build_one(settings: &Settings, name: &str, store: Option<&Store>) -> Result<Instance, ConfigError> {
    let c = &settings.connectors[name];
    let limiter: Arc<dyn RateLimiter> = match (c.requests_per_second, store) {
        (Some(rate), Some(store)) => Arc::new(SharedRateLimiter::new(store.clone(), name, rate)),
        _ => Arc::new(NoLimit),
    };
    let http = HttpClient::new(name, c.timeout.0, limiter)
        .map_err(|e| settings.connector_options_error(name, "").with_message(e.reason))?;
    let connector = build_connector(settings, name, &secrets(settings, name)?, http.clone())?;
    let verify_after = match &c.verify_after {
        Some(delays) => delays.iter().map(|d| d.0).collect(),
        None => connector.verify_after(),
    };
    Ok(Instance {
        verify_after,
        name: name.to_string(),
        kind: c.kind.clone(),
        connector,
        http,
        slots: Arc::new(Semaphore::new(c.concurrency)),
    })
}
