//! Intercom's endpoints, one function each: every call carries the bearer token and
//! `Intercom-Version: 2.14`, goes through the instance's `HttpClient`, and comes back classified.

use crate::throttle::reset_after;
use crate::wire::{Call, CallList, Contact, ContactPage, Conversation, ConversationPage, ErrorList};
use erasure_connector::{classify, ExposeSecret, Failure, FailureKind, HttpClient, SecretString};
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::json;
use std::future::Future;
use std::time::SystemTime;

/// The API version every call asks for (and the vendor spec the tests validate against).
pub const VERSION: &str = "2.14";

pub(crate) struct Api {
    http: HttpClient,
    /// Scheme, host and any path prefix, without a trailing slash.
    base: String,
    token: SecretString,
    page_size: u32,
}

/// What the connector redacts: a part of a conversation, or the message that started it.
pub(crate) enum Target<'a> {
    Part(&'a str),
    Source(&'a str),
}

/// The answer to one redaction.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Redaction {
    Done,
    /// The part or the conversation no longer exists.
    Gone,
    /// Intercom refuses (`conversation_part_not_redactable`): already redacted, or no body.
    NotRedactable,
}

impl Api {
    pub fn new(http: HttpClient, base: String, token: SecretString, page_size: u32) -> Self {
        Api { http, base: base.trim_end_matches('/').to_string(), token, page_size }
    }

    /// `GET /me`: the token's admin; the cheapest authenticated call.
    pub async fn me(&self) -> Result<(), Failure> {
        let response = self.send(self.request(Method::GET, &["me"])).await?;
        self.ok(response).map(|_| ())
    }

    /// `POST /contacts/search` for contacts whose `field` equals `value` (one page).
    pub async fn search_contacts(
        &self,
        field: &str,
        value: &str,
        cursor: Option<&str>,
    ) -> Result<ContactPage, Failure> {
        let body = self.search_body(field, value, cursor);
        let response = self.send(self.request(Method::POST, &["contacts", "search"]).json(&body)).await?;
        self.read(self.ok(response)?, "contact search").await
    }

    /// `GET /contacts/{id}`; `None` if there is no such contact.
    pub async fn contact(&self, id: &str) -> Result<Option<Contact>, Failure> {
        let response = self.send(self.request(Method::GET, &["contacts", id])).await?;
        self.found(response, "contact").await
    }

    /// `GET /contacts/find_by_external_id/{external_id}` (users only, not leads); `None` if none.
    pub async fn contact_by_external_id(&self, external_id: &str) -> Result<Option<Contact>, Failure> {
        let response = self.send(self.request(Method::GET, &["contacts", "find_by_external_id", external_id])).await?;
        self.found(response, "contact").await
    }

    /// `DELETE /contacts/{id}`; `false` if it was already gone (404).
    pub async fn delete_contact(&self, id: &str) -> Result<bool, Failure> {
        let response = self.send(self.request(Method::DELETE, &["contacts", id])).await?;
        if response.status() == StatusCode::NOT_FOUND {
            return Ok(false);
        }
        self.ok(response).map(|_| true)
    }

    /// `POST /conversations/search` for the conversations of one contact (one page).
    pub async fn search_conversations(
        &self,
        contact_id: &str,
        cursor: Option<&str>,
    ) -> Result<ConversationPage, Failure> {
        let body = self.search_body("contact_ids", contact_id, cursor);
        let response = self.send(self.request(Method::POST, &["conversations", "search"]).json(&body)).await?;
        self.read(self.ok(response)?, "conversation search").await
    }

    /// `POST /calls/search`: the Intercom Phone calls of up to 20 conversations (Intercom's
    /// limit), with their transcripts.
    pub async fn calls(&self, conversation_ids: &[String]) -> Result<Vec<Call>, Failure> {
        let body = json!({ "conversation_ids": conversation_ids });
        let response = self.send(self.request(Method::POST, &["calls", "search"]).json(&body)).await?;
        let list: CallList = self.read(self.ok(response)?, "call search").await?;
        Ok(list.data)
    }

    /// `GET /conversations/{id}`, with its parts; `None` if it is gone.
    pub async fn conversation(&self, id: &str) -> Result<Option<Conversation>, Failure> {
        let response = self.send(self.request(Method::GET, &["conversations", id])).await?;
        self.found(response, "conversation").await
    }

    /// `POST /conversations/redact`: replace one message's body with Intercom's redaction notice.
    pub async fn redact(&self, conversation_id: &str, target: &Target<'_>) -> Result<Redaction, Failure> {
        let body = match target {
            Target::Part(id) => {
                json!({ "type": "conversation_part", "conversation_id": conversation_id, "conversation_part_id": id })
            }
            Target::Source(id) => json!({ "type": "source", "conversation_id": conversation_id, "source_id": id }),
        };
        let response = self.send(self.request(Method::POST, &["conversations", "redact"]).json(&body)).await?;
        match response.status() {
            StatusCode::NOT_FOUND => Ok(Redaction::Gone),
            StatusCode::BAD_REQUEST | StatusCode::UNPROCESSABLE_ENTITY => {
                let failure = self.refused(&response);
                let errors: ErrorList = response.json().await.unwrap_or_default();
                match errors.has_code("conversation_part_not_redactable") {
                    true => Ok(Redaction::NotRedactable),
                    false => Err(failure),
                }
            }
            _ => self.ok(response).map(|_| Redaction::Done),
        }
    }

    /// An exact-match search: the value is JSON data, never query syntax.
    fn search_body(&self, field: &str, value: &str, cursor: Option<&str>) -> serde_json::Value {
        let mut pagination = json!({ "per_page": self.page_size });
        if let Some(cursor) = cursor {
            pagination["starting_after"] = json!(cursor);
        }
        json!({ "query": { "field": field, "operator": "=", "value": value }, "pagination": pagination })
    }

    fn request(&self, method: Method, segments: &[&str]) -> RequestBuilder {
        let path: Vec<String> = segments.iter().map(|s| encode_segment(s)).collect();
        self.http
            .request(method, &format!("{}/{}", self.base, path.join("/")))
            .bearer_auth(self.token.expose_secret())
            .header("Intercom-Version", VERSION)
            .header("Accept", "application/json")
    }

    /// Send; any status comes back, only transport errors fail.
    async fn send(&self, request: RequestBuilder) -> Result<Response, Failure> {
        self.http.send_any(request).await
    }

    fn ok(&self, response: Response) -> Result<Response, Failure> {
        match response.status().is_success() {
            true => Ok(response),
            false => Err(self.refused(&response)),
        }
    }

    /// A 2xx read as `T`, a 404 as `None`, anything else classified.
    async fn found<T: DeserializeOwned>(&self, response: Response, what: &str) -> Result<Option<T>, Failure> {
        if response.status() == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        self.read(self.ok(response)?, what).await.map(Some)
    }

    async fn read<T: DeserializeOwned>(&self, response: Response, what: &str) -> Result<T, Failure> {
        response
            .json()
            .await
            .map_err(|_| Failure::permanent(format!("intercom answered a {what} that is not Intercom's JSON shape")))
    }

    /// The classified failure for a non-2xx answer; a 429 waits until `X-RateLimit-Reset`.
    fn refused(&self, response: &Response) -> Failure {
        let (status, now) = (response.status(), SystemTime::now());
        let mut failure = self.http.failure(status, classify(status, response.headers(), now));
        if let FailureKind::Throttled { after: None } = failure.kind {
            failure.kind = FailureKind::Throttled { after: reset_after(response.headers(), now) };
        }
        failure
    }
}

/// Bounds a listing whose cursor never ends (a vendor bug), so an attempt always finishes.
const MAX_PAGES: usize = 1000;

/// Every item of a cursor-paginated search: `fetch` gets the cursor (none for the first page) and
/// returns one page's items and the next cursor.
pub(crate) async fn every_page<T, F, Fut>(what: &str, mut fetch: F) -> Result<Vec<T>, Failure>
where
    F: FnMut(Option<String>) -> Fut,
    Fut: Future<Output = Result<(Vec<T>, Option<String>), Failure>>,
{
    let mut all = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let (items, next) = fetch(cursor.clone()).await?;
        all.extend(items);
        match next {
            Some(next) if cursor.as_ref() != Some(&next) => cursor = Some(next),
            _ => return Ok(all),
        }
    }
    Err(Failure::permanent(format!("intercom's {what} went on for more than {MAX_PAGES} pages")))
}

/// Percent-encode one path segment: everything but RFC 3986's unreserved characters, so an
/// identifier can never add a segment, a query or a fragment. (`.` is unreserved: `.` and `..` are
/// refused before they get here, see [`addressable`].)
fn encode_segment(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for byte in segment.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// `.` and `..` cannot be a path segment: URL parsers resolve them (even percent-encoded).
pub(crate) fn addressable(segment: &str) -> bool {
    !matches!(segment, "" | "." | "..")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_stay_inside_their_segment() {
        assert_eq!(encode_segment("u_123-a.b~c"), "u_123-a.b~c");
        assert_eq!(encode_segment("a/b?c#d"), "a%2Fb%3Fc%23d");
        assert_eq!(encode_segment("*0\" OR \"\"=\""), "%2A0%22%20OR%20%22%22%3D%22");
        assert_eq!(encode_segment("%2e%2e"), "%252e%252e");
        assert_eq!(encode_segment("é"), "%C3%A9");
    }

    #[test]
    fn dot_segments_are_not_addressable() {
        for bad in ["", ".", ".."] {
            assert!(!addressable(bad), "{bad:?}");
        }
        assert!(addressable("a.b") && addressable(".x") && addressable("..."));
    }
}
