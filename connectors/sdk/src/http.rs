//! The HTTP client every connector uses, and the one table that decides which statuses retry.
//!
//! Before each call the client asks the instance's [`RateLimiter`]; the engine's limiter counts
//! calls across all worker processes. Errors are classified, never retried here: retries that
//! matter are rows in the engine's database.

use crate::outcome::{Failure, FailureKind};
use async_trait::async_trait;
use reqwest::header::{HeaderMap, RETRY_AFTER};
use reqwest::{RequestBuilder, Response, StatusCode};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// Grants permission for one HTTP call to one connector instance.
#[async_trait]
pub trait RateLimiter: Send + Sync {
    /// Wait until one more call may be made.
    async fn acquire(&self) -> Result<(), Failure>;
}

/// No limit: for tests and one-off runs.
pub struct NoLimit;

#[async_trait]
impl RateLimiter for NoLimit {
    async fn acquire(&self) -> Result<(), Failure> {
        Ok(())
    }
}

/// A connector instance's HTTP client: one connection pool, its timeout and its rate limiter.
#[derive(Clone)]
pub struct HttpClient {
    client: reqwest::Client,
    limiter: Arc<dyn RateLimiter>,
    system: Arc<str>,
}

impl HttpClient {
    /// `system` names the instance in failure reasons (`helpdesk answered HTTP 503`).
    pub fn new(system: &str, timeout: Duration, limiter: Arc<dyn RateLimiter>) -> Result<Self, Failure> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .user_agent(concat!("erasure-worker/", env!("CARGO_PKG_VERSION")))
            // A request can carry a person's identifiers: it goes to the configured URL only.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| Failure::permanent(format!("cannot build the HTTP client: {}", e.without_url())))?;
        Ok(HttpClient { client, limiter, system: system.into() })
    }

    /// A client with no rate limit, for tests and one-off runs.
    pub fn unlimited(system: &str, timeout: Duration) -> Self {
        HttpClient::new(system, timeout, Arc::new(NoLimit)).expect("a default HTTP client builds")
    }

    /// Start a request; send it with [`HttpClient::send`] or [`HttpClient::send_any`].
    pub fn request(&self, method: reqwest::Method, url: &str) -> RequestBuilder {
        self.client.request(method, url)
    }

    /// Send after the rate limiter allows it; any non-2xx status becomes a classified failure.
    pub async fn send(&self, request: RequestBuilder) -> Result<Response, Failure> {
        let response = self.send_any(request).await?;
        match classify(response.status(), response.headers(), SystemTime::now()) {
            HttpClass::Success => Ok(response),
            class => Err(self.failure(response.status(), class)),
        }
    }

    /// Send after the rate limiter allows it; return any status (the connector reads 404 itself).
    /// Only transport errors fail: timeouts and refused connections are transient.
    pub async fn send_any(&self, request: RequestBuilder) -> Result<Response, Failure> {
        self.limiter.acquire().await?;
        request.send().await.map_err(|e| {
            let what = if e.is_timeout() { "timed out" } else { "could not be reached" };
            Failure::transient(format!("{} {what}: {}", self.system, e.without_url()))
        })
    }

    /// The failure for a non-success status, by the classifier's table.
    pub fn failure(&self, status: StatusCode, class: HttpClass) -> Failure {
        let mut reason = format!("{} answered HTTP {}", self.system, status.as_u16());
        if status.is_redirection() {
            reason.push_str(" (a redirect: never followed, so identifiers go only to the configured URL)");
        }
        let kind = match class {
            HttpClass::Success | HttpClass::Permanent => FailureKind::Permanent,
            HttpClass::Retry { after } => FailureKind::Transient { after },
            HttpClass::Throttled { after } => FailureKind::Throttled { after },
        };
        Failure { kind, reason }
    }
}

/// What a status means for the erasure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HttpClass {
    Success,
    /// 408 and 5xx: try again, after `Retry-After` if the server sent one.
    Retry {
        after: Option<Duration>,
    },
    /// 429: rate limited; does not consume an attempt.
    Throttled {
        after: Option<Duration>,
    },
    /// Any other 4xx (and odd statuses): a human must act.
    Permanent,
}

/// The one table: 2xx success; 429 throttled; 408 and 5xx retry; everything else permanent.
/// `Retry-After` (seconds or an HTTP date) is honoured on 429 and 503 alike.
pub fn classify(status: StatusCode, headers: &HeaderMap, now: SystemTime) -> HttpClass {
    let after = || retry_after(headers, now);
    match status.as_u16() {
        200..=299 => HttpClass::Success,
        429 => HttpClass::Throttled { after: after() },
        408 | 500..=599 => HttpClass::Retry { after: after() },
        _ => HttpClass::Permanent,
    }
}

/// The `Retry-After` header as a delay from `now`; `None` if absent or unreadable.
pub fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn class(status: u16, retry_after: Option<&str>) -> HttpClass {
        let mut headers = HeaderMap::new();
        if let Some(v) = retry_after {
            headers.insert(RETRY_AFTER, HeaderValue::from_str(v).unwrap());
        }
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_784_000_000);
        classify(StatusCode::from_u16(status).unwrap(), &headers, now)
    }

    /// A 3xx is not followed (the identifiers in the request would go elsewhere): it is a
    /// permanent failure that says so, and the redirect's target never sees a call.
    #[tokio::test]
    async fn redirects_are_never_followed() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        use tokio::net::TcpListener;
        let target = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let target_url = format!("http://{}/elsewhere", target.local_addr().unwrap());
        let redirecting = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/erase", redirecting.local_addr().unwrap());
        tokio::spawn(async move {
            let (mut socket, _) = redirecting.accept().await.unwrap();
            let mut buffer = [0u8; 4096];
            let _ = socket.read(&mut buffer).await;
            let answer =
                format!("HTTP/1.1 307 Temporary Redirect\r\nLocation: {target_url}\r\nContent-Length: 0\r\n\r\n");
            socket.write_all(answer.as_bytes()).await.unwrap();
        });
        let client = HttpClient::unlimited("helpdesk", Duration::from_secs(5));
        let failure = client.send(client.request(reqwest::Method::POST, &url).body("{}")).await.unwrap_err();
        assert!(matches!(failure.kind, FailureKind::Permanent), "{failure:?}");
        assert!(failure.reason.contains("307") && failure.reason.contains("never followed"), "{}", failure.reason);
        let followed = tokio::time::timeout(Duration::from_millis(300), target.accept()).await;
        assert!(followed.is_err(), "the redirect's target was called");
    }

    #[test]
    fn the_table() {
        assert_eq!(class(200, None), HttpClass::Success);
        assert_eq!(class(204, None), HttpClass::Success);
        assert_eq!(class(429, None), HttpClass::Throttled { after: None });
        assert_eq!(class(408, None), HttpClass::Retry { after: None });
        assert_eq!(class(500, None), HttpClass::Retry { after: None });
        assert_eq!(class(503, Some("7")), HttpClass::Retry { after: Some(Duration::from_secs(7)) });
        for permanent in [400, 401, 403, 404, 409, 422, 302] {
            assert_eq!(class(permanent, None), HttpClass::Permanent, "{permanent}");
        }
    }

    #[test]
    fn retry_after_in_seconds_or_as_a_date() {
        assert_eq!(class(429, Some("30")), HttpClass::Throttled { after: Some(Duration::from_secs(30)) });
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_784_000_000);
        let later = httpdate::fmt_http_date(now + Duration::from_secs(90));
        assert_eq!(class(429, Some(&later)), HttpClass::Throttled { after: Some(Duration::from_secs(90)) });
        assert_eq!(class(429, Some("soon")), HttpClass::Throttled { after: None });
    }
}
