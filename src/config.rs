//! Typed settings: `config/default.toml` (compiled in), the environment file given with
//! `--config`, then `ERASURE__SECTION__KEY` environment variables, in that order.
//!
//! Unknown keys and invalid values stop start-up with the key and the file (or variable) named.
//! Secrets never sit in these files: a `*_env` field names the environment variable that holds one.

use secrecy::SecretString;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub const DEFAULT_TOML: &str = include_str!("../config/default.toml");
const DEFAULT_NAME: &str = "config/default.toml (built in)";
const ENV_PREFIX: &str = "ERASURE";

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub database: DatabaseSettings,
    pub amqp: AmqpSettings,
    pub intake: IntakeSettings,
    pub runner: RunnerSettings,
    pub outbox: OutboxSettings,
    pub requests: RequestSettings,
    pub security: SecuritySettings,
    pub log: LogSettings,
    pub api: ApiSettings,
    /// Messages to the person (e-mail over SMTP).
    #[serde(default)]
    pub mail: MailSettings,
    /// Connector instances by name; the name is what messages use in `systems` and `ids`.
    #[serde(default)]
    pub connectors: BTreeMap<String, ConnectorSettings>,
    /// Where each key came from, to name it in later errors.
    #[serde(skip)]
    origins: Origins,
}

#[derive(Debug, Clone, Default)]
struct Origins {
    layers: std::sync::Arc<Vec<Layer>>,
    env: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSettings {
    /// PostgreSQL URL without the password, e.g. `postgres://erasure@db:5432/erasure?sslmode=require`.
    /// `sslmode`: `disable` (no TLS), `prefer` (the default: TLS when the server offers it),
    /// `require` (TLS or no connection). Whenever TLS is used, the server's certificate must
    /// chain to the trusted roots and name the URL's host (libpq's `verify-full`).
    pub url: String,
    /// Environment variable holding the password, if the URL has none.
    #[serde(default)]
    pub password_env: Option<String>,
    /// PEM bundle of the CA certificates that vouch for the database server. It replaces the
    /// system's roots for PostgreSQL connections. A relative path is taken from the working
    /// directory.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// Connections in this process's pool.
    pub pool_size: usize,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AmqpSettings {
    /// Broker URLs, tried in order (one per cluster node), e.g. `amqp://erasure@mq1:5672/%2f`.
    pub urls: Vec<String>,
    /// Environment variable holding the password, if the URLs have none.
    #[serde(default)]
    pub password_env: Option<String>,
    /// PEM bundle of extra CA certificates for `amqps://` URLs (a private CA), added to the
    /// system's roots. A relative path is taken from the working directory.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// The intake quorum queue.
    pub requests_queue: String,
    /// Invalid messages land here with an `x-erasure-reason` header.
    pub dead_letter_queue: String,
    /// How long the dead-letter queue keeps a message (it can hold personal data).
    pub dead_letter_ttl: Dur,
    /// The topic exchange events are published to.
    pub events_exchange: String,
    /// Deliveries after which the broker dead-letters a message that keeps crashing consumers.
    pub delivery_limit: u32,
    /// Unacknowledged intake messages per consumer.
    pub prefetch: u16,
    /// Wait between reconnection attempts grows up to this.
    pub reconnect_max_delay: Dur,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IntakeSettings {
    /// Messages larger than this are dead-lettered as `too_large`.
    pub max_message_bytes: usize,
    /// Messages decoded and committed at once.
    pub concurrency: usize,
    /// A `requested_at` further in the future than this is refused.
    pub max_clock_skew: Dur,
    /// The mass-deletion brake: more requests than this within `brake_window` are accepted but
    /// held (hold `brake`) until an operator releases them; 0 turns the brake off.
    pub brake_max_requests: u32,
    pub brake_window: Dur,
    /// Refuse (dead-letter as `bad_signature`) every message not signed with an active key.
    pub require_signature: bool,
    /// Active signing keys; two at once while rotating.
    #[serde(default)]
    pub signing_keys: Vec<SigningKey>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SigningKey {
    /// The key id producers send in `x-erasure-key-id`.
    pub id: String,
    /// Environment variable holding the HMAC secret.
    pub secret_env: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunnerSettings {
    /// A claimed task belongs to its worker for this long; heartbeats renew it.
    pub lease: Dur,
    /// Fallback polling when no notification arrives.
    pub poll_interval: Dur,
    /// Tasks claimed per query.
    pub claim_batch: u32,
    /// On SIGTERM, in-flight work gets this long before its leases are released.
    pub drain_timeout: Dur,
    /// Default attempts per task before it fails (a connector may set its own).
    pub max_attempts: u32,
    /// First retry delay; doubles per attempt.
    pub retry_base: Dur,
    /// Longest retry delay.
    pub retry_cap: Dur,
    /// One attempt (one `erase` or `check` call) may take this long.
    pub attempt_timeout: Dur,
    /// A due task whose connector instance is not configured here fails after this long.
    pub orphan_grace: Dur,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutboxSettings {
    pub poll_interval: Dur,
    /// Rows published per transaction.
    pub batch: u32,
    /// Unroutable or refused publications wait this long, doubling, up to `retry_cap`.
    pub retry_base: Dur,
    pub retry_cap: Dur,
}

/// How messages to the person are sent; see `[mail]` in config/default.toml.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MailSettings {
    pub enabled: bool,
    /// `smtp://host:port`.
    pub smtp_url: String,
    pub starttls: StartTls,
    /// Implicit TLS from the first byte (port 465); `starttls` is then ignored.
    pub tls: bool,
    pub username: Option<String>,
    /// Environment variable holding the SMTP password.
    pub password_env: Option<String>,
    pub from: String,
    pub recipients: Recipients,
    /// Also publish these events to the intake message's `reply_to` (false: the e-mail replaces it).
    pub also_reply: bool,
    /// Messages sent per pass.
    pub batch: u32,
}

impl Default for MailSettings {
    fn default() -> Self {
        MailSettings {
            enabled: false,
            smtp_url: "smtp://127.0.0.1:25".into(),
            starttls: StartTls::Opportunistic,
            tls: false,
            username: None,
            password_env: None,
            from: "Privacy team <privacy@example.com>".into(),
            recipients: Recipients::First,
            also_reply: true,
            batch: 16,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StartTls {
    Off,
    Opportunistic,
    Required,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Recipients {
    /// The first e-mail of the request's subject.
    First,
    /// Every e-mail of the request's subject.
    All,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestSettings {
    /// The legal response period, in calendar months (GDPR art. 12(3): one).
    pub response_period_months: u32,
    /// How long a new request waits `scheduled`, cancellable, before it starts (`0s`: none).
    pub grace_period: Dur,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecuritySettings {
    /// Environment variable holding the key for the keyed hashes of identifiers (32+ bytes).
    pub hash_key_env: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiSettings {
    /// Address the HTTP API listens on.
    pub listen: String,
    /// Bearer tokens and their scopes (`read`, `submit`, `operate`).
    #[serde(default)]
    pub tokens: Vec<ApiToken>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiToken {
    /// Who holds it; actions are audited as `api:<name>`.
    pub name: String,
    /// Environment variable holding the token.
    pub token_env: String,
    pub scopes: Vec<crate::api::Scope>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSettings {
    /// `json` or `text`.
    pub format: LogFormat,
    /// A tracing filter such as `info` or `info,erasure_worker=debug`.
    pub level: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Json,
    Text,
}

/// One connector instance. Kind-specific keys are checked by the kind's own config type.
#[derive(Debug, Clone, Deserialize)]
pub struct ConnectorSettings {
    /// The connector kind (`webhook`, ...), as listed in `src/registry.rs`.
    pub kind: String,
    /// A disabled instance gets no new tasks; its existing tasks still run.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// HTTP calls per second across all worker processes; absent means unlimited.
    #[serde(default)]
    pub requests_per_second: Option<f64>,
    /// Tasks of this instance running at once in one process.
    #[serde(default = "default_concurrency")]
    pub concurrency: usize,
    /// Timeout of one HTTP call.
    #[serde(default = "default_timeout")]
    pub timeout: Dur,
    /// Overrides `runner.max_attempts`.
    #[serde(default)]
    pub max_attempts: Option<u32>,
    /// Everything else belongs to the kind.
    #[serde(flatten)]
    pub options: BTreeMap<String, serde_json::Value>,
}

fn yes() -> bool {
    true
}

fn default_concurrency() -> usize {
    4
}

fn default_timeout() -> Dur {
    Dur(Duration::from_secs(10))
}

/// A duration written as `500ms`, `10s`, `15m`, `6h` or `30d`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dur(pub Duration);

impl<'de> Deserialize<'de> for Dur {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        parse_duration(&text).map(Dur).ok_or_else(|| {
            serde::de::Error::custom(format!("`{text}` is not a duration such as 500ms, 10s, 15m, 6h or 30d"))
        })
    }
}

pub fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit())?;
    let (number, unit) = text.split_at(split);
    let n: u64 = number.parse().ok()?;
    let secs = |k: u64| n.checked_mul(k).map(Duration::from_secs);
    match unit.trim() {
        "ms" => Some(Duration::from_millis(n)),
        "s" => secs(1),
        "m" => secs(60),
        "h" => secs(3600),
        "d" => secs(86_400),
        _ => None,
    }
}

/// A start-up error that names the key and where it was set.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {file}: {message}")]
    File { file: String, message: String },
    #[error("config key `{key}` ({origin}): {message}")]
    Key { key: String, origin: String, message: String },
}

impl ConfigError {
    pub fn with_message(self, message: String) -> ConfigError {
        match self {
            ConfigError::Key { key, origin, .. } => ConfigError::Key { key, origin, message },
            ConfigError::File { file, .. } => ConfigError::File { file, message },
        }
    }
}

impl Settings {
    /// Load the defaults, then `file` (if any), then `ERASURE__...` variables.
    pub fn load(file: Option<&Path>) -> Result<Settings, ConfigError> {
        Self::load_with_env(file, std::env::vars().collect())
    }

    pub fn load_with_env(file: Option<&Path>, env: BTreeMap<String, String>) -> Result<Settings, ConfigError> {
        let mut layers = vec![Layer::parse(DEFAULT_NAME.to_string(), DEFAULT_TOML)?];
        if let Some(path) = file {
            let text = std::fs::read_to_string(path)
                .map_err(|e| ConfigError::File { file: path.display().to_string(), message: e.to_string() })?;
            layers.push(Layer::parse(path.display().to_string(), &text)?);
        }
        let env: BTreeMap<String, String> =
            env.into_iter().filter(|(k, _)| k.starts_with(&format!("{ENV_PREFIX}__"))).collect();

        let mut builder = config::Config::builder();
        for layer in &layers {
            builder = builder.add_source(config::File::from_str(&layer.text, config::FileFormat::Toml));
        }
        let environment = config::Environment::with_prefix(ENV_PREFIX)
            .prefix_separator("__")
            .separator("__")
            .try_parsing(true)
            .list_separator(",")
            .with_list_parse_key("amqp.urls")
            .source(Some(env.clone().into_iter().collect()));
        let merged = builder
            .add_source(environment)
            .build()
            .map_err(|e| ConfigError::File { file: "the merged configuration".into(), message: e.to_string() })?;

        let mut settings: Settings = deserialize_named(merged, &layers, &env)?;
        settings.validate(&layers, &env)?;
        settings.origins = Origins { layers: std::sync::Arc::new(layers), env };
        Ok(settings)
    }

    fn validate(&self, layers: &[Layer], env: &BTreeMap<String, String>) -> Result<(), ConfigError> {
        let fail = |key: &str, message: String| Err(key_error(key, message, layers, env));
        if self.amqp.urls.is_empty() {
            return fail("amqp.urls", "at least one broker URL is needed".into());
        }
        if let Some(mode) = ssl_mode(&self.database.url) {
            if !matches!(mode.as_str(), "disable" | "prefer" | "require") {
                return fail(
                    "database.url",
                    format!(
                        "sslmode `{mode}` is not supported: use disable, prefer or require \
                         (with TLS, the certificate and the host name are always verified)"
                    ),
                );
            }
        }
        if self.runner.max_attempts == 0 {
            return fail("runner.max_attempts", "must be at least 1".into());
        }
        if self.runner.lease.0 < Duration::from_secs(1) {
            return fail("runner.lease", "must be at least 1s".into());
        }
        if self.requests.response_period_months == 0 || self.requests.response_period_months > 3 {
            return fail("requests.response_period_months", "must be 1, 2 or 3 (GDPR art. 12(3))".into());
        }
        for (name, c) in &self.connectors {
            if !valid_instance_name(name) {
                return fail(&format!("connectors.{name}"), "instance names use a-z, 0-9, `_` and `-`".into());
            }
            if let Some(rate) = c.requests_per_second {
                if !(rate > 0.0 && rate.is_finite()) {
                    return fail(&format!("connectors.{name}.requests_per_second"), "must be above 0".into());
                }
            }
            if c.concurrency == 0 {
                return fail(&format!("connectors.{name}.concurrency"), "must be at least 1".into());
            }
        }
        Ok(())
    }

    /// Names an error in a connector's kind-specific options (used by the registry).
    pub fn connector_options<T: DeserializeOwned>(&self, instance: &str) -> Result<T, ConfigError> {
        let options = &self.connectors[instance].options;
        let value = serde_json::Value::Object(options.clone().into_iter().collect());
        serde_path_to_error::deserialize(value).map_err(|e| {
            let key = join_key(&format!("connectors.{instance}"), &e);
            key_error(&key, strip_values(e.inner().to_string()), &self.origins.layers, &self.origins.env)
        })
    }

    /// An error about key `key` of connector `instance` (empty `key`: the whole block), with
    /// its origin; set the message with `ConfigError::with_message`.
    pub fn connector_options_error(&self, instance: &str, key: &str) -> ConfigError {
        let full =
            if key.is_empty() { format!("connectors.{instance}") } else { format!("connectors.{instance}.{key}") };
        key_error(&full, String::new(), &self.origins.layers, &self.origins.env)
    }

    /// The TLS connector of every PostgreSQL connection, with `database.ca_file` read and checked.
    pub fn database_tls(&self) -> Result<crate::tls::PostgresTls, ConfigError> {
        crate::tls::PostgresTls::new(self.database.ca_file.as_deref())
            .map_err(|e| self.key_error("database.ca_file", e.to_string()))
    }

    /// lapin's TLS settings for `amqps://` URLs, with `amqp.ca_file` read and checked.
    pub fn amqp_tls(&self) -> Result<lapin::tcp::OwnedTLSConfig, ConfigError> {
        crate::tls::amqp_tls(self.amqp.ca_file.as_deref()).map_err(|e| self.key_error("amqp.ca_file", e.to_string()))
    }

    /// An error about `key`, naming the file or variable that set it.
    pub fn key_error(&self, key: &str, message: String) -> ConfigError {
        key_error(key, message, &self.origins.layers, &self.origins.env)
    }

    /// The password-bearing database URL.
    pub fn database_url(&self) -> Result<SecretString, ConfigError> {
        with_password(&self.database.url, self.database.password_env.as_deref(), "database")
    }

    /// The password-bearing broker URLs.
    pub fn amqp_urls(&self) -> Result<Vec<SecretString>, ConfigError> {
        self.amqp.urls.iter().map(|u| with_password(u, self.amqp.password_env.as_deref(), "amqp")).collect()
    }

    /// The key for the keyed hashes of identifiers, read from the environment.
    pub fn hash_key(&self) -> Result<SecretString, ConfigError> {
        let key = secret_from_env("security.hash_key_env", &self.security.hash_key_env)?;
        if secrecy::ExposeSecret::expose_secret(&key).len() < 16 {
            return Err(ConfigError::Key {
                key: "security.hash_key_env".into(),
                origin: format!("environment variable {}", self.security.hash_key_env),
                message: "the hash key must be at least 16 bytes".into(),
            });
        }
        Ok(key)
    }

    /// Enabled connector instance names, sorted.
    pub fn enabled_instances(&self) -> Vec<String> {
        self.connectors.iter().filter(|(_, c)| c.enabled).map(|(n, _)| n.clone()).collect()
    }
}

/// Read a secret from the environment variable a config key names.
pub fn secret_from_env(key: &str, var: &str) -> Result<SecretString, ConfigError> {
    match std::env::var(var) {
        Ok(value) if !value.is_empty() => Ok(SecretString::from(value)),
        _ => Err(ConfigError::Key {
            key: key.into(),
            origin: format!("environment variable {var}"),
            message: format!("the environment variable {var} is not set"),
        }),
    }
}

fn with_password(url: &str, password_env: Option<&str>, section: &str) -> Result<SecretString, ConfigError> {
    let Some(var) = password_env.filter(|v| !v.is_empty()) else {
        return Ok(SecretString::from(url.to_string()));
    };
    let password = secret_from_env(&format!("{section}.password_env"), var)?;
    let mut parsed = url::Url::parse(url).map_err(|e| ConfigError::Key {
        key: format!("{section}.url"),
        origin: "settings".into(),
        message: format!("not a URL: {e}"),
    })?;
    parsed.set_password(Some(secrecy::ExposeSecret::expose_secret(&password))).map_err(|_| ConfigError::Key {
        key: format!("{section}.url"),
        origin: "settings".into(),
        message: "this URL cannot hold a password".into(),
    })?;
    Ok(SecretString::from(parsed.to_string()))
}

/// The `sslmode` query parameter of a PostgreSQL URL, if it has one (the URL holds no password
/// here: that comes from `password_env`).
fn ssl_mode(url: &str) -> Option<String> {
    let parsed = url::Url::parse(url).ok()?;
    let mode = parsed.query_pairs().find(|(k, _)| k == "sslmode").map(|(_, v)| v.into_owned());
    mode
}

pub fn valid_instance_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
}

#[derive(Debug, Clone)]
struct Layer {
    name: String,
    text: String,
    table: toml::Table,
}

impl Layer {
    fn parse(name: String, text: &str) -> Result<Layer, ConfigError> {
        let table: toml::Table =
            toml::from_str(text).map_err(|e| ConfigError::File { file: name.clone(), message: e.to_string() })?;
        Ok(Layer { name, text: text.to_string(), table })
    }

    fn has(&self, key: &str) -> bool {
        let mut node = toml::Value::Table(self.table.clone());
        for part in key.split('.') {
            match node.get(part) {
                Some(next) => node = next.clone(),
                None => return false,
            }
        }
        true
    }
}

fn deserialize_named<T: DeserializeOwned>(
    merged: config::Config,
    layers: &[Layer],
    env: &BTreeMap<String, String>,
) -> Result<T, ConfigError> {
    serde_path_to_error::deserialize(merged).map_err(|e| {
        let key = join_key("", &e);
        key_error(&key, strip_values(e.inner().to_string()), layers, env)
    })
}

fn join_key<E: std::fmt::Display>(prefix: &str, e: &serde_path_to_error::Error<E>) -> String {
    let mut key = e.path().to_string();
    if key == "." {
        key.clear();
    }
    let message = e.inner().to_string();
    // The path of an unknown field already ends with it; a missing one is not in the input.
    if let Some(rest) = message.strip_prefix("missing field `") {
        let field = rest.split('`').next().unwrap_or_default();
        key = if key.is_empty() { field.to_string() } else { format!("{key}.{field}") };
    }
    match (prefix.is_empty(), key.is_empty()) {
        (true, _) => key,
        (false, true) => prefix.to_string(),
        (false, false) => format!("{prefix}.{key}"),
    }
}

fn key_error(key: &str, message: String, layers: &[Layer], env: &BTreeMap<String, String>) -> ConfigError {
    let var = format!("{ENV_PREFIX}__{}", key.replace('.', "__").to_uppercase());
    let origin = if env.contains_key(&var) {
        format!("environment variable {var}")
    } else if let Some(layer) = layers.iter().rev().find(|l| l.has(key)) {
        layer.name.clone()
    } else {
        layers.last().map(|l| l.name.clone()).unwrap_or_default()
    };
    ConfigError::Key { key: key.to_string(), origin, message }
}

/// Keep serde's sentence but drop the list of expected fields, which is noise here.
fn strip_values(message: String) -> String {
    match message.split_once(", expected") {
        Some((head, _)) => head.to_string(),
        None => message,
    }
}

/// Where the demo and the docs look for the environment file.
pub fn default_config_path() -> Option<PathBuf> {
    std::env::var_os("ERASURE_CONFIG").map(PathBuf::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str, env: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let dir = std::env::temp_dir().join(format!("erasure-config-test-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("prod.toml");
        std::fs::write(&path, text).unwrap();
        let env = env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Settings::load_with_env(Some(&path), env)
    }

    fn message(result: Result<Settings, ConfigError>) -> String {
        result.err().expect("the config must be refused").to_string()
    }

    #[test]
    fn the_defaults_and_the_demo_config_load() {
        let local = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/local.toml");
        let settings = Settings::load_with_env(Some(&local), BTreeMap::new()).unwrap();
        assert_eq!(settings.runner.lease.0, Duration::from_secs(60));
        assert_eq!(settings.api.tokens.len(), 1);
        assert_eq!(
            settings.enabled_instances(),
            ["accounts", "billing", "chat", "helpdesk", "logs", "shop_db", "support", "voice"]
        );
        assert_eq!(settings.connectors["support"].requests_per_second, Some(10.0));
    }

    #[test]
    fn an_unknown_key_is_named_with_its_file() {
        let m = message(load("[runner]\nleese = \"10s\"\n", &[]));
        assert!(m.contains("`runner.leese`") && m.contains("prod.toml") && m.contains("unknown field"), "{m}");
    }

    #[test]
    fn an_invalid_value_is_named_with_its_file_or_variable() {
        let m = message(load("[runner]\nlease = \"soon\"\n", &[]));
        assert!(m.contains("`runner.lease`") && m.contains("prod.toml") && m.contains("not a duration"), "{m}");
        let m = message(load("", &[("ERASURE__RUNNER__MAX_ATTEMPTS", "many")]));
        assert!(m.contains("`runner.max_attempts`") && m.contains("ERASURE__RUNNER__MAX_ATTEMPTS"), "{m}");
        let m = message(load("[connectors.a]\nkind = \"webhook\"\nconcurrency = 0\n", &[]));
        assert!(m.contains("`connectors.a.concurrency`") && m.contains("prod.toml"), "{m}");
    }

    #[test]
    fn environment_variables_override_files() {
        let s = load(
            "[runner]\nlease = \"30s\"\n",
            &[("ERASURE__RUNNER__LEASE", "90s"), ("ERASURE__AMQP__URLS", "amqp://a,amqp://b")],
        )
        .unwrap();
        assert_eq!(s.runner.lease.0, Duration::from_secs(90));
        assert_eq!(s.amqp.urls, ["amqp://a", "amqp://b"]);
    }

    #[test]
    fn kind_options_are_checked_by_the_kind() {
        #[derive(Debug, Deserialize)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct Kind {
            url: String,
        }
        let s = load("[connectors.hooks]\nkind = \"webhook\"\nurll = \"x\"\n", &[]).unwrap();
        let m = s.connector_options::<Kind>("hooks").unwrap_err().to_string();
        assert!(m.contains("`connectors.hooks.urll`") && m.contains("unknown field"), "{m}");
    }

    #[test]
    fn a_missing_secret_names_its_key_and_variable_but_a_present_one_never_prints() {
        let s = load("[security]\nhash_key_env = \"ERASURE_TEST_UNSET_VARIABLE_4242\"\n", &[]).unwrap();
        let m = s.hash_key().unwrap_err().to_string();
        assert!(m.contains("security.hash_key_env") && m.contains("ERASURE_TEST_UNSET_VARIABLE_4242"), "{m}");
        let secret = SecretString::from("hunter2-hunter2-hunter2".to_string());
        assert!(!format!("{secret:?}").contains("hunter2"));
    }

    #[test]
    fn ca_files_are_read_at_start_up_and_a_bad_one_names_its_key_and_file() {
        let s = load("[database]\nca_file = \"/nonexistent/erasure-ca-4242.pem\"\n", &[]).unwrap();
        let m = s.database_tls().err().expect("refused").to_string();
        assert!(
            m.contains("`database.ca_file`")
                && m.contains("prod.toml")
                && m.contains("/nonexistent/erasure-ca-4242.pem"),
            "{m}"
        );
        let s = load("", &[("ERASURE__AMQP__CA_FILE", "/nonexistent/erasure-mq-ca.pem")]).unwrap();
        let m = s.amqp_tls().unwrap_err().to_string();
        assert!(
            m.contains("`amqp.ca_file`") && m.contains("ERASURE__AMQP__CA_FILE") && m.contains("erasure-mq-ca.pem"),
            "{m}"
        );
        // Unset: the system roots, nothing to read.
        assert!(load("", &[]).unwrap().amqp_tls().unwrap().cert_chain.is_none());
    }

    #[test]
    fn only_the_sslmodes_we_implement_are_accepted() {
        for mode in ["disable", "prefer", "require"] {
            load(&format!("[database]\nurl = \"postgres://u@db/x?sslmode={mode}\"\n"), &[]).unwrap();
        }
        let m = message(load("[database]\nurl = \"postgres://u@db/x?sslmode=verify-full\"\n", &[]));
        assert!(m.contains("`database.url`") && m.contains("verify-full") && m.contains("require"), "{m}");
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(parse_duration("30d"), Some(Duration::from_secs(30 * 86_400)));
        assert_eq!(parse_duration("10"), None);
        assert_eq!(parse_duration("1w"), None);
    }
}
