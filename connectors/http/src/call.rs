//! One request of a definition: rendered (each placeholder encoded for where it lands), sent
//! through the instance's `HttpClient` with the credentials, and its answer classified: the
//! step's `gone` statuses, then the definition's `[[errors]]` mappings, then the SDK's table.

use crate::auth::Auth;
use crate::conditions;
use crate::definition::{ErrorClass, ErrorMapping, RateLimitHint, Request, ResetUnit};
use crate::template::{path_segment, RenderError, Scope, Template};
use erasure_connector::{classify, Failure, FailureKind, HttpClient};
use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub struct Caller {
    pub http: HttpClient,
    pub base: url::Url,
    pub headers: BTreeMap<String, String>,
    pub auth: Auth,
    pub rate_limit: Option<RateLimitHint>,
    pub errors: Vec<ErrorMapping>,
    pub vars: BTreeMap<String, String>,
    /// The instance name, for failure reasons.
    pub system: String,
}

/// A request ready to send.
#[derive(Debug, Clone)]
pub struct Built {
    pub method: Method,
    pub url: url::Url,
    pub headers: Vec<(String, String)>,
    pub body: Option<Value>,
}

/// A classified answer.
pub enum Answer {
    Ok {
        body: Value,
        headers: HeaderMap,
    },
    /// A `gone` status, or an error mapped to `gone` (with the evidence count it adds to).
    Gone {
        count: Option<String>,
    },
}

impl Caller {
    /// Render `request` in `scope`; `batch` fills a body's `"{batch}"`.
    pub fn build(&self, request: &Request, scope: &Scope, batch: Option<&Value>) -> Result<Built, RenderError> {
        let method = Method::from_bytes(request.method.to_ascii_uppercase().as_bytes()).unwrap_or(Method::GET);
        let path =
            Template::parse(&request.path).map_err(|_| RenderError::Unaddressable)?.render(scope, path_segment)?;
        let mut url = self.url(&path)?;
        for (name, value) in &request.query {
            let value = render_text(value, scope)?;
            url.query_pairs_mut().append_pair(name, &value);
        }
        let mut headers = Vec::new();
        for (name, value) in self.headers.iter().chain(&request.headers) {
            headers.push((name.clone(), render_text(value, scope)?));
        }
        let body = request.body.as_ref().map(|b| render_body(b, scope, batch)).transpose()?;
        Ok(Built { method, url, headers, body })
    }

    /// The base URL followed by `path` (already encoded); it must stay on the base URL's origin.
    pub fn url(&self, path: &str) -> Result<url::Url, RenderError> {
        let base = self.base.as_str().trim_end_matches('/');
        let url = url::Url::parse(&format!("{base}{path}")).map_err(|_| RenderError::Unaddressable)?;
        match url.origin() == self.base.origin() {
            true => Ok(url),
            false => Err(RenderError::Unaddressable),
        }
    }

    /// Send `built`; a 401 with an OAuth2 token is retried once with a new token.
    pub async fn send(&self, built: &Built, gone: &[u16]) -> Result<Answer, Failure> {
        let mut refreshed = false;
        loop {
            let mut url = built.url.clone();
            if let Some((name, key)) = self.auth.query_pair() {
                url.query_pairs_mut().append_pair(name, key);
            }
            let mut request =
                self.http.request(built.method.clone(), url.as_str()).header("Accept", "application/json");
            for (name, value) in &built.headers {
                request = request.header(name.as_str(), value.as_str());
            }
            if let Some(body) = &built.body {
                request = request.json(body);
            }
            let response = self.http.send_any(self.auth.apply(request).await?).await?;
            let status = response.status();
            if status == StatusCode::UNAUTHORIZED && !refreshed && self.auth.refresh_after_401().await {
                refreshed = true;
                continue;
            }
            let headers = response.headers().clone();
            let text = response.bytes().await.unwrap_or_default();
            let body: Value = serde_json::from_slice(&text).unwrap_or(Value::Null);
            if status.is_success() {
                return Ok(Answer::Ok { body, headers });
            }
            if gone.contains(&status.as_u16()) {
                return Ok(Answer::Gone { count: None });
            }
            return self.refused(status, &headers, &body);
        }
    }

    /// A non-2xx answer: the first matching mapping decides, else the SDK's table.
    fn refused(&self, status: StatusCode, headers: &HeaderMap, body: &Value) -> Result<Answer, Failure> {
        for (i, mapping) in self.errors.iter().enumerate() {
            if !mapping.status.contains(&status.as_u16()) || !mapping_holds(mapping, body) {
                continue;
            }
            let reason =
                format!("{} answered HTTP {} (errors[{i}]: {:?})", self.system, status.as_u16(), mapping.class);
            return match mapping.class {
                ErrorClass::Gone => Ok(Answer::Gone { count: mapping.count.clone() }),
                ErrorClass::Retry => Err(Failure::transient(reason)),
                ErrorClass::Permanent => Err(Failure::permanent(reason)),
            };
        }
        let now = SystemTime::now();
        let mut failure = self.http.failure(status, classify(status, headers, now));
        if let (FailureKind::Throttled { after: None }, Some(hint)) = (failure.kind, &self.rate_limit) {
            failure.kind = FailureKind::Throttled { after: reset_after(headers, hint, now) };
        }
        Err(failure)
    }
}

fn mapping_holds(mapping: &ErrorMapping, body: &Value) -> bool {
    match &mapping.field {
        None => true,
        Some(field) => {
            let condition = crate::definition::Condition {
                field: field.clone(),
                equals: mapping.equals.clone(),
                one_of: None,
                not_in: None,
                present: mapping.equals.is_none().then_some(true),
            };
            conditions::holds(&condition, body, &Scope::default())
        }
    }
}

/// The vendor's own reset header as a delay (at least 1 s, at most an hour).
fn reset_after(headers: &HeaderMap, hint: &RateLimitHint, now: SystemTime) -> Option<Duration> {
    let value: u64 = headers.get(hint.reset_header.as_str())?.to_str().ok()?.trim().parse().ok()?;
    let wait = match hint.reset {
        ResetUnit::Seconds => Duration::from_secs(value),
        ResetUnit::Unix => (UNIX_EPOCH + Duration::from_secs(value)).duration_since(now).unwrap_or(Duration::ZERO),
    };
    Some(wait.clamp(Duration::from_secs(1), Duration::from_secs(3600)))
}

fn render_text(text: &str, scope: &Scope) -> Result<String, RenderError> {
    Template::parse(text).map_err(|_| RenderError::Unaddressable)?.render_raw(scope)
}

/// A JSON body with each string's placeholders filled as JSON string content; a string that is
/// exactly `"{batch}"` becomes the batch.
pub fn render_body(value: &Value, scope: &Scope, batch: Option<&Value>) -> Result<Value, RenderError> {
    Ok(match value {
        Value::String(text) => {
            let template = Template::parse(text).map_err(|_| RenderError::Unaddressable)?;
            match (template.alone().map(|p| &p.source), batch) {
                (Some(crate::template::Source::Batch), Some(batch)) => batch.clone(),
                _ => Value::String(template.render_raw(scope)?),
            }
        }
        Value::Array(items) => {
            Value::Array(items.iter().map(|v| render_body(v, scope, batch)).collect::<Result<_, _>>()?)
        }
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| Ok((k.clone(), render_body(v, scope, batch)?)))
                .collect::<Result<_, RenderError>>()?,
        ),
        other => other.clone(),
    })
}
