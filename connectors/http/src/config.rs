//! The `[connectors.NAME]` keys of `kind = "http"`, and where the definition comes from: a
//! built-in one by name, the operator's own file, or an inline table.

use crate::builtin;
use crate::definition::Definition;
use erasure_connector::ConfigError;
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;

/// `[connectors.NAME]` keys for `kind = "http"`: `definition` (a built-in name or an inline
/// table) or `definition_file`, `base_url`, `[vars]`, and the `*_env` keys the definition's
/// `[auth]` names.
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "BTreeMap<String, Value>")]
pub struct Config {
    pub definition: Option<Value>,
    pub definition_file: Option<String>,
    pub base_url: Option<String>,
    pub vars: BTreeMap<String, String>,
}

impl TryFrom<BTreeMap<String, Value>> for Config {
    type Error = String;

    fn try_from(mut keys: BTreeMap<String, Value>) -> Result<Self, String> {
        let text = |v: Value, key: &str| match v {
            Value::String(s) => Ok(s),
            _ => Err(format!("`{key}` must be a string")),
        };
        let definition = keys.remove("definition");
        let definition_file = keys.remove("definition_file").map(|v| text(v, "definition_file")).transpose()?;
        let base_url = keys.remove("base_url").map(|v| text(v, "base_url")).transpose()?;
        let vars = match keys.remove("vars") {
            None => BTreeMap::new(),
            Some(Value::Object(map)) => map
                .into_iter()
                .map(|(k, v)| {
                    let value =
                        crate::pointer::scalar_text(&v).ok_or_else(|| format!("`vars.{k}` must be a string"))?;
                    Ok((k, value))
                })
                .collect::<Result<_, String>>()?,
            Some(_) => return Err("`vars` must be a table".into()),
        };
        if let Some(unknown) = keys.keys().find(|k| !k.ends_with("_env")) {
            return Err(format!(
                "unknown key `{unknown}` (known: definition, definition_file, base_url, vars, and *_env keys naming secrets)"
            ));
        }
        Ok(Config { definition, definition_file, base_url, vars })
    }
}

/// A definition and where it came from (named in every error about it).
pub struct Loaded {
    pub definition: Definition,
    pub origin: String,
    /// The instance key that selected it (`definition` or `definition_file`).
    pub key: &'static str,
}

impl Config {
    pub fn load(&self) -> Result<Loaded, ConfigError> {
        match (&self.definition, &self.definition_file) {
            (Some(_), Some(_)) | (None, None) => Err(ConfigError::new(
                "set exactly one of `definition` (a built-in name or an inline table) and `definition_file`",
            )),
            (Some(Value::String(name)), None) => {
                let (file, text) = builtin::get(name).ok_or_else(|| {
                    ConfigError::key(
                        "definition",
                        format!("no built-in definition `{name}`; this build has: {}", builtin::names().join(", ")),
                    )
                })?;
                parse_toml(text, file, "definition")
            }
            (Some(table @ Value::Object(_)), None) => {
                let origin = "the inline definition".to_string();
                let definition = from_json(table.clone(), &origin, "definition")?;
                Ok(Loaded { definition, origin, key: "definition" })
            }
            (Some(_), None) => Err(ConfigError::key("definition", "`definition` must be a built-in name or a table")),
            (None, Some(path)) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| ConfigError::key("definition_file", format!("cannot read `{path}`: {}", e.kind())))?;
                parse_toml(&text, path, "definition_file")
            }
        }
    }
}

/// A definition file's text, read with the key path of any error.
pub fn parse_toml(text: &str, origin: &str, key: &'static str) -> Result<Loaded, ConfigError> {
    let table: toml::Table = toml::from_str(text)
        .map_err(|e| ConfigError::key(key, format!("{origin}: not valid TOML: {}", e.message())))?;
    let json = serde_json::to_value(table).map_err(|e| ConfigError::key(key, format!("{origin}: {e}")))?;
    let definition = from_json(json, origin, key)?;
    Ok(Loaded { definition, origin: origin.to_string(), key })
}

fn from_json(value: Value, origin: &str, key: &str) -> Result<Definition, ConfigError> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let at = if path == "." { String::new() } else { format!("{path}: ") };
        ConfigError::key(key, format!("{origin}: {at}{}", e.inner()))
    })
}
