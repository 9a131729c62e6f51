//! One line per connector kind: the kind's name in config -> its constructor. Explicit, no macros.
//! To add a kind: write its crate under `connectors/`, add it to Cargo.toml and a line to
//! `build_connector`.

use crate::config::{secret_from_env, ConfigError, Settings};
use crate::runner::limiter::SharedRateLimiter;
use crate::store::Store;
use erasure_connector::{Connector, HttpClient, NoLimit, RateLimiter, Secrets};
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
}

/// The kinds this build knows.
pub const KINDS: &[&str] = &["webhook", "zendesk", "intercom", "twilio", "elasticsearch", "loki", "sql"];

fn build_connector(
    settings: &Settings,
    name: &str,
    secrets: &Secrets,
    http: HttpClient,
) -> Result<Arc<dyn Connector>, ConfigError> {
    let options = |key: &str| settings.connector_options_error(name, key);
    let built: Result<Arc<dyn Connector>, String> = match settings.connectors[name].kind.as_str() {
        "webhook" => erasure_connector_webhook::Webhook::new(settings.connector_options(name)?, secrets, http)
            .map(|c| Arc::new(c) as Arc<dyn Connector>),
        "zendesk" => erasure_connector_zendesk::Zendesk::new(settings.connector_options(name)?, secrets, http)
            .map(|c| Arc::new(c) as Arc<dyn Connector>),
        "intercom" => erasure_connector_intercom::Intercom::new(settings.connector_options(name)?, secrets, http)
            .map(|c| Arc::new(c) as Arc<dyn Connector>),
        "twilio" => erasure_connector_twilio::Twilio::new(settings.connector_options(name)?, secrets, http)
            .map(|c| Arc::new(c) as Arc<dyn Connector>),
        "elasticsearch" => {
            erasure_connector_elasticsearch::Elasticsearch::new(settings.connector_options(name)?, secrets, http)
                .map(|c| Arc::new(c) as Arc<dyn Connector>)
        }
        "loki" => erasure_connector_loki::Loki::new(settings.connector_options(name)?, secrets, http)
            .map(|c| Arc::new(c) as Arc<dyn Connector>),
        "sql" => erasure_connector_sql::Sql::new(settings.connector_options(name)?, secrets, http)
            .map(|c| Arc::new(c) as Arc<dyn Connector>),
        other => {
            return Err(options("kind")
                .with_message(format!("unknown connector kind `{other}`; this build knows: {}", KINDS.join(", "))))
        }
    };
    built.map_err(|message| options("").with_message(message))
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
    Ok(Instance {
        name: name.to_string(),
        kind: c.kind.clone(),
        connector,
        http,
        slots: Arc::new(Semaphore::new(c.concurrency)),
    })
}
