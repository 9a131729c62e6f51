//! Elasticsearch's paths: every call is recorded, delayed, faulted, rate-limited and
//! authenticated (`admit`), then answered from the cluster.

use super::data::{run_batch, Data, Task};
use super::error::{error_body, EsError};
use super::mapping::field_mapping_answer;
use super::query::{body_query, check_params, flag};
use super::{NODE, SYSTEM};
use crate::harness::{now_ms, with_retry_after, ErrorShape, OpenCall, Vendor};
use crate::text::basic_auth;
use axum::body::Bytes;
use axum::extract::{Path, Query, State as AxumState};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde_json::{json, Value};
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Instant;

type Shared = Arc<Vendor<Data>>;

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
const MAPPING_PARAMS: &[&str] = &["allow_no_indices", "expand_wildcards", "ignore_unavailable", "include_defaults"];
const DELETE_DOC_PARAMS: &[&str] = &["refresh", "timeout", "wait_for_active_shards", "if_seq_no", "if_primary_term"];

/// Routes at Elasticsearch's own paths (nested under `/elasticsearch` by the simulator).
pub(crate) fn router(vendor: Shared) -> Router {
    Router::new()
        .route("/{index}/_count", post(count))
        .route("/{index}/_delete_by_query", post(delete_by_query))
        .route("/_tasks/{task_id}", get(task))
        .route("/{index}/_mapping/field/{fields}", get(field_mapping))
        .route("/{index}/_doc/{id}", delete(delete_document))
        .with_state(vendor)
}

impl ErrorShape for Data {
    const SYSTEM: &'static str = SYSTEM;

    fn injected_status(status: u16, retry_after: Option<u64>) -> Response {
        let kind = match status {
            401 | 403 => "security_exception",
            429 => "es_rejected_execution_exception",
            502..=504 => "unavailable_shards_exception",
            _ => "exception",
        };
        with_retry_after(error_response(EsError::new(status, kind, "injected fault")), retry_after)
    }

    fn injected_throttle(retry_after: Option<u64>) -> Response {
        rejected(retry_after)
    }
}

/// Record the call, then apply latency, the next fault, the rate limit and authentication.
async fn admit<'a>(
    vendor: &'a Vendor<Data>,
    action: String,
    body: &[u8],
    headers: &HeaderMap,
) -> Result<OpenCall<'a>, Response> {
    let identifiers = body_query(body, false).map(|q| q.values()).unwrap_or_default();
    let call = vendor.harness.open::<Data>(action.clone(), identifiers).await?;
    let auth = headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or_default();
    let mut data = vendor.data();
    if data.rate_limit.as_mut().is_some_and(|window| window.take(Instant::now()).is_err()) {
        drop(data);
        return Err(call.refuse(rejected(None)));
    }
    if auth != basic_auth("elastic", "sim-password") && auth != API_KEY {
        drop(data);
        let reason = if auth.is_empty() {
            "missing authentication credentials for REST request"
        } else {
            "unable to authenticate with the provided credentials"
        };
        let mut response = error_response(EsError::new(401, "security_exception", reason));
        let challenges = ["Basic realm=\"security\", charset=\"UTF-8\"", "ApiKey"];
        for challenge in challenges {
            response.headers_mut().append("www-authenticate", HeaderValue::from_static(challenge));
        }
        return Err(call.refuse(response));
    }
    let body: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let scheme = auth.split(' ').next().unwrap_or_default();
    data.requests.push(json!({ "action": action, "auth": scheme, "body": body }));
    Ok(call)
}

fn rejected(retry_after: Option<u64>) -> Response {
    let reason = "rejected execution of coordinating operation (queue capacity reached)";
    with_retry_after(error_response(EsError::new(429, "es_rejected_execution_exception", reason)), retry_after)
}

fn error_response(error: EsError) -> Response {
    let status = StatusCode::from_u16(error.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, Json(error_body(error.status, error.kind, &error.reason))).into_response()
}

/// Answer an admitted call (after the `SlowAnswer` delay: the work is already done).
async fn answer(call: OpenCall<'_>, result: Result<Value, EsError>) -> Response {
    call.answer(match result {
        Ok(body) => Json(body).into_response(),
        Err(error) => error_response(error),
    })
    .await
}

/// `POST /{index}/_count`.
async fn count(
    AxumState(vendor): AxumState<Shared>,
    Path(index): Path<String>,
    Query(params): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let call = match admit(&vendor, format!("POST /{index}/_count"), &body, &headers).await {
        Ok(call) => call,
        Err(response) => return response,
    };
    let result = (|| {
        check_params(&params, COUNT_PARAMS)?;
        let query = body_query(&body, false)?;
        let mut data = vendor.data();
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
    answer(call, result).await
}

/// `POST /{index}/_delete_by_query`: start a task (or, with `wait_for_completion=true`, run it).
async fn delete_by_query(
    AxumState(vendor): AxumState<Shared>,
    Path(index): Path<String>,
    Query(params): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let call = match admit(&vendor, format!("POST /{index}/_delete_by_query"), &body, &headers).await {
        Ok(call) => call,
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
        let mut data = vendor.data();
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
    answer(call, result).await
}

/// `GET /_tasks/{task_id}`: a running task's status, or the `.tasks` document of a finished one;
/// once that document is deleted, 404 (the task "isn't running and hasn't stored its results").
async fn task(
    AxumState(vendor): AxumState<Shared>,
    Path(task_id): Path<String>,
    Query(params): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let call = match admit(&vendor, format!("GET /_tasks/{task_id}"), &[], &headers).await {
        Ok(call) => call,
        Err(response) => return response,
    };
    let result = (|| {
        check_params(&params, TASK_PARAMS)?;
        let malformed = || EsError::new(400, "illegal_argument_exception", format!("malformed task id {task_id}"));
        let (node, id) = task_id.split_once(':').ok_or_else(malformed)?;
        let id: u64 = id.parse().map_err(|_| malformed())?;
        let mut data = vendor.data();
        data.advance();
        let running = data.tasks.get(&id).map(|task| task.result_document(id));
        let stored = || data.task_results.get(&id).cloned();
        running.or_else(stored).filter(|_| node == NODE).ok_or_else(|| {
            EsError::new(
                404,
                "resource_not_found_exception",
                format!("task [{task_id}] isn't running and hasn't stored its results"),
            )
        })
    })();
    answer(call, result).await
}

/// `GET /{index}/_mapping/field/{fields}`: the mapping of each field in each index `index`
/// names (shape in `mapping::field_mapping_answer`); a missing concrete index is 404.
async fn field_mapping(
    AxumState(vendor): AxumState<Shared>,
    Path((index, fields)): Path<(String, String)>,
    Query(params): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let call = match admit(&vendor, format!("GET /{index}/_mapping/field/{fields}"), &[], &headers).await {
        Ok(call) => call,
        Err(response) => return response,
    };
    let result = (|| {
        check_params(&params, MAPPING_PARAMS)?;
        let mut data = vendor.data();
        data.advance();
        let names = data.resolve(&index, &params)?;
        let fields: Vec<&str> = fields.split(',').collect();
        Ok(field_mapping_answer(&data.mappings, &names, &fields))
    })();
    answer(call, result).await
}

/// `DELETE /{index}/_doc/{id}`: delete one document; in `.tasks`, a finished task's result.
///
/// <https://www.elastic.co/guide/en/elasticsearch/reference/current/docs-delete.html>: "Removes a
/// JSON document from the specified index"; the answer has `_index`, `_id`, `_version`, `result`
/// (`deleted`, or `not_found` with HTTP 404 when there is no such document), `_shards`,
/// `_seq_no` and `_primary_term`. A running task has no `.tasks` document yet: 404 `not_found`.
async fn delete_document(
    AxumState(vendor): AxumState<Shared>,
    Path((index, id)): Path<(String, String)>,
    Query(params): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let call = match admit(&vendor, format!("DELETE /{index}/_doc/{id}"), &[], &headers).await {
        Ok(call) => call,
        Err(response) => return response,
    };
    let result = (|| {
        check_params(&params, DELETE_DOC_PARAMS)?;
        let mut data = vendor.data();
        data.advance();
        if index == ".tasks" && data.restricted_system_indices {
            return Err(EsError::new(
                403,
                "security_exception",
                format!("action [indices:data/write/delete] is unauthorized on restricted indices [{index}]"),
            ));
        }
        let deleted = if index == ".tasks" {
            let number = id.strip_prefix(&format!("{NODE}:")).and_then(|n| n.parse::<u64>().ok());
            number.and_then(|n| data.task_results.remove(&n)).is_some()
        } else {
            data.resolve(&index, &HashMap::new())?;
            data.indices.get_mut(&index).and_then(|docs| docs.remove(&id)).is_some()
        };
        data.next_seq += 1;
        Ok((deleted, data.next_seq))
    })();
    let (deleted, seq_no) = match result {
        Ok(found) => found,
        Err(error) => return answer(call, Err(error)).await,
    };
    let status = if deleted { StatusCode::OK } else { StatusCode::NOT_FOUND };
    let body = json!({
        "_index": index,
        "_id": id,
        "_version": if deleted { 2 } else { 1 },
        "result": if deleted { "deleted" } else { "not_found" },
        "_shards": { "total": 1, "successful": 1, "failed": 0 },
        "_seq_no": seq_no,
        "_primary_term": 1,
    });
    call.answer((status, Json(body)).into_response()).await
}
