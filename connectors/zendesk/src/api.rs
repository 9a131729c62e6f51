//! Zendesk's API as the connector calls it: one method per call, signed in, through the engine's
//! HTTP client; listings follow `next_page` within the base URL only; Zendesk's 429 is read with
//! its own rule.

mod help_center;
mod talk;

pub(crate) use help_center::{ArticleComment, Post, PostComment};

use crate::config::{Auth, Checked};
use crate::markup::{attachment_urls, email_query, redact_all};
use crate::model::{Comment, ComplianceStatus, Identity, JobStatus, Ticket, User};
use erasure_connector::{classify, ExposeSecret, Failure, HttpClass, HttpClient};
use reqwest::header::{HeaderMap, RETRY_AFTER};
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::{json, Map, Value};
use std::time::{Duration, SystemTime};
use url::Url;

/// List Search Results returns at most this many results for a query (Zendesk's "Results limit").
const SEARCH_RESULTS_CAP: u64 = 1000;

/// Zendesk's bulk endpoints take at most 100 ids.
pub(crate) const MAX_BULK_IDS: usize = 100;
/// A listing longer than this is not followed to its end.
const MAX_PAGES: usize = 500;
/// A `Retry-After` below this is no hint: Zendesk sends `1` when it has none to give.
const MIN_HINT: Duration = Duration::from_secs(2);

/// What `DELETE /users/{id}` came to.
pub(crate) enum UserDeletion {
    Deleted,
    AlreadyGone,
    /// 422: Zendesk keeps a user who requests tickets that are not closed.
    Refused,
}

pub(crate) struct Api {
    http: HttpClient,
    base: Url,
    auth: Auth,
    per_page: u32,
}

impl Api {
    pub fn new(http: HttpClient, checked: &Checked) -> Api {
        Api { http, base: checked.base.clone(), auth: checked.auth.clone(), per_page: checked.per_page }
    }

    /// `GET /api/v2/users/me`: the caller's user id; `None` when Zendesk took the call as anonymous.
    pub async fn me(&self) -> Result<Option<i64>, Failure> {
        let answer: Value = read(self.send(self.request(Method::GET, &self.url("users/me"))).await?).await?;
        Ok(answer.pointer("/user/id").and_then(Value::as_i64))
    }

    /// `GET /api/v2/users/search?query=email:"..."`, every page. Fuzzy: check the results.
    pub async fn search_by_email(&self, email: &str) -> Result<Vec<User>, Failure> {
        let mut url = self.url("users/search");
        url.query_pairs_mut().append_pair("query", &email_query(email));
        self.list(url, "users").await
    }

    /// `GET /api/v2/users/search?external_id=...`, every page.
    pub async fn search_by_external_id(&self, external_id: &str) -> Result<Vec<User>, Failure> {
        let mut url = self.url("users/search");
        url.query_pairs_mut().append_pair("external_id", external_id);
        self.list(url, "users").await
    }

    /// `GET /api/v2/users/{id}`: also shows a soft-deleted user (`active: false`).
    pub async fn user(&self, id: i64) -> Result<Option<User>, Failure> {
        let Some(response) = self.send_found(self.request(Method::GET, &self.url(&format!("users/{id}")))).await?
        else {
            return Ok(None);
        };
        let answer: UserAnswer = read(response).await?;
        Ok(Some(answer.user))
    }

    /// `GET /api/v2/users/{id}/identities`, every page: e-mail addresses beyond the primary one.
    pub async fn identities(&self, user: i64) -> Result<Vec<Identity>, Failure> {
        self.list(self.url(&format!("users/{user}/identities")), "identities").await
    }

    /// The tickets whose `requester` or `cc` is the user, archived ones included (a user's own
    /// lists of tickets leave those out): `GET /api/v2/search?query=type:ticket {keyword}:{user}`
    /// (List Search Results, under the account's rate limit), every page. That endpoint stops at
    /// 1,000 results a query ("Results limit"): when its `count` says more, the tickets come from
    /// Export Search Results instead, whose own limit is 100 calls a minute for the account, so
    /// it is kept for the people who need it.
    pub async fn search_tickets(&self, keyword: &str, user: i64) -> Result<Vec<Ticket>, Failure> {
        let mut url = self.url("search");
        url.query_pairs_mut()
            .append_pair("query", &format!("type:ticket {keyword}:{user}"))
            .append_pair("per_page", &self.per_page.to_string());
        let mut all = Vec::new();
        for _ in 0..MAX_PAGES {
            let mut answer: Map<String, Value> = read(self.send(self.request(Method::GET, &url)).await?).await?;
            if answer.get("count").and_then(Value::as_u64).is_some_and(|n| n > SEARCH_RESULTS_CAP) {
                return self.export_tickets(keyword, user).await;
            }
            let items = answer.remove("results").unwrap_or_else(|| json!([]));
            all.extend(serde_json::from_value::<Vec<Ticket>>(items).map_err(|_| unreadable())?);
            match Paging::Offset.next(&answer)? {
                None => return Ok(all),
                Some(next) => url = self.next_page(next)?,
            }
        }
        Err(too_many_pages())
    }

    /// `GET /api/v2/search/export?query={keyword}:{user}&filter[type]=ticket`, every page: no
    /// 1,000-result cap, a cursor, the type in `filter[type]` only.
    async fn export_tickets(&self, keyword: &str, user: i64) -> Result<Vec<Ticket>, Failure> {
        let mut url = self.url("search/export");
        url.query_pairs_mut().append_pair("query", &format!("{keyword}:{user}")).append_pair("filter[type]", "ticket");
        Ok(self.walk(url, "results", Paging::Cursor, false).await?.unwrap_or_default())
    }

    /// `GET /api/v2/deleted_tickets`, every page: the ids of soft-deleted tickets (archived ones
    /// are not listed).
    pub async fn deleted_tickets(&self) -> Result<Vec<i64>, Failure> {
        let tickets: Vec<Ticket> = self.list(self.url("deleted_tickets"), "deleted_tickets").await?;
        Ok(tickets.into_iter().map(|t| t.id).collect())
    }

    /// How many tickets the user requested, archived ones included:
    /// `GET /api/v2/search/count?query=type:ticket requester:{id}`.
    pub async fn requested_count(&self, user: i64) -> Result<u64, Failure> {
        let mut url = self.url("search/count");
        url.query_pairs_mut().append_pair("query", &format!("type:ticket requester:{user}"));
        let answer: Value = read(self.send(self.request(Method::GET, &url)).await?).await?;
        Ok(answer.get("count").and_then(Value::as_u64).unwrap_or(0))
    }

    /// `GET /api/v2/tickets/{id}/comments`, every page.
    pub async fn comments(&self, ticket: i64) -> Result<Vec<Comment>, Failure> {
        self.list(self.url(&format!("tickets/{ticket}/comments")), "comments").await
    }

    /// `PUT /api/v2/comment_redactions/{comment_id}`: all its text, links, images and attachments.
    pub async fn redact(&self, ticket: i64, comment: &Comment) -> Result<(), Failure> {
        let mut body = json!({ "ticket_id": ticket });
        if !comment.html_body.trim().is_empty() {
            body["html_body"] = json!(redact_all(&comment.html_body));
        }
        let attachments = attachment_urls(comment);
        if !attachments.is_empty() {
            body["external_attachment_urls"] = json!(attachments);
        }
        let url = self.url(&format!("comment_redactions/{}", comment.id));
        self.send(self.request(Method::PUT, &url).json(&body)).await.map(drop)
    }

    /// `PUT /api/v2/tickets/{id}`: take the user off the ticket's CCs and followers. Zendesk's
    /// OAS types `user_id` there (`EmailCCObject`, `FollowerObject`) as a string.
    pub async fn unwatch(&self, ticket: i64, user: i64) -> Result<(), Failure> {
        let change = json!([{ "user_id": user.to_string(), "action": "delete" }]);
        let body = json!({ "ticket": { "email_ccs": change, "followers": change } });
        self.send(self.request(Method::PUT, &self.url(&format!("tickets/{ticket}"))).json(&body)).await.map(drop)
    }

    /// `DELETE /api/v2/tickets/destroy_many?ids=...` (at most 100): the job's id.
    pub async fn delete_tickets(&self, ids: &[i64]) -> Result<String, Failure> {
        self.bulk("tickets/destroy_many", ids).await
    }

    /// `DELETE /api/v2/deleted_tickets/destroy_many?ids=...` (at most 100): the job's id.
    pub async fn purge_tickets(&self, ids: &[i64]) -> Result<String, Failure> {
        self.bulk("deleted_tickets/destroy_many", ids).await
    }

    async fn bulk(&self, path: &str, ids: &[i64]) -> Result<String, Failure> {
        debug_assert!(!ids.is_empty() && ids.len() <= MAX_BULK_IDS);
        let mut url = self.url(path);
        let ids: Vec<String> = ids.iter().map(i64::to_string).collect();
        url.query_pairs_mut().append_pair("ids", &ids.join(","));
        let answer: JobAnswer = read(self.send(self.request(Method::DELETE, &url)).await?).await?;
        Ok(answer.job_status.id)
    }

    /// `GET /api/v2/job_statuses/{id}`; `None` once Zendesk has forgotten the job.
    pub async fn job(&self, id: &str) -> Result<Option<JobStatus>, Failure> {
        let mut url = self.url("job_statuses");
        url.path_segments_mut().expect("an http(s) base URL").push(id);
        let Some(response) = self.send_found(self.request(Method::GET, &url)).await? else { return Ok(None) };
        let answer: JobAnswer = read(response).await?;
        Ok(Some(answer.job_status))
    }

    /// `DELETE /api/v2/users/{id}`: soft delete.
    pub async fn delete_user(&self, id: i64) -> Result<UserDeletion, Failure> {
        let response = self.http.send_any(self.request(Method::DELETE, &self.url(&format!("users/{id}")))).await?;
        match response.status() {
            s if s.is_success() => Ok(UserDeletion::Deleted),
            StatusCode::NOT_FOUND => Ok(UserDeletion::AlreadyGone),
            StatusCode::UNPROCESSABLE_ENTITY => Ok(UserDeletion::Refused),
            _ => Err(self.failure(&response)),
        }
    }

    /// `DELETE /api/v2/deleted_users/{id}`: permanent; `false` if there was nothing to delete.
    pub async fn purge_user(&self, id: i64) -> Result<bool, Failure> {
        let request = self.request(Method::DELETE, &self.url(&format!("deleted_users/{id}")));
        Ok(self.send_found(request).await?.is_some())
    }

    /// `GET /api/v2/users/{id}/compliance_deletion_statuses`; `None` for an unknown user.
    pub async fn compliance(&self, id: i64) -> Result<Option<Vec<ComplianceStatus>>, Failure> {
        let url = self.url(&format!("users/{id}/compliance_deletion_statuses"));
        let Some(response) = self.send_found(self.request(Method::GET, &url)).await? else { return Ok(None) };
        let answer: ComplianceAnswer = read(response).await?;
        Ok(Some(answer.compliance_deletion_statuses))
    }

    /// Every page of a listing: `{key: [...], "next_page": URL or null}`.
    async fn list<T: DeserializeOwned>(&self, url: Url, key: &str) -> Result<Vec<T>, Failure> {
        Ok(self.pages(url, key, false).await?.unwrap_or_default())
    }

    /// Every page of an offset-paginated listing; with `first_404_is_none`, `None` when the
    /// first page is a 404 (a product the account does not have), else a 404 is a failure like
    /// any other.
    pub(crate) async fn pages<T: DeserializeOwned>(
        &self,
        url: Url,
        key: &str,
        first_404_is_none: bool,
    ) -> Result<Option<Vec<T>>, Failure> {
        self.walk(url, key, Paging::Offset, first_404_is_none).await
    }

    /// Every page of a listing, offset or cursor paginated.
    async fn walk<T: DeserializeOwned>(
        &self,
        mut url: Url,
        key: &str,
        paging: Paging,
        first_404_is_none: bool,
    ) -> Result<Option<Vec<T>>, Failure> {
        url.query_pairs_mut().append_pair(paging.size_parameter(), &self.per_page.to_string());
        let mut all = Vec::new();
        for page in 0..MAX_PAGES {
            let request = self.request(Method::GET, &url);
            let response = if first_404_is_none {
                match self.send_found(request).await? {
                    Some(response) => response,
                    None if page == 0 => return Ok(None),
                    None => return Err(Failure::transient("zendesk answered 404 to a later page of a listing")),
                }
            } else {
                self.send(request).await?
            };
            let mut answer: Map<String, Value> = read(response).await?;
            let items = answer.remove(key).unwrap_or_else(|| json!([]));
            all.extend(serde_json::from_value::<Vec<T>>(items).map_err(|_| unreadable())?);
            match paging.next(&answer)? {
                None => return Ok(Some(all)),
                Some(next) => url = self.next_page(next)?,
            }
        }
        Err(too_many_pages())
    }

    /// The next page of a listing, followed only within the configured base URL.
    fn next_page(&self, candidate: &str) -> Result<Url, Failure> {
        self.within_base(candidate).ok_or_else(|| {
            Failure::permanent(
                "zendesk's next_page points outside the configured base_url; the connector does not follow it",
            )
        })
    }

    /// A `next_page` is followed only on the configured origin, under its `/api/v2/`.
    fn within_base(&self, candidate: &str) -> Option<Url> {
        let url = Url::parse(candidate).ok()?;
        let api = self.url("");
        let same = url.origin() == self.base.origin() && url.path().starts_with(api.path());
        (same && url.username().is_empty() && url.password().is_none()).then_some(url)
    }

    fn url(&self, path: &str) -> Url {
        let mut url = self.base.clone();
        url.set_path(&format!("{}/api/v2/{path}", self.base.path().trim_end_matches('/')));
        url
    }

    fn request(&self, method: Method, url: &Url) -> RequestBuilder {
        let request = self.http.request(method, url.as_str()).header("accept", "application/json");
        match &self.auth {
            Auth::Token { user, token } => request.basic_auth(user, Some(token.expose_secret())),
            Auth::OAuth(token) => request.bearer_auth(token.expose_secret()),
        }
    }

    /// Any status but 2xx is a classified failure.
    async fn send(&self, request: RequestBuilder) -> Result<Response, Failure> {
        let response = self.http.send_any(request).await?;
        if response.status().is_success() {
            Ok(response)
        } else {
            Err(self.failure(&response))
        }
    }

    /// As `send`, with 404 as `None`.
    async fn send_found(&self, request: RequestBuilder) -> Result<Option<Response>, Failure> {
        let response = self.http.send_any(request).await?;
        match response.status() {
            s if s.is_success() => Ok(Some(response)),
            StatusCode::NOT_FOUND => Ok(None),
            _ => Err(self.failure(&response)),
        }
    }

    /// The SDK's table, except that Zendesk's 429 hint counts only from 2 seconds up.
    fn failure(&self, response: &Response) -> Failure {
        let status = response.status();
        let class = match status {
            StatusCode::TOO_MANY_REQUESTS => HttpClass::Throttled { after: hint(response.headers()) },
            _ => classify(status, response.headers(), SystemTime::now()),
        };
        self.http.failure(status, class)
    }
}

/// How a listing pages.
#[derive(Clone, Copy)]
enum Paging {
    /// `per_page`; the next page is `next_page` (null on the last).
    Offset,
    /// `page[size]`; the next page is `links.next` while `meta.has_more` is true.
    Cursor,
}

impl Paging {
    fn size_parameter(self) -> &'static str {
        match self {
            Paging::Offset => "per_page",
            Paging::Cursor => "page[size]",
        }
    }

    /// The next page's URL, `None` after the last page.
    fn next(self, answer: &Map<String, Value>) -> Result<Option<&str>, Failure> {
        match self {
            Paging::Offset => Ok(answer.get("next_page").and_then(Value::as_str)),
            Paging::Cursor => {
                let more = answer.get("meta").and_then(|m| m.get("has_more")).and_then(Value::as_bool);
                if more != Some(true) {
                    return Ok(None);
                }
                let next = answer.get("links").and_then(|l| l.get("next")).and_then(Value::as_str);
                next.map(Some)
                    .ok_or_else(|| Failure::transient("zendesk said more results follow but gave no next link"))
            }
        }
    }
}

/// `Retry-After` in whole seconds, when it says at least 2; otherwise the engine's backoff applies.
pub(crate) fn hint(headers: &HeaderMap) -> Option<Duration> {
    let seconds: u64 = headers.get(RETRY_AFTER)?.to_str().ok()?.trim().parse().ok()?;
    Some(Duration::from_secs(seconds)).filter(|after| *after >= MIN_HINT)
}

async fn read<T: DeserializeOwned>(response: Response) -> Result<T, Failure> {
    let bytes = response.bytes().await.map_err(|e| {
        let what = if e.is_timeout() { "timed out" } else { "broke off" };
        Failure::transient(format!("zendesk's answer {what}"))
    })?;
    serde_json::from_slice(&bytes).map_err(|_| unreadable())
}

fn too_many_pages() -> Failure {
    Failure::permanent(format!("a zendesk listing ran past {MAX_PAGES} pages; the connector stops there"))
}

fn unreadable() -> Failure {
    Failure::transient("zendesk answered a body the connector cannot read")
}

#[derive(serde::Deserialize)]
struct UserAnswer {
    user: User,
}

#[derive(serde::Deserialize)]
struct JobAnswer {
    job_status: JobStatus,
}

#[derive(serde::Deserialize)]
struct ComplianceAnswer {
    #[serde(default)]
    compliance_deletion_statuses: Vec<ComplianceStatus>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    /// Export Search Results: `links.next` is followed only while `meta.has_more`; more results
    /// without a link to them is a failure, never a short list.
    #[test]
    fn a_cursor_page_leads_on_only_while_there_is_more() {
        let page = |more: bool, next: Option<&str>| -> Map<String, Value> {
            serde_json::from_value(json!({ "results": [], "meta": { "has_more": more }, "links": { "next": next } }))
                .unwrap()
        };
        let last = page(false, Some("https://acme.zendesk.com/api/v2/search/export?page%5Bafter%5D=x"));
        assert_eq!(Paging::Cursor.next(&last).unwrap(), None);
        let more = page(true, Some("https://acme.zendesk.com/api/v2/search/export?page%5Bafter%5D=x"));
        assert_eq!(
            Paging::Cursor.next(&more).unwrap(),
            Some("https://acme.zendesk.com/api/v2/search/export?page%5Bafter%5D=x")
        );
        assert!(Paging::Cursor.next(&page(true, None)).is_err());
        let offset: Map<String, Value> =
            serde_json::from_value(json!({ "next_page": "https://a/api/v2/x?page=2" })).unwrap();
        assert_eq!(Paging::Offset.next(&offset).unwrap(), Some("https://a/api/v2/x?page=2"));
    }

    #[test]
    fn a_retry_after_below_two_seconds_is_no_hint() {
        let with = |v: Option<&str>| {
            let mut headers = HeaderMap::new();
            if let Some(v) = v {
                headers.insert(RETRY_AFTER, HeaderValue::from_str(v).unwrap());
            }
            hint(&headers)
        };
        assert_eq!(with(Some("42")), Some(Duration::from_secs(42)));
        assert_eq!(with(Some("2")), Some(Duration::from_secs(2)));
        assert_eq!(with(Some("1")), None);
        assert_eq!(with(Some("0")), None);
        assert_eq!(with(Some("soon")), None);
        assert_eq!(with(None), None);
    }
}
