//! The layered loader: the built-in defaults, then the `--config` file, then `ERASURE__A__B`
//! variables; each key's origin is kept so every later error can name the file or variable.

use super::{valid_instance_name, ConfigError, Settings};
use serde::de::DeserializeOwned;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub const DEFAULT_TOML: &str = include_str!("../../config/default.toml");
const DEFAULT_NAME: &str = "config/default.toml (built in)";
const ENV_PREFIX: &str = "ERASURE";

#[derive(Debug, Clone, Default)]
pub(super) struct Origins {
    layers: std::sync::Arc<Vec<Layer>>,
    env: BTreeMap<String, String>,
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

        let mut builder = ::config::Config::builder();
        for layer in &layers {
            builder = builder.add_source(::config::File::from_str(&layer.text, ::config::FileFormat::Toml));
        }
        let environment = ::config::Environment::with_prefix(ENV_PREFIX)
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
        if let Err(message) = erasure_connector::transport::explicit_ssl_mode(&self.database.url) {
            return fail("database.url", message);
        }
        if !(0.0..=1.0).contains(&self.telemetry.sample_ratio) {
            return fail("telemetry.sample_ratio", "must be between 0.0 and 1.0".into());
        }
        if let Some(endpoint) = self.telemetry.otlp_endpoint.as_deref().filter(|e| !e.is_empty()) {
            if !url::Url::parse(endpoint).is_ok_and(|u| matches!(u.scheme(), "http" | "https")) {
                return fail("telemetry.otlp_endpoint", "must be an http:// or https:// URL".into());
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
        let api = &self.api;
        if api.header_read_timeout.0 < Duration::from_millis(100) {
            return fail("api.header_read_timeout", "must be at least 100ms".into());
        }
        if api.request_timeout.0 < Duration::from_millis(100) {
            return fail("api.request_timeout", "must be at least 100ms".into());
        }
        if api.max_body_bytes < 1024 {
            return fail("api.max_body_bytes", "must be at least 1024".into());
        }
        if api.max_concurrent_requests == 0 {
            return fail("api.max_concurrent_requests", "must be at least 1".into());
        }
        if api.login_failures_per_minute == 0 || api.searches_per_minute == 0 {
            let key =
                if api.searches_per_minute == 0 { "api.searches_per_minute" } else { "api.login_failures_per_minute" };
            return fail(key, "must be at least 1".into());
        }
        if let Some(url) = &api.public_url {
            if !(url.starts_with("https://") || url.starts_with("http://")) {
                return fail("api.public_url", "must start with https:// or http://".into());
            }
        }
        for copy in &self.retention.copies {
            let names = std::iter::once(&copy.name).chain(copy.name_fr.as_ref());
            if names
                .into_iter()
                .any(|n| n.trim().is_empty() || n.chars().count() > 100 || n.chars().any(char::is_control))
            {
                return fail(
                    "retention.copies",
                    "each name must be 1 to 100 characters without control characters".into(),
                );
            }
            if copy.expires_after.0.is_zero() || copy.expires_after.0 > Duration::from_secs(10 * 366 * 86_400) {
                return fail("retention.copies", "each expires_after must be more than 0s and at most 10 years".into());
            }
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
            match (&c.label_en, &c.label_fr) {
                (None, None) => {}
                (Some(en), Some(fr)) => {
                    let label = erasure_connector::KindLabel { en: en.clone(), fr: fr.clone() };
                    if let Err((language, why)) = label.check() {
                        return fail(&format!("connectors.{name}.label_{language}"), why);
                    }
                }
                (Some(_), None) => return fail(&format!("connectors.{name}.label_fr"), "set it with label_en".into()),
                (None, Some(_)) => return fail(&format!("connectors.{name}.label_en"), "set it with label_fr".into()),
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

    /// An error about `key`, naming the file or variable that set it.
    pub fn key_error(&self, key: &str, message: String) -> ConfigError {
        key_error(key, message, &self.origins.layers, &self.origins.env)
    }
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
    merged: ::config::Config,
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
pub(crate) mod testing {
    use super::super::{ConfigError, Settings};

    /// Load `text` as the `--config` file (`prod.toml`) with `env` as the environment.
    pub(crate) fn load(text: &str, env: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let dir = std::env::temp_dir().join(format!("erasure-config-test-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("prod.toml");
        std::fs::write(&path, text).unwrap();
        let env = env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Settings::load_with_env(Some(&path), env)
    }
}

#[cfg(test)]
mod tests {
    use super::testing::load;
    use super::*;
    use serde::Deserialize;

    fn message(result: Result<Settings, ConfigError>) -> String {
        match result {
            Ok(_) => panic!("the config must be refused"),
            Err(error) => error.to_string(),
        }
    }

    #[test]
    fn the_defaults_and_the_demo_config_load() {
        let local = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/local.toml");
        let settings = Settings::load_with_env(Some(&local), BTreeMap::new()).unwrap();
        assert_eq!(settings.runner.lease.0, Duration::from_secs(60));
        assert_eq!(settings.api.tokens.len(), 1);
        assert_eq!(
            settings.enabled_instances(),
            ["accounts", "billing", "chat", "crm", "helpdesk", "logs", "shop_db", "support", "voice"]
        );
        assert_eq!(settings.connectors["support"].requests_per_second, Some(10.0));
    }

    /// The image runs `config/container.toml` with the variables its Dockerfile sets, plus the
    /// ones a user gives: it must load with no other file.
    #[test]
    fn the_image_config_loads_with_the_dockerfiles_variables() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let dockerfile = std::fs::read_to_string(root.join("Dockerfile")).unwrap();
        let image_value = |name: &str| -> String {
            let start = dockerfile.find(&format!("{name}=")).unwrap_or_else(|| panic!("the Dockerfile sets {name}"));
            dockerfile[start + name.len() + 1..].split_whitespace().next().unwrap().to_string()
        };
        let mut env: BTreeMap<String, String> = ["ERASURE__API__LISTEN", "ERASURE__PROBES__LISTEN"]
            .into_iter()
            .map(|name| (name.to_string(), image_value(name)))
            .collect();
        env.insert("ERASURE__DATABASE__URL".into(), "postgres://erasure:pw@db:5432/erasure".into());
        env.insert("ERASURE__AMQP__URLS".into(), "amqps://erasure:pw@mq1/%2f,amqps://erasure:pw@mq2/%2f".into());
        let settings = Settings::load_with_env(Some(&root.join("config/container.toml")), env).unwrap();
        assert_eq!(settings.api.listen, "0.0.0.0:8080");
        assert_eq!(settings.probes.listen.as_deref(), Some("0.0.0.0:9090"));
        assert_eq!(settings.amqp.urls.len(), 2);
        assert!(settings.intake.require_signature);
        assert_eq!(settings.intake.signing_keys[0].secret_env, "ERASURE_SIGNING_KEY");
    }

    /// deploy/kubernetes/configmap.yaml's `production.toml`, and the migration Job's overrides
    /// over it, are configurations this version loads.
    #[test]
    fn the_kubernetes_configmap_config_loads() {
        let manifest = include_str!("../../deploy/kubernetes/configmap.yaml");
        let (_, block) = manifest.split_once("production.toml: |\n").expect("the ConfigMap holds production.toml");
        let toml: String =
            block.lines().map(|l| l.strip_prefix("    ").unwrap_or(l)).map(|l| format!("{l}\n")).collect();
        let settings = load(&toml, &[]).unwrap();
        assert!(settings.database.direct_url.as_deref().is_some_and(|u| u.contains(":5432/")));
        assert_eq!(settings.api.metrics_listen.as_deref(), Some("0.0.0.0:9090"));
        assert_eq!(settings.enabled_instances(), ["accounts"]);
        let job = [
            ("ERASURE__DATABASE__URL", "postgres://erasure_migrator@postgres.db.svc:5432/erasure?sslmode=require"),
            ("ERASURE__DATABASE__PASSWORD_ENV", "ERASURE_MIGRATOR_PASSWORD"),
        ];
        let migration = load(&toml, &job).unwrap();
        assert_eq!(migration.database.password_env.as_deref(), Some("ERASURE_MIGRATOR_PASSWORD"));
        assert!(migration.database.url.starts_with("postgres://erasure_migrator@"));
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

    /// An instance's label is both languages or none, each a few words; the error names the key.
    #[test]
    fn an_instance_label_is_read_and_checked() {
        let block = "[connectors.news]\nkind = \"webhook\"\n";
        let s = load(&format!("{block}label_en = \"Newsletter\"\nlabel_fr = \"Lettre d'information\"\n"), &[]).unwrap();
        let label = s.connectors["news"].label().unwrap();
        assert_eq!((label.en.as_str(), label.fr.as_str()), ("Newsletter", "Lettre d'information"));
        assert!(load(block, &[]).unwrap().connectors["news"].label().is_none());
        let m = message(load(&format!("{block}label_en = \"Newsletter\"\n"), &[]));
        assert!(m.contains("`connectors.news.label_fr`") && m.contains("prod.toml"), "{m}");
        let m = message(load(&format!("{block}label_en = \"\"\nlabel_fr = \"Lettre\"\n"), &[]));
        assert!(m.contains("`connectors.news.label_en`"), "{m}");
    }

    #[test]
    fn expiring_copies_are_read_and_checked() {
        let s = load("[[retention.copies]]\nname = \"backups\"\nexpires_after = \"35d\"\n", &[]).unwrap();
        assert_eq!(s.retention.copies[0].expires_after.0, Duration::from_secs(35 * 86_400));
        let m = message(load("[[retention.copies]]\nname = \" \"\nexpires_after = \"35d\"\n", &[]));
        assert!(m.contains("`retention.copies`") && m.contains("prod.toml") && m.contains("1 to 100"), "{m}");
        let m = message(load("[[retention.copies]]\nname = \"backups\"\nexpires_after = \"0s\"\n", &[]));
        assert!(m.contains("`retention.copies`") && m.contains("more than 0s"), "{m}");
        let m = message(load("[[retention.copies]]\nname = \"backups\"\n", &[]));
        assert!(m.contains("expires_after"), "{m}");
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
    fn only_the_sslmodes_we_implement_are_accepted() {
        for mode in ["disable", "prefer", "require"] {
            load(&format!("[database]\nurl = \"postgres://u@db/x?sslmode={mode}\"\n"), &[]).unwrap();
        }
        let m = message(load("[database]\nurl = \"postgres://u@db/x?sslmode=verify-full\"\n", &[]));
        assert!(m.contains("`database.url`") && m.contains("verify-full") && m.contains("require"), "{m}");
    }
}
