//! The Elasticsearch calls the connector makes, authenticated, with errors classified.

use erasure_connector::http::retry_after;
use erasure_connector::{classify, ExposeSecret, Failure, FailureKind, HttpClass, HttpClient, SecretString};
use reqwest::header::{HeaderMap, HeaderValue, AUTHORIZATION};
use reqwest::{Method, StatusCode};
use serde_json::Value;
use std::time::SystemTime;
use url::Url;

/// How the connector proves who it is.
pub enum Auth {
    Basic {
        username: String,
        password: SecretString,
    },
    /// The whole `Authorization` header value, `ApiKey <key>`, marked sensitive.
    ApiKey(HeaderValue),
}

pub struct Api {
    base: Url,
    index: String,
    auth: Auth,
    http: HttpClient,
}

impl Api {
    /// `base` must be a base URL (checked by the caller).
    pub fn new(base: Url, index: String, auth: Auth, http: HttpClient) -> Self {
        Api { base, index, auth, http }
    }

    /// `POST /{index}/_count`: how many documents match. A count that some shards did not answer
    /// is not a count: it fails (transient) rather than report too few.
    pub async fn count(&self, body: &Value) -> Result<u64, Failure> {
        let answer = self.call(Method::POST, &[&self.index, "_count"], &[], Some(body)).await?;
        let failed = answer.pointer("/_shards/failed").and_then(Value::as_u64).unwrap_or(0);
        if failed > 0 {
            let total = answer.pointer("/_shards/total").and_then(Value::as_u64).unwrap_or(failed);
            return Err(Failure::transient(format!(
                "elasticsearch: {failed} of {total} shards did not answer the count"
            )));
        }
        answer.get("count").and_then(Value::as_u64).ok_or_else(|| self.unreadable("_count"))
    }

    /// `POST /{index}/_delete_by_query?wait_for_completion=false&conflicts=proceed&refresh=true`:
    /// the id of the task that deletes what matches.
    pub async fn start_delete(&self, body: &Value) -> Result<String, Failure> {
        let query = [("wait_for_completion", "false"), ("conflicts", "proceed"), ("refresh", "true")];
        let answer = self.call(Method::POST, &[&self.index, "_delete_by_query"], &query, Some(body)).await?;
        answer
            .get("task")
            .and_then(Value::as_str)
            .filter(|task| is_task_id(task))
            .map(str::to_string)
            .ok_or_else(|| self.unreadable("_delete_by_query"))
    }

    /// `GET /_tasks/{task_id}`: the task's status, or `None` if the cluster does not know it (404).
    pub async fn task(&self, task_id: &str) -> Result<Option<Value>, Failure> {
        let (status, headers, bytes) = self.exchange(Method::GET, &["_tasks", task_id], &[], None).await?;
        if status == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        self.read(status, &headers, &bytes, "_tasks").map(Some)
    }

    /// `GET /{index}/_mapping/field/{fields}`: how each field is mapped in each index.
    pub async fn field_mappings(&self, fields: &[String]) -> Result<Value, Failure> {
        let fields = fields.join(",");
        let (status, headers, bytes) =
            self.exchange(Method::GET, &[&self.index, "_mapping", "field", &fields], &[], None).await?;
        self.read(status, &headers, &bytes, "_mapping")
    }

    /// `DELETE /.tasks/_doc/{task_id}`: delete a finished task's stored result (which keeps the
    /// task's description and response). `false` if there was none (404).
    pub async fn delete_task_result(&self, task_id: &str) -> Result<bool, Failure> {
        let (status, headers, bytes) = self.exchange(Method::DELETE, &[".tasks", "_doc", task_id], &[], None).await?;
        if status == StatusCode::NOT_FOUND {
            return Ok(false);
        }
        self.read(status, &headers, &bytes, "the deletion of a .tasks document").map(|_| true).map_err(|mut failure| {
            failure.reason = format!(
                "the finished task's result could not be deleted from .tasks: {} (the key needs `delete` on \
                 .tasks, with allow_restricted_indices on Elasticsearch 8)",
                failure.reason
            );
            failure
        })
    }

    async fn call(
        &self,
        method: Method,
        segments: &[&str],
        query: &[(&str, &str)],
        body: Option<&Value>,
    ) -> Result<Value, Failure> {
        let (status, headers, bytes) = self.exchange(method, segments, query, body).await?;
        self.read(status, &headers, &bytes, segments.last().copied().unwrap_or("the call"))
    }

    /// One authenticated request through the instance's HTTP client (its rate limiter, its timeout).
    async fn exchange(
        &self,
        method: Method,
        segments: &[&str],
        query: &[(&str, &str)],
        body: Option<&Value>,
    ) -> Result<(StatusCode, HeaderMap, Vec<u8>), Failure> {
        let mut url = self.base.clone();
        url.path_segments_mut().expect("a base URL").pop_if_empty().extend(segments);
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        let mut request = self.http.request(method, url.as_str());
        request = match &self.auth {
            Auth::Basic { username, password } => request.basic_auth(username, Some(password.expose_secret())),
            Auth::ApiKey(header) => request.header(AUTHORIZATION, header.clone()),
        };
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = self.http.send_any(request).await?;
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.map_err(|_| {
            let mut failure = self.http.failure(status, HttpClass::Retry { after: None });
            failure.reason.push_str(", then its answer could not be read");
            failure
        })?;
        Ok((status, headers, bytes.to_vec()))
    }

    fn read(&self, status: StatusCode, headers: &HeaderMap, bytes: &[u8], what: &str) -> Result<Value, Failure> {
        if !status.is_success() {
            return Err(self.failure(status, headers, bytes));
        }
        serde_json::from_slice(bytes).map_err(|_| self.unreadable(what))
    }

    /// The classifier's verdict, with Elasticsearch's error type in the reason. A cluster that
    /// rejects work because its queues are full (`es_rejected_execution_exception`) is throttling,
    /// whatever the status it came with.
    fn failure(&self, status: StatusCode, headers: &HeaderMap, body: &[u8]) -> Failure {
        let now = SystemTime::now();
        let mut failure = self.http.failure(status, classify(status, headers, now));
        let types = error_types(body);
        if types.iter().any(|t| t == "es_rejected_execution_exception") {
            failure.kind = FailureKind::Throttled { after: retry_after(headers, now) };
        }
        if let Some(kind) = types.first() {
            failure.reason = format!("{} ({kind})", failure.reason);
        }
        failure
    }

    fn unreadable(&self, what: &str) -> Failure {
        Failure::permanent(format!("elasticsearch: the answer to {what} is not what Elasticsearch sends"))
    }
}

/// Error types of an Elasticsearch error body (`error.type`, then `error.root_cause[].type`),
/// kept only when they look like type names: reasons may quote the query, hence identifiers.
fn error_types(body: &[u8]) -> Vec<String> {
    let Ok(value) = serde_json::from_slice::<Value>(body) else { return Vec::new() };
    let error = value.get("error");
    let root_causes = error.and_then(|e| e.get("root_cause")).and_then(Value::as_array).into_iter().flatten();
    let types = error.into_iter().chain(root_causes).filter_map(|e| e.get("type")).filter_map(Value::as_str);
    let mut found: Vec<String> = Vec::new();
    for kind in types.filter(|t| is_type_name(t)) {
        if !found.iter().any(|f| f == kind) {
            found.push(kind.to_string());
        }
    }
    found
}

pub(crate) fn is_type_name(kind: &str) -> bool {
    !kind.is_empty() && kind.len() <= 80 && kind.bytes().all(|b| b.is_ascii_lowercase() || b == b'_' || b == b'.')
}

/// `node:id`, as Elasticsearch forms task ids.
fn is_task_id(task: &str) -> bool {
    !task.is_empty() && task.len() <= 200 && task.bytes().all(|b| b.is_ascii_alphanumeric() || b"_-:.".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_types_never_carry_reasons() {
        let body = br#"{"error":{"root_cause":[{"type":"es_rejected_execution_exception","reason":"a@x.io"}],
            "type":"search_phase_execution_exception","reason":"failed on a@x.io"},"status":503}"#;
        assert_eq!(error_types(body), ["search_phase_execution_exception", "es_rejected_execution_exception"]);
        assert!(error_types(br#"{"error":{"type":"Not A Type: a@x.io"}}"#).is_empty());
        assert!(error_types(b"<html>").is_empty());
    }

    #[test]
    fn full_queues_are_throttling_whatever_the_status() {
        let http = HttpClient::unlimited("logs", std::time::Duration::from_secs(1));
        let api = Api::new(
            Url::parse("http://127.0.0.1:9200").unwrap(),
            "logs-*".into(),
            Auth::ApiKey(HeaderValue::from_static("ApiKey k")),
            http,
        );
        let mut headers = HeaderMap::new();
        headers.insert("retry-after", HeaderValue::from_static("7"));
        let body = br#"{"error":{"root_cause":[{"type":"es_rejected_execution_exception"}],
            "type":"search_phase_execution_exception"},"status":503}"#;
        let failure = api.failure(StatusCode::SERVICE_UNAVAILABLE, &headers, body);
        assert_eq!(failure.kind, FailureKind::Throttled { after: Some(std::time::Duration::from_secs(7)) });
        assert_eq!(failure.reason, "logs answered HTTP 503 (search_phase_execution_exception)");
        let failure = api.failure(StatusCode::BAD_REQUEST, &HeaderMap::new(), b"{}");
        assert_eq!((failure.kind, failure.reason.as_str()), (FailureKind::Permanent, "logs answered HTTP 400"));
    }

    #[test]
    fn task_ids() {
        assert!(is_task_id("oTUltX4IQMOUUVeiohTt8A:124"));
        assert!(!is_task_id("../_all"));
        assert!(!is_task_id(""));
    }
}
