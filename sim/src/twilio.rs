//! The twilio part of the simulator: Twilio's REST API 2010-04-01 as the twilio connector uses
//! it (calls, recordings, transcriptions), at Twilio's own paths under `/2010-04-01/Accounts/{AC}`.
//!
//! - Auth: HTTP Basic, `Sim::TWILIO_ACCOUNT_SID` with `Sim::TWILIO_AUTH_TOKEN`, or the API key
//!   `Sim::TWILIO_API_KEY_SID` with `Sim::TWILIO_API_KEY_SECRET`; anything else answers 401
//!   (error 20003). A path naming another account answers 404 (error 20404).
//! - `GET Calls.json?To=&From=` (exact match), `GET Recordings.json?CallSid=&IncludeSoftDeleted=`,
//!   `GET Recordings/{RE}/Transcriptions.json`; `DELETE Calls/{CA}.json` (400, error 20009, while
//!   the call is in progress), `DELETE Recordings/{RE}.json` (a soft delete: the recording is then
//!   listed only under `IncludeSoftDeleted=true`, with `status: deleted`),
//!   `DELETE Transcriptions/{TR}.json` and `DELETE Recordings/{RE}/Transcriptions/{TR}.json`.
//!   Deleting a recording leaves its transcriptions, and deleting a call leaves its recordings.
//! - Lists are paged as Twilio pages them: `PageSize` (capped at the simulator's page size, 5
//!   unless `Sim::twilio_set_page_size` says otherwise) and a `next_page_uri` holding a
//!   `PageToken` cursor, relative to the API root as Twilio answers; the spec says `format: uri`,
//!   so `Sim::twilio_set_absolute_page_uris(true)` makes them absolute for a spec-checking proxy.
//! - Errors are Twilio's JSON (`code`, `message`, `more_info`, `status`). A 429 (error 20429)
//!   carries no `Retry-After`, as Twilio's do, unless an injected `Fault::Throttle` gives one;
//!   `Sim::twilio_set_rate_limit` answers 429 past a number of calls per window.
//!
//! Seed (the `"twilio"` section of a seed file); each call gets `recordings` recordings (default
//! 1), each with `transcriptions` transcriptions (default 0), and stays in progress for
//! `in_progress_seconds` (default 0):
//!
//! ```json
//! { "page_size": 5,
//!   "calls": [{ "from": "+14155550100", "to": "+33612345678", "recordings": 2, "transcriptions": 1 }] }
//! ```

use crate::state::{Fault, State};
use axum::extract::{Path, Query, State as AxumState};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

const SYSTEM: &str = "twilio";
const ACCOUNT_SID: &str = "AC0123456789abcdef0123456789abcdef";
const AUTH_TOKEN: &str = "sim-token";
const API_KEY_SID: &str = "SKfedcba9876543210fedcba9876543210";
const API_KEY_SECRET: &str = "sim-key-secret";
const DEFAULT_PAGE_SIZE: usize = 5;
/// Every record's dates: the simulator does not age its records.
const DATE: &str = "Tue, 25 Nov 2025 09:30:00 +0000";

/// What the simulated twilio holds. Records are keyed by a sequence number that their sid
/// carries (`CA` + 32 hex digits), which is also the order lists are paged in.
pub(crate) struct Data {
    calls: BTreeMap<u64, CallRecord>,
    recordings: BTreeMap<u64, RecordingRecord>,
    transcriptions: BTreeMap<u64, TranscriptionRecord>,
    next_seq: u64,
    page_size: usize,
    absolute_page_uris: bool,
    rate_limit: Option<(u32, Duration)>,
    window: Option<(Instant, u32)>,
}

impl Default for Data {
    fn default() -> Self {
        Data {
            calls: BTreeMap::new(),
            recordings: BTreeMap::new(),
            transcriptions: BTreeMap::new(),
            next_seq: 0,
            page_size: DEFAULT_PAGE_SIZE,
            absolute_page_uris: false,
            rate_limit: None,
            window: None,
        }
    }
}

struct CallRecord {
    from: String,
    to: String,
    in_progress_until: Option<Instant>,
    deleted: bool,
}

struct RecordingRecord {
    call: u64,
    deleted: bool,
}

struct TranscriptionRecord {
    recording: u64,
}

/// What the simulated twilio holds about one phone number (calls to or from it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TwilioHoldings {
    /// Call records not deleted.
    pub calls: u64,
    /// Recordings not deleted.
    pub recordings: u64,
    /// Soft-deleted recordings (still listed under `IncludeSoftDeleted=true`).
    pub deleted_recordings: u64,
    pub transcriptions: u64,
}

/// What one list endpoint lists: its JSON key, its sids' prefix, its path after the account, the
/// query filters its page URIs repeat, and the matching records.
struct Listing<'a> {
    key: &'a str,
    prefix: &'a str,
    path: String,
    filters: Vec<(&'a str, Option<&'a String>)>,
    items: Vec<(u64, Value)>,
}

/// An answer before it becomes a response.
struct Answer {
    status: u16,
    body: Option<Value>,
    retry_after: Option<u64>,
}

impl Answer {
    fn json(body: Value) -> Answer {
        Answer { status: 200, body: Some(body), retry_after: None }
    }

    fn deleted() -> Answer {
        Answer { status: 204, body: None, retry_after: None }
    }

    /// Twilio's error body. Messages name no identifier, as Twilio's generic ones do not.
    fn error(status: u16, code: u32, message: &str) -> Answer {
        let body = json!({
            "code": code,
            "message": message,
            "more_info": format!("https://www.twilio.com/docs/errors/{code}"),
            "status": status,
        });
        Answer { status, body: Some(body), retry_after: None }
    }

    fn not_found() -> Answer {
        Answer::error(404, 20404, "The requested resource was not found")
    }

    fn throttled(retry_after: Option<u64>) -> Answer {
        Answer { retry_after, ..Answer::error(429, 20429, "Too Many Requests") }
    }

    fn for_status(status: u16, retry_after: Option<u64>) -> Answer {
        let answer = match status {
            401 => Answer::error(401, 20003, "Authenticate"),
            404 => Answer::not_found(),
            429 => Answer::throttled(None),
            500 => Answer::error(500, 20500, "Internal Server Error"),
            503 => Answer::error(503, 20503, "Service Unavailable"),
            other => Answer::error(other, u32::from(other), "Injected fault"),
        };
        Answer { retry_after, ..answer }
    }

    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = match self.body {
            Some(body) => (status, Json(body)).into_response(),
            None => status.into_response(),
        };
        let headers = response.headers_mut();
        if let Some(secs) = self.retry_after {
            headers.insert(header::RETRY_AFTER, secs.to_string().parse().expect("digits are a header value"));
        }
        if self.status == 401 {
            headers.insert(header::WWW_AUTHENTICATE, "Basic realm=\"Twilio API\"".parse().expect("a header value"));
        }
        response
    }
}

/// Routes at the vendor's own paths (nested under `/twilio` by the simulator).
pub(crate) fn router() -> Router<Arc<State>> {
    Router::new().route("/2010-04-01/Accounts/{*rest}", any(api))
}

async fn api(
    AxumState(state): AxumState<Arc<State>>,
    method: Method,
    Path(rest): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let identifiers = ["To", "From"].iter().filter_map(|k| query.get(*k).cloned()).collect();
    let index = state.begin_call(SYSTEM, format!("{method} /2010-04-01/Accounts/{rest}"), identifiers);
    let latency = state.latency(SYSTEM);
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let mut slow = None;
    let injected = match state.take_fault(SYSTEM, index) {
        Some(Fault::Hang { millis }) => {
            tokio::time::sleep(Duration::from_millis(millis)).await;
            None
        }
        Some(Fault::SlowAnswer { millis }) => {
            slow = Some(Duration::from_millis(millis));
            None
        }
        Some(Fault::Status { status, retry_after }) => Some(Answer::for_status(status, retry_after)),
        Some(Fault::Throttle { retry_after }) => Some(Answer::throttled(retry_after)),
        None => None,
    };
    let answer = injected.unwrap_or_else(|| {
        let mut data = state.twilio.lock().expect("sim lock");
        if !authorised(&headers) {
            Answer::for_status(401, None)
        } else if data.over_rate_limit() {
            Answer::throttled(None)
        } else {
            let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("localhost");
            let origin = if data.absolute_page_uris { format!("http://{host}") } else { String::new() };
            data.serve(&method, &rest, &query, &origin)
        }
    });
    if let Some(delay) = slow {
        tokio::time::sleep(delay).await;
    }
    state.finish_call(SYSTEM, index, answer.status);
    answer.into_response()
}

fn authorised(headers: &HeaderMap) -> bool {
    let Some(given) = headers.get(header::AUTHORIZATION).and_then(|h| h.to_str().ok()) else {
        return false;
    };
    [(ACCOUNT_SID, AUTH_TOKEN), (API_KEY_SID, API_KEY_SECRET)]
        .iter()
        .any(|(user, password)| given == format!("Basic {}", base64(format!("{user}:{password}").as_bytes())))
}

fn base64(input: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in input.chunks(3) {
        let byte = |i: usize| u32::from(chunk.get(i).copied().unwrap_or(0));
        let n = byte(0) << 16 | byte(1) << 8 | byte(2);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i)) as usize & 63]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn sid(prefix: &str, seq: u64) -> String {
    format!("{prefix}{seq:032x}")
}

/// The sequence number in a sid of this kind, with or without the `.json` of a path segment.
fn parse_sid(prefix: &str, text: &str) -> Option<u64> {
    let hex = text.strip_suffix(".json").unwrap_or(text).strip_prefix(prefix)?;
    if hex.len() != 32 {
        return None;
    }
    u64::try_from(u128::from_str_radix(hex, 16).ok()?).ok()
}

/// Percent-encoding for a query string value (`+` becomes `%2B`).
fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn account_path() -> String {
    format!("/2010-04-01/Accounts/{ACCOUNT_SID}")
}

impl Data {
    fn over_rate_limit(&mut self) -> bool {
        let Some((limit, window)) = self.rate_limit else {
            return false;
        };
        let now = Instant::now();
        let (started, count) = match self.window {
            Some((started, count)) if now.duration_since(started) < window => (started, count + 1),
            _ => (now, 1),
        };
        self.window = Some((started, count));
        count > limit
    }

    fn serve(&mut self, method: &Method, rest: &str, query: &HashMap<String, String>, origin: &str) -> Answer {
        let segments: Vec<&str> = rest.split('/').collect();
        let Some((account, tail)) = segments.split_first() else {
            return Answer::not_found();
        };
        if *account != ACCOUNT_SID {
            return Answer::not_found();
        }
        match (method.as_str(), tail) {
            ("GET", ["Calls.json"]) => self.list_calls(query, origin),
            ("DELETE", ["Calls", call]) => self.delete_call(call),
            ("GET", ["Recordings.json"]) => self.list_recordings(query, origin),
            ("DELETE", ["Recordings", recording]) => self.delete_recording(recording),
            ("GET", ["Recordings", recording, "Transcriptions.json"]) => {
                self.list_transcriptions(recording, query, origin)
            }
            ("DELETE", ["Recordings", recording, "Transcriptions", transcription]) => {
                self.delete_transcription(Some(recording), transcription)
            }
            ("DELETE", ["Transcriptions", transcription]) => self.delete_transcription(None, transcription),
            _ => Answer::not_found(),
        }
    }

    fn call_status(call: &CallRecord) -> &'static str {
        match call.in_progress_until {
            Some(until) if Instant::now() < until => "in-progress",
            _ => "completed",
        }
    }

    fn call_json(seq: u64, call: &CallRecord) -> Value {
        let sid = sid("CA", seq);
        let base = account_path();
        json!({
            "sid": sid,
            "account_sid": ACCOUNT_SID,
            "parent_call_sid": null,
            "to": call.to,
            "to_formatted": call.to,
            "from": call.from,
            "from_formatted": call.from,
            "status": Self::call_status(call),
            "direction": "outbound-api",
            "start_time": DATE,
            "end_time": if Self::call_status(call) == "completed" { Value::from(DATE) } else { Value::Null },
            "duration": "42",
            "price": "-0.01300",
            "price_unit": "USD",
            "api_version": "2010-04-01",
            "date_created": DATE,
            "date_updated": DATE,
            "uri": format!("{base}/Calls/{sid}.json"),
            "subresource_uris": {
                "recordings": format!("{base}/Calls/{sid}/Recordings.json"),
                "notifications": format!("{base}/Calls/{sid}/Notifications.json"),
            },
        })
    }

    fn recording_json(&self, seq: u64, recording: &RecordingRecord) -> Value {
        let sid = sid("RE", seq);
        let base = account_path();
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
            "date_created": DATE,
            "date_updated": DATE,
            "start_time": DATE,
            "uri": format!("{base}/Recordings/{sid}.json"),
            "media_url": format!("https://api.twilio.com{base}/Recordings/{sid}"),
            "subresource_uris": {
                "transcriptions": format!("{base}/Recordings/{sid}/Transcriptions.json"),
                "add_on_results": format!("{base}/Recordings/{sid}/AddOnResults.json"),
            },
        })
    }

    fn transcription_json(seq: u64, transcription: &TranscriptionRecord) -> Value {
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
            "date_created": DATE,
            "date_updated": DATE,
            "uri": format!("{}/Transcriptions/{sid}.json", account_path()),
        })
    }

    fn list_calls(&self, query: &HashMap<String, String>, origin: &str) -> Answer {
        let to = query.get("To");
        let from = query.get("From");
        let items = self
            .calls
            .iter()
            .filter(|(_, c)| !c.deleted && to.is_none_or(|t| *t == c.to) && from.is_none_or(|f| *f == c.from))
            .map(|(seq, c)| (*seq, Self::call_json(*seq, c)))
            .collect();
        let filters = vec![("To", to), ("From", from)];
        self.page(Listing { key: "calls", prefix: "CA", path: "Calls.json".into(), filters, items }, query, origin)
    }

    fn list_recordings(&self, query: &HashMap<String, String>, origin: &str) -> Answer {
        let call = query.get("CallSid");
        let call_seq = call.map(|c| parse_sid("CA", c));
        let soft_deleted = query.get("IncludeSoftDeleted");
        let include_deleted = soft_deleted.is_some_and(|v| v.eq_ignore_ascii_case("true"));
        let items = self
            .recordings
            .iter()
            .filter(|(_, r)| call_seq.is_none_or(|c| c == Some(r.call)) && (include_deleted || !r.deleted))
            .map(|(seq, r)| (*seq, self.recording_json(*seq, r)))
            .collect();
        let filters = vec![("CallSid", call), ("IncludeSoftDeleted", soft_deleted)];
        let listing = Listing { key: "recordings", prefix: "RE", path: "Recordings.json".into(), filters, items };
        self.page(listing, query, origin)
    }

    fn list_transcriptions(&self, recording: &str, query: &HashMap<String, String>, origin: &str) -> Answer {
        let Some(recording_seq) = parse_sid("RE", recording).filter(|r| self.recordings.contains_key(r)) else {
            return Answer::not_found();
        };
        let items = self
            .transcriptions
            .iter()
            .filter(|(_, t)| t.recording == recording_seq)
            .map(|(seq, t)| (*seq, Self::transcription_json(*seq, t)))
            .collect();
        let path = format!("Recordings/{recording}/Transcriptions.json");
        self.page(Listing { key: "transcriptions", prefix: "TR", path, filters: Vec::new(), items }, query, origin)
    }

    /// One page of `listing.items` (in sequence order) after the `PageToken` cursor, with
    /// Twilio's paging fields.
    fn page(&self, listing: Listing<'_>, query: &HashMap<String, String>, origin: &str) -> Answer {
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
                listing.filters.iter().filter_map(|(k, v)| v.map(|v| format!("{k}={}", encode(v)))).collect();
            params.push(format!("PageSize={size}"));
            params.push(format!("Page={page}"));
            if let Some(token) = token {
                params.push(format!("PageToken={}", encode(token)));
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

    fn delete_call(&mut self, call: &str) -> Answer {
        let Some(call) = parse_sid("CA", call).and_then(|seq| self.calls.get_mut(&seq)).filter(|c| !c.deleted) else {
            return Answer::not_found();
        };
        if Self::call_status(call) == "in-progress" {
            return Answer::error(400, 20009, "Cannot delete a call that is in progress");
        }
        call.deleted = true;
        Answer::deleted()
    }

    fn delete_recording(&mut self, recording: &str) -> Answer {
        match parse_sid("RE", recording).and_then(|seq| self.recordings.get_mut(&seq)).filter(|r| !r.deleted) {
            Some(recording) => {
                recording.deleted = true;
                Answer::deleted()
            }
            None => Answer::not_found(),
        }
    }

    fn delete_transcription(&mut self, recording: Option<&str>, transcription: &str) -> Answer {
        let Some(seq) = parse_sid("TR", transcription) else {
            return Answer::not_found();
        };
        let under = recording.map(|r| parse_sid("RE", r));
        match self.transcriptions.get(&seq) {
            Some(t) if under.is_none_or(|r| r == Some(t.recording)) => {
                self.transcriptions.remove(&seq);
                Answer::deleted()
            }
            _ => Answer::not_found(),
        }
    }

    fn next(&mut self) -> u64 {
        self.next_seq += 1;
        self.next_seq
    }

    fn add_call(&mut self, from: &str, to: &str, recordings: usize, transcriptions: usize) -> u64 {
        let call = self.next();
        self.calls.insert(
            call,
            CallRecord { from: from.to_string(), to: to.to_string(), in_progress_until: None, deleted: false },
        );
        for _ in 0..recordings {
            let recording = self.next();
            self.recordings.insert(recording, RecordingRecord { call, deleted: false });
            for _ in 0..transcriptions {
                let transcription = self.next();
                self.transcriptions.insert(transcription, TranscriptionRecord { recording });
            }
        }
        call
    }

    fn holdings(&self, phone: &str) -> TwilioHoldings {
        let calls: Vec<u64> =
            self.calls.iter().filter(|(_, c)| c.from == phone || c.to == phone).map(|(seq, _)| *seq).collect();
        let recordings: Vec<(&u64, &RecordingRecord)> =
            self.recordings.iter().filter(|(_, r)| calls.contains(&r.call)).collect();
        TwilioHoldings {
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

fn sid_or_null(prefix: &str, seq: Option<u64>) -> Value {
    seq.map(|s| Value::from(sid(prefix, s))).unwrap_or(Value::Null)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Seed {
    #[serde(default)]
    page_size: Option<usize>,
    #[serde(default)]
    calls: Vec<SeedCall>,
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
pub(crate) fn seed_json(state: &State, seed: &Value) -> Result<(), String> {
    let seed: Seed = serde_json::from_value(seed.clone()).map_err(|e| format!("twilio: {e}"))?;
    let mut data = state.twilio.lock().expect("sim lock");
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
    Ok(())
}

/// Test helpers for the twilio simulator.
impl crate::Sim {
    /// The simulated account (in every path, and the Basic auth user with the auth token).
    pub const TWILIO_ACCOUNT_SID: &'static str = ACCOUNT_SID;
    pub const TWILIO_AUTH_TOKEN: &'static str = AUTH_TOKEN;
    /// An API key of the account, the Basic auth user with its secret.
    pub const TWILIO_API_KEY_SID: &'static str = API_KEY_SID;
    pub const TWILIO_API_KEY_SECRET: &'static str = API_KEY_SECRET;

    /// A finished call from `from` to `to` with `recordings` recordings, each with
    /// `transcriptions` transcriptions; returns the call's sid.
    pub fn twilio_add_call(&self, from: &str, to: &str, recordings: usize, transcriptions: usize) -> String {
        sid("CA", self.state.twilio.lock().expect("sim lock").add_call(from, to, recordings, transcriptions))
    }

    /// The call stays in progress for `duration` from now: deleting it answers error 20009.
    pub fn twilio_keep_in_progress(&self, call_sid: &str, duration: Duration) {
        let mut data = self.state.twilio.lock().expect("sim lock");
        if let Some(call) = parse_sid("CA", call_sid).and_then(|seq| data.calls.get_mut(&seq)) {
            call.in_progress_until = Some(Instant::now() + duration);
        }
    }

    /// What twilio holds about calls to or from `phone`.
    pub fn twilio_holdings(&self, phone: &str) -> TwilioHoldings {
        self.state.twilio.lock().expect("sim lock").holdings(phone)
    }

    /// The most records one page lists, whatever `PageSize` asks for.
    pub fn twilio_set_page_size(&self, size: usize) {
        self.state.twilio.lock().expect("sim lock").page_size = size.max(1);
    }

    /// Answer 429 (error 20429, no `Retry-After`) past `calls` calls per `window`; `None` lifts it.
    pub fn twilio_set_rate_limit(&self, limit: Option<(u32, Duration)>) {
        let mut data = self.state.twilio.lock().expect("sim lock");
        data.rate_limit = limit;
        data.window = None;
    }

    /// Page URIs as absolute URLs (the spec's `format: uri`) instead of Twilio's relative ones.
    pub fn twilio_set_absolute_page_uris(&self, absolute: bool) {
        self.state.twilio.lock().expect("sim lock").absolute_page_uris = absolute;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_pads_like_the_standard() {
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"AC1:sim-token"), "QUMxOnNpbS10b2tlbg==");
    }

    #[test]
    fn sids_carry_their_sequence() {
        assert_eq!(sid("CA", 7).len(), 34);
        assert_eq!(parse_sid("CA", &format!("{}.json", sid("CA", 7))), Some(7));
        assert_eq!(parse_sid("RE", &sid("CA", 7)), None);
        assert_eq!(encode("+33 6"), "%2B33%206");
    }
}
