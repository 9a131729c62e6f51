//! The error a connector's constructor returns when its instance's options are wrong.

use std::fmt;

/// "This instance's options are wrong": the key at fault when there is one (e.g. `base_url`,
/// relative to the instance's `[connectors.NAME]` block) and a sentence saying what is wrong.
/// The engine adds the block's name and where it was set. The message never repeats a secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub key: Option<String>,
    pub message: String,
}

impl ConfigError {
    /// An error about the instance's options as a whole (or several keys at once).
    pub fn new(message: impl Into<String>) -> Self {
        ConfigError { key: None, message: message.into() }
    }

    /// An error about one key of the instance's block.
    pub fn key(key: &str, message: impl Into<String>) -> Self {
        ConfigError { key: Some(key.to_string()), message: message.into() }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ConfigError {}
