//! Zendesk's Search API for tickets: List Search Results (`GET /search`, offset pagination, at
//! most 1,000 results a query), Show Results Count (`GET /search/count`) and Export Search
//! Results (`GET /search/export`, cursor pagination, no cap), as
//! <https://developer.zendesk.com/api-reference/ticketing/ticket-management/search/> documents
//! them. Every search finds archived tickets, which a user's lists of tickets do not show.

use super::data::{Data, Life, Ticket};
use super::query::{parse_terms, Term};
use super::routes::{error, ok, throttled, Answer, Link};
use serde_json::{json, Value};
use std::time::Instant;

/// "The Search API returns up to 1,000 results per query" (Results limit).
const MAX_RESULTS: usize = 1000;
/// "with a maximum of 100 results per page" (Results limit).
const MAX_PER_PAGE: usize = 100;
/// Export Search Results "Returns a maximum of 1000 records per page".
const MAX_EXPORT_PAGE: usize = 1000;
/// The export's page size when `page[size]` is not given: not documented; Zendesk recommends 100.
const DEFAULT_EXPORT_PAGE: usize = 100;
const CURSOR_PREFIX: &str = "sim-cursor-";

impl Data {
    /// `GET /search?query=type:ticket requester:{id}` (or `cc:{id}`): live tickets, archived ones
    /// included. Zendesk archives a ticket closed for 120 days: "Zendesk automatically archives
    /// tickets 120 days after the ticket status changes to Closed", and an archived ticket is
    /// still reached through search ("Search for tickets and access them through search results":
    /// available) but is not among a user's lists of tickets (About ticket archiving,
    /// <https://support.zendesk.com/hc/en-us/articles/4408887617050>; List Search Results,
    /// <https://developer.zendesk.com/api-reference/ticketing/ticket-management/search/#list-search-results>).
    /// The keywords `requester:` and `cc:` with a user id are from Zendesk's search reference
    /// (<https://support.zendesk.com/hc/en-us/articles/4408886879258>); the simulator's `cc:` also
    /// finds followers, which that reference does not spell out.
    ///
    /// Results limit: "The Search API returns up to 1,000 results per query, with a maximum of 100
    /// results per page. [...] If you request a page past the limit (page=11 at 100 results per
    /// page), a 422 Insufficient Resource Error is returned. [...] The count property shows the
    /// actual number of results." The simulator's pages hold at most its page size (5 unless
    /// set), so a page past the limit starts at result 1,000 or beyond; `next_page` still leads
    /// there (the documentation does not say it stops), and `count` is the real number.
    pub(super) fn search_tickets(&self, link: &Link) -> Answer {
        let Some(query) = link.query.get("query") else {
            return error(400, "InvalidEndpoint", "query is required");
        };
        let number = |k: &str| link.query.get(k).and_then(|v| v.parse::<usize>().ok());
        let per_page = number("per_page").unwrap_or(MAX_PER_PAGE).clamp(1, MAX_PER_PAGE).min(self.page_size);
        let page_number = number("page").unwrap_or(1).max(1);
        if (page_number - 1).saturating_mul(per_page) >= MAX_RESULTS {
            return error(
                422,
                "InsufficientResourceError",
                "Requested response size was greater than Search Response Limits",
            );
        }
        let results: Vec<Value> =
            self.tickets_matching(&parse_terms(query)).iter().map(|t| result(t, &link.api)).collect();
        let mut answer = self.page("results", results, link);
        if let Some(body) = answer.body.as_mut() {
            if let Some(page) = body["results"].as_array_mut() {
                page.truncate(MAX_RESULTS - (page_number - 1) * per_page);
            }
            body["facets"] = Value::Null;
        }
        answer
    }

    /// `GET /search/count?query=...`: "Returns the number of items matching the query rather
    /// than the items" (Show Results Count), `{"count": n}`.
    pub(super) fn search_count(&self, link: &Link) -> Answer {
        let Some(query) = link.query.get("query") else {
            return error(400, "InvalidEndpoint", "query is required");
        };
        ok(json!({ "count": self.tickets_matching(&parse_terms(query)).len() }))
    }

    /// `GET /search/export?query=...&filter[type]=ticket&page[size]=n` (Export Search Results):
    /// "Use this endpoint for search queries that will return more than 1000 results. The result
    /// set is ordered only by the created_at attribute"; "You must specify the type in the
    /// filter[type] parameter. Searches with type in the query string will result in an error";
    /// "Returns a maximum of 1000 records per page"; the answer has `links.next` (`prev` "always
    /// null") and `meta.has_more` / `meta.after_cursor` and "There's no count property"; "This
    /// API endpoint is rate-limited to 100 requests per minute per account". The status of the
    /// error for a missing `filter[type]` or a `type:` in the query is not documented: 400 here.
    /// The next page is asked with `page[after]={after_cursor}` (the cursor's expiry after an
    /// hour is not played). The simulator plays `filter[type]=ticket` only.
    pub(super) fn export_tickets(&mut self, link: &Link, now: Instant) -> Answer {
        if let Err(seconds) = self.export_limit.take(now) {
            return throttled(Some(seconds));
        }
        let Some(query) = link.query.get("query") else {
            return error(400, "InvalidEndpoint", "query is required");
        };
        let terms = parse_terms(query);
        if link.query.get("filter[type]").map(String::as_str) != Some("ticket") || terms.iter().any(Term::is_type) {
            return error(400, "InvalidSearch", "the type goes in filter[type], never in the query");
        }
        let size = link
            .query
            .get("page[size]")
            .and_then(|v| v.parse::<usize>().ok())
            .unwrap_or(DEFAULT_EXPORT_PAGE)
            .clamp(1, MAX_EXPORT_PAGE)
            .min(self.page_size);
        let start = match link.query.get("page[after]") {
            None => 0,
            Some(cursor) => match cursor.strip_prefix(CURSOR_PREFIX).and_then(|n| n.parse::<usize>().ok()) {
                Some(start) => start,
                None => return error(400, "InvalidPaginationParameter", "page[after] is not a cursor"),
            },
        };
        let found = self.tickets_matching(&terms);
        let results: Vec<Value> = found.iter().skip(start).take(size).map(|t| result(t, &link.api)).collect();
        let end = start + results.len();
        let has_more = end < found.len();
        let cursor = has_more.then(|| format!("{CURSOR_PREFIX}{end}"));
        let next = cursor.as_ref().map(|c| self.next_page_override.clone().unwrap_or_else(|| link.cursor(c, size)));
        ok(json!({ "results": results, "facets": null, "links": { "prev": null, "next": next },
                   "meta": { "has_more": has_more, "after_cursor": cursor, "before_cursor": null } }))
    }

    /// Live tickets (archived ones included) matching every term.
    fn tickets_matching(&self, terms: &[Term]) -> Vec<&Ticket> {
        self.tickets_among(self.ticket_candidates(terms))
            .filter(|t| t.life == Life::Active && !terms.is_empty() && terms.iter().all(|term| term.matches_ticket(t)))
            .collect()
    }
}

/// A ticket as a search result.
fn result(ticket: &Ticket, api: &str) -> Value {
    let mut json = ticket.json(api);
    json["result_type"] = json!("ticket");
    json
}
