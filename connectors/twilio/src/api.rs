//! Twilio's REST API 2010-04-01, as far as this connector uses it: Basic auth, paged lists that
//! follow `next_page_uri`, deletes, and Twilio's error codes in failure reasons.

use erasure_connector::{classify, ExposeSecret, Failure, HttpClass, HttpClient, SecretString};
use reqwest::{Method, Response, StatusCode};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use std::time::SystemTime;

/// Twilio's error 20009: the resource cannot be deleted yet (a call still in progress).
const IN_PROGRESS: u64 = 20009;
/// No listing of one person's records runs to this many pages; more means a loop.
const MAX_PAGES: usize = 10_000;

pub(crate) struct Api {
    http: HttpClient,
    /// The configured base URL without a trailing `/`.
    base: String,
    account: String,
    user: String,
    password: SecretString,
    page_size: u32,
}

/// How a delete went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Deleted {
    Now,
    /// 404: deleted before (an earlier attempt, or by hand).
    AlreadyGone,
    /// Error 20009: not deletable yet.
    NotYet,
}

/// No `Debug`: it holds phone numbers.
#[derive(Deserialize)]
pub(crate) struct Call {
    pub sid: String,
    #[serde(default)]
    pub to: Option<String>,
    #[serde(default)]
    pub from: Option<String>,
    /// The parent leg, when this call is a child leg: a two-leg call's recordings are the
    /// parent's (their `call_sid` always names the parent leg).
    #[serde(default)]
    pub parent_call_sid: Option<String>,
    /// RFC 2822, e.g. `Tue, 25 Nov 2025 09:30:00 +0000`.
    #[serde(default)]
    pub date_created: Option<String>,
}

/// An SMS or MMS. No `Debug`: it holds phone numbers and text.
#[derive(Deserialize)]
pub(crate) struct Message {
    pub sid: String,
    #[serde(default)]
    pub to: Option<String>,
    #[serde(default)]
    pub from: Option<String>,
    #[serde(default)]
    pub body: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    /// A count, as a string (`"2"`).
    #[serde(default)]
    pub num_media: Option<String>,
    #[serde(default)]
    pub date_created: Option<String>,
}

impl Message {
    /// Still being sent or received: Twilio deletes and redacts only final ("post-flight")
    /// messages.
    pub fn in_flight(&self) -> bool {
        matches!(self.status.as_deref(), Some("accepted" | "scheduled" | "queued" | "sending" | "receiving"))
    }

    pub fn has_body(&self) -> bool {
        self.body.as_deref().is_some_and(|b| !b.is_empty())
    }

    pub fn media(&self) -> u64 {
        self.num_media.as_deref().and_then(|n| n.parse().ok()).unwrap_or(0)
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct Media {
    pub sid: String,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Recording {
    pub sid: String,
    #[serde(default)]
    pub call_sid: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
}

impl Recording {
    pub fn is_deleted(&self) -> bool {
        self.status.as_deref() == Some("deleted")
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct Transcription {
    pub sid: String,
    #[serde(default)]
    pub recording_sid: Option<String>,
}

#[derive(Deserialize)]
struct ErrorBody {
    code: Option<u64>,
}

/// `prefix` and 32 hex digits: the only sids this connector puts in a path or a query.
pub(crate) fn is_sid(prefix: &str, sid: &str) -> bool {
    sid.strip_prefix(prefix).is_some_and(|hex| hex.len() == 32 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
}

impl Api {
    pub fn new(
        http: HttpClient,
        base_url: &str,
        account: String,
        user: String,
        password: SecretString,
        page_size: u32,
    ) -> Api {
        Api { http, base: base_url.trim_end_matches('/').to_string(), account, user, password, page_size }
    }

    pub fn account(&self) -> &str {
        &self.account
    }

    /// The path of the account's API root; every URL this connector calls starts with it.
    fn account_path(&self) -> String {
        format!("/2010-04-01/Accounts/{}/", self.account)
    }

    fn url(&self, tail: &str, query: &[(&str, &str)]) -> String {
        let mut url = format!("{}{}{tail}", self.base, self.account_path());
        if !query.is_empty() {
            url.push('?');
            url.push_str(&url::form_urlencoded::Serializer::new(String::new()).extend_pairs(query).finish());
        }
        url
    }

    async fn send(&self, method: Method, url: &str) -> Result<Response, Failure> {
        let request = self.http.request(method, url).basic_auth(&self.user, Some(self.password.expose_secret()));
        self.http.send_any(request).await
    }

    /// The classified failure for a non-2xx answer.
    async fn failure(&self, response: Response) -> Failure {
        let status = response.status();
        let class = classify(status, response.headers(), SystemTime::now());
        self.failure_with_code(status, class, error_code(response).await)
    }

    /// The reason names Twilio's error code, never its message (which may repeat an identifier).
    fn failure_with_code(&self, status: StatusCode, class: HttpClass, code: Option<u64>) -> Failure {
        let mut failure = self.http.failure(status, class);
        if let Some(code) = code {
            failure.reason.push_str(&format!(" (Twilio error {code})"));
        }
        failure
    }

    /// Every record of a list, page after page. `tail` is the list's path under the account;
    /// `key` the JSON array holding the records. A 404 is an empty list when `missing_is_empty`.
    pub async fn list<T: DeserializeOwned>(
        &self,
        tail: &str,
        key: &str,
        query: &[(&str, &str)],
        missing_is_empty: bool,
    ) -> Result<Vec<T>, Failure> {
        let page_size = self.page_size.to_string();
        let mut query = query.to_vec();
        query.push(("PageSize", &page_size));
        let mut url = self.url(tail, &query);
        let mut records = Vec::new();
        for _ in 0..MAX_PAGES {
            let response = self.send(Method::GET, &url).await?;
            if missing_is_empty && response.status() == StatusCode::NOT_FOUND {
                return Ok(records);
            }
            if !response.status().is_success() {
                return Err(self.failure(response).await);
            }
            let page: serde_json::Value = response.json().await.map_err(|_| self.unreadable(key))?;
            let items = page.get(key).cloned().ok_or_else(|| self.unreadable(key))?;
            records.extend(serde_json::from_value::<Vec<T>>(items).map_err(|_| self.unreadable(key))?);
            match page.get("next_page_uri").and_then(|n| n.as_str()).filter(|n| !n.is_empty()) {
                Some(next) => url = self.next_page(next)?,
                None => return Ok(records),
            }
        }
        Err(Failure::permanent(format!("twilio listed {key} over more than {MAX_PAGES} pages")))
    }

    /// `next_page_uri` on the configured base URL. Twilio gives it relative to the API root; an
    /// absolute one keeps only its path and query, so that a page never leads to another host
    /// (or around a proxy), and it must stay within the account.
    fn next_page(&self, next: &str) -> Result<String, Failure> {
        let path_and_query = if next.starts_with('/') {
            next.to_string()
        } else {
            let url = url::Url::parse(next).map_err(|_| self.bad_next_page())?;
            match url.query() {
                Some(query) => format!("{}?{query}", url.path()),
                None => url.path().to_string(),
            }
        };
        let path = path_and_query.split('?').next().unwrap_or_default();
        let climbs = path.contains("..") || path.to_ascii_lowercase().contains("%2e");
        if climbs || !path.starts_with(&self.account_path()) {
            return Err(self.bad_next_page());
        }
        Ok(format!("{}{path_and_query}", self.base))
    }

    fn bad_next_page(&self) -> Failure {
        Failure::permanent("twilio answered a next_page_uri outside the configured account")
    }

    fn unreadable(&self, key: &str) -> Failure {
        Failure::permanent(format!("twilio answered a list of {key} that could not be read"))
    }

    /// `DELETE` one resource (`tail` under the account): 204 deleted, 404 already gone,
    /// 400 with error 20009 not deletable yet; anything else is a classified failure.
    pub async fn delete(&self, tail: &str) -> Result<Deleted, Failure> {
        let response = self.send(Method::DELETE, &self.url(tail, &[])).await?;
        self.deleted(response).await
    }

    /// How a destructive call went: 2xx done, 404 already gone, 400 with error 20009 not yet.
    async fn deleted(&self, response: Response) -> Result<Deleted, Failure> {
        let status = response.status();
        if status.is_success() {
            return Ok(Deleted::Now);
        }
        if status == StatusCode::NOT_FOUND {
            return Ok(Deleted::AlreadyGone);
        }
        if status == StatusCode::BAD_REQUEST {
            let class = classify(status, response.headers(), SystemTime::now());
            return match error_code(response).await {
                Some(IN_PROGRESS) => Ok(Deleted::NotYet),
                code => Err(self.failure_with_code(status, class, code)),
            };
        }
        Err(self.failure(response).await)
    }

    /// Redact a message's body: `POST Messages/{sid}.json` with an empty `Body`. 200 redacted,
    /// 404 gone, error 20009 not final yet.
    pub async fn redact_message(&self, sid: &str) -> Result<Deleted, Failure> {
        let url = self.url(&format!("Messages/{sid}.json"), &[]);
        let request = self
            .http
            .request(Method::POST, &url)
            .basic_auth(&self.user, Some(self.password.expose_secret()))
            .header(reqwest::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body("Body=");
        let response = self.http.send_any(request).await?;
        self.deleted(response).await
    }

    /// One authenticated call that lists nothing of interest: one recording, if any.
    pub async fn ping(&self) -> Result<(), Failure> {
        let response = self.send(Method::GET, &self.url("Recordings.json", &[("PageSize", "1")])).await?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err(self.failure(response).await)
        }
    }
}

async fn error_code(response: Response) -> Option<u64> {
    let bytes = response.bytes().await.ok()?;
    serde_json::from_slice::<ErrorBody>(&bytes).ok()?.code
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn api(base: &str) -> Api {
        Api::new(
            HttpClient::unlimited("twilio", Duration::from_secs(1)),
            base,
            format!("AC{}", "a".repeat(32)),
            "user".into(),
            SecretString::from("secret".to_string()),
            50,
        )
    }

    #[test]
    fn sids_are_a_prefix_and_32_hex_digits() {
        assert!(is_sid("RE", &format!("RE{}", "0aF9".repeat(8))));
        assert!(!is_sid("RE", &format!("CA{}", "0".repeat(32))));
        assert!(!is_sid("RE", &format!("RE{}", "0".repeat(31))));
        assert!(!is_sid("RE", &format!("RE{}/../x", "0".repeat(27))));
    }

    #[test]
    fn phones_are_escaped_in_queries() {
        let url = api("https://api.twilio.com/").url("Calls.json", &[("To", "+33612345678"), ("From", "a&b=c d")]);
        assert_eq!(
            url,
            format!(
                "https://api.twilio.com/2010-04-01/Accounts/AC{}/Calls.json?To=%2B33612345678&From=a%26b%3Dc+d",
                "a".repeat(32)
            )
        );
    }

    #[test]
    fn next_pages_stay_on_the_base_url_and_in_the_account() {
        let api = api("http://sim:1/twilio");
        let path = format!("/2010-04-01/Accounts/AC{}/Calls.json?PageToken=PA1", "a".repeat(32));
        assert_eq!(api.next_page(&path).unwrap(), format!("http://sim:1/twilio{path}"));
        assert_eq!(
            api.next_page(&format!("https://elsewhere.example{path}")).unwrap(),
            format!("http://sim:1/twilio{path}")
        );
        assert!(api.next_page("/2010-04-01/Accounts/ACbbbb/Calls.json").is_err());
        assert!(api.next_page("https://elsewhere.example/admin").is_err());
        assert!(api.next_page("not a uri").is_err());
        assert!(api.next_page(&format!("/2010-04-01/Accounts/AC{}/../../admin", "a".repeat(32))).is_err());
        assert!(api.next_page(&format!("/2010-04-01/Accounts/AC{}/%2E%2E/x", "a".repeat(32))).is_err());
    }
}
