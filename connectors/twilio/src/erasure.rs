//! One erase pass over the person's calls and messages, and what it adds up to: erased,
//! nothing, or pending while calls are in progress or messages in flight (Twilio deletes
//! neither before they are final).

use crate::config::MessagesMode;
use crate::messages::{self, MessageTally};
use crate::scope::{LeftAlone, Scope};
use crate::sweep::{self, Tally};
use crate::Twilio;
use erasure_connector::{Evidence, Outcome, Pending};
use serde_json::json;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Calls last 24 hours at most (Twilio's longest time limit): a call still in progress after
/// this long will not end by waiting.
const CALLS_GIVE_UP_AFTER: Duration = Duration::from_secs(25 * 3600);
/// "In rare cases, a message or call record may take up to 14 days to be finalized and able to
/// be deleted" (<https://www.twilio.com/docs/api/errors/20009>).
const MESSAGES_GIVE_UP_AFTER: Duration = Duration::from_secs(15 * 24 * 3600);

impl Twilio {
    /// One erase pass; `earlier` is what earlier passes of the same erasure did, and
    /// `waiting_since` when calls or messages were first found not final (Unix seconds).
    pub(crate) async fn pass(&self, scope: &Scope<'_>, earlier: &Evidence, waiting_since: Option<u64>) -> Outcome {
        let calls = match sweep::erase(&self.api, scope, self.delete_calls).await {
            Ok(tally) => tally,
            Err(failure) => return failure.into(),
        };
        let texts = match messages::erase(&self.api, scope, self.messages).await {
            Ok(tally) => tally,
            Err(failure) => return failure.into(),
        };
        tracing::debug!(?calls, ?texts, "twilio erase pass");
        let evidence = self.evidence(&calls, &texts, earlier);
        if calls.not_yet > 0 || texts.not_yet > 0 {
            let now = unix_now();
            let since = waiting_since.unwrap_or(now);
            let waited = now.saturating_sub(since);
            if calls.not_yet > 0 && waited > CALLS_GIVE_UP_AFTER.as_secs() {
                return Outcome::failed(format!(
                    "{} twilio call records stayed in progress for more than {} hours and cannot be deleted",
                    calls.not_yet,
                    CALLS_GIVE_UP_AFTER.as_secs() / 3600
                ));
            }
            if texts.not_yet > 0 && waited > MESSAGES_GIVE_UP_AFTER.as_secs() {
                return Outcome::failed(format!(
                    "{} twilio messages were still not final after {} days and cannot be erased",
                    texts.not_yet,
                    MESSAGES_GIVE_UP_AFTER.as_secs() / 86_400
                ));
            }
            return Outcome::Pending(Pending {
                check_after: self.in_progress_check_after,
                state: json!({
                    "calls_in_progress": calls.not_yet,
                    "messages_in_flight": texts.not_yet,
                    "waiting_since": since,
                }),
                evidence,
            });
        }
        if evidence.counts.values().sum::<u64>() == 0 {
            Outcome::NothingToErase
        } else {
            Outcome::Erased(evidence)
        }
    }

    fn evidence(&self, calls: &Tally, texts: &MessageTally, earlier: &Evidence) -> Evidence {
        let mut evidence =
            earlier.clone().count("recordings", calls.recordings).count("transcriptions", calls.transcriptions);
        if self.delete_calls {
            evidence = evidence.count("calls", calls.calls);
        }
        match self.messages {
            MessagesMode::Redact => {
                evidence = evidence.count("messages_redacted", texts.redacted).count("message_media", texts.media)
            }
            MessagesMode::Delete => {
                evidence = evidence.count("messages_deleted", texts.deleted).count("message_media", texts.media)
            }
            MessagesMode::Keep => {}
        }
        let account = format!("account {}", self.api.account());
        if !evidence.vendor_refs.contains(&account) {
            evidence = evidence.vendor_ref(account);
        }
        let left_alone = LeftAlone {
            after_request: calls.left_alone.after_request + texts.left_alone.after_request,
            other_numbers: calls.left_alone.other_numbers + texts.left_alone.other_numbers,
        };
        evidence.note(self.what_stays(left_alone))
    }

    /// What Twilio still holds after this erasure, and why, in words an auditor can check.
    fn what_stays(&self, left_alone: LeftAlone) -> String {
        let mut stays = Vec::new();
        if !self.delete_calls {
            stays.push(
                "call records are kept (delete_calls is off): both numbers, times, duration and price stay at Twilio"
                    .to_string(),
            );
        }
        stays.push("Twilio keeps the metadata of deleted recordings (not the audio) for 40 days".into());
        if self.messages != MessagesMode::Keep {
            stays.push(
                "message records older than Twilio's Messages API window (13 months unless the account set less) are \
                 not listed by the API and stay in Twilio's archive"
                    .into(),
            );
        }
        match self.messages {
            MessagesMode::Redact => stays.push(
                "redacted messages keep their record at Twilio (both numbers, times, status and price); their text \
                 and media are deleted"
                    .into(),
            ),
            MessagesMode::Delete => stays
                .push("Twilio states that deleted message bodies may remain in its backups for up to 30 days".into()),
            MessagesMode::Keep => {
                stays.push("messages are kept (messages = keep): their text, media and numbers stay at Twilio".into())
            }
        }
        if left_alone.after_request > 0 {
            stays.push(format!(
                "{} calls or messages created after the request were not touched (the number may have changed hands)",
                left_alone.after_request
            ));
        }
        if left_alone.other_numbers > 0 {
            stays.push(format!(
                "{} calls or messages with numbers other than own_numbers were not touched",
                left_alone.other_numbers
            ));
        }
        stays.join("; ")
    }
}

fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_secs()
}
