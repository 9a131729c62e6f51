//! A find step's pages: by cursor (a JSON pointer of the answer, sent back in the query or the
//! body), by the `Link` header's `rel="next"`, by page number or by offset.

use crate::call::{Built, Caller};
use crate::definition::Pagination;
use crate::pointer::Pointer;
use erasure_connector::Failure;
use reqwest::header::{HeaderMap, LINK};
use serde_json::Value;

/// Bounds a listing that never ends (a vendor bug), so an attempt always finishes.
pub const MAX_PAGES: usize = 1000;

pub struct Pages<'a> {
    kind: Option<&'a Pagination>,
    first: Built,
    sent: usize,
    done: bool,
    cursor: Option<String>,
    number: u64,
    link: Option<url::Url>,
}

impl<'a> Pages<'a> {
    pub fn new(kind: Option<&'a Pagination>, first: Built) -> Self {
        let number = match kind {
            Some(Pagination::Page { start, .. }) => *start,
            _ => 0,
        };
        Pages { kind, first, sent: 0, done: false, cursor: None, number, link: None }
    }

    /// The next page's request; `None` once the listing is over.
    pub fn next_request(&mut self, caller: &Caller, step: &str) -> Result<Option<Built>, Failure> {
        if self.done {
            return Ok(None);
        }
        if self.sent >= MAX_PAGES {
            return Err(Failure::permanent(format!(
                "{}: the listing of `{step}` went on for more than {MAX_PAGES} pages",
                caller.system
            )));
        }
        self.sent += 1;
        let mut built = self.first.clone();
        match self.kind {
            None => self.done = true,
            Some(Pagination::Cursor { query, body, .. }) => {
                if let Some(cursor) = &self.cursor {
                    place(&mut built, query.as_deref(), body.as_deref(), Value::String(cursor.clone()));
                }
            }
            Some(Pagination::Page { query, body, .. }) | Some(Pagination::Offset { query, body, .. }) => {
                place(&mut built, query.as_deref(), body.as_deref(), Value::from(self.number));
            }
            Some(Pagination::Link) => {
                if let Some(next) = self.link.take() {
                    built.url = next;
                }
            }
        }
        Ok(Some(built))
    }

    /// Read where the listing goes on from one page's answer with `count` records.
    pub fn advance(&mut self, body: &Value, headers: &HeaderMap, count: usize) {
        match self.kind {
            None => self.done = true,
            Some(Pagination::Cursor { next, .. }) => {
                let next = Pointer::parse(next).ok().and_then(|p| p.text(body)).filter(|c| !c.is_empty());
                match next {
                    Some(next) if self.cursor.as_ref() != Some(&next) => self.cursor = Some(next),
                    _ => self.done = true,
                }
            }
            Some(Pagination::Page { size, .. }) => {
                self.done = count == 0 || size.is_some_and(|s| (count as u64) < s);
                self.number += 1;
            }
            Some(Pagination::Offset { size, .. }) => {
                self.done = count == 0 || (count as u64) < *size;
                self.number += count as u64;
            }
            Some(Pagination::Link) => {
                // Only a next page on the same origin is followed: identifiers in the query go
                // nowhere else.
                self.link = next_link(headers)
                    .and_then(|href| self.first.url.join(&href).ok())
                    .filter(|url| url.origin() == self.first.url.origin());
                self.done = self.link.is_none();
            }
        }
    }
}

/// Put a pagination value in the query (replacing any value of that name) or at a body pointer.
fn place(built: &mut Built, query: Option<&str>, body: Option<&str>, value: Value) {
    if let Some(name) = query {
        let kept: Vec<(String, String)> =
            built.url.query_pairs().filter(|(k, _)| k != name).map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
        let text = crate::pointer::scalar_text(&value).unwrap_or_default();
        built.url.query_pairs_mut().clear().extend_pairs(kept).append_pair(name, &text);
    }
    if let Some(pointer) = body.and_then(|b| Pointer::parse(b).ok()) {
        pointer.set(built.body.get_or_insert(Value::Object(Default::default())), value);
    }
}

/// The `rel="next"` target of a `Link` header (RFC 8288).
pub fn next_link(headers: &HeaderMap) -> Option<String> {
    headers.get_all(LINK).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(',')).find_map(|link| {
        let (target, params) = link.split_once(';')?;
        let target = target.trim().strip_prefix('<')?.strip_suffix('>')?;
        let is_next = params.split(';').any(|p| {
            let p = p.trim().replace(' ', "");
            p.eq_ignore_ascii_case("rel=\"next\"") || p.eq_ignore_ascii_case("rel=next")
        });
        is_next.then(|| target.to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn the_next_link_is_read_from_the_header() {
        let mut headers = HeaderMap::new();
        headers.insert(
            LINK,
            HeaderValue::from_static(
                "<https://api.example.com/x?page=1>; rel=\"prev\", <https://api.example.com/x?page=3>; rel=\"next\"",
            ),
        );
        assert_eq!(next_link(&headers), Some("https://api.example.com/x?page=3".into()));
        assert_eq!(next_link(&HeaderMap::new()), None);
    }
}
