//! One erase pass over the person's calls, and what it adds up to: erased, nothing, or pending
//! while calls are still in progress (they cannot be deleted before they end).

use crate::sweep::{self, Tally};
use crate::Twilio;
use erasure_connector::{Evidence, Outcome, Pending, Subject};
use serde_json::json;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Calls last 24 hours at most (Twilio's longest time limit): a call still in progress after
/// this long will not end by waiting.
const GIVE_UP_AFTER: Duration = Duration::from_secs(25 * 3600);

impl Twilio {
    /// One erase pass; `earlier` is what earlier passes of the same erasure deleted, and
    /// `waiting_since` when calls were first found in progress (Unix seconds).
    pub(crate) async fn pass(&self, subject: &Subject, earlier: &Evidence, waiting_since: Option<u64>) -> Outcome {
        let tally = match sweep::erase(&self.api, subject.phones(), self.delete_calls).await {
            Ok(tally) => tally,
            Err(failure) => return failure.into(),
        };
        tracing::debug!(
            transcriptions = tally.transcriptions,
            recordings = tally.recordings,
            calls = tally.calls,
            not_yet = tally.not_yet,
            "twilio erase pass"
        );
        let evidence = self.evidence(tally, earlier);
        if tally.not_yet > 0 {
            let now = unix_now();
            let since = waiting_since.unwrap_or(now);
            if now.saturating_sub(since) > GIVE_UP_AFTER.as_secs() {
                return Outcome::failed(format!(
                    "{} twilio call records stayed in progress for more than {} hours and cannot be deleted",
                    tally.not_yet,
                    GIVE_UP_AFTER.as_secs() / 3600
                ));
            }
            return Outcome::Pending(Pending {
                check_after: self.in_progress_check_after,
                state: json!({ "calls_in_progress": tally.not_yet, "waiting_since": since }),
                evidence,
            });
        }
        if evidence.counts.values().sum::<u64>() == 0 {
            Outcome::NothingToErase
        } else {
            Outcome::Erased(evidence)
        }
    }

    fn evidence(&self, tally: Tally, earlier: &Evidence) -> Evidence {
        let mut evidence =
            earlier.clone().count("recordings", tally.recordings).count("transcriptions", tally.transcriptions);
        if self.delete_calls {
            evidence = evidence.count("calls", tally.calls);
        }
        let account = format!("account {}", self.api.account());
        if !evidence.vendor_refs.contains(&account) {
            evidence = evidence.vendor_ref(account);
        }
        let kept = if self.delete_calls { "" } else { "call records are kept (delete_calls is off); " };
        evidence.note(format!("{kept}Twilio keeps deleted recordings' metadata for 40 days"))
    }
}

fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_secs()
}
