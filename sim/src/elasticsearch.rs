//! The Elasticsearch part of the simulator: documents in indices, counted and deleted by query.
//!
//! Paths (Elasticsearch's own):
//! - `POST /{index}/_count` with `{"query": ...}` -> `{"count": N, "_shards": {...}}`.
//! - `POST /{index}/_delete_by_query?wait_for_completion=false&conflicts=proceed&refresh=true`
//!   -> `{"task": "simnode:N"}`. The task deletes the documents that matched when it started
//!   (a snapshot, as a scroll sees them), `batch_size` documents (default 5) every `batch_millis`
//!   (default 20 ms); a document changed or deleted since the snapshot is a version conflict.
//!   With `wait_for_completion=true` (Elasticsearch's default) it runs at once and answers its
//!   response.
//! - `GET /_tasks/{task_id}` -> `{"completed": bool, "task": {...}, "response": {...}}` (or
//!   `"error"`); 404 `resource_not_found_exception` for a task it does not know.
//!
//! `{index}` is a name, a pattern (`logs-*`), a comma-separated list of those (`-name` excludes),
//! `_all` or `*`; a missing concrete index is 404 `index_not_found_exception`. Queries: `bool`
//! (`must`, `filter`, `should`, `must_not`, `minimum_should_match`), `term`, `terms`, `match_all`,
//! `match_none`, all on keyword values (exact, case-sensitive). Any other query, the `q` parameter
//! and unknown parameters answer 400, so that a connector cannot lean on full-text matching.
//!
//! Credentials: `Authorization: Basic` of `elastic:sim-password`, or `Authorization: ApiKey
//! sim-api-key`; anything else is 401 `security_exception`. Errors have Elasticsearch's shape
//! (`{"error": {"root_cause", "type", "reason"}, "status"}`). An injected `Throttle` and the
//! optional rate limit (`Sim::elasticsearch_rate_limit`, N calls per window) answer 429
//! `es_rejected_execution_exception`, as a cluster whose queues are full does: with `Retry-After`
//! only when the fault carries one (Elasticsearch itself sends no hint).
//!
//! Seed (the `"elasticsearch"` section of a seed file):
//! `{"indices": {"logs-app-1": [{"user": {"email": "ana@example.com"}, "message": "login"}]},
//!   "batch_size": 5, "batch_millis": 20}`: each document is a `_source`, with nested objects or
//! dotted keys (`{"user.email": ...}`) alike.

use crate::state::{now_ms, Fault, State};
use axum::body::Bytes;
use axum::extract::{Path, Query, State as AxumState};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, MutexGuard};
use std::time::{Duration, Instant};

const VENDOR: &str = "elasticsearch";
const NODE: &str = "simnode";
const BASIC: &str = "Basic ZWxhc3RpYzpzaW0tcGFzc3dvcmQ="; // elastic:sim-password
const API_KEY: &str = "ApiKey sim-api-key";
const COUNT_PARAMS: &[&str] = &["allow_no_indices", "expand_wildcards", "ignore_unavailable", "terminate_after"];
const DELETE_PARAMS: &[&str] = &[
    "allow_no_indices",
    "conflicts",
    "expand_wildcards",
    "ignore_unavailable",
    "max_docs",
    "refresh",
    "requests_per_second",
    "scroll_size",
    "slices",
    "timeout",
    "wait_for_completion",
];
const TASK_PARAMS: &[&str] = &["timeout", "wait_for_completion"];

/// What the simulated cluster holds.
pub(crate) struct Data {
    /// Documents by index, then by id.
    indices: BTreeMap<String, BTreeMap<String, Doc>>,
    tasks: BTreeMap<u64, Task>,
    next_task: u64,
    next_seq: u64,
    batch_size: usize,
    batch_time: Duration,
    rate_limit: Option<RateLimit>,
    /// What goes wrong in the next delete-by-query task.
    next_task_trouble: Option<Trouble>,
    /// The next `_count` answers with one shard failed (and none of its documents counted).
    fail_shards_once: bool,
    /// Every admitted request: `{"action", "auth", "body"}`.
    requests: Vec<Value>,
}

impl Default for Data {
    fn default() -> Self {
        Data {
            indices: BTreeMap::new(),
            tasks: BTreeMap::new(),
            next_task: 0,
            next_seq: 0,
            batch_size: 5,
            batch_time: Duration::from_millis(20),
            rate_limit: None,
            next_task_trouble: None,
            fail_shards_once: false,
            requests: Vec::new(),
        }
    }
}

struct Doc {
    source: Value,
    seq_no: u64,
}

struct RateLimit {
    calls: u32,
    window: Duration,
    started: Instant,
    used: u32,
}

enum Trouble {
    /// The first batch's deletions fail with this status and error type; the task stops there.
    Bulk { status: u16, kind: String },
    /// The task fails as a whole.
    Error { kind: String },
}

struct Task {
    started: Instant,
    started_ms: u64,
    description: String,
    /// (index, id, seq_no) as the snapshot saw them, not yet processed.
    todo: VecDeque<(String, String, u64)>,
    total: u64,
    ticks: u32,
    batches: u64,
    deleted: u64,
    version_conflicts: u64,
    proceed: bool,
    failures: Vec<Value>,
    error: Option<Value>,
    trouble: Option<Trouble>,
    done: bool,
}

/// An Elasticsearch error answer.
struct EsError {
    status: u16,
    kind: &'static str,
    reason: String,
}

impl EsError {
    fn new(status: u16, kind: &'static str, reason: impl Into<String>) -> Self {
        EsError { status, kind, reason: reason.into() }
    }

    fn bad(reason: impl Into<String>) -> Self {
        EsError::new(400, "parsing_exception", reason)
    }
}

fn error_body(status: u16, kind: &str, reason: &str) -> Value {
    json!({
        "error": { "root_cause": [{ "type": kind, "reason": reason }], "type": kind, "reason": reason },
        "status": status,
    })
}

/// Routes at Elasticsearch's own paths (nested under `/elasticsearch` by the simulator).
pub(crate) fn router() -> Router<Arc<State>> {
    Router::new()
        .route("/{index}/_count", post(count))
        .route("/{index}/_delete_by_query", post(delete_by_query))
        .route("/_tasks/{task_id}", get(task))
}

/// Seed from the `"elasticsearch"` section of a seed file (shape in the module doc).
pub(crate) fn seed_json(state: &State, seed: &Value) -> Result<(), String> {
    let seed = seed.as_object().ok_or("elasticsearch: the seed must be an object")?;
    let mut data = state.elasticsearch.lock().expect("sim lock");
    for (key, value) in seed {
        match key.as_str() {
            "indices" => {
                let indices = value.as_object().ok_or("elasticsearch.indices must map index names to documents")?;
                for (index, docs) in indices {
                    let docs = docs.as_array().ok_or("elasticsearch.indices.* must be arrays of documents")?;
                    for doc in docs {
                        data.index(index, doc.clone());
                    }
                }
            }
            "batch_size" => {
                data.batch_size =
                    value.as_u64().filter(|n| *n > 0).ok_or("elasticsearch.batch_size: a number")? as usize
            }
            "batch_millis" => {
                data.batch_time = Duration::from_millis(value.as_u64().ok_or("elasticsearch.batch_millis: a number")?)
            }
            other => return Err(format!("elasticsearch: unknown seed key `{other}`")),
        }
    }
    Ok(())
}

/// Test helpers: what the simulated cluster holds, and trouble to make.
impl crate::Sim {
    /// Index a document (a `_source`) into `index`; returns its id.
    pub fn elasticsearch_index(&self, index: &str, source: Value) -> String {
        self.elasticsearch().index(index, source)
    }

    /// Change a document, as a concurrent writer would: a task that saw it before is in conflict.
    pub fn elasticsearch_update(&self, index: &str, id: &str) {
        let mut data = self.elasticsearch();
        data.next_seq += 1;
        let seq = data.next_seq;
        if let Some(doc) = data.indices.get_mut(index).and_then(|docs| docs.get_mut(id)) {
            doc.seq_no = seq;
        }
    }

    /// Documents in the indices `expr` names (`logs-*`) whose `field` holds exactly `value`.
    pub fn elasticsearch_matching(&self, expr: &str, field: &str, value: &str) -> u64 {
        let mut data = self.elasticsearch();
        data.advance();
        let names: Vec<String> = data.indices.keys().filter(|name| selects(expr, name)).cloned().collect();
        let query = SimQuery::Terms { field: field.into(), values: vec![value.into()] };
        data.matching(&names, &query).len() as u64
    }

    /// Every document the cluster holds.
    pub fn elasticsearch_total(&self) -> u64 {
        let mut data = self.elasticsearch();
        data.advance();
        data.indices.values().map(|docs| docs.len() as u64).sum()
    }

    /// Delete-by-query batches: `size` documents each, one batch every `every`.
    pub fn elasticsearch_set_batches(&self, size: usize, every: Duration) {
        let mut data = self.elasticsearch();
        data.batch_size = size.max(1);
        data.batch_time = every;
    }

    /// The next delete-by-query task fails its first batch: each deletion answers `status` with
    /// error type `kind` (e.g. 429 `es_rejected_execution_exception`, 403 `cluster_block_exception`).
    pub fn elasticsearch_fail_next_task(&self, status: u16, kind: &str) {
        self.elasticsearch().next_task_trouble = Some(Trouble::Bulk { status, kind: kind.into() });
    }

    /// The next delete-by-query task fails as a whole with error type `kind`.
    pub fn elasticsearch_break_next_task(&self, kind: &str) {
        self.elasticsearch().next_task_trouble = Some(Trouble::Error { kind: kind.into() });
    }

    /// The next `_count` answers with one shard failed, counting none of the documents.
    pub fn elasticsearch_fail_shards_once(&self) {
        self.elasticsearch().fail_shards_once = true;
    }

    /// Forget every task, as a cluster that lost a node (and the task's results) does.
    pub fn elasticsearch_forget_tasks(&self) {
        self.elasticsearch().tasks.clear();
    }

    /// At most `calls` calls per `window`; more answer 429 `es_rejected_execution_exception`.
    pub fn elasticsearch_rate_limit(&self, calls: u32, window: Duration) {
        self.elasticsearch().rate_limit = Some(RateLimit { calls, window, started: Instant::now(), used: 0 });
    }

    /// Every request that got past faults, rate limit and authentication, in order:
    /// `{"action": "POST /logs-*/_count", "auth": "Basic" | "ApiKey", "body": {...}}`.
    pub fn elasticsearch_requests(&self) -> Vec<Value> {
        self.elasticsearch().requests.clone()
    }

    fn elasticsearch(&self) -> MutexGuard<'_, Data> {
        self.state.elasticsearch.lock().expect("sim lock")
    }
}

impl Data {
    fn index(&mut self, index: &str, source: Value) -> String {
        self.next_seq += 1;
        let seq_no = self.next_seq;
        let id = format!("doc-{seq_no}");
        self.indices.entry(index.to_string()).or_default().insert(id.clone(), Doc { source, seq_no });
        id
    }

    /// Run every batch whose time has come.
    fn advance(&mut self) {
        let now = Instant::now();
        let Data { tasks, indices, batch_size, batch_time, .. } = self;
        for task in tasks.values_mut().filter(|t| !t.done) {
            let due = now.duration_since(task.started).as_nanos() / batch_time.as_nanos().max(1);
            while !task.done && u128::from(task.ticks) < due {
                task.ticks += 1;
                run_batch(task, indices, *batch_size);
            }
        }
    }

    /// The indices `expr` names, Elasticsearch's way.
    fn resolve(&self, expr: &str, params: &HashMap<String, String>) -> Result<Vec<String>, EsError> {
        let ignore_unavailable = flag(params, "ignore_unavailable", false)?;
        let allow_no_indices = flag(params, "allow_no_indices", true)?;
        let mut names: Vec<String> = Vec::new();
        for part in expr.split(',') {
            if let Some(excluded) = part.strip_prefix('-') {
                names.retain(|name| !glob(excluded, name));
            } else if part == "_all" || part.contains('*') {
                let pattern = if part == "_all" { "*" } else { part };
                names.extend(self.indices.keys().filter(|name| glob(pattern, name)).cloned());
            } else if self.indices.contains_key(part) {
                names.push(part.to_string());
            } else if !ignore_unavailable {
                return Err(EsError::new(404, "index_not_found_exception", format!("no such index [{part}]")));
            }
        }
        names.sort();
        names.dedup();
        if names.is_empty() && !allow_no_indices {
            return Err(EsError::new(404, "index_not_found_exception", format!("no such index [{expr}]")));
        }
        Ok(names)
    }

    fn matching(&self, names: &[String], query: &SimQuery) -> Vec<(String, String, u64)> {
        let mut found = Vec::new();
        for name in names {
            for (id, doc) in self.indices.get(name).into_iter().flatten() {
                if query.matches(&doc.source) {
                    found.push((name.clone(), id.clone(), doc.seq_no));
                }
            }
        }
        found
    }

    fn admit_rate(&mut self) -> bool {
        let Some(limit) = &mut self.rate_limit else { return true };
        if limit.started.elapsed() >= limit.window {
            limit.started = Instant::now();
            limit.used = 0;
        }
        limit.used += 1;
        limit.used <= limit.calls
    }
}

fn run_batch(task: &mut Task, indices: &mut BTreeMap<String, BTreeMap<String, Doc>>, batch_size: usize) {
    if task.todo.is_empty() {
        task.done = true;
        return;
    }
    let batch: Vec<_> = task.todo.drain(..batch_size.min(task.todo.len())).collect();
    task.batches += 1;
    match task.trouble.take() {
        Some(Trouble::Error { kind }) => {
            task.error = Some(json!({ "type": kind, "reason": "the task failed (injected)" }));
            task.done = true;
            return;
        }
        Some(Trouble::Bulk { status, kind }) => {
            for (index, id, _) in &batch {
                task.failures.push(failure(index, id, status, &kind));
            }
            task.done = true;
            return;
        }
        None => {}
    }
    for (index, id, seq_no) in &batch {
        let docs = indices.get_mut(index);
        match docs {
            Some(docs) if docs.get(id).is_some_and(|doc| doc.seq_no == *seq_no) => {
                docs.remove(id);
                task.deleted += 1;
            }
            _ => {
                task.version_conflicts += 1;
                if !task.proceed {
                    task.failures.push(failure(index, id, 409, "version_conflict_engine_exception"));
                }
            }
        }
    }
    task.done = task.todo.is_empty() || !task.failures.is_empty();
}

fn failure(index: &str, id: &str, status: u16, kind: &str) -> Value {
    json!({
        "index": index,
        "id": id,
        "status": status,
        "cause": { "type": kind, "reason": "the deletion failed", "index": index },
    })
}

impl Task {
    fn status(&self) -> Map<String, Value> {
        let status = json!({
            "total": self.total,
            "updated": 0,
            "created": 0,
            "deleted": self.deleted,
            "batches": self.batches,
            "version_conflicts": self.version_conflicts,
            "noops": 0,
            "retries": { "bulk": 0, "search": 0 },
            "throttled_millis": 0,
            "requests_per_second": -1.0,
            "throttled_until_millis": 0,
        });
        let Value::Object(status) = status else { unreachable!("a JSON object") };
        status
    }

    /// The body of a finished task's `response` (and of a synchronous delete-by-query).
    fn response(&self) -> Value {
        let mut response = self.status();
        response.insert("took".into(), json!(self.started.elapsed().as_millis() as u64));
        response.insert("timed_out".into(), json!(false));
        response.insert("throttled".into(), json!("0s"));
        response.insert("throttled_until".into(), json!("0s"));
        response.insert("failures".into(), Value::Array(self.failures.clone()));
        Value::Object(response)
    }

    fn info(&self, id: u64) -> Value {
        json!({
            "node": NODE,
            "id": id,
            "type": "transport",
            "action": "indices:data/write/delete/byquery",
            "status": self.status(),
            "description": self.description,
            "start_time_in_millis": self.started_ms,
            "running_time_in_nanos": self.started.elapsed().as_nanos() as u64,
            "cancellable": true,
            "cancelled": false,
            "headers": {},
        })
    }
}

/// A query of the subset the simulator understands.
enum SimQuery {
    All,
    None,
    Terms { field: String, values: Vec<String> },
    Bool { must: Vec<SimQuery>, must_not: Vec<SimQuery>, should: Vec<SimQuery>, minimum_should_match: usize },
}

impl SimQuery {
    fn parse(value: &Value) -> Result<SimQuery, EsError> {
        let object = value
            .as_object()
            .filter(|o| o.len() == 1)
            .ok_or_else(|| EsError::bad("a query must be an object with exactly one key (the query type)"))?;
        let (kind, body) = object.iter().next().expect("one key");
        match kind.as_str() {
            "match_all" => Ok(SimQuery::All),
            "match_none" => Ok(SimQuery::None),
            "term" => {
                let (field, value) = single_field(body, "term")?;
                let value = value.get("value").unwrap_or(value);
                Ok(SimQuery::Terms { field, values: vec![scalar(value)?] })
            }
            "terms" => {
                let (field, values) = single_field(body, "terms")?;
                let values = values
                    .as_array()
                    .ok_or_else(|| EsError::bad("[terms] takes an array of values (terms lookup is not simulated)"))?;
                let values = values.iter().map(scalar).collect::<Result<_, _>>()?;
                Ok(SimQuery::Terms { field, values })
            }
            "bool" => SimQuery::parse_bool(body),
            other => Err(EsError::bad(format!(
                "unknown query [{other}] (the simulator understands bool, term, terms, match_all, match_none)"
            ))),
        }
    }

    fn parse_bool(body: &Value) -> Result<SimQuery, EsError> {
        let object = body.as_object().ok_or_else(|| EsError::bad("[bool] must be an object"))?;
        let clauses = |key: &str| -> Result<Vec<SimQuery>, EsError> {
            match object.get(key) {
                None => Ok(Vec::new()),
                Some(Value::Array(items)) => items.iter().map(SimQuery::parse).collect(),
                Some(one) => Ok(vec![SimQuery::parse(one)?]),
            }
        };
        let mut must = clauses("must")?;
        must.extend(clauses("filter")?);
        let should = clauses("should")?;
        let minimum_should_match = match object.get("minimum_should_match") {
            None => usize::from(must.is_empty() && !should.is_empty()),
            Some(Value::Number(n)) => n.as_u64().ok_or_else(|| EsError::bad("minimum_should_match: a count"))? as usize,
            Some(Value::String(s)) => s.parse().map_err(|_| EsError::bad("minimum_should_match: a count"))?,
            Some(_) => return Err(EsError::bad("minimum_should_match: a count")),
        };
        for key in object.keys() {
            if !matches!(key.as_str(), "must" | "filter" | "should" | "must_not" | "minimum_should_match" | "boost") {
                return Err(EsError::bad(format!("[bool] query does not support [{key}]")));
            }
        }
        Ok(SimQuery::Bool { must, must_not: clauses("must_not")?, should, minimum_should_match })
    }

    fn matches(&self, source: &Value) -> bool {
        match self {
            SimQuery::All => true,
            SimQuery::None => false,
            SimQuery::Terms { field, values } => field_values(source, field).iter().any(|v| values.contains(v)),
            SimQuery::Bool { must, must_not, should, minimum_should_match } => {
                must.iter().all(|q| q.matches(source))
                    && !must_not.iter().any(|q| q.matches(source))
                    && should.iter().filter(|q| q.matches(source)).count() >= *minimum_should_match
            }
        }
    }

    /// Every value the query looks for: what the call record shows as identifiers.
    fn values(&self) -> Vec<String> {
        match self {
            SimQuery::All | SimQuery::None => Vec::new(),
            SimQuery::Terms { values, .. } => values.clone(),
            SimQuery::Bool { must, must_not, should, .. } => {
                must.iter().chain(must_not).chain(should).flat_map(SimQuery::values).collect()
            }
        }
    }
}

fn single_field<'a>(body: &'a Value, kind: &str) -> Result<(String, &'a Value), EsError> {
    let object = body.as_object().ok_or_else(|| EsError::bad(format!("[{kind}] must be an object")))?;
    let mut fields = object.iter().filter(|(k, _)| !matches!(k.as_str(), "boost" | "_name"));
    match (fields.next(), fields.next()) {
        (Some((field, value)), None) => Ok((field.clone(), value)),
        _ => Err(EsError::bad(format!("[{kind}] query takes exactly one field"))),
    }
}

fn scalar(value: &Value) -> Result<String, EsError> {
    match value {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        _ => Err(EsError::bad("a term must be a string, number or boolean")),
    }
}

/// The values at `path` in a `_source`: nested objects and dotted keys alike, arrays flattened.
fn field_values(source: &Value, path: &str) -> Vec<String> {
    let parts: Vec<&str> = path.split('.').collect();
    let mut found = Vec::new();
    collect(source, &parts, &mut found);
    found
}

fn collect(value: &Value, parts: &[&str], found: &mut Vec<String>) {
    match value {
        Value::Array(items) => items.iter().for_each(|item| collect(item, parts, found)),
        Value::Object(object) if !parts.is_empty() => {
            for split in 1..=parts.len() {
                if let Some(child) = object.get(&parts[..split].join(".")) {
                    collect(child, &parts[split..], found);
                }
            }
        }
        Value::String(_) | Value::Number(_) | Value::Bool(_) if parts.is_empty() => {
            found.extend(scalar(value).ok());
        }
        _ => {}
    }
}

/// `*` matches any run of characters; nothing else is special.
fn glob(pattern: &str, name: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == name,
        Some((head, rest)) => {
            let Some(tail) = name.strip_prefix(head) else { return false };
            (0..=tail.len()).filter(|i| tail.is_char_boundary(*i)).any(|i| glob(rest, &tail[i..]))
        }
    }
}

/// Whether an index expression (as in a path) selects `name`, ignoring exclusions.
fn selects(expr: &str, name: &str) -> bool {
    expr.split(',').any(|part| part == "_all" || glob(part, name))
}

fn flag(params: &HashMap<String, String>, key: &str, default: bool) -> Result<bool, EsError> {
    match params.get(key).map(String::as_str) {
        None => Ok(default),
        Some("" | "true") => Ok(true),
        Some("false") => Ok(false),
        Some(other) => Err(EsError::new(
            400,
            "illegal_argument_exception",
            format!("Failed to parse value [{other}] as only [true] or [false] are allowed."),
        )),
    }
}

fn check_params(params: &HashMap<String, String>, allowed: &[&str]) -> Result<(), EsError> {
    if params.contains_key("q") {
        return Err(EsError::new(400, "illegal_argument_exception", "the simulator refuses query strings (`q`)"));
    }
    match params.keys().find(|key| !allowed.contains(&key.as_str()) && key.as_str() != "pretty") {
        Some(key) => Err(EsError::new(400, "illegal_argument_exception", format!("unrecognized parameter: [{key}]"))),
        None => Ok(()),
    }
}

/// The body's `query` (absent: all documents), or why it is refused.
fn body_query(body: &[u8], required: bool) -> Result<SimQuery, EsError> {
    if body.is_empty() {
        return if required { Err(EsError::bad("request body is required")) } else { Ok(SimQuery::All) };
    }
    let value: Value = serde_json::from_slice(body).map_err(|_| EsError::bad("the body is not JSON"))?;
    let object = value.as_object().ok_or_else(|| EsError::bad("the body must be an object"))?;
    if let Some(key) = object.keys().find(|k| k.as_str() != "query") {
        return Err(EsError::bad(format!("request does not support [{key}]")));
    }
    match object.get("query") {
        Some(query) => SimQuery::parse(query),
        None if required => Err(EsError::new(400, "action_request_validation_exception", "query is missing")),
        None => Ok(SimQuery::All),
    }
}

/// A call past faults, rate limit and authentication.
struct Admitted {
    call: usize,
    slow: Option<Duration>,
}

/// Record the call, then apply latency, the next fault, the rate limit and authentication.
async fn admit(state: &State, action: String, body: &[u8], headers: &HeaderMap) -> Result<Admitted, Response> {
    let identifiers = body_query(body, false).map(|q| q.values()).unwrap_or_default();
    let call = state.begin_call(VENDOR, action.clone(), identifiers);
    let latency = state.latency(VENDOR);
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let mut slow = None;
    match state.take_fault(VENDOR, call) {
        None => {}
        Some(Fault::Hang { millis }) => tokio::time::sleep(Duration::from_millis(millis)).await,
        Some(Fault::SlowAnswer { millis }) => slow = Some(Duration::from_millis(millis)),
        Some(Fault::Throttle { retry_after }) => return Err(rejected(state, call, retry_after)),
        Some(Fault::Status { status, retry_after }) => {
            let kind = match status {
                401 | 403 => "security_exception",
                429 => "es_rejected_execution_exception",
                502..=504 => "unavailable_shards_exception",
                _ => "exception",
            };
            let mut response = error_response(state, call, EsError::new(status, kind, "injected fault"));
            if let Some(secs) = retry_after {
                response.headers_mut().insert("retry-after", HeaderValue::from(secs));
            }
            return Err(response);
        }
    }
    let auth = headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or_default();
    let mut data = state.elasticsearch.lock().expect("sim lock");
    if !data.admit_rate() {
        drop(data);
        return Err(rejected(state, call, None));
    }
    if auth != BASIC && auth != API_KEY {
        drop(data);
        let reason = if auth.is_empty() {
            "missing authentication credentials for REST request"
        } else {
            "unable to authenticate with the provided credentials"
        };
        let mut response = error_response(state, call, EsError::new(401, "security_exception", reason));
        let challenges = ["Basic realm=\"security\", charset=\"UTF-8\"", "ApiKey"];
        for challenge in challenges {
            response.headers_mut().append("www-authenticate", HeaderValue::from_static(challenge));
        }
        return Err(response);
    }
    let body: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let scheme = auth.split(' ').next().unwrap_or_default();
    data.requests.push(json!({ "action": action, "auth": scheme, "body": body }));
    Ok(Admitted { call, slow })
}

fn rejected(state: &State, call: usize, retry_after: Option<u64>) -> Response {
    let reason = "rejected execution of coordinating operation (queue capacity reached)";
    let mut response = error_response(state, call, EsError::new(429, "es_rejected_execution_exception", reason));
    if let Some(secs) = retry_after {
        response.headers_mut().insert("retry-after", HeaderValue::from(secs));
    }
    response
}

fn error_response(state: &State, call: usize, error: EsError) -> Response {
    state.finish_call(VENDOR, call, error.status);
    let status = StatusCode::from_u16(error.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, Json(error_body(error.status, error.kind, &error.reason))).into_response()
}

/// Answer an admitted call (after the `SlowAnswer` delay: the work is already done).
async fn answer(state: &State, admitted: Admitted, result: Result<Value, EsError>) -> Response {
    if let Some(delay) = admitted.slow {
        tokio::time::sleep(delay).await;
    }
    match result {
        Ok(body) => {
            state.finish_call(VENDOR, admitted.call, 200);
            Json(body).into_response()
        }
        Err(error) => error_response(state, admitted.call, error),
    }
}

/// `POST /{index}/_count`.
async fn count(
    AxumState(state): AxumState<Arc<State>>,
    Path(index): Path<String>,
    Query(params): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let admitted = match admit(&state, format!("POST /{index}/_count"), &body, &headers).await {
        Ok(admitted) => admitted,
        Err(response) => return response,
    };
    let result = (|| {
        check_params(&params, COUNT_PARAMS)?;
        let query = body_query(&body, false)?;
        let mut data = state.elasticsearch.lock().expect("sim lock");
        data.advance();
        let names = data.resolve(&index, &params)?;
        let shards = names.len().max(1);
        if std::mem::take(&mut data.fail_shards_once) {
            let failure = json!({
                "shard": 0,
                "index": names.first().cloned().unwrap_or_default(),
                "node": NODE,
                "reason": { "type": "node_not_connected_exception", "reason": "the node holding the shard left" },
            });
            let shards =
                json!({ "total": shards, "successful": shards - 1, "skipped": 0, "failed": 1, "failures": [failure] });
            return Ok(json!({ "count": 0, "_shards": shards }));
        }
        let count = data.matching(&names, &query).len();
        Ok(json!({ "count": count, "_shards": { "total": shards, "successful": shards, "skipped": 0, "failed": 0 } }))
    })();
    answer(&state, admitted, result).await
}

/// `POST /{index}/_delete_by_query`: start a task (or, with `wait_for_completion=true`, run it).
async fn delete_by_query(
    AxumState(state): AxumState<Arc<State>>,
    Path(index): Path<String>,
    Query(params): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let admitted = match admit(&state, format!("POST /{index}/_delete_by_query"), &body, &headers).await {
        Ok(admitted) => admitted,
        Err(response) => return response,
    };
    let result = (|| {
        check_params(&params, DELETE_PARAMS)?;
        let query = body_query(&body, true)?;
        let wait = flag(&params, "wait_for_completion", true)?;
        flag(&params, "refresh", false)?;
        let proceed = match params.get("conflicts").map(String::as_str) {
            None | Some("abort") => false,
            Some("proceed") => true,
            Some(other) => {
                return Err(EsError::new(
                    400,
                    "illegal_argument_exception",
                    format!("conflicts may only be \"proceed\" or \"abort\" but was [{other}]"),
                ))
            }
        };
        let mut data = state.elasticsearch.lock().expect("sim lock");
        data.advance();
        let names = data.resolve(&index, &params)?;
        let todo: VecDeque<_> = data.matching(&names, &query).into();
        data.next_task += 1;
        let id = data.next_task;
        let mut task = Task {
            started: Instant::now(),
            started_ms: now_ms(),
            description: format!("delete-by-query [{index}]"),
            total: todo.len() as u64,
            todo,
            ticks: 0,
            batches: 0,
            deleted: 0,
            version_conflicts: 0,
            proceed,
            failures: Vec::new(),
            error: None,
            trouble: data.next_task_trouble.take(),
            done: false,
        };
        if wait {
            let batch_size = data.batch_size;
            while !task.done {
                run_batch(&mut task, &mut data.indices, batch_size);
            }
            return Ok(task.response());
        }
        data.tasks.insert(id, task);
        Ok(json!({ "task": format!("{NODE}:{id}") }))
    })();
    answer(&state, admitted, result).await
}

/// `GET /_tasks/{task_id}`.
async fn task(
    AxumState(state): AxumState<Arc<State>>,
    Path(task_id): Path<String>,
    Query(params): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let admitted = match admit(&state, format!("GET /_tasks/{task_id}"), &[], &headers).await {
        Ok(admitted) => admitted,
        Err(response) => return response,
    };
    let result = (|| {
        check_params(&params, TASK_PARAMS)?;
        let malformed = || EsError::new(400, "illegal_argument_exception", format!("malformed task id {task_id}"));
        let (node, id) = task_id.split_once(':').ok_or_else(malformed)?;
        let id: u64 = id.parse().map_err(|_| malformed())?;
        let mut data = state.elasticsearch.lock().expect("sim lock");
        data.advance();
        let task = data.tasks.get(&id).filter(|_| node == NODE).ok_or_else(|| {
            EsError::new(
                404,
                "resource_not_found_exception",
                format!("task [{task_id}] isn't running and hasn't stored its results"),
            )
        })?;
        let mut reply = json!({ "completed": task.done, "task": task.info(id) });
        match (&task.error, task.done) {
            (Some(error), _) => reply["error"] = error.clone(),
            (None, true) => reply["response"] = task.response(),
            (None, false) => {}
        }
        Ok(reply)
    })();
    answer(&state, admitted, result).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_and_fields() {
        assert!(glob("logs-*", "logs-app-1"));
        assert!(glob("*", "x"));
        assert!(glob("a*c*e", "abcde"));
        assert!(!glob("logs-*", "metrics-1"));
        let source = json!({ "user": { "email": "a@x.io" }, "client.phone": ["+331", "+332"], "n": 7 });
        assert_eq!(field_values(&source, "user.email"), ["a@x.io"]);
        assert_eq!(field_values(&source, "client.phone"), ["+331", "+332"]);
        assert_eq!(field_values(&source, "n"), ["7"]);
        assert!(field_values(&source, "user").is_empty());
    }

    #[test]
    fn queries_are_exact_and_refuse_full_text() {
        let q = SimQuery::parse(
            &json!({ "bool": { "should": [ { "terms": { "user.email": ["*@x.io"] } } ], "minimum_should_match": 1 } }),
        )
        .ok()
        .unwrap();
        assert!(!q.matches(&json!({ "user": { "email": "a@x.io" } })));
        assert!(q.matches(&json!({ "user": { "email": "*@x.io" } })));
        assert!(SimQuery::parse(&json!({ "match": { "user.email": "a@x.io" } })).is_err());
        assert!(SimQuery::parse(&json!({ "query_string": { "query": "*" } })).is_err());
    }

    #[test]
    fn seeds_documents_and_batches() {
        let state = State::new(crate::SimOptions::default());
        let seed = json!({ "indices": { "logs-1": [{ "user.email": "a@x.io" }, { "user": { "email": "b@x.io" } }] },
            "batch_size": 2, "batch_millis": 5 });
        seed_json(&state, &seed).unwrap();
        let data = state.elasticsearch.lock().unwrap();
        assert_eq!(data.indices["logs-1"].len(), 2);
        assert_eq!((data.batch_size, data.batch_time), (2, Duration::from_millis(5)));
        drop(data);
        assert!(seed_json(&state, &json!({ "docs": [] })).is_err());
    }
}
