//! The account's secondary indexes (`crate::index`): calls and messages by phone number (either
//! end), calls by parent leg, recordings by call, transcriptions by recording, media by message.
//! Each `reindex_*` runs after a record is added or removed; lists still check every candidate
//! with their own filters.

use super::data::Data;
use crate::index::narrower;
use std::collections::BTreeSet;

impl Data {
    /// Index call `seq` as it now is (a deleted call stays: the lists skip it).
    pub(super) fn reindex_call(&mut self, seq: u64) {
        let call = self.calls.get(&seq);
        self.index.calls_by_number.set(&seq, call.map(|c| [c.from.clone(), c.to.clone()]).into_iter().flatten());
        self.index.calls_by_parent.set(&seq, call.and_then(|c| c.parent));
    }

    pub(super) fn reindex_recording(&mut self, seq: u64) {
        self.index.recordings_by_call.set(&seq, self.recordings.get(&seq).map(|r| r.call));
    }

    pub(super) fn reindex_transcription(&mut self, seq: u64) {
        self.index.transcriptions_by_recording.set(&seq, self.transcriptions.get(&seq).map(|t| t.recording));
    }

    pub(super) fn reindex_message(&mut self, seq: u64) {
        let message = self.messages.get(&seq);
        self.index.messages_by_number.set(&seq, message.map(|m| [m.from.clone(), m.to.clone()]).into_iter().flatten());
    }

    pub(super) fn reindex_media(&mut self, seq: u64) {
        self.index.media_by_message.set(&seq, self.media.get(&seq).map(|m| m.message));
    }

    /// The calls a list with these `To`, `From` and parent filters may show (`None`: any), in order.
    pub(super) fn call_candidates(
        &self,
        to: Option<&String>,
        from: Option<&String>,
        parent: Option<Option<u64>>,
    ) -> Option<BTreeSet<u64>> {
        let by_number = |number: Option<&String>| number.map(|n| self.index.calls_by_number.get(n).copied().collect());
        let by_parent =
            parent.map(|p| p.map(|p| self.index.calls_by_parent.get(&p).copied().collect()).unwrap_or_default());
        narrower(narrower(by_number(to), by_number(from)), by_parent)
    }

    /// The messages a list with these `To` and `From` filters may show (`None`: any), in order.
    pub(super) fn message_candidates(&self, to: Option<&String>, from: Option<&String>) -> Option<BTreeSet<u64>> {
        let by_number =
            |number: Option<&String>| number.map(|n| self.index.messages_by_number.get(n).copied().collect());
        narrower(by_number(to), by_number(from))
    }

    /// The recordings of call `call`, in order.
    pub(super) fn recordings_of(&self, call: u64) -> BTreeSet<u64> {
        self.index.recordings_by_call.get(&call).copied().collect()
    }

    /// The transcriptions of recording `recording`, in order.
    pub(super) fn transcriptions_of(&self, recording: u64) -> BTreeSet<u64> {
        self.index.transcriptions_by_recording.get(&recording).copied().collect()
    }

    /// The media of message `message`, in order.
    pub(super) fn media_of(&self, message: u64) -> BTreeSet<u64> {
        self.index.media_by_message.get(&message).copied().collect()
    }
}
