//! The `"twilio"` section of a seed file (shape in the module doc).

use super::data::Data;
use crate::seed::section;
use serde::Deserialize;
use serde_json::Value;
use std::time::{Duration, Instant};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Seed {
    #[serde(default)]
    page_size: Option<usize>,
    #[serde(default)]
    calls: Vec<SeedCall>,
    #[serde(default)]
    messages: Vec<SeedMessage>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SeedMessage {
    from: String,
    to: String,
    body: String,
    #[serde(default)]
    media: usize,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SeedCall {
    from: String,
    to: String,
    #[serde(default = "one")]
    recordings: usize,
    #[serde(default)]
    transcriptions: usize,
    #[serde(default)]
    in_progress_seconds: u64,
}

fn one() -> usize {
    1
}

/// Seed from the `"twilio"` section of a seed file (shape in the module doc).
pub(crate) fn seed_json(data: &mut Data, seed: &Value) -> Result<(), String> {
    let seed: Seed = section("twilio", seed)?;
    if let Some(size) = seed.page_size {
        data.page_size = size.max(1);
    }
    for call in seed.calls {
        let seq = data.add_call(&call.from, &call.to, call.recordings, call.transcriptions);
        if call.in_progress_seconds > 0 {
            let until = Instant::now() + Duration::from_secs(call.in_progress_seconds);
            data.calls.get_mut(&seq).expect("just added").in_progress_until = Some(until);
        }
    }
    for message in seed.messages {
        data.add_message(&message.from, &message.to, &message.body, message.media);
    }
    Ok(())
}
