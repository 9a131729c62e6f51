//! What the simulated Twilio account holds, its sids, and the JSON shapes Twilio writes it in.

use super::{Holdings, ACCOUNT_SID, DEFAULT_PAGE_SIZE};
use crate::harness::RateWindow;
use crate::index::Keys;
use chrono::{DateTime, TimeZone, Utc};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::time::Instant;

/// When a record is created unless a test says otherwise: Tue, 25 Nov 2025 09:30:00 +0000.
pub(super) fn default_created() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 11, 25, 9, 30, 0).single().expect("a valid date")
}

/// Twilio's dates: RFC 2822 in GMT, e.g. `Tue, 25 Nov 2025 09:30:00 +0000`.
pub(super) fn rfc2822(at: DateTime<Utc>) -> String {
    at.to_rfc2822()
}

/// What the simulated twilio holds. Records are keyed by a sequence number that their sid
/// carries (`CA` + 32 hex digits), which is also the order lists are paged in.
pub(crate) struct Data {
    pub(super) calls: BTreeMap<u64, CallRecord>,
    pub(super) recordings: BTreeMap<u64, RecordingRecord>,
    pub(super) transcriptions: BTreeMap<u64, TranscriptionRecord>,
    pub(super) messages: BTreeMap<u64, MessageRecord>,
    pub(super) media: BTreeMap<u64, MediaRecord>,
    pub(super) next_seq: u64,
    pub(super) page_size: usize,
    pub(super) absolute_page_uris: bool,
    pub(super) rate_limit: Option<RateWindow>,
    /// Records by the keys lists filter on (`index.rs`).
    pub(super) index: Index,
}

impl Default for Data {
    fn default() -> Self {
        Data {
            calls: BTreeMap::new(),
            recordings: BTreeMap::new(),
            transcriptions: BTreeMap::new(),
            messages: BTreeMap::new(),
            media: BTreeMap::new(),
            next_seq: 0,
            page_size: DEFAULT_PAGE_SIZE,
            absolute_page_uris: false,
            rate_limit: None,
            index: Index::default(),
        }
    }
}

pub(super) struct CallRecord {
    /// The parent leg, for a child leg (a `<Dial>`ed number): Twilio's `parent_call_sid`.
    pub(super) parent: Option<u64>,
    pub(super) from: String,
    pub(super) to: String,
    pub(super) in_progress_until: Option<Instant>,
    pub(super) deleted: bool,
    pub(super) created: DateTime<Utc>,
}

/// An SMS or MMS. A deleted message is removed with its media, as Twilio removes it.
pub(super) struct MessageRecord {
    pub(super) from: String,
    pub(super) to: String,
    pub(super) body: String,
    /// Twilio's message status: `delivered`, `received`, `queued`, `sending`, ...
    pub(super) status: String,
    pub(super) created: DateTime<Utc>,
}

impl MessageRecord {
    /// Still being sent or received: Twilio's "in-flight" statuses, before the record is final.
    pub(super) fn in_flight(&self) -> bool {
        matches!(self.status.as_str(), "accepted" | "scheduled" | "queued" | "sending" | "receiving")
    }
}

pub(super) struct MediaRecord {
    pub(super) message: u64,
    pub(super) created: DateTime<Utc>,
}

pub(super) struct RecordingRecord {
    pub(super) call: u64,
    pub(super) deleted: bool,
}

pub(super) struct TranscriptionRecord {
    pub(super) recording: u64,
}

pub(super) fn sid(prefix: &str, seq: u64) -> String {
    format!("{prefix}{seq:032x}")
}

/// The sequence number in a sid of this kind, with or without the `.json` of a path segment.
pub(super) fn parse_sid(prefix: &str, text: &str) -> Option<u64> {
    let hex = text.strip_suffix(".json").unwrap_or(text).strip_prefix(prefix)?;
    if hex.len() != 32 {
        return None;
    }
    u64::try_from(u128::from_str_radix(hex, 16).ok()?).ok()
}

/// A message's sequence number: its sid is `SM` (no media) or `MM` (with media).
pub(super) fn parse_message_sid(text: &str) -> Option<u64> {
    parse_sid("SM", text).or_else(|| parse_sid("MM", text))
}

pub(super) fn account_path() -> String {
    format!("/2010-04-01/Accounts/{ACCOUNT_SID}")
}

pub(super) fn sid_or_null(prefix: &str, seq: Option<u64>) -> Value {
    seq.map(|s| Value::from(sid(prefix, s))).unwrap_or(Value::Null)
}

impl Data {
    pub(super) fn call_status(call: &CallRecord) -> &'static str {
        match call.in_progress_until {
            Some(until) if Instant::now() < until => "in-progress",
            _ => "completed",
        }
    }

    pub(super) fn call_json(seq: u64, call: &CallRecord) -> Value {
        let sid = sid("CA", seq);
        let base = account_path();
        let date = rfc2822(call.created);
        json!({
            "sid": sid,
            "account_sid": ACCOUNT_SID,
            "parent_call_sid": sid_or_null("CA", call.parent),
            "to": call.to,
            "to_formatted": call.to,
            "from": call.from,
            "from_formatted": call.from,
            "status": Self::call_status(call),
            "direction": "outbound-api",
            "start_time": date,
            "end_time": if Self::call_status(call) == "completed" { Value::from(date.clone()) } else { Value::Null },
            "duration": "42",
            "price": "-0.01300",
            "price_unit": "USD",
            "api_version": "2010-04-01",
            "date_created": date,
            "date_updated": date,
            "uri": format!("{base}/Calls/{sid}.json"),
            "subresource_uris": {
                "recordings": format!("{base}/Calls/{sid}/Recordings.json"),
                "notifications": format!("{base}/Calls/{sid}/Notifications.json"),
            },
        })
    }

    pub(super) fn recording_json(&self, seq: u64, recording: &RecordingRecord) -> Value {
        let sid = sid("RE", seq);
        let base = account_path();
        let date = rfc2822(self.calls.get(&recording.call).map_or_else(default_created, |c| c.created));
        json!({
            "sid": sid,
            "account_sid": ACCOUNT_SID,
            "call_sid": sid_or_null("CA", Some(recording.call)),
            "conference_sid": null,
            "status": if recording.deleted { "deleted" } else { "completed" },
            "source": "RecordVerb",
            "channels": 1,
            "duration": "15",
            "price": "-0.00250",
            "price_unit": "USD",
            "error_code": null,
            "encryption_details": null,
            "api_version": "2010-04-01",
            "date_created": date,
            "date_updated": date,
            "start_time": date,
            "uri": format!("{base}/Recordings/{sid}.json"),
            "media_url": format!("https://api.twilio.com{base}/Recordings/{sid}"),
            "subresource_uris": {
                "transcriptions": format!("{base}/Recordings/{sid}/Transcriptions.json"),
                "add_on_results": format!("{base}/Recordings/{sid}/AddOnResults.json"),
            },
        })
    }

    pub(super) fn transcription_json(seq: u64, transcription: &TranscriptionRecord) -> Value {
        let sid = sid("TR", seq);
        json!({
            "sid": sid,
            "account_sid": ACCOUNT_SID,
            "recording_sid": sid_or_null("RE", Some(transcription.recording)),
            "status": "completed",
            "type": "fast",
            "transcription_text": "(simulated transcription)",
            "duration": "15",
            "price": null,
            "price_unit": "USD",
            "api_version": "2008-08-01",
            "date_created": rfc2822(default_created()),
            "date_updated": rfc2822(default_created()),
            "uri": format!("{}/Transcriptions/{sid}.json", account_path()),
        })
    }

    pub(super) fn next(&mut self) -> u64 {
        self.next_seq += 1;
        self.next_seq
    }

    pub(super) fn add_call(&mut self, from: &str, to: &str, recordings: usize, transcriptions: usize) -> u64 {
        let call = self.next();
        self.calls.insert(
            call,
            CallRecord {
                parent: None,
                from: from.to_string(),
                to: to.to_string(),
                in_progress_until: None,
                deleted: false,
                created: default_created(),
            },
        );
        self.reindex_call(call);
        for _ in 0..recordings {
            let recording = self.next();
            self.recordings.insert(recording, RecordingRecord { call, deleted: false });
            self.reindex_recording(recording);
            for _ in 0..transcriptions {
                let transcription = self.next();
                self.transcriptions.insert(transcription, TranscriptionRecord { recording });
                self.reindex_transcription(transcription);
            }
        }
        call
    }

    /// A child leg of `parent` (a number the parent `<Dial>`ed): it has no recordings of its
    /// own, since a two-leg call's recordings belong to the parent leg.
    pub(super) fn add_child_leg(&mut self, parent: u64, from: &str, to: &str) -> u64 {
        let call = self.next();
        let record = CallRecord {
            parent: Some(parent),
            from: from.to_string(),
            to: to.to_string(),
            in_progress_until: None,
            deleted: false,
            created: default_created(),
        };
        self.calls.insert(call, record);
        self.reindex_call(call);
        call
    }

    /// Calls to or from `phone` and their recordings, including the recordings of the parent
    /// leg when `phone` is on a child leg (they are the child leg's conversation too).
    pub(super) fn holdings(&self, phone: &str) -> Holdings {
        let calls: Vec<u64> =
            self.calls.iter().filter(|(_, c)| c.from == phone || c.to == phone).map(|(seq, _)| *seq).collect();
        let parents: Vec<u64> = calls.iter().filter_map(|c| self.calls[c].parent).collect();
        let recordings: Vec<(&u64, &RecordingRecord)> =
            self.recordings.iter().filter(|(_, r)| calls.contains(&r.call) || parents.contains(&r.call)).collect();
        let messages: Vec<u64> =
            self.messages.iter().filter(|(_, m)| m.from == phone || m.to == phone).map(|(seq, _)| *seq).collect();
        Holdings {
            messages: messages.len() as u64,
            message_bodies: messages.iter().filter(|m| !self.messages[m].body.is_empty()).count() as u64,
            media: self.media.values().filter(|m| messages.contains(&m.message)).count() as u64,
            calls: calls.iter().filter(|c| !self.calls[c].deleted).count() as u64,
            recordings: recordings.iter().filter(|(_, r)| !r.deleted).count() as u64,
            deleted_recordings: recordings.iter().filter(|(_, r)| r.deleted).count() as u64,
            transcriptions: self
                .transcriptions
                .values()
                .filter(|t| recordings.iter().any(|(seq, _)| **seq == t.recording))
                .count() as u64,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sids_carry_their_sequence() {
        assert_eq!(sid("CA", 7).len(), 34);
        assert_eq!(parse_sid("CA", &format!("{}.json", sid("CA", 7))), Some(7));
        assert_eq!(parse_sid("RE", &sid("CA", 7)), None);
    }
}

/// The secondary indexes of this vendor's records, kept by `index.rs`.
#[derive(Default)]
pub(crate) struct Index {
    pub(super) calls_by_number: Keys<String, u64>,
    pub(super) calls_by_parent: Keys<u64, u64>,
    pub(super) recordings_by_call: Keys<u64, u64>,
    pub(super) transcriptions_by_recording: Keys<u64, u64>,
    pub(super) messages_by_number: Keys<String, u64>,
    pub(super) media_by_message: Keys<u64, u64>,
}
