//! Batch operations (<https://mailchimp.com/developer/marketing/api/batch-operations/>; guide:
//! <https://mailchimp.com/developer/marketing/guides/run-async-requests-batch-endpoint/>):
//! `POST /batches` with `{"operations": [{"method", "path", "params", "body", "operation_id"}]}`
//! answers 200 with the new batch, `status: "pending"`; the operations run in the background and
//! `GET /batches/{batch_id}` reports `pending`, `preprocessing`, `started`, `finalizing`, then
//! `finished`, with `total_operations`, `finished_operations`, `errored_operations` and, once
//! finished, `response_body_url` (Mailchimp's is a gzipped tar of JSON files; the simulator's is
//! a JSON array of `{status_code, operation_id, response}` served at `/batch-results/{id}`).
//!
//! The simulator advances a batch one status per status request, and runs its operations when
//! it reaches `started`; errors of single operations are counted in `errored_operations` and
//! kept in the results, the batch itself still finishes (as the guide says: check the results).

use super::answer::Answer;
use super::data::{Batch, Data, Operation};
use axum::http::Method;
use serde_json::{json, Value};
use std::collections::HashMap;

pub(super) const STATUSES: [&str; 5] = ["pending", "preprocessing", "started", "finalizing", "finished"];
const METHODS: [&str; 5] = ["GET", "POST", "PUT", "PATCH", "DELETE"];

impl Data {
    /// `POST /batches`. A body that is no object with an `operations` array, or an operation
    /// without a known `method` or a relative `path`, is refused (400 Invalid Resource).
    pub(super) fn create_batch(&mut self, request: Option<Value>) -> Answer {
        let Some(operations) = request.as_ref().and_then(|r| r["operations"].as_array()) else {
            return Answer::bad_request("The request body must hold an operations array.");
        };
        let mut parsed = Vec::new();
        for operation in operations {
            match parse_operation(operation) {
                Ok(operation) => parsed.push(operation),
                Err(detail) => return Answer::bad_request(detail),
            }
        }
        let id = format!("{:010x}", 0x00b0_0000_0000_u64 + self.next_id());
        let batch = Batch {
            id: id.clone(),
            operations: parsed,
            stage: 0,
            results: None,
            submitted_at: now_iso(),
            completed_at: None,
        };
        let answer = Answer::json(batch.json(""));
        self.batches.insert(id, batch);
        answer
    }

    /// `GET /batches/{batch_id}`: one step further, running the operations on reaching `started`.
    pub(super) fn poll_batch(&mut self, id: &str, origin: &str) -> Answer {
        let Some(mut batch) = self.batches.remove(id) else { return Answer::not_found() };
        batch.stage = (batch.stage + 1).min(STATUSES.len() - 1);
        if batch.stage >= 2 && batch.results.is_none() {
            let results = batch.operations.iter().map(|op| self.run(op)).collect();
            batch.results = Some(results);
        }
        if batch.stage == STATUSES.len() - 1 && batch.completed_at.is_none() {
            batch.completed_at = Some(now_iso());
        }
        let answer = Answer::json(batch.json(origin));
        self.batches.insert(id.to_string(), batch);
        answer
    }

    /// The results of a finished batch (`response_body_url`).
    pub(super) fn batch_results(&self, id: &str) -> Answer {
        match self.batches.get(id).filter(|b| b.stage == STATUSES.len() - 1) {
            Some(batch) => {
                let results: Vec<Value> = batch
                    .results
                    .iter()
                    .flatten()
                    .map(|(status, operation_id, response)| {
                        json!({ "status_code": status, "operation_id": operation_id, "response": response })
                    })
                    .collect();
                Answer::json(Value::Array(results))
            }
            None => Answer::not_found(),
        }
    }

    fn run(&mut self, op: &Operation) -> (u16, Option<String>, String) {
        let answer = self.serve(&op.method, &op.path, &op.params, op.body.clone(), "");
        let response = answer.body.map(|b| b.to_string()).unwrap_or_default();
        (answer.status, op.operation_id.clone(), response)
    }
}

fn parse_operation(op: &Value) -> Result<Operation, &'static str> {
    let method = op["method"]
        .as_str()
        .filter(|m| METHODS.contains(m))
        .ok_or("An operation's method must be GET, POST, PUT, PATCH or DELETE.")?;
    let path =
        op["path"].as_str().filter(|p| p.starts_with('/')).ok_or("An operation's path must be a relative path.")?;
    let params = match &op["params"] {
        Value::Null => HashMap::new(),
        Value::Object(map) => {
            map.iter().map(|(k, v)| (k.clone(), v.as_str().map_or_else(|| v.to_string(), str::to_string))).collect()
        }
        _ => return Err("An operation's params must be an object."),
    };
    // `body` is "a string containing the JSON body to use with the request".
    let body = match &op["body"] {
        Value::Null => None,
        Value::String(text) => Some(serde_json::from_str(text).map_err(|_| "An operation's body must be JSON text.")?),
        _ => return Err("An operation's body must be a string of JSON."),
    };
    let operation_id = op["operation_id"].as_str().map(str::to_string);
    Ok(Operation {
        method: Method::from_bytes(method.as_bytes()).map_err(|_| "bad method")?,
        path: path.to_string(),
        params,
        body,
        operation_id,
    })
}

impl Batch {
    pub(super) fn json(&self, origin: &str) -> Value {
        let total = self.operations.len();
        let results = self.results.as_deref().unwrap_or_default();
        let errored = results.iter().filter(|(status, _, _)| *status >= 400).count();
        let finished = self.stage == STATUSES.len() - 1;
        json!({
            "id": self.id,
            "status": STATUSES[self.stage],
            "total_operations": total,
            "finished_operations": results.len(),
            "errored_operations": errored,
            "submitted_at": self.submitted_at,
            "completed_at": self.completed_at.clone().unwrap_or_default(),
            "response_body_url": if finished { format!("{origin}/batch-results/{}", self.id) } else { String::new() },
        })
    }
}

fn now_iso() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S+00:00").to_string()
}
