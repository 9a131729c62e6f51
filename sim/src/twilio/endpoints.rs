//! What each Twilio endpoint lists or deletes, and Twilio's paging.

use super::answer::Answer;
use super::data::{account_path, parse_sid, sid, Data};
use crate::text::percent_encode;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// What one list endpoint lists: its JSON key, its sids' prefix, its path after the account, the
/// query filters its page URIs repeat, and the matching records.
pub(super) struct Listing<'a> {
    pub(super) key: &'a str,
    pub(super) prefix: &'a str,
    pub(super) path: String,
    pub(super) filters: Vec<(&'a str, Option<&'a String>)>,
    pub(super) items: Vec<(u64, Value)>,
}

/// The records of `records` among `candidates` (`None`: all of them), in sequence order.
pub(super) fn among<'a, T>(
    records: &'a BTreeMap<u64, T>,
    candidates: Option<BTreeSet<u64>>,
) -> Box<dyn Iterator<Item = (&'a u64, &'a T)> + 'a> {
    match candidates {
        None => Box::new(records.iter()),
        Some(seqs) => Box::new(seqs.into_iter().filter_map(move |seq| records.get_key_value(&seq))),
    }
}

impl Data {
    pub(super) fn list_calls(&self, query: &HashMap<String, String>, origin: &str) -> Answer {
        let to = query.get("To");
        let from = query.get("From");
        let parent = query.get("ParentCallSid");
        let parent_seq = parent.map(|p| parse_sid("CA", p));
        let items = among(&self.calls, self.call_candidates(to, from, parent_seq))
            .filter(|(_, c)| !c.deleted && to.is_none_or(|t| *t == c.to) && from.is_none_or(|f| *f == c.from))
            .filter(|(_, c)| parent_seq.is_none_or(|p| p.is_some() && p == c.parent))
            .map(|(seq, c)| (*seq, Self::call_json(*seq, c)))
            .collect();
        let filters = vec![("To", to), ("From", from), ("ParentCallSid", parent)];
        self.page(Listing { key: "calls", prefix: "CA", path: "Calls.json".into(), filters, items }, query, origin)
    }

    pub(super) fn list_recordings(&self, query: &HashMap<String, String>, origin: &str) -> Answer {
        let call = query.get("CallSid");
        let call_seq = call.map(|c| parse_sid("CA", c));
        let soft_deleted = query.get("IncludeSoftDeleted");
        let include_deleted = soft_deleted.is_some_and(|v| v.eq_ignore_ascii_case("true"));
        let candidates = call_seq.map(|c| c.map(|c| self.recordings_of(c)).unwrap_or_default());
        let items = among(&self.recordings, candidates)
            .filter(|(_, r)| call_seq.is_none_or(|c| c == Some(r.call)) && (include_deleted || !r.deleted))
            .map(|(seq, r)| (*seq, self.recording_json(*seq, r)))
            .collect();
        let filters = vec![("CallSid", call), ("IncludeSoftDeleted", soft_deleted)];
        let listing = Listing { key: "recordings", prefix: "RE", path: "Recordings.json".into(), filters, items };
        self.page(listing, query, origin)
    }

    pub(super) fn list_transcriptions(&self, recording: &str, query: &HashMap<String, String>, origin: &str) -> Answer {
        let Some(recording_seq) = parse_sid("RE", recording).filter(|r| self.recordings.contains_key(r)) else {
            return Answer::not_found();
        };
        let items = among(&self.transcriptions, Some(self.transcriptions_of(recording_seq)))
            .filter(|(_, t)| t.recording == recording_seq)
            .map(|(seq, t)| (*seq, Self::transcription_json(*seq, t)))
            .collect();
        let path = format!("Recordings/{recording}/Transcriptions.json");
        self.page(Listing { key: "transcriptions", prefix: "TR", path, filters: Vec::new(), items }, query, origin)
    }

    /// One page of `listing.items` (in sequence order) after the `PageToken` cursor, with
    /// Twilio's paging fields.
    pub(super) fn page(&self, listing: Listing<'_>, query: &HashMap<String, String>, origin: &str) -> Answer {
        let requested = query.get("PageSize").and_then(|s| s.parse::<usize>().ok()).unwrap_or(50).clamp(1, 1000);
        let size = requested.min(self.page_size);
        let page = query.get("Page").and_then(|s| s.parse::<usize>().ok()).unwrap_or(0);
        // The token is `PA` and the sid of the last record shown.
        let after = query.get("PageToken").and_then(|t| t.strip_prefix("PA")).map(|t| parse_sid(listing.prefix, t));
        let mut rest =
            listing.items.into_iter().filter(|(seq, _)| after.is_none_or(|a| a.is_some_and(|a| *seq > a))).peekable();
        let mut shown = Vec::new();
        let mut last = None;
        while shown.len() < size {
            let Some((seq, item)) = rest.next() else { break };
            shown.push(item);
            last = Some(seq);
        }
        let uri = |page: usize, token: Option<&str>| {
            let mut params: Vec<String> =
                listing.filters.iter().filter_map(|(k, v)| v.map(|v| format!("{k}={}", percent_encode(v)))).collect();
            params.push(format!("PageSize={size}"));
            params.push(format!("Page={page}"));
            if let Some(token) = token {
                params.push(format!("PageToken={}", percent_encode(token)));
            }
            format!("{origin}{}/{}?{}", account_path(), listing.path, params.join("&"))
        };
        let next = match (rest.peek(), last) {
            (Some(_), Some(last)) => Value::from(uri(page + 1, Some(&format!("PA{}", sid(listing.prefix, last))))),
            _ => Value::Null,
        };
        let start = page * size;
        let mut body = json!({
            "first_page_uri": uri(0, None),
            "next_page_uri": next,
            "previous_page_uri": if page == 0 { Value::Null } else { Value::from(uri(page - 1, None)) },
            "uri": uri(page, query.get("PageToken").map(String::as_str)),
            "page": page,
            "page_size": size,
            "start": start,
            "end": (start + shown.len()).saturating_sub(1),
        });
        body[listing.key] = Value::Array(shown);
        Answer::json(body)
    }

    pub(super) fn delete_call(&mut self, call: &str) -> Answer {
        let Some(call) = parse_sid("CA", call).and_then(|seq| self.calls.get_mut(&seq)).filter(|c| !c.deleted) else {
            return Answer::not_found();
        };
        if Self::call_status(call) == "in-progress" {
            return Answer::error(400, 20009, "Cannot delete a call that is in progress");
        }
        call.deleted = true;
        Answer::no_content()
    }

    pub(super) fn delete_recording(&mut self, recording: &str) -> Answer {
        match parse_sid("RE", recording).and_then(|seq| self.recordings.get_mut(&seq)).filter(|r| !r.deleted) {
            Some(recording) => {
                recording.deleted = true;
                Answer::no_content()
            }
            None => Answer::not_found(),
        }
    }

    pub(super) fn delete_transcription(&mut self, recording: Option<&str>, transcription: &str) -> Answer {
        let Some(seq) = parse_sid("TR", transcription) else {
            return Answer::not_found();
        };
        let under = recording.map(|r| parse_sid("RE", r));
        match self.transcriptions.get(&seq) {
            Some(t) if under.is_none_or(|r| r == Some(t.recording)) => {
                self.transcriptions.remove(&seq);
                self.reindex_transcription(seq);
                Answer::no_content()
            }
            _ => Answer::not_found(),
        }
    }
}
