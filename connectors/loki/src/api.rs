//! Loki's HTTP API as the connector calls it: the compactor's delete endpoints and `query_range`,
//! with the tenant header and credentials on every call.

use erasure_connector::{classify, ExposeSecret, Failure, HttpClass, HttpClient, SecretString};
use reqwest::{Method, RequestBuilder, Response};
use serde::Deserialize;
use serde_json::Value;
use std::time::SystemTime;

const DELETE: &str = "/loki/api/v1/delete";
const QUERY_RANGE: &str = "/loki/api/v1/query_range";

pub enum Auth {
    None,
    Bearer(SecretString),
    Basic { user: String, password: SecretString },
}

pub struct Api {
    /// Loki's paths are appended to its path.
    pub base: url::Url,
    pub tenant: Option<String>,
    pub auth: Auth,
    pub http: HttpClient,
}

/// One entry of `GET /loki/api/v1/delete` (shards of one request are merged by Loki).
#[derive(Debug, Deserialize)]
pub struct DeleteRequest {
    pub request_id: String,
    pub query: String,
    /// `received`, `processed`, or `N% Complete` while its shards are processed.
    pub status: String,
    /// Unix seconds.
    #[serde(default)]
    pub created_at: f64,
}

impl DeleteRequest {
    pub fn processed(&self) -> bool {
        self.status == "processed"
    }
}

/// One log line of a `query_range` answer.
pub struct Entry {
    /// Unix nanoseconds.
    pub ts: i64,
    /// The stream's labels, as Loki wrote them.
    pub stream: String,
    pub line: String,
}

#[derive(Deserialize)]
struct QueryAnswer {
    data: QueryData,
}

#[derive(Deserialize)]
struct QueryData {
    #[serde(rename = "resultType")]
    result_type: String,
    result: Vec<StreamValues>,
}

#[derive(Deserialize)]
struct StreamValues {
    stream: Value,
    /// `[ts, line]`, or `[ts, line, metadata]` when Loki adds structured metadata.
    values: Vec<Vec<Value>>,
}

impl Api {
    fn request(&self, method: Method, path: &str, params: &[(&str, String)]) -> RequestBuilder {
        let mut url = self.base.clone();
        url.set_path(&format!("{}{path}", self.base.path().trim_end_matches('/')));
        url.set_query(None);
        if !params.is_empty() {
            url.query_pairs_mut().extend_pairs(params);
        }
        let mut request = self.http.request(method, url.as_str());
        if let Some(tenant) = &self.tenant {
            request = request.header("X-Scope-OrgID", tenant);
        }
        match &self.auth {
            Auth::None => request,
            Auth::Bearer(token) => request.bearer_auth(token.expose_secret()),
            Auth::Basic { user, password } => request.basic_auth(user, Some(password.expose_secret())),
        }
    }

    /// `GET /loki/api/v1/delete`: the tenant's delete requests, processed or not.
    pub async fn delete_requests(&self) -> Result<Vec<DeleteRequest>, Failure> {
        let response = self.send(self.request(Method::GET, DELETE, &[]), LIST_HINT).await?;
        response.json().await.map_err(|_| unreadable("the list of delete requests"))
    }

    /// `POST /loki/api/v1/delete`: delete what `query` matches from `start` (Unix seconds) to
    /// Loki's now. Loki answers 204 with no id: the request is found again by its query.
    pub async fn create_delete_request(
        &self,
        query: &str,
        start: u64,
        max_interval: Option<u64>,
    ) -> Result<(), Failure> {
        let mut params = vec![("query", query.to_string()), ("start", start.to_string())];
        if let Some(secs) = max_interval {
            params.push(("max_interval", format!("{secs}s")));
        }
        let request = self.request(Method::POST, DELETE, &params);
        self.send(request, CREATE_HINT).await?;
        Ok(())
    }

    /// `GET /loki/api/v1/query_range`: the newest `limit` lines `query` matches in `[start, end)`
    /// (Unix nanoseconds).
    pub async fn query_range(&self, query: &str, start: i64, end: i64, limit: u32) -> Result<Vec<Entry>, Failure> {
        let params = [
            ("query", query.to_string()),
            ("start", start.to_string()),
            ("end", end.to_string()),
            ("limit", limit.to_string()),
            ("direction", "backward".to_string()),
        ];
        let request = self.request(Method::GET, QUERY_RANGE, &params);
        let response = self.send(request, QUERY_HINT).await?;
        let answer: QueryAnswer = response.json().await.map_err(|_| unreadable("query_range"))?;
        if answer.data.result_type != "streams" {
            return Err(Failure::permanent(format!(
                "loki answered query_range with `{}` instead of log streams",
                answer.data.result_type
            )));
        }
        let mut entries = Vec::new();
        for stream in answer.data.result {
            let labels = stream.stream.to_string();
            for value in stream.values {
                let ts = value.first().and_then(Value::as_str).and_then(|t| t.parse::<i64>().ok());
                let (Some(ts), Some(line)) = (ts, value.get(1).and_then(Value::as_str)) else {
                    return Err(unreadable("query_range"));
                };
                entries.push(Entry { ts, stream: labels.clone(), line: line.to_string() });
            }
        }
        Ok(entries)
    }

    /// Send through the instance's client; a 400 or 404 says which call it was and what usually
    /// causes it (Loki's error text is not read: it may quote the query, identifiers included).
    async fn send(&self, request: RequestBuilder, hint: &str) -> Result<Response, Failure> {
        let response = self.http.send_any(request).await?;
        let status = response.status();
        match classify(status, response.headers(), SystemTime::now()) {
            HttpClass::Success => Ok(response),
            class => {
                let mut failure = self.http.failure(status, class);
                if matches!(status.as_u16(), 400 | 404) {
                    failure.reason = format!("{} to {hint}", failure.reason);
                }
                Err(failure)
            }
        }
    }
}

const LIST_HINT: &str = "the list of delete requests (is base_url where Loki serves /loki/api/v1/delete?)";
const CREATE_HINT: &str = "a delete request (is log deletion enabled for the tenant, and max_interval within the \
                           compactor's delete_max_interval?)";
const QUERY_HINT: &str = "query_range (page_size must not exceed max_entries_limit_per_query, nor query_window \
                          max_query_length)";

fn unreadable(what: &str) -> Failure {
    Failure::permanent(format!("loki answered {what} with a body that is not Loki's"))
}
