//! A vendor's answer before it becomes a response: a status, a JSON body (none for a 204) and
//! extra headers. Tests read it as it is; the routes turn it into a response. Each vendor writes
//! its own error shapes as constructors of `Answer<ItsDialect>` (in its `answer.rs`); the dialect
//! is the one thing the wire differs in between vendors, the `Content-Type` of a body.

use axum::http::{header, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use std::marker::PhantomData;

/// How a vendor labels its JSON bodies: one marker type per vendor, whose constructors (its
/// error shapes) are written on `Answer<ItsDialect>`.
pub(crate) trait Dialect {
    /// The `Content-Type` of a body answered with `status`.
    fn content_type(_status: u16) -> &'static str {
        "application/json"
    }
}

/// An answer in dialect `D`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Answer<D> {
    pub(crate) status: u16,
    pub(crate) body: Option<Value>,
    /// Extra headers (names lower-case), in the order they are set; a later one of the same name wins.
    pub(crate) headers: Vec<(&'static str, String)>,
    dialect: PhantomData<D>,
}

impl<D> Answer<D> {
    pub(crate) fn new(status: u16, body: Option<Value>) -> Answer<D> {
        Answer { status, body, headers: Vec::new(), dialect: PhantomData }
    }

    /// 200 with `body`.
    pub(crate) fn json(body: Value) -> Answer<D> {
        Answer::new(200, Some(body))
    }

    /// 204, no body.
    pub(crate) fn no_content() -> Answer<D> {
        Answer::new(204, None)
    }

    pub(crate) fn with_header(mut self, name: &'static str, value: impl ToString) -> Answer<D> {
        self.headers.push((name, value.to_string()));
        self
    }

    pub(crate) fn with_headers(mut self, headers: impl IntoIterator<Item = (&'static str, String)>) -> Answer<D> {
        self.headers.extend(headers);
        self
    }

    /// `Retry-After: seconds` when there is a hint.
    pub(crate) fn with_retry_after(self, retry_after: Option<u64>) -> Answer<D> {
        self.with_headers(retry_after.map(|secs| ("retry-after", secs.to_string())))
    }

    /// The last value set for header `name`.
    #[cfg(test)]
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().rev().find(|(n, _)| *n == name).map(|(_, v)| v.as_str())
    }

    /// The body, `null` when there is none.
    #[cfg(test)]
    pub(crate) fn document(&self) -> &Value {
        self.body.as_ref().unwrap_or(&Value::Null)
    }
}

impl<D: Dialect> IntoResponse for Answer<D> {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = match &self.body {
            Some(body) => {
                let mut response = (status, body.to_string()).into_response();
                let kind = HeaderValue::from_static(D::content_type(self.status));
                response.headers_mut().insert(header::CONTENT_TYPE, kind);
                response
            }
            None => status.into_response(),
        };
        for (name, value) in self.headers {
            if let Ok(value) = HeaderValue::from_str(&value) {
                response.headers_mut().insert(HeaderName::from_static(name), value);
            }
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[derive(Debug, Clone, Copy, PartialEq)]
    struct PlainJson;

    impl Dialect for PlainJson {}

    #[test]
    fn a_body_is_labelled_in_the_vendor_s_dialect_and_headers_follow() {
        let response = Answer::<PlainJson>::new(429, Some(json!({ "error": "slow down" })))
            .with_retry_after(Some(7))
            .with_header("x-rate-limit", 10)
            .into_response();
        assert_eq!(response.status(), 429);
        assert_eq!(response.headers()["content-type"], "application/json");
        assert_eq!(response.headers()["retry-after"], "7");
        assert_eq!(response.headers()["x-rate-limit"], "10");
        let empty = Answer::<PlainJson>::no_content().with_retry_after(None).into_response();
        assert_eq!((empty.status().as_u16(), empty.headers().get("content-type")), (204, None));
    }
}
