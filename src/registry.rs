//! One line per connector kind: the kind's name in config -> its constructor. Explicit, no macros.
//! To add a kind: write its crate under `connectors/`, add it to Cargo.toml and a line to `build_connector`.

use crate::config::{secret_from_env, ConfigError, Settings};
use crate::runner::limiter::SharedRateLimiter;
use crate::store::Store;
use erasure_connector::{Connector, HttpClient, NoLimit, RateLimiter};
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
pub const KINDS: &[&str] = &["webhook"];

fn build_connector(settings: &Settings, name: &str, http: HttpClient) -> Result<Arc<dyn Connector>, ConfigError> {
    let kind = settings.connectors[name].kind.as_str();
    let key = |k: &str| format!("connectors.{name}.{k}");
    Ok(match kind {
        "webhook" => {
            let config: erasure_connector_webhook::Config = settings.connector_options(name)?;
            let secret = secret_from_env(&key("secret_env"), &config.secret_env)?;
            Arc::new(erasure_connector_webhook::Webhook::new(config, secret, http).map_err(|e| ConfigError::Key {
                key: key("url"),
                origin: "connector options".into(),
                message: e,
            })?)
        }
        other => {
            return Err(ConfigError::Key {
                key: key("kind"),
                origin: "settings".into(),
                message: format!("unknown connector kind `{other}`; this build knows: {}", KINDS.join(", ")),
            })
        }
    })
}

/// Build every configured instance (disabled ones too: their existing tasks still run).
pub fn build(settings: &Settings, store: &Store) -> Result<Vec<Instance>, ConfigError> {
    let mut instances = Vec::new();
    for (name, c) in &settings.connectors {
        let limiter: Arc<dyn RateLimiter> = match c.requests_per_second {
            Some(rate) => Arc::new(SharedRateLimiter::new(store.clone(), name, rate)),
            None => Arc::new(NoLimit),
        };
        let http = HttpClient::new(name, c.timeout.0, limiter).map_err(|e| ConfigError::Key {
            key: format!("connectors.{name}"),
            origin: "settings".into(),
            message: e.reason,
        })?;
        let connector = build_connector(settings, name, http.clone())?;
        instances.push(Instance {
            name: name.clone(),
            kind: c.kind.clone(),
            connector,
            http,
            slots: Arc::new(Semaphore::new(c.concurrency)),
        });
    }
    Ok(instances)
}
