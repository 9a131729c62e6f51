//! Grafana Loki as the simulator plays it: log lines per stream label set, the compactor's delete
//! API (requests that are `received`, then processed shard by shard, removing matching lines) and
//! `query_range`.
//!
//! Paths (under `/loki`, or at the root of a port with `Sim::serve_vendor_at_root`):
//!
//! - `POST|PUT /loki/api/v1/delete?query=&start=&end=&max_interval=` -> 204. `start` is Unix
//!   seconds (10 digits), `end` defaults to now and may not be in the future. A request whose query
//!   has line filters is split into shards of `max_interval` (at most the server's
//!   `delete_max_interval`, 24h unless set); its shards are processed one after another over the
//!   processing delay (200 ms unless set), each removing the matching lines of its time range.
//!   Like Loki's `filter-and-delete` mode, queries stop showing what a received request matches.
//! - `GET /loki/api/v1/delete` -> `[{"request_id", "start_time", "end_time", "query", "status",
//!   "created_at"}]` (times in Unix seconds), oldest first; `status` is `received`, `processed` or
//!   `N% Complete`. Cancelled requests are not listed.
//! - `GET /loki/api/v1/query_range?query=&start=&end=&limit=&direction=` -> `{"status": "success",
//!   "data": {"resultType": "streams", "result": [{"stream": {labels}, "values": [["<ns>", line]]}]}}`
//!   with at most `limit` lines (100 unless given) over `[start, end)`, newest first unless
//!   `direction=forward`. Times are Unix nanoseconds (10 digits or fewer: seconds). A `limit` above
//!   the max entries limit (5000 unless set) or a range above `max_query_length` (721h unless set)
//!   answers 400, as Loki does.
//!
//! Every call needs `Authorization: Bearer sim-token` or Basic `sim-user:sim-password` (401
//! otherwise, unless `Sim::loki_require_auth(false)`). The tenant is `X-Scope-OrgID`, else the Basic
//! user, else the call gets 401 `no org id`; each tenant has its own lines and requests. With a rate
//! limit set, a call over the window's budget gets 429 with `Retry-After` (seconds to the window's
//! end); an injected `Fault::Throttle` answers the same 429, with `Retry-After` only when it has one.
//! Errors are plain text, like Loki's.
//!
//! LogQL, as far as the connector writes it (anything else answers 400, so a connector that drifts
//! from what is simulated fails loudly): a selector of `=`, `!=`, `=~`, `!~` matchers (regexes `.*`,
//! `.+` or literal alternatives `a|b`), then line filters `|= "text"`, `!= "text"` and
//! `|~ "pattern"`, where the pattern is a literal or the whole-token form
//! `(^|[^C])LITERAL($|[^C]|\.($|[^C]))` (C a character class, LITERAL with `\`-escaped
//! metacharacters, optionally inside `(?i:...)`). Strings are Go strings: `"..."` with `\` escapes
//! or `` `raw` ``.
//!
//! Seed (the `"loki"` section of a seed file); every key is optional:
//!
//! ```json
//! { "tenant": "sim-tenant", "processing_delay_ms": 200, "max_entries": 5000,
//!   "streams": [ { "stream": { "app": "shop" },
//!                  "values": [ ["1767225600000000000", "login user=u_123"], "a line stamped now" ] } ] }
//! ```

use crate::state::{Fault, State};
use axum::extract::{Query, State as AxumState};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const VENDOR: &str = "loki";
const TENANT: &str = "sim-tenant";
const TOKEN: &str = "sim-token";
const USER: &str = "sim-user";
const PASSWORD: &str = "sim-password";
/// Base64 of `sim-user:sim-password`.
const BASIC: &str = "c2ltLXVzZXI6c2ltLXBhc3N3b3Jk";
const NANOS_PER_MS: i64 = 1_000_000;
const HOUR: Duration = Duration::from_secs(3600);

type Labels = BTreeMap<String, String>;
type Params = HashMap<String, String>;

/// What the simulated Loki holds.
pub(crate) struct Data {
    tenants: HashMap<String, Tenant>,
    processing_delay: Duration,
    max_entries: usize,
    max_query_length: Duration,
    delete_max_interval: Duration,
    rate_limit: Option<Window>,
    require_auth: bool,
    /// Match `|~` whole-token filters as plain substrings: a vendor that reads a filter wider than
    /// it was written, for tests of the connector's own re-check.
    widen_filters: bool,
    next_request: u64,
    last_stamp: i64,
}

impl Default for Data {
    fn default() -> Self {
        Data {
            tenants: HashMap::new(),
            processing_delay: Duration::from_millis(200),
            max_entries: 5000,
            max_query_length: 721 * HOUR,
            delete_max_interval: 24 * HOUR,
            rate_limit: None,
            require_auth: true,
            widen_filters: false,
            next_request: 0,
            last_stamp: 0,
        }
    }
}

#[derive(Default)]
struct Tenant {
    /// Entries `(unix nanoseconds, line)` in arrival order, per stream.
    streams: BTreeMap<Labels, Vec<(i64, String)>>,
    /// Delete request shards, in creation order; a request is its shards with one `request_id`.
    shards: Vec<Shard>,
}

struct Shard {
    request_id: String,
    query: String,
    parsed: LogQuery,
    start_ms: i64,
    end_ms: i64,
    created_ms: i64,
    ready_at: Instant,
    processed: bool,
}

struct Window {
    calls: u32,
    length: Duration,
    started: Instant,
    used: u32,
}

/// Routes at Loki's own paths (nested under `/loki` by the simulator).
pub(crate) fn router() -> Router<Arc<State>> {
    Router::new()
        .route("/loki/api/v1/delete", get(deletes).post(deletes).put(deletes))
        .route("/loki/api/v1/query_range", get(query_range))
}

async fn deletes(
    AxumState(state): AxumState<Arc<State>>,
    method: Method,
    headers: HeaderMap,
    Query(params): Query<Params>,
) -> Response {
    let action = format!("{method} /loki/api/v1/delete");
    if method == Method::GET {
        call(&state, action, &headers, &params, |data, tenant| Json(data.tenant(tenant).list()).into_response()).await
    } else {
        call(&state, action, &headers, &params, |data, tenant| data.create(tenant, &params)).await
    }
}

async fn query_range(
    AxumState(state): AxumState<Arc<State>>,
    headers: HeaderMap,
    Query(params): Query<Params>,
) -> Response {
    let action = "GET /loki/api/v1/query_range".to_string();
    call(&state, action, &headers, &params, |data, tenant| data.query_range(tenant, &params)).await
}

/// One call: record it (with its LogQL query as the identifier), wait the latency, apply an injected
/// fault, authenticate, count it against the rate limit, then do `work` for the caller's tenant.
async fn call(
    state: &State,
    action: String,
    headers: &HeaderMap,
    params: &Params,
    work: impl FnOnce(&mut Data, &str) -> Response,
) -> Response {
    let index = state.begin_call(VENDOR, action, params.get("query").cloned().into_iter().collect());
    let latency = state.latency(VENDOR);
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let mut slow = None;
    match state.take_fault(VENDOR, index) {
        Some(Fault::Hang { millis }) => tokio::time::sleep(Duration::from_millis(millis)).await,
        Some(Fault::SlowAnswer { millis }) => slow = Some(Duration::from_millis(millis)),
        Some(Fault::Status { status, retry_after }) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            return finish(state, index, error(status, "injected fault", retry_after));
        }
        Some(Fault::Throttle { retry_after }) => {
            return finish(
                state,
                index,
                error(StatusCode::TOO_MANY_REQUESTS, "too many outstanding requests", retry_after),
            )
        }
        None => {}
    }
    let response = {
        let mut data = state.loki.lock().expect("sim lock");
        data.advance(Instant::now());
        match data.admit(headers) {
            Ok(tenant) => work(&mut data, &tenant),
            Err((status, message, retry_after)) => error(status, message, retry_after),
        }
    };
    if let Some(delay) = slow {
        tokio::time::sleep(delay).await;
    }
    finish(state, index, response)
}

fn finish(state: &State, index: usize, response: Response) -> Response {
    state.finish_call(VENDOR, index, response.status().as_u16());
    response
}

/// A plain-text error, as Loki writes them.
fn error(status: StatusCode, message: &str, retry_after: Option<u64>) -> Response {
    let mut response = (status, format!("{message}\n")).into_response();
    if let Some(secs) = retry_after {
        response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    response
}

fn bad_request(message: impl std::fmt::Display) -> Response {
    error(StatusCode::BAD_REQUEST, &message.to_string(), None)
}

impl Data {
    /// The caller's tenant, after authentication and the rate limit; `Err` with the error to answer.
    fn admit(&mut self, headers: &HeaderMap) -> Result<String, (StatusCode, &'static str, Option<u64>)> {
        let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        let basic_user = match text(header::AUTHORIZATION.as_str()) {
            Some(auth) if auth == format!("Bearer {TOKEN}") => None,
            Some(auth) if auth == format!("Basic {BASIC}") => Some(USER),
            _ if !self.require_auth => None,
            _ => return Err((StatusCode::UNAUTHORIZED, "unauthorized", None)),
        };
        let tenant = text("x-scope-orgid").filter(|t| !t.is_empty()).or(basic_user);
        let Some(tenant) = tenant else {
            return Err((StatusCode::UNAUTHORIZED, "no org id", None));
        };
        if let Some(window) = &mut self.rate_limit {
            let now = Instant::now();
            if now.duration_since(window.started) >= window.length {
                window.started = now;
                window.used = 0;
            }
            if window.used >= window.calls {
                let left = window.length.saturating_sub(now.duration_since(window.started));
                let secs = left.as_secs() + u64::from(left.subsec_nanos() > 0);
                return Err((StatusCode::TOO_MANY_REQUESTS, "too many requests", Some(secs)));
            }
            window.used += 1;
        }
        Ok(tenant.to_string())
    }

    fn tenant(&mut self, tenant: &str) -> &mut Tenant {
        self.tenants.entry(tenant.to_string()).or_default()
    }

    /// Process every shard whose time has come: its matching lines are removed.
    fn advance(&mut self, now: Instant) {
        let widen = self.widen_filters;
        for tenant in self.tenants.values_mut() {
            for shard in tenant.shards.iter_mut().filter(|s| !s.processed && s.ready_at <= now) {
                for (labels, entries) in tenant.streams.iter_mut() {
                    entries.retain(|(ts, line)| !shard.covers(labels, *ts, line, widen));
                }
                shard.processed = true;
            }
        }
    }

    /// A strictly increasing "now" in nanoseconds, so pushed lines never share a timestamp.
    fn stamp(&mut self) -> i64 {
        self.last_stamp = now_ns().max(self.last_stamp + 1);
        self.last_stamp
    }

    fn push(&mut self, tenant: &str, labels: Labels, ts: i64, line: &str) {
        let entries = self.tenant(tenant).streams.entry(labels).or_default();
        // Loki drops an entry identical to one its stream already holds.
        if !entries.iter().any(|(t, l)| *t == ts && l == line) {
            entries.push((ts, line.to_string()));
        }
    }

    /// `POST /loki/api/v1/delete`.
    fn create(&mut self, tenant: &str, params: &Params) -> Response {
        let Some(query) = params.get("query").filter(|q| !q.is_empty()) else {
            return bad_request("query not set");
        };
        let parsed = match LogQuery::parse(query) {
            Ok(parsed) => parsed,
            Err(e) => return bad_request(format!("invalid query expression: {e}")),
        };
        let Some(start) = params.get("start").filter(|s| !s.is_empty()) else {
            return bad_request("start time not set");
        };
        let Some(start_ms) = delete_time(start) else {
            return bad_request("invalid start time: require unix seconds or RFC3339 format");
        };
        let now_ms = now_ns() / NANOS_PER_MS;
        let end_ms = match params.get("end").filter(|e| !e.is_empty()) {
            None => now_ms,
            Some(end) => match delete_time(end) {
                Some(end_ms) => end_ms,
                None => return bad_request("invalid end time: require unix seconds or RFC3339 format"),
            },
        };
        if end_ms > now_ms {
            return bad_request("deletes in the future are not allowed");
        }
        if start_ms > end_ms {
            return bad_request("start time can't be greater than end time");
        }
        let span = Duration::from_millis((end_ms - start_ms) as u64);
        let mut interval = Duration::ZERO;
        if !parsed.filters.is_empty() {
            interval = match params.get("max_interval").filter(|m| !m.is_empty()) {
                None if span < Duration::from_secs(1) => {
                    return bad_request("difference between start time and end time must be at least one second")
                }
                None => span.min(self.delete_max_interval),
                Some(text) => match go_duration(text) {
                    Some(i) if i >= Duration::from_secs(1) && i <= self.delete_max_interval && i <= span => i,
                    Some(i) if i > self.delete_max_interval && i >= Duration::from_secs(1) => {
                        return bad_request(format!(
                            "max_interval can't be greater than {:?}",
                            self.delete_max_interval
                        ))
                    }
                    Some(i) if i > span => {
                        return bad_request("max_interval can't be greater than the interval to be deleted")
                    }
                    _ => return bad_request("invalid max_interval: valid time units are 's', 'm', 'h'"),
                },
            };
        }
        let mut ranges = Vec::new();
        if interval.is_zero() || interval >= span {
            ranges.push((start_ms, end_ms));
        } else {
            let step = interval.as_millis() as i64;
            let mut from = start_ms;
            while from < end_ms {
                ranges.push((from, (from + step).min(end_ms)));
                from += step;
            }
        }
        self.next_request += 1;
        let request_id = format!("{:08x}", (self.next_request.wrapping_mul(0x9e37_79b9) ^ 0x5bd1_e995) as u32);
        let created = Instant::now();
        let n = ranges.len() as u32;
        let delay = self.processing_delay;
        let shards = ranges.into_iter().enumerate().map(|(k, (start_ms, end_ms))| Shard {
            request_id: request_id.clone(),
            query: query.clone(),
            parsed: parsed.clone(),
            start_ms,
            end_ms,
            created_ms: now_ms,
            ready_at: created + delay * (k as u32 + 1) / n,
            processed: false,
        });
        self.tenant(tenant).shards.extend(shards);
        StatusCode::NO_CONTENT.into_response()
    }

    /// `GET /loki/api/v1/query_range`.
    fn query_range(&mut self, tenant: &str, params: &Params) -> Response {
        let Some(query) = params.get("query").filter(|q| !q.is_empty()) else {
            return bad_request("query not set");
        };
        let parsed = match LogQuery::parse(query) {
            Ok(parsed) => parsed,
            Err(e) => return bad_request(format!("parse error: {e}")),
        };
        let limit = match params.get("limit").map(|l| l.parse::<usize>()) {
            None => 100,
            Some(Ok(limit)) if limit > 0 => limit,
            Some(_) => return bad_request("invalid limit"),
        };
        if limit > self.max_entries {
            return bad_request(format!(
                "max entries limit per query exceeded, limit > max_entries_limit_per_query ({limit} > {})",
                self.max_entries
            ));
        }
        let now = now_ns();
        let (Some(start), Some(end)) =
            (query_time(params.get("start"), now - HOUR.as_nanos() as i64), query_time(params.get("end"), now))
        else {
            return bad_request("invalid start or end: require unix nanoseconds, seconds or RFC3339 format");
        };
        if end <= start {
            return bad_request("end timestamp must not be before or equal to start time");
        }
        let length = Duration::from_nanos((end - start) as u64);
        if length > self.max_query_length {
            return bad_request(format!(
                "the query time range exceeds the limit (query length: {length:?}, limit: {:?})",
                self.max_query_length
            ));
        }
        let forward = match params.get("direction").map(String::as_str) {
            None | Some("backward") | Some("BACKWARD") => false,
            Some("forward") | Some("FORWARD") => true,
            Some(_) => return bad_request("invalid direction"),
        };
        let widen = self.widen_filters;
        let tenant = self.tenant(tenant);
        let mut found: Vec<(i64, &Labels, &str)> = Vec::new();
        for (labels, entries) in tenant.streams.iter().filter(|(labels, _)| parsed.selects(labels)) {
            for (ts, line) in entries {
                let hidden = || tenant.shards.iter().any(|s| !s.processed && s.covers(labels, *ts, line, widen));
                if (start..end).contains(ts) && parsed.keeps(line, widen) && !hidden() {
                    found.push((*ts, labels, line));
                }
            }
        }
        found.sort_by(|a, b| if forward { a.cmp(b) } else { b.0.cmp(&a.0).then(a.1.cmp(b.1)).then(a.2.cmp(b.2)) });
        found.truncate(limit);
        let mut result: Vec<(&Labels, Vec<Value>)> = Vec::new();
        for (ts, labels, line) in found {
            match result.iter_mut().find(|(l, _)| *l == labels) {
                Some((_, values)) => values.push(json!([ts.to_string(), line])),
                None => result.push((labels, vec![json!([ts.to_string(), line])])),
            }
        }
        let result: Vec<Value> =
            result.into_iter().map(|(labels, values)| json!({ "stream": labels, "values": values })).collect();
        Json(json!({ "status": "success", "data": { "resultType": "streams", "result": result, "stats": {} } }))
            .into_response()
    }
}

impl Tenant {
    /// The delete requests as `GET /loki/api/v1/delete` lists them: shards merged per request.
    fn list(&self) -> Value {
        let mut ids: Vec<&str> = Vec::new();
        for shard in &self.shards {
            if !ids.contains(&shard.request_id.as_str()) {
                ids.push(&shard.request_id);
            }
        }
        let requests: Vec<Value> = ids
            .into_iter()
            .map(|id| {
                let shards: Vec<&Shard> = self.shards.iter().filter(|s| s.request_id == id).collect();
                let done = shards.iter().filter(|s| s.processed).count();
                let status = match done {
                    0 => "received".to_string(),
                    d if d == shards.len() => "processed".to_string(),
                    d => format!("{}% Complete", d * 100 / shards.len()),
                };
                let seconds = |ms: i64| ms as f64 / 1000.0;
                json!({
                    "request_id": id,
                    "start_time": seconds(shards.iter().map(|s| s.start_ms).min().unwrap_or(0)),
                    "end_time": seconds(shards.iter().map(|s| s.end_ms).max().unwrap_or(0)),
                    "query": shards[0].query,
                    "status": status,
                    "created_at": seconds(shards[0].created_ms),
                })
            })
            .collect();
        Value::Array(requests)
    }
}

impl Shard {
    /// Whether this shard deletes the entry.
    fn covers(&self, labels: &Labels, ts: i64, line: &str, widen: bool) -> bool {
        let ms = ts.div_euclid(NANOS_PER_MS);
        (self.start_ms..=self.end_ms).contains(&ms) && self.parsed.selects(labels) && self.parsed.keeps(line, widen)
    }
}

/// A delete request's time: Unix seconds, exactly 10 digits (RFC3339, which Loki also takes, is not
/// simulated). In milliseconds.
fn delete_time(text: &str) -> Option<i64> {
    let valid = text.len() == 10 && text.bytes().all(|b| b.is_ascii_digit());
    valid.then(|| text.parse::<i64>().ok().map(|s| s * 1000)).flatten()
}

/// A query time: Unix nanoseconds; 10 digits or fewer are seconds; with a `.`, fractional seconds.
fn query_time(text: Option<&String>, default: i64) -> Option<i64> {
    let Some(text) = text.filter(|t| !t.is_empty()) else {
        return Some(default);
    };
    if text.contains('.') {
        return text.parse::<f64>().ok().map(|s| (s * 1e9) as i64);
    }
    let n = text.parse::<i64>().ok()?;
    Some(if text.len() <= 10 { n.checked_mul(1_000_000_000)? } else { n })
}

/// A Go duration of whole `h`, `m` and `s` units, such as `24h` or `1h30m`.
fn go_duration(text: &str) -> Option<Duration> {
    let mut total = Duration::ZERO;
    let mut number = String::new();
    for c in text.chars() {
        match c {
            '0'..='9' => number.push(c),
            'h' | 'm' | 's' if !number.is_empty() => {
                let unit = match c {
                    'h' => 3600,
                    'm' => 60,
                    _ => 1,
                };
                total += Duration::from_secs(number.parse::<u64>().ok()?.checked_mul(unit)?);
                number.clear();
            }
            _ => return None,
        }
    }
    (number.is_empty() && !text.is_empty()).then_some(total)
}

fn now_ns() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_nanos() as i64
}

/// The subset of LogQL the simulator understands.
#[derive(Clone, Debug)]
struct LogQuery {
    matchers: Vec<(String, LabelTest)>,
    filters: Vec<LineFilter>,
}

#[derive(Clone, Debug)]
enum LabelTest {
    Equal(String),
    NotEqual(String),
    /// `=~`: the value is one of these (`None`: any value, `.*`; `Some(empty)`: `.+`).
    Matches(Option<Vec<String>>),
    NotMatches(Option<Vec<String>>),
}

#[derive(Clone, Debug)]
enum LineFilter {
    Contains(String),
    NotContains(String),
    Token(Token),
}

/// The whole-token form: LITERAL, neither preceded nor followed by a character of the class (a
/// `.` after it counts as punctuation when what follows the `.` is not of the class).
#[derive(Clone, Debug)]
struct Token {
    literal: Vec<char>,
    fold_case: bool,
    class: Vec<(char, char)>,
}

impl LogQuery {
    fn parse(text: &str) -> Result<LogQuery, String> {
        let mut cursor = Cursor { rest: text };
        cursor.skip_space();
        cursor.expect("{")?;
        let mut matchers = Vec::new();
        loop {
            cursor.skip_space();
            if cursor.eat("}") {
                break;
            }
            let name = cursor.label_name()?;
            cursor.skip_space();
            let op = ["=~", "!~", "!=", "="].into_iter().find(|op| cursor.eat(op)).ok_or("expected a matcher")?;
            cursor.skip_space();
            let value = cursor.string()?;
            let test = match op {
                "=" => LabelTest::Equal(value),
                "!=" => LabelTest::NotEqual(value),
                "=~" => LabelTest::Matches(label_regex(&value)?),
                _ => LabelTest::NotMatches(label_regex(&value)?),
            };
            matchers.push((name, test));
            cursor.skip_space();
            if !cursor.eat(",") {
                cursor.expect("}")?;
                break;
            }
        }
        let needs_a_value = |test: &LabelTest| match test {
            LabelTest::Equal(v) => !v.is_empty(),
            LabelTest::Matches(Some(set)) => !set.iter().any(String::is_empty),
            _ => false,
        };
        if !matchers.iter().any(|(_, test)| needs_a_value(test)) {
            return Err("queries require at least one regexp or equality matcher that does not have an \
                        empty-compatible value"
                .into());
        }
        let mut filters = Vec::new();
        loop {
            cursor.skip_space();
            if cursor.rest.is_empty() {
                break;
            }
            let op = ["|=", "!=", "|~"].into_iter().find(|op| cursor.eat(op)).ok_or("unsupported pipeline stage")?;
            cursor.skip_space();
            let value = cursor.string()?;
            filters.push(match op {
                "|=" => LineFilter::Contains(value),
                "!=" => LineFilter::NotContains(value),
                _ => line_regex(&value)?,
            });
        }
        Ok(LogQuery { matchers, filters })
    }

    fn selects(&self, labels: &Labels) -> bool {
        self.matchers.iter().all(|(name, test)| {
            let value = labels.get(name).map(String::as_str).unwrap_or("");
            let one_of = |set: &Option<Vec<String>>| match set {
                None => true,
                Some(set) if set.is_empty() => !value.is_empty(),
                Some(set) => set.iter().any(|v| v == value),
            };
            match test {
                LabelTest::Equal(v) => value == v,
                LabelTest::NotEqual(v) => value != v,
                LabelTest::Matches(set) => one_of(set),
                LabelTest::NotMatches(set) => !one_of(set),
            }
        })
    }

    fn keeps(&self, line: &str, widen: bool) -> bool {
        self.filters.iter().all(|filter| match filter {
            LineFilter::Contains(text) => line.contains(text.as_str()),
            LineFilter::NotContains(text) => !line.contains(text.as_str()),
            LineFilter::Token(token) => token.matches(line, widen),
        })
    }
}

impl Token {
    fn in_class(&self, c: char) -> bool {
        self.class.iter().any(|&(low, high)| low <= c && c <= high)
    }

    fn same(&self, a: char, b: char) -> bool {
        a == b || (self.fold_case && a.to_lowercase().eq(b.to_lowercase()))
    }

    fn matches(&self, line: &str, widen: bool) -> bool {
        let hay: Vec<char> = line.chars().collect();
        let n = self.literal.len();
        if hay.len() < n {
            return false;
        }
        (0..=hay.len() - n).any(|at| {
            let end = at + n;
            let equal = hay[at..end].iter().zip(&self.literal).all(|(&a, &b)| self.same(a, b));
            let before = at == 0 || !self.in_class(hay[at - 1]);
            let after = end == hay.len()
                || !self.in_class(hay[end])
                || (hay[end] == '.' && (end + 1 == hay.len() || !self.in_class(hay[end + 1])));
            equal && (widen || (before && after))
        })
    }
}

/// A label matcher's regex: `.*`, `.+` or literal alternatives.
fn label_regex(pattern: &str) -> Result<Option<Vec<String>>, String> {
    match pattern {
        ".*" => Ok(None),
        ".+" => Ok(Some(Vec::new())),
        _ if pattern.chars().any(|c| "\\.+*?()[]{}^$".contains(c)) => {
            Err("the simulator takes label regexes `.*`, `.+` or `a|b` only".into())
        }
        _ => Ok(Some(pattern.split('|').map(str::to_string).collect())),
    }
}

/// A `|~` pattern: a plain literal, or the whole-token form.
fn line_regex(pattern: &str) -> Result<LineFilter, String> {
    let Some(rest) = pattern.strip_prefix("(^|[^") else {
        return Ok(LineFilter::Contains(regex_literal(pattern)?));
    };
    let close = rest.find("])").ok_or("unsupported regex")?;
    let class = &rest[..close];
    let suffix = format!("($|[^{class}]|\\.($|[^{class}]))");
    let middle = rest[close + 2..].strip_suffix(suffix.as_str()).ok_or("unsupported regex")?;
    let (fold_case, literal) = match middle.strip_prefix("(?i:").and_then(|m| m.strip_suffix(')')) {
        Some(inner) => (true, inner),
        None => (false, middle),
    };
    let literal: Vec<char> = regex_literal(literal)?.chars().collect();
    if literal.is_empty() {
        return Err("empty literal".into());
    }
    Ok(LineFilter::Token(Token { literal, fold_case, class: char_class(class)? }))
}

/// A regex that is a literal: metacharacters `\`-escaped, nothing else special.
fn regex_literal(pattern: &str) -> Result<String, String> {
    let mut literal = String::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(e) if e.is_ascii_punctuation() => literal.push(e),
                _ => return Err("unsupported regex escape".into()),
            },
            c if "().+*?[]{}|^$".contains(c) => return Err("unsupported regex".into()),
            c => literal.push(c),
        }
    }
    Ok(literal)
}

/// The body of a character class: characters and `a-z` ranges.
fn char_class(body: &str) -> Result<Vec<(char, char)>, String> {
    let chars: Vec<char> = body.chars().collect();
    let mut ranges = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = match chars[i] {
            '\\' => {
                i += 1;
                *chars.get(i).ok_or("unsupported character class")?
            }
            '[' | ']' => return Err("unsupported character class".into()),
            c => c,
        };
        if chars.get(i + 1) == Some(&'-') && i + 2 < chars.len() {
            ranges.push((c, chars[i + 2]));
            i += 3;
        } else {
            ranges.push((c, c));
            i += 1;
        }
    }
    Ok(ranges)
}

struct Cursor<'a> {
    rest: &'a str,
}

impl Cursor<'_> {
    fn skip_space(&mut self) {
        self.rest = self.rest.trim_start();
    }

    fn eat(&mut self, token: &str) -> bool {
        match self.rest.strip_prefix(token) {
            Some(rest) => {
                self.rest = rest;
                true
            }
            None => false,
        }
    }

    fn expect(&mut self, token: &str) -> Result<(), String> {
        self.eat(token).then_some(()).ok_or_else(|| format!("expected `{token}`"))
    }

    fn label_name(&mut self) -> Result<String, String> {
        let end = self
            .rest
            .char_indices()
            .find(|&(i, c)| !(c == '_' || c.is_ascii_alphabetic() || (i > 0 && c.is_ascii_digit())))
            .map_or(self.rest.len(), |(i, _)| i);
        if end == 0 {
            return Err("expected a label name".into());
        }
        let (name, rest) = self.rest.split_at(end);
        self.rest = rest;
        Ok(name.to_string())
    }

    /// A Go string literal: `"..."` with escapes, or `` `raw` ``.
    fn string(&mut self) -> Result<String, String> {
        if let Some(raw) = self.rest.strip_prefix('`') {
            let end = raw.find('`').ok_or("unterminated string")?;
            self.rest = &raw[end + 1..];
            return Ok(raw[..end].to_string());
        }
        let body = self.rest.strip_prefix('"').ok_or("expected a string")?;
        let mut value = String::new();
        let mut chars = body.char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '"' => {
                    self.rest = &body[i + 1..];
                    return Ok(value);
                }
                '\\' => value.push(match chars.next().map(|(_, e)| e) {
                    Some('\\') => '\\',
                    Some('"') => '"',
                    Some('n') => '\n',
                    Some('t') => '\t',
                    Some('r') => '\r',
                    _ => return Err("unsupported escape in a string".into()),
                }),
                '\n' => return Err("newline in a string".into()),
                c => value.push(c),
            }
        }
        Err("unterminated string".into())
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Seed {
    #[serde(default)]
    tenant: Option<String>,
    #[serde(default)]
    processing_delay_ms: Option<u64>,
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
pub(crate) fn seed_json(state: &State, seed: &serde_json::Value) -> Result<(), String> {
    let seed: Seed = serde_json::from_value(seed.clone()).map_err(|e| format!("loki: {e}"))?;
    let tenant = seed.tenant.unwrap_or_else(|| TENANT.to_string());
    let mut data = state.loki.lock().expect("sim lock");
    if let Some(ms) = seed.processing_delay_ms {
        data.processing_delay = Duration::from_millis(ms);
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

fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

/// Test helpers for the simulated Loki.
impl crate::Sim {
    /// The tenant helpers and the seed use unless told otherwise.
    pub const LOKI_TENANT: &'static str = TENANT;
    /// The bearer token the simulated Loki accepts.
    pub const LOKI_TOKEN: &'static str = TOKEN;
    /// The Basic auth user and password it accepts.
    pub const LOKI_USER: &'static str = USER;
    pub const LOKI_PASSWORD: &'static str = PASSWORD;

    fn loki<T>(&self, f: impl FnOnce(&mut Data) -> T) -> T {
        let mut data = self.state.loki.lock().expect("sim lock");
        data.advance(Instant::now());
        f(&mut data)
    }

    /// Push a line to the stream `labels` of `tenant`, stamped now.
    pub fn loki_push(&self, tenant: &str, stream: &[(&str, &str)], line: &str) {
        self.loki(|data| {
            let ts = data.stamp();
            data.push(tenant, labels(stream), ts, line)
        });
    }

    /// Push a line with its own timestamp (Unix nanoseconds).
    pub fn loki_push_at(&self, tenant: &str, stream: &[(&str, &str)], unix_nanos: i64, line: &str) {
        self.loki(|data| data.push(tenant, labels(stream), unix_nanos, line));
    }

    /// Every line `tenant` still stores (deleted ones are gone), in every stream.
    pub fn loki_lines(&self, tenant: &str) -> Vec<String> {
        self.loki(|data| data.tenant(tenant).streams.values().flatten().map(|(_, line)| line.clone()).collect())
    }

    /// `tenant`'s delete requests, as `GET /loki/api/v1/delete` lists them.
    pub fn loki_delete_requests(&self, tenant: &str) -> Vec<serde_json::Value> {
        self.loki(|data| match data.tenant(tenant).list() {
            Value::Array(requests) => requests,
            _ => Vec::new(),
        })
    }

    /// Cancel every shard not yet processed, as an operator would with `DELETE ...?force=true`: a
    /// request with no processed shard is no longer listed.
    pub fn loki_cancel_delete_requests(&self, tenant: &str) {
        self.loki(|data| data.tenant(tenant).shards.retain(|s| s.processed));
    }

    /// How long a delete request takes to be processed from its creation (its shards one by one).
    pub fn loki_set_processing_delay(&self, delay: Duration) {
        self.loki(|data| data.processing_delay = delay);
    }

    /// Loki's `max_entries_limit_per_query`: the largest `limit` query_range takes.
    pub fn loki_set_max_entries(&self, max: usize) {
        self.loki(|data| data.max_entries = max.max(1));
    }

    /// Loki's `max_query_length`: the longest range query_range takes.
    pub fn loki_set_max_query_length(&self, max: Duration) {
        self.loki(|data| data.max_query_length = max);
    }

    /// The compactor's `delete_max_interval`: the longest shard of a filtered delete request.
    pub fn loki_set_delete_max_interval(&self, max: Duration) {
        self.loki(|data| data.delete_max_interval = max);
    }

    /// At most `calls` calls per `window`; `None` for no limit.
    pub fn loki_set_rate_limit(&self, limit: Option<(u32, Duration)>) {
        self.loki(|data| {
            data.rate_limit = limit.map(|(calls, length)| Window { calls, length, started: Instant::now(), used: 0 })
        });
    }

    /// Whether calls need credentials (a Loki behind no auth proxy takes any call).
    pub fn loki_require_auth(&self, required: bool) {
        self.loki(|data| data.require_auth = required);
    }

    /// Misread whole-token filters as plain substrings, as a vendor that widens a filter would.
    pub fn loki_widen_filters(&self, widen: bool) {
        self.loki(|data| data.widen_filters = widen);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PATTERN: &str = r"(^|[^A-Za-z0-9_@.+-])u_12($|[^A-Za-z0-9_@.+-]|\.($|[^A-Za-z0-9_@.+-]))";

    fn keeps(query: &str, line: &str) -> bool {
        LogQuery::parse(query).unwrap().keeps(line, false)
    }

    #[test]
    fn whole_tokens() {
        let query = format!("{{app=\"shop\"}} |~ `{PATTERN}`");
        for yes in ["u_12", "user=u_12 ok", "(u_12)", "end u_12.", "u_12. next", "u_12\nx"] {
            assert!(keeps(&query, yes), "{yes:?}");
        }
        for no in ["u_123", "xu_12", "u_12.5", "a.u_12", "u_12@x", "U_12"] {
            assert!(!keeps(&query, no), "{no:?}");
        }
    }

    #[test]
    fn folded_literals_and_escapes() {
        let query = r#"{app="shop"} |~ "(^|[^A-Za-z0-9_@.+-])(?i:a\"b\\.c@x\\.io)($|[^A-Za-z0-9_@.+-]|\\.($|[^A-Za-z0-9_@.+-]))""#;
        assert!(keeps(query, "to A\"B.C@X.io."));
        assert!(!keeps(query, "to a\"bxc@x.io"));
    }

    #[test]
    fn selectors_and_refusals() {
        let q = LogQuery::parse(r#"{app="shop", env=~"prod|eu", team!="x"}"#).unwrap();
        assert!(q.selects(&labels(&[("app", "shop"), ("env", "eu")])));
        assert!(!q.selects(&labels(&[("app", "shop"), ("env", "dev")])));
        for bad in [r#"{app=~".*"}"#, "{}", r#"{app="a"} | json"#, r#"{app="a"} |~ "a.*b""#, r#"{app="a""#] {
            assert!(LogQuery::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn times_and_durations() {
        assert_eq!(delete_time("1700000000"), Some(1_700_000_000_000));
        assert_eq!(delete_time("170000000"), None);
        assert_eq!(query_time(Some(&"1700000000".into()), 0), Some(1_700_000_000_000_000_000));
        assert_eq!(query_time(Some(&"1700000000000000001".into()), 0), Some(1_700_000_000_000_000_001));
        assert_eq!(go_duration("1h30m"), Some(Duration::from_secs(5400)));
        assert_eq!(go_duration("1d"), None);
        assert_eq!(go_duration(""), None);
    }
}
