//! What the simulated cluster holds, and its delete-by-query tasks.

use super::docs::{candidates, Doc, Docs};
use super::error::EsError;
use super::mapping::{add_dynamic, Mapping};
use super::query::{flag, SimQuery};
use super::NODE;
use crate::harness::RateWindow;
use crate::text::glob;
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::{Duration, Instant};

/// What the simulated cluster holds.
pub(crate) struct Data {
    /// Documents by index, then by id.
    pub(super) indices: BTreeMap<String, Docs>,
    /// Field mappings by index (explicit, then dynamic ones added as documents arrive).
    pub(super) mappings: BTreeMap<String, Mapping>,
    /// Delete-by-query tasks still running.
    pub(super) tasks: BTreeMap<u64, Task>,
    /// The `.tasks` index: the result document of each finished task started with
    /// `wait_for_completion=false`, by task number, until it is deleted.
    pub(super) task_results: BTreeMap<u64, Value>,
    pub(super) next_task: u64,
    pub(super) next_seq: u64,
    pub(super) batch_size: usize,
    pub(super) batch_time: Duration,
    pub(super) rate_limit: Option<RateWindow>,
    /// What goes wrong in the next delete-by-query task.
    pub(super) next_task_trouble: Option<Trouble>,
    /// The next `_count` answers with one shard failed (and none of its documents counted).
    pub(super) fail_shards_once: bool,
    /// The caller may not touch system indices such as `.tasks` (a role without
    /// `allow_restricted_indices`).
    pub(super) restricted_system_indices: bool,
    /// Every admitted request: `{"action", "auth", "body"}`.
    pub(super) requests: Vec<Value>,
}

impl Default for Data {
    fn default() -> Self {
        Data {
            indices: BTreeMap::new(),
            mappings: BTreeMap::new(),
            tasks: BTreeMap::new(),
            task_results: BTreeMap::new(),
            next_task: 0,
            next_seq: 0,
            batch_size: 5,
            batch_time: Duration::from_millis(20),
            rate_limit: None,
            next_task_trouble: None,
            fail_shards_once: false,
            restricted_system_indices: false,
            requests: Vec::new(),
        }
    }
}

pub(super) enum Trouble {
    /// The first batch's deletions fail with this status and error type; the task stops there.
    Bulk { status: u16, kind: String },
    /// The task fails as a whole.
    Error { kind: String },
}

pub(super) struct Task {
    pub(super) started: Instant,
    pub(super) started_ms: u64,
    pub(super) description: String,
    /// (index, id, seq_no) as the snapshot saw them, not yet processed.
    pub(super) todo: VecDeque<(String, String, u64)>,
    pub(super) total: u64,
    pub(super) ticks: u32,
    pub(super) batches: u64,
    pub(super) deleted: u64,
    pub(super) version_conflicts: u64,
    pub(super) proceed: bool,
    pub(super) failures: Vec<Value>,
    pub(super) error: Option<Value>,
    pub(super) trouble: Option<Trouble>,
    pub(super) done: bool,
}

impl Data {
    pub(super) fn index(&mut self, index: &str, source: Value) -> String {
        self.next_seq += 1;
        let seq_no = self.next_seq;
        let id = format!("doc-{seq_no}");
        add_dynamic(self.mappings.entry(index.to_string()).or_default(), &source);
        self.indices.entry(index.to_string()).or_default().insert(id.clone(), Doc { source, seq_no });
        id
    }

    /// Run every batch whose time has come. A task that ends leaves its result as a document of
    /// the `.tasks` index.
    ///
    /// <https://www.elastic.co/docs/api/doc/elasticsearch/operation/operation-delete-by-query>
    /// (`wait_for_completion`): "If `false`, Elasticsearch performs some preflight checks, launches
    /// the request, and returns a task you can use to cancel or get the status of the task.
    /// Elasticsearch creates a record of this task as a document at `.tasks/task/${taskId}`. When
    /// you are done with a task, you should delete the task document so Elasticsearch can reclaim
    /// the space."
    pub(super) fn advance(&mut self) {
        let now = Instant::now();
        let Data { tasks, indices, batch_size, batch_time, task_results, .. } = self;
        for task in tasks.values_mut().filter(|t| !t.done) {
            let due = now.duration_since(task.started).as_nanos() / batch_time.as_nanos().max(1);
            while !task.done && u128::from(task.ticks) < due {
                task.ticks += 1;
                run_batch(task, indices, *batch_size);
            }
        }
        let finished: Vec<u64> = tasks.iter().filter(|(_, t)| t.done).map(|(id, _)| *id).collect();
        for id in finished {
            if let Some(task) = tasks.remove(&id) {
                task_results.insert(id, task.result_document(id));
            }
        }
    }

    /// The indices `expr` names, Elasticsearch's way.
    pub(super) fn resolve(&self, expr: &str, params: &HashMap<String, String>) -> Result<Vec<String>, EsError> {
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

    /// The documents of these indices `query` matches, index by index, in id order: the
    /// candidates its terms' lookups give (`docs.rs`), each checked with `SimQuery::matches`.
    pub(super) fn matching(&mut self, names: &[String], query: &SimQuery) -> Vec<(String, String, u64)> {
        let mut found = Vec::new();
        for name in names {
            let mapping = self.mappings.get(name).cloned().unwrap_or_default();
            let Some(docs) = self.indices.get_mut(name) else { continue };
            let mut check = |id: &String, doc: &Doc| {
                if query.matches(&doc.source, Some(&mapping)) {
                    found.push((name.clone(), id.clone(), doc.seq_no));
                }
            };
            match candidates(query, &mapping, docs) {
                None => docs.iter().for_each(|(id, doc)| check(id, doc)),
                Some(ids) => {
                    ids.iter().filter_map(|id| docs.get(id).map(|doc| (id, doc))).for_each(|(id, doc)| check(id, doc))
                }
            }
        }
        found
    }
}

pub(super) fn run_batch(task: &mut Task, indices: &mut BTreeMap<String, Docs>, batch_size: usize) {
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

pub(super) fn failure(index: &str, id: &str, status: u16, kind: &str) -> Value {
    json!({
        "index": index,
        "id": id,
        "status": status,
        "cause": { "type": kind, "reason": "the deletion failed", "index": index },
    })
}

impl Task {
    pub(super) fn status(&self) -> Map<String, Value> {
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
    pub(super) fn response(&self) -> Value {
        let mut response = self.status();
        response.insert("took".into(), json!(self.started.elapsed().as_millis() as u64));
        response.insert("timed_out".into(), json!(false));
        response.insert("throttled".into(), json!("0s"));
        response.insert("throttled_until".into(), json!("0s"));
        response.insert("failures".into(), Value::Array(self.failures.clone()));
        Value::Object(response)
    }

    /// What `GET /_tasks/{id}` answers, and the `.tasks` document of a finished task.
    pub(super) fn result_document(&self, id: u64) -> Value {
        let mut reply = json!({ "completed": self.done, "task": self.info(id) });
        match (&self.error, self.done) {
            (Some(error), _) => reply["error"] = error.clone(),
            (None, true) => reply["response"] = self.response(),
            (None, false) => {}
        }
        reply
    }

    pub(super) fn info(&self, id: u64) -> Value {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_finished_task_leaves_its_result_in_the_tasks_index() {
        let mut data = Data { batch_time: Duration::ZERO, ..Data::default() };
        data.index("logs-1", json!({ "user": { "id": "u_1" } }));
        let query = SimQuery::Terms { field: "user.id.keyword".into(), values: vec!["u_1".into()] };
        let todo: VecDeque<_> = data.matching(&["logs-1".to_string()], &query).into();
        assert_eq!(todo.len(), 1, "the dynamic `.keyword` sub-field matches the whole value");
        let task = Task {
            started: Instant::now(),
            started_ms: 0,
            description: "delete-by-query [logs-1]".into(),
            total: 1,
            todo,
            ticks: 0,
            batches: 0,
            deleted: 0,
            version_conflicts: 0,
            proceed: true,
            failures: Vec::new(),
            error: None,
            trouble: None,
            done: false,
        };
        data.tasks.insert(1, task);
        std::thread::sleep(Duration::from_millis(2));
        data.batch_time = Duration::from_millis(1);
        data.advance();
        assert!(data.tasks.is_empty(), "no longer running");
        let stored = &data.task_results[&1];
        assert_eq!((stored["completed"].as_bool(), stored["response"]["deleted"].as_u64()), (Some(true), Some(1)));
    }
}
