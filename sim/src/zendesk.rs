//! The zendesk part of the simulator. (To be written: see the vendor connectors issue.)

use crate::state::State;
use axum::Router;
use std::sync::Arc;

/// What the simulated zendesk holds.
#[derive(Default)]
pub(crate) struct Data {}

/// Routes at the vendor's own paths (nested under `/zendesk` by the simulator).
pub(crate) fn router() -> Router<Arc<State>> {
    Router::new()
}

/// Seed from the `"zendesk"` section of a seed file.
pub(crate) fn seed_json(_state: &State, _seed: &serde_json::Value) -> Result<(), String> {
    Err("the zendesk simulator takes no seed yet".into())
}
