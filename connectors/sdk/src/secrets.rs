//! Secrets handed to a connector: every `*_env` key of its config block, resolved from the
//! environment by the engine before the connector is built. They never print.

use crate::config_error::ConfigError;
use secrecy::SecretString;
use std::collections::BTreeMap;

#[derive(Default)]
pub struct Secrets(BTreeMap<String, SecretString>);

impl Secrets {
    pub fn new(values: BTreeMap<String, SecretString>) -> Self {
        Secrets(values)
    }

    /// The secret named by config key `key` (e.g. `api_token_env`).
    pub fn get(&self, key: &str) -> Result<&SecretString, ConfigError> {
        self.0.get(key).ok_or_else(|| {
            ConfigError::key(key, format!("`{key}` must name the environment variable that holds this secret"))
        })
    }

    pub fn has(&self, key: &str) -> bool {
        self.0.contains_key(key)
    }

    /// For tests: one secret.
    pub fn one(key: &str, value: &str) -> Self {
        Secrets::default().with(key, value)
    }

    pub fn with(mut self, key: &str, value: &str) -> Self {
        self.0.insert(key.to_string(), SecretString::from(value.to_string()));
        self
    }
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.0.keys()).finish()
    }
}
