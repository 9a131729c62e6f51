//! The walk over one person's voice data: the calls to and from each of their numbers (within
//! the [`Scope`]), each call's recordings, each recording's transcriptions. `erase` deletes
//! along the way (children before parents); `count` only counts.

use crate::api::{is_sid, Api, Call, Deleted, Recording, Transcription};
use crate::scope::{LeftAlone, Scope, Verdict};
use erasure_connector::Failure;
use std::collections::BTreeSet;

/// What one erase pass deleted, and what could not be deleted yet.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Tally {
    pub transcriptions: u64,
    pub recordings: u64,
    pub calls: u64,
    /// Deletes refused with error 20009 (a call still in progress).
    pub not_yet: u64,
    pub left_alone: LeftAlone,
}

/// The person's calls and the parent legs of those that are child legs.
#[derive(Default)]
struct Calls {
    /// Calls to or from one of the person's numbers.
    own: BTreeSet<String>,
    /// Parent legs of the person's child legs that are not the person's calls themselves: a
    /// two-leg call's recordings are attached to the parent leg only.
    parents: BTreeSet<String>,
}

impl Calls {
    /// Every call whose recordings are the person's: their own, then the parent legs.
    fn with_recordings(&self) -> impl Iterator<Item = &String> {
        self.own.iter().chain(self.parents.iter().filter(|p| !self.own.contains(*p)))
    }
}

/// The calls to or from the scope's numbers that are the person's, and their parent legs.
/// Twilio filters on `To` and `From`; only calls whose number is exactly one of the subject's
/// are considered, and the scope leaves alone (and counts) those it does not admit.
async fn calls_of(api: &Api, scope: &Scope<'_>, left_alone: &mut LeftAlone) -> Result<Calls, Failure> {
    let mut sids = Calls::default();
    let mut judged = BTreeSet::new();
    for phone in scope.phones {
        for field in ["To", "From"] {
            let calls: Vec<Call> = api.list("Calls.json", "calls", &[(field, phone)], false).await?;
            for call in calls {
                let (party, other) = if field == "To" { (&call.to, &call.from) } else { (&call.from, &call.to) };
                let Some(verdict) =
                    scope.judge(phone, party.as_deref(), other.as_deref(), call.date_created.as_deref())
                else {
                    continue;
                };
                let sid = checked("CA", call.sid)?;
                if !judged.insert(sid.clone()) {
                    continue;
                }
                if verdict != Verdict::Theirs {
                    left_alone.add(verdict);
                    continue;
                }
                if let Some(parent) = call.parent_call_sid.filter(|p| !p.is_empty()) {
                    sids.parents.insert(checked("CA", parent)?);
                }
                sids.own.insert(sid);
            }
        }
    }
    Ok(sids)
}

/// A call's recordings, the soft-deleted ones included (their transcriptions may remain).
async fn recordings_of(api: &Api, call: &str) -> Result<Vec<Recording>, Failure> {
    let query = [("CallSid", call), ("IncludeSoftDeleted", "true")];
    let listed: Vec<Recording> = api.list("Recordings.json", "recordings", &query, false).await?;
    let mut recordings = Vec::new();
    for recording in listed.into_iter().filter(|r| r.call_sid.as_deref() == Some(call)) {
        recordings.push(Recording { sid: checked("RE", recording.sid)?, ..recording });
    }
    Ok(recordings)
}

/// A recording's transcription sids; none if Twilio no longer knows the recording.
async fn transcriptions_of(api: &Api, recording: &str) -> Result<Vec<String>, Failure> {
    let list = format!("Recordings/{recording}/Transcriptions.json");
    let listed: Vec<Transcription> = api.list(&list, "transcriptions", &[], true).await?;
    listed.into_iter().filter(|t| t.recording_sid.as_deref() == Some(recording)).map(|t| checked("TR", t.sid)).collect()
}

/// A sid from Twilio, before it enters a path or a query.
pub(crate) fn checked(prefix: &str, sid: String) -> Result<String, Failure> {
    if is_sid(prefix, &sid) {
        Ok(sid)
    } else {
        Err(Failure::permanent(format!("twilio answered a sid that is not {prefix} and 32 hex digits")))
    }
}

/// Delete every transcription and recording of the person's calls (and of the parent legs of
/// those that are child legs), then the person's calls themselves if `delete_calls` (a parent
/// leg's record is between other numbers and stays). Deleting again what is gone is harmless
/// (404 counts as gone).
pub(crate) async fn erase(api: &Api, scope: &Scope<'_>, delete_calls: bool) -> Result<Tally, Failure> {
    let mut tally = Tally::default();
    let calls = calls_of(api, scope, &mut tally.left_alone).await?;
    for call in calls.with_recordings() {
        for recording in recordings_of(api, call).await? {
            for transcription in transcriptions_of(api, &recording.sid).await? {
                record(&mut tally, api.delete(&format!("Transcriptions/{transcription}.json")).await?, |t| {
                    &mut t.transcriptions
                });
            }
            if !recording.is_deleted() {
                let deleted = api.delete(&format!("Recordings/{}.json", recording.sid)).await?;
                record(&mut tally, deleted, |t| &mut t.recordings);
            }
        }
    }
    if delete_calls {
        for call in &calls.own {
            record(&mut tally, api.delete(&format!("Calls/{call}.json")).await?, |t| &mut t.calls);
        }
    }
    Ok(tally)
}

pub(crate) fn record(tally: &mut Tally, deleted: Deleted, counter: impl FnOnce(&mut Tally) -> &mut u64) {
    match deleted {
        Deleted::Now => *counter(tally) += 1,
        Deleted::AlreadyGone => {}
        Deleted::NotYet => tally.not_yet += 1,
    }
}

/// How many of the person's records Twilio still holds: recordings not deleted,
/// transcriptions, and the calls themselves when `with_calls`.
pub(crate) async fn count(api: &Api, scope: &Scope<'_>, with_calls: bool) -> Result<u64, Failure> {
    let calls = calls_of(api, scope, &mut LeftAlone::default()).await?;
    let mut n = u64::from(with_calls) * calls.own.len() as u64;
    for call in calls.with_recordings() {
        for recording in recordings_of(api, call).await? {
            n += u64::from(!recording.is_deleted());
            n += transcriptions_of(api, &recording.sid).await?.len() as u64;
        }
    }
    Ok(n)
}
