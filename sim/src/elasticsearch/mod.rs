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
//! optional rate limit (`Sim::elasticsearch().rate_limit`, N calls per window) answer 429
//! `es_rejected_execution_exception`, as a cluster whose queues are full does: with `Retry-After`
//! only when the fault carries one (Elasticsearch itself sends no hint).
//!
//! Seed (the `"elasticsearch"` section of a seed file):
//! `{"indices": {"logs-app-1": [{"user": {"email": "ana@example.com"}, "message": "login"}]},
//!   "batch_size": 5, "batch_millis": 20}`: each document is a `_source`, with nested objects or
//! dotted keys (`{"user.email": ...}`) alike.

mod data;
mod error;
mod query;
mod routes;
mod seed;

pub(crate) use data::Data;
pub(crate) use routes::router;
pub(crate) use seed::seed_json;

use crate::harness::{RateWindow, Vendor};
use data::Trouble;
use query::{selects, SimQuery};
use serde_json::Value;
use std::sync::MutexGuard;
use std::time::Duration;

pub(crate) const SYSTEM: &str = "elasticsearch";
const NODE: &str = "simnode";

/// The simulated cluster, seen and changed directly by tests (`Sim::elasticsearch`).
pub struct Elasticsearch<'a>(pub(crate) &'a Vendor<Data>);

impl Elasticsearch<'_> {
    /// Index a document (a `_source`) into `index`; returns its id.
    pub fn index(&self, index: &str, source: Value) -> String {
        self.data().index(index, source)
    }

    /// Change a document, as a concurrent writer would: a task that saw it before is in conflict.
    pub fn update(&self, index: &str, id: &str) {
        let mut data = self.data();
        data.next_seq += 1;
        let seq = data.next_seq;
        if let Some(doc) = data.indices.get_mut(index).and_then(|docs| docs.get_mut(id)) {
            doc.seq_no = seq;
        }
    }

    /// Documents in the indices `expr` names (`logs-*`) whose `field` holds exactly `value`.
    pub fn matching(&self, expr: &str, field: &str, value: &str) -> u64 {
        let mut data = self.data();
        data.advance();
        let names: Vec<String> = data.indices.keys().filter(|name| selects(expr, name)).cloned().collect();
        let query = SimQuery::Terms { field: field.into(), values: vec![value.into()] };
        data.matching(&names, &query).len() as u64
    }

    /// Every document the cluster holds.
    pub fn total(&self) -> u64 {
        let mut data = self.data();
        data.advance();
        data.indices.values().map(|docs| docs.len() as u64).sum()
    }

    /// Delete-by-query batches: `size` documents each, one batch every `every`.
    pub fn set_batches(&self, size: usize, every: Duration) {
        let mut data = self.data();
        data.batch_size = size.max(1);
        data.batch_time = every;
    }

    /// The next delete-by-query task fails its first batch: each deletion answers `status` with
    /// error type `kind` (e.g. 429 `es_rejected_execution_exception`, 403 `cluster_block_exception`).
    pub fn fail_next_task(&self, status: u16, kind: &str) {
        self.data().next_task_trouble = Some(Trouble::Bulk { status, kind: kind.into() });
    }

    /// The next delete-by-query task fails as a whole with error type `kind`.
    pub fn break_next_task(&self, kind: &str) {
        self.data().next_task_trouble = Some(Trouble::Error { kind: kind.into() });
    }

    /// The next `_count` answers with one shard failed, counting none of the documents.
    pub fn fail_shards_once(&self) {
        self.data().fail_shards_once = true;
    }

    /// Forget every task, as a cluster that lost a node (and the task's results) does.
    pub fn forget_tasks(&self) {
        self.data().tasks.clear();
    }

    /// At most `calls` calls per `window`; more answer 429 `es_rejected_execution_exception`.
    pub fn rate_limit(&self, calls: u32, window: Duration) {
        self.data().rate_limit = Some(RateWindow::new(calls, window));
    }

    /// Every request that got past faults, rate limit and authentication, in order:
    /// `{"action": "POST /logs-*/_count", "auth": "Basic" | "ApiKey", "body": {...}}`.
    pub fn requests(&self) -> Vec<Value> {
        self.data().requests.clone()
    }

    fn data(&self) -> MutexGuard<'_, Data> {
        self.0.data()
    }
}
