//! The twilio part of the simulator. (To be written: see the vendor connectors issue.)

use crate::state::State;
use axum::Router;
use std::sync::Arc;

/// What the simulated twilio holds.
#[derive(Default)]
pub(crate) struct Data {}

/// Routes at the vendor's own paths (nested under `/twilio` by the simulator).
pub(crate) fn router() -> Router<Arc<State>> {
    Router::new()
}

/// Seed from the `"twilio"` section of a seed file.
pub(crate) fn seed_json(_state: &State, _seed: &serde_json::Value) -> Result<(), String> {
    Err("the twilio simulator takes no seed yet".into())
}
