//! Zendesk Talk: call recordings and voicemails, shown on tickets as voice comments and deleted
//! per call, as Zendesk documents them.
//!
//! - A voice comment is a ticket comment of `type` `VoiceComment` whose `data` carries the call:
//!   "The id parameter should be replaced with a call ID, which you can get from the call_id
//!   property in Voice Comments"; "Recordings are stored by Talk and exposed in the corresponding
//!   ticket in a voice comment" (developer.zendesk.com/api-reference/voice/talk-api/recordings/).
//!   The simulator writes `data.call_id`, `data.recording_url` and `data.recording_type`.
//! - `DELETE /api/v2/channels/voice/calls/{call_id}/recordings`: "Allowed For: Admins"; "Two
//!   recordings can be associated to the same call ID. This endpoint deletes all recordings
//!   associated with the call ID" (same page, Delete Recording). A caller that is not an admin
//!   gets 403. The success status is not shown in the documentation we could read: the simulator
//!   answers 204 No Content, and the connector accepts any 2xx.
//! - A call Zendesk does not know, or whose recordings are already deleted: not documented; the
//!   simulator answers 404 `RecordNotFound`, as for every Zendesk record.

use super::data::Data;
use super::help_center::{forbidden, no_content};
use super::routes::{not_found, Answer};
use super::Zendesk;
use serde_json::json;

impl Zendesk<'_> {
    /// A voice comment by `author` on `ticket` for a new call with these recordings (`call`,
    /// `voicemail`); returns the call id.
    pub fn voice_comment(&self, ticket: u64, author: u64, recordings: &[&str]) -> u64 {
        self.with(|d| d.add_voice_comment(ticket, author, recordings))
    }

    /// The recordings Talk still stores for `call`.
    pub fn recordings(&self, call: u64) -> Vec<String> {
        self.with(|d| d.talk.recordings.get(&call).cloned().unwrap_or_default())
    }
}

impl Data {
    pub(super) fn add_voice_comment(&mut self, ticket: u64, author: u64, recordings: &[&str]) -> u64 {
        let call = self.new_id();
        let comment = self.add_comment(ticket, author, "Call from +1 555 0100 (2 min)", &[]);
        let kind = recordings.first().copied().unwrap_or("call");
        let data = json!({ "call_id": call, "from": "+15550100", "to": "+15550199", "call_duration": 120,
                           "recording_url": format!("https://sim.invalid/calls/{call}/recording"),
                           "recording_type": kind, "transcription_text": "Hello, this is about my order." });
        let ticket = self.tickets.get_mut(&ticket).expect("a simulated ticket");
        ticket.comments.iter_mut().find(|c| c.id == comment).expect("just added").voice = Some(data);
        self.talk.recordings.insert(call, recordings.iter().map(|r| r.to_string()).collect());
        call
    }

    /// The Talk paths; `None` for any other path.
    pub(super) fn talk(&mut self, method: &str, segments: &[&str]) -> Option<Answer> {
        let ["channels", "voice", "calls", call, "recordings"] = segments else { return None };
        if method != "DELETE" {
            return None;
        }
        if self.caller_role() != "admin" {
            return Some(forbidden());
        }
        let call = call.parse::<u64>().ok();
        let stored = call.and_then(|c| self.talk.recordings.get_mut(&c)).filter(|r| !r.is_empty());
        Some(match stored {
            Some(recordings) => {
                recordings.clear();
                no_content()
            }
            None => not_found(),
        })
    }
}
