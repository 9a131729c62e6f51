//! What the `http` connector's tests share: an instance built from a definition, and the
//! Intercom tests' simulator and conformance mock (the same `SimMock` the Rust connector passes).

#![allow(dead_code)]

pub mod vendor;

#[path = "../../../intercom/tests/common/mod.rs"]
pub mod intercom;

use erasure_connector::{HttpClient, Secrets};
use erasure_connector_http::{Config, Http};
use serde_json::{json, Value};

/// An instance of `kind = "http"` from its `[connectors.NAME]` keys.
pub fn instance(keys: Value, secrets: Secrets, http: HttpClient) -> Result<Http, erasure_connector::ConfigError> {
    let config: Config =
        serde_json::from_value(keys).map_err(|e| erasure_connector::ConfigError::new(e.to_string()))?;
    Http::new(config, &secrets, http)
}

/// The built-in Intercom definition against `base_url`, with `token`.
pub fn intercom(base_url: &str, token: &str, http: HttpClient) -> Http {
    let keys = json!({ "definition": "intercom", "base_url": base_url, "access_token_env": "INTERCOM_TOKEN" });
    instance(keys, Secrets::one("access_token_env", token), http).expect("the intercom definition is valid")
}
