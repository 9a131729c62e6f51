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
//!   `"error"`). A finished task's answer is its result document in the `.tasks` index; 404
//!   `resource_not_found_exception` for a task it does not know or whose result was deleted.
//! - `DELETE /.tasks/_doc/{task_id}` -> deletes a finished task's result document (`"result":
//!   "deleted"`; 404 with `"result": "not_found"` when there is none). `DELETE /{index}/_doc/{id}`
//!   deletes a document of another index the same way.
//! - `GET /{index}/_mapping/field/{fields}` -> per index, the mapping of each field it maps.
//!
//! `{index}` is a name, a pattern (`logs-*`), a comma-separated list of those (`-name` excludes),
//! `_all` or `*`; a missing concrete index is 404 `index_not_found_exception`. Queries: `bool`
//! (`must`, `filter`, `should`, `must_not`, `minimum_should_match`), `term`, `terms`, `match_all`,
//! `match_none`. Fields are typed by each index's mapping: explicit (`map_fields`, or the seed's
//! `mappings`), else dynamic (a string is `text` with a `.keyword` sub-field). `term`/`terms`
//! match a `keyword` field's whole value (exact, case-sensitive) and a `text` field's analysed
//! tokens only (the standard analyzer: `ana@example.com` is `ana` and `example.com`); an
//! unmapped field matches nothing. Any other query, the `q` parameter and unknown parameters
//! answer 400, so that a connector cannot lean on full-text matching.
//!
//! Credentials: `Authorization: Basic` of `elastic:sim-password`, or `Authorization: ApiKey
//! sim-api-key`; anything else is 401 `security_exception`. Errors have Elasticsearch's shape
//! (`{"error": {"root_cause", "type", "reason"}, "status"}`). An injected `Throttle` and the
//! optional rate limit (`Sim::elasticsearch().rate_limit`, N calls per window) answer 429
//! `es_rejected_execution_exception`, as a cluster whose queues are full does: with `Retry-After`
//! only when the fault carries one (Elasticsearch itself sends no hint).
//!
//! Seed (the `"elasticsearch"` section of a seed file):
//! `{"mappings": {"logs-app-1": {"user.email": "keyword"}},
//!   "indices": {"logs-app-1": [{"user": {"email": "ana@example.com"}, "message": "login"}]},
//!   "batch_size": 5, "batch_millis": 20}`: each document is a `_source`, with nested objects or
//! dotted keys (`{"user.email": ...}`) alike; `mappings` (applied first) maps fields explicitly.

mod data;
mod docs;
mod error;
mod mapping;
mod query;
mod routes;
mod seed;

pub(crate) use data::Data;
pub(crate) use routes::router;
pub(crate) use seed::seed_json;

use crate::harness::{RateWindow, Vendor};
use data::Trouble;
use mapping::Mapped;
use query::{field_values, selects};
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
        if let Some(docs) = data.indices.get_mut(index) {
            docs.set_seq_no(id, seq);
        }
    }

    /// Documents in the indices `expr` names (`logs-*`) whose `field` holds exactly `value`.
    pub fn matching(&self, expr: &str, field: &str, value: &str) -> u64 {
        let mut data = self.data();
        data.advance();
        let docs = data.indices.iter().filter(|(name, _)| selects(expr, name)).flat_map(|(_, docs)| docs.values());
        docs.filter(|doc| field_values(&doc.source, field).iter().any(|v| v == value)).count() as u64
    }

    /// Map `fields` of `index` explicitly (`[("user.email", "keyword")]`), creating the index if
    /// needed, as `PUT /{index}` with `mappings` does; fields mapped already keep their type, and
    /// fields left out are mapped dynamically when a document brings them (strings as `text` with
    /// a `.keyword` sub-field).
    pub fn map_fields(&self, index: &str, fields: &[(&str, &str)]) {
        let mut data = self.data();
        data.indices.entry(index.to_string()).or_default();
        let mapping = data.mappings.entry(index.to_string()).or_default();
        for (field, kind) in fields {
            let mapped = Mapped { kind: kind.to_string(), source: field.to_string() };
            mapping.entry(field.to_string()).or_insert(mapped);
        }
    }

    /// The ids (`simnode:N`) of the task result documents the `.tasks` index holds.
    pub fn stored_task_results(&self) -> Vec<String> {
        let mut data = self.data();
        data.advance();
        data.task_results.keys().map(|id| format!("{NODE}:{id}")).collect()
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

    /// The credentials may not touch system indices: `DELETE /.tasks/_doc/{id}` answers 403
    /// `security_exception`, as Elasticsearch 8 does for a role without `allow_restricted_indices`.
    ///
    /// <https://www.elastic.co/guide/en/elasticsearch/reference/7.16/migrating-7.16.html>
    /// ("Direct access to system indices is deprecated"): "Directly accessing system indices is
    /// deprecated. In Elasticsearch 8.0, you must add the `allow_restricted_indices` permission set
    /// to `true` on a user role to access system indices." (8.0.0-alpha2 release notes: "System
    /// indices treated as restricted indices #74212".)
    pub fn restrict_system_indices(&self, restricted: bool) {
        self.data().restricted_system_indices = restricted;
    }

    /// The next `_count` answers with one shard failed, counting none of the documents.
    pub fn fail_shards_once(&self) {
        self.data().fail_shards_once = true;
    }

    /// Forget every task, as a cluster that lost a node (and the task's results) does.
    pub fn forget_tasks(&self) {
        let mut data = self.data();
        data.tasks.clear();
        data.task_results.clear();
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
