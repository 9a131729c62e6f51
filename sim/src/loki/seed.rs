//! The `"loki"` section of a seed file (shape in the module doc).

use super::{Data, DeletionMode, Labels, TENANT};
use crate::seed::section;
use serde::Deserialize;
use std::time::Duration;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Seed {
    #[serde(default)]
    tenant: Option<String>,
    #[serde(default)]
    processing_delay_ms: Option<u64>,
    #[serde(default)]
    cancel_period_ms: Option<u64>,
    /// `filter-only` or `filter-and-delete`.
    #[serde(default)]
    deletion_mode: Option<String>,
    #[serde(default)]
    max_entries: Option<usize>,
    #[serde(default)]
    streams: Vec<SeedStream>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SeedStream {
    stream: Labels,
    values: Vec<SeedValue>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum SeedValue {
    Stamped(String, String),
    Now(String),
}

/// Seed from the `"loki"` section of a seed file (shape in the module doc).
pub(crate) fn seed_json(data: &mut Data, seed: &serde_json::Value) -> Result<(), String> {
    let seed: Seed = section("loki", seed)?;
    let tenant = seed.tenant.unwrap_or_else(|| TENANT.to_string());
    if let Some(ms) = seed.processing_delay_ms {
        data.processing_delay = Duration::from_millis(ms);
    }
    if let Some(ms) = seed.cancel_period_ms {
        data.cancel_period = Duration::from_millis(ms);
    }
    match seed.deletion_mode.as_deref() {
        None => {}
        Some("filter-only") => data.deletion_mode = DeletionMode::FilterOnly,
        Some("filter-and-delete") => data.deletion_mode = DeletionMode::FilterAndDelete,
        Some(_) => return Err("loki.deletion_mode: filter-only or filter-and-delete".into()),
    }
    if let Some(max) = seed.max_entries {
        data.max_entries = max.max(1);
    }
    for stream in seed.streams {
        if stream.stream.is_empty() {
            return Err("loki: a stream needs at least one label".into());
        }
        for value in stream.values {
            let (ts, line) = match value {
                SeedValue::Stamped(ts, line) => {
                    (ts.parse::<i64>().map_err(|_| format!("loki: `{ts}` is not Unix nanoseconds"))?, line)
                }
                SeedValue::Now(line) => (data.stamp(), line),
            };
            data.push(&tenant, stream.stream.clone(), ts, &line);
        }
    }
    Ok(())
}
