//! The HTTP calls the operators' CLI makes, and the shapes of the API's answers it reads. Each
//! answer keeps the JSON as sent, for `--json`. The token comes from `ERASURE_API_TOKEN` only
//! (a command-line flag would show in `ps`) and is never printed.

use chrono::{DateTime, Utc};
use reqwest::{Method, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::Value;
use std::time::Duration;
use url::Url;
use uuid::Uuid;

pub const TOKEN_ENV: &str = "ERASURE_API_TOKEN";

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error(
        "{TOKEN_ENV} is not set: export an API token (scope `read` to look, `operate` to act, `submit` to submit)"
    )]
    MissingToken,
    #[error("`{0}` is not an API URL (give --api or ERASURE_API_URL, e.g. http://127.0.0.1:8080)")]
    BadUrl(String),
    #[error("cannot reach the API at {base}: {cause}")]
    Unreachable { base: String, cause: String },
    /// The API refused: its own sentence, its machine-readable reason, and the HTTP status.
    #[error("{message} (HTTP {status}, {reason}){hint}", hint = hint(*.status))]
    Api { status: u16, reason: String, message: String },
    #[error("the API answered something this CLI cannot read ({0}); is --api the erasure API?")]
    Unreadable(String),
}

impl ClientError {
    /// Worth polling again: the API or its database may be back in a moment.
    pub fn is_transient(&self) -> bool {
        match self {
            ClientError::Unreachable { .. } => true,
            ClientError::Api { status, .. } => *status == 503 || *status == 502 || *status == 504,
            _ => false,
        }
    }
}

fn hint(status: u16) -> &'static str {
    match status {
        401 => "; check ERASURE_API_TOKEN",
        _ => "",
    }
}

/// An answer: the JSON as the API sent it, and its typed reading.
pub struct Reply<T> {
    pub json: Value,
    pub body: T,
}

pub struct Client {
    base: Url,
    token: SecretString,
    http: reqwest::Client,
}

impl Client {
    pub fn new(api: &str, token: Option<String>) -> Result<Client, ClientError> {
        let token = token.filter(|t| !t.trim().is_empty()).ok_or(ClientError::MissingToken)?;
        let base = Url::parse(api).map_err(|_| ClientError::BadUrl(api.to_string()))?;
        if !matches!(base.scheme(), "http" | "https") || base.cannot_be_a_base() {
            return Err(ClientError::BadUrl(api.to_string()));
        }
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| ClientError::Unreachable { base: api.to_string(), cause: root_cause(&e) })?;
        Ok(Client { base, token: SecretString::from(token.trim().to_string()), http })
    }

    pub async fn request(&self, id: Uuid) -> Result<Reply<RequestDetail>, ClientError> {
        self.call(Method::GET, &["v1", "requests", &id.to_string()], &[], None).await
    }

    /// The signed receipt, as the API sent it.
    pub async fn receipt(&self, id: Uuid) -> Result<Reply<Value>, ClientError> {
        self.call(Method::GET, &["v1", "requests", &id.to_string(), "receipt"], &[], None).await
    }

    pub async fn list(&self, filter: &ListFilter, cursor: Option<&str>) -> Result<Reply<Page>, ClientError> {
        let mut query: Vec<(&str, String)> = Vec::new();
        if let Some(state) = &filter.state {
            query.push(("state", state.clone()));
        }
        if let Some(connector) = &filter.connector {
            query.push(("connector", connector.clone()));
        }
        if filter.overdue {
            query.push(("overdue", "true".into()));
        }
        if let Some(due_before) = filter.due_before {
            query.push(("due_before", due_before.to_rfc3339()));
        }
        if let Some(limit) = filter.limit {
            query.push(("limit", limit.to_string()));
        }
        if let Some(cursor) = cursor {
            query.push(("cursor", cursor.to_string()));
        }
        self.call(Method::GET, &["v1", "requests"], &query, None).await
    }

    /// retry, cancel, hold, release (`kind` for the last two).
    pub async fn act(
        &self,
        id: Uuid,
        action: &str,
        reason: &str,
        kind: Option<&str>,
    ) -> Result<Reply<Done>, ClientError> {
        let mut body = serde_json::json!({ "reason": reason });
        if let Some(kind) = kind {
            body["kind"] = kind.into();
        }
        self.call(Method::POST, &["v1", "requests", &id.to_string(), action], &[], Some(&body)).await
    }

    pub async fn exempt(&self, id: Uuid, system: &str, reason: &str) -> Result<Reply<Done>, ClientError> {
        let path = ["v1", "requests", &id.to_string(), "tasks", system, "exempt"];
        self.call(Method::POST, &path, &[], Some(&serde_json::json!({ "reason": reason }))).await
    }

    pub async fn extend(&self, id: Uuid, months: u8, reason: &str) -> Result<Reply<Done>, ClientError> {
        let body = serde_json::json!({ "months": months, "reason": reason });
        self.call(Method::POST, &["v1", "requests", &id.to_string(), "extend"], &[], Some(&body)).await
    }

    pub async fn dead_letters(&self) -> Result<Reply<DeadLetters>, ClientError> {
        self.call(Method::GET, &["v1", "dead-letters"], &[], None).await
    }

    pub async fn replay(&self, id: i64) -> Result<Reply<Submitted>, ClientError> {
        self.call(Method::POST, &["v1", "dead-letters", &id.to_string(), "replay"], &[], None).await
    }

    pub async fn discard(&self, id: i64, reason: &str) -> Result<Reply<Discarded>, ClientError> {
        let body = serde_json::json!({ "reason": reason });
        self.call(Method::POST, &["v1", "dead-letters", &id.to_string(), "discard"], &[], Some(&body)).await
    }

    /// `identifier`: (`email`|`phone`|`user_id`, value), sent in the body the API hashes (never
    /// in the URL, which proxies log).
    pub async fn suppressed(&self, identifiers: &[(&str, String)]) -> Result<Reply<Suppression>, ClientError> {
        let body: serde_json::Map<String, Value> =
            identifiers.iter().map(|(k, v)| (k.to_string(), Value::String(v.clone()))).collect();
        self.call(Method::POST, &["v1", "suppressions"], &[], Some(&Value::Object(body))).await
    }

    pub async fn submit(&self, message: &Value) -> Result<Reply<Submitted>, ClientError> {
        self.call(Method::POST, &["v1", "requests"], &[], Some(message)).await
    }

    async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &[&str],
        query: &[(&str, String)],
        body: Option<&Value>,
    ) -> Result<Reply<T>, ClientError> {
        let mut url = self.base.clone();
        url.path_segments_mut().map_err(|_| self.bad_url())?.pop_if_empty().extend(path);
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query.iter().map(|(k, v)| (*k, v.as_str())));
        }
        let mut request = self.http.request(method, url).bearer_auth(self.token.expose_secret());
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.map_err(|e| self.unreachable(&e))?;
        let status = response.status();
        let text = response.text().await.map_err(|e| self.unreachable(&e))?;
        if !status.is_success() {
            return Err(refusal(status, &text));
        }
        let json: Value = serde_json::from_str(&text).map_err(|_| ClientError::Unreadable("not JSON".into()))?;
        let body = serde_json::from_value(json.clone()).map_err(|e| ClientError::Unreadable(e.to_string()))?;
        Ok(Reply { json, body })
    }

    fn bad_url(&self) -> ClientError {
        ClientError::BadUrl(self.base.to_string())
    }

    fn unreachable(&self, error: &reqwest::Error) -> ClientError {
        let cause = if error.is_timeout() { "no answer in time".to_string() } else { root_cause(error) };
        ClientError::Unreachable { base: self.base.as_str().trim_end_matches('/').to_string(), cause }
    }
}

/// The API's `{"error", "message"}`, or for anything else (a proxy, a framework rejection) the
/// status and the start of the body.
fn refusal(status: StatusCode, text: &str) -> ClientError {
    #[derive(Deserialize)]
    struct Refusal {
        error: String,
        message: String,
    }
    match serde_json::from_str::<Refusal>(text) {
        Ok(r) => ClientError::Api { status: status.as_u16(), reason: r.error, message: r.message },
        Err(_) => {
            let mut message: String = text.trim().chars().take(200).collect();
            if message.is_empty() {
                message = status.canonical_reason().unwrap_or("the API refused").to_string();
            }
            ClientError::Api { status: status.as_u16(), reason: "http".into(), message }
        }
    }
}

fn root_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = error;
    while let Some(source) = cause.source() {
        cause = source;
    }
    cause.to_string()
}

/// What `list` asks for.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    pub state: Option<String>,
    pub connector: Option<String>,
    pub overdue: bool,
    pub due_before: Option<DateTime<Utc>>,
    pub limit: Option<u32>,
}

/// `{"ok": true}`: what every action answers.
#[derive(Debug, Deserialize)]
pub struct Done {}

#[derive(Debug, Deserialize)]
pub struct Suppression {
    pub suppressed: bool,
    pub erased: bool,
    pub requests: Vec<SuppressionMatch>,
}

#[derive(Debug, Deserialize)]
pub struct SuppressionMatch {
    pub request_id: Uuid,
    pub state: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct RequestView {
    pub id: Uuid,
    pub state: String,
    #[serde(default)]
    pub generation: i64,
    #[serde(default)]
    pub subject_hash: String,
    pub requested_at: DateTime<Utc>,
    pub received_at: DateTime<Utc>,
    pub deadline_at: DateTime<Utc>,
    #[serde(default)]
    pub finished_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub overdue: bool,
    #[serde(default)]
    pub deadline_extended_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub holds: Vec<HoldView>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct HoldView {
    pub kind: String,
    #[serde(default)]
    pub reason: String,
    #[serde(default)]
    pub actor: String,
    pub since: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct TaskView {
    pub system: String,
    #[serde(default)]
    pub kind: String,
    pub state: String,
    #[serde(default)]
    pub attempt: i64,
    #[serde(default)]
    pub max_attempts: i64,
    #[serde(default)]
    pub next_attempt_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub last_error: Option<String>,
    #[serde(default)]
    pub evidence: Option<Value>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct AuditView {
    pub at: DateTime<Utc>,
    pub actor: String,
    pub event: String,
    #[serde(default)]
    pub system: Option<String>,
    #[serde(default)]
    pub detail: Value,
}

#[derive(Debug, Clone, Deserialize)]
pub struct RequestDetail {
    #[serde(flatten)]
    pub request: RequestView,
    #[serde(default)]
    pub tasks: Vec<TaskView>,
    #[serde(default)]
    pub checks: Vec<CheckView>,
    #[serde(default)]
    pub timeline: Vec<AuditView>,
}

/// A verification check of the request (a lookup after the erasure).
#[derive(Debug, Clone, Deserialize)]
pub struct CheckView {
    pub system: String,
    pub generation: i32,
    pub after_seconds: f64,
    pub due_at: DateTime<Utc>,
    #[serde(default)]
    pub done_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub result: Option<String>,
    #[serde(default)]
    pub count: Option<i64>,
    #[serde(default)]
    pub last_error: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Page {
    pub requests: Vec<RequestView>,
    #[serde(default)]
    pub next_cursor: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Submitted {
    pub request_id: Uuid,
    pub status: String,
    #[serde(default)]
    pub deadline_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct DeadLetters {
    pub dead_letters: Vec<DeadLetterView>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct DeadLetterView {
    pub id: i64,
    pub reason: String,
    #[serde(default)]
    pub detail: Option<String>,
    #[serde(default)]
    pub request_id: Option<Uuid>,
    pub dead_lettered_at: DateTime<Utc>,
    #[serde(default)]
    pub replayed_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub discarded_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Discarded {
    pub status: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_or_blank_token_is_refused_before_any_call() {
        assert!(matches!(Client::new("http://127.0.0.1:8080", None), Err(ClientError::MissingToken)));
        assert!(matches!(Client::new("http://127.0.0.1:8080", Some("  ".into())), Err(ClientError::MissingToken)));
        assert!(matches!(Client::new("127.0.0.1:8080", Some("t".into())), Err(ClientError::BadUrl(_))));
    }

    #[test]
    fn a_refusal_shows_the_apis_sentence_or_the_start_of_the_body() {
        let e = refusal(
            StatusCode::UNAUTHORIZED,
            r#"{"error":"unauthenticated","message":"a valid bearer token is required"}"#,
        );
        assert_eq!(
            e.to_string(),
            "a valid bearer token is required (HTTP 401, unauthenticated); check ERASURE_API_TOKEN"
        );
        let e = refusal(StatusCode::BAD_GATEWAY, "");
        assert_eq!(e.to_string(), "Bad Gateway (HTTP 502, http)");
        assert!(e.is_transient());
    }

    #[test]
    fn a_base_path_is_kept_and_segments_are_escaped() {
        for base in ["https://ops.example/erasure", "https://ops.example/erasure/"] {
            let client = Client::new(base, Some("t".into())).unwrap();
            let mut url = client.base.clone();
            url.path_segments_mut().unwrap().pop_if_empty().extend(["v1", "tasks", "a/b"]);
            assert_eq!(url.as_str(), "https://ops.example/erasure/v1/tasks/a%2Fb");
        }
    }
}
