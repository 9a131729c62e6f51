//! The simulated Zendesk Search API's documented limits (`search.rs` quotes the documentation).

use super::data::Data;
use super::ticket_rules_tests::{call, ids};
use serde_json::Value;

fn with_tickets(n: usize) -> (Data, u64) {
    let mut data = Data::default();
    let ana = data.add_user("Ana", Some("ana@example.com"), None, "end-user");
    for _ in 0..n {
        data.add_ticket(ana, "Hello");
    }
    (data, ana)
}

/// List Search Results answers at most 1,000 results a query: a page past them is 422, and
/// `count` is the real number.
#[test]
fn the_search_stops_at_a_thousand_results_and_counts_them_all() {
    let (mut data, ana) = with_tickets(1003);
    let query = format!("query=type:ticket%20requester:{ana}");
    let last = call(&mut data, "GET", &format!("/api/v2/search?{query}&page=200"), Value::Null);
    assert_eq!(last.status, 200);
    assert_eq!(ids(&last, "results").len(), 5, "results 996 to 1000");
    assert_eq!(last.document()["count"], 1003);
    assert!(last.document()["next_page"].is_string(), "the next page is offered, and refused");
    let past = call(&mut data, "GET", &format!("/api/v2/search?{query}&page=201"), Value::Null);
    assert_eq!(past.status, 422);
    let wide = call(&mut data, "GET", &format!("/api/v2/search?{query}&per_page=1000"), Value::Null);
    assert_eq!(ids(&wide, "results").len(), 5, "never more than the page size (100 at most)");
    let count = call(&mut data, "GET", &format!("/api/v2/search/count?{query}"), Value::Null);
    assert_eq!(count.document()["count"], 1003);
}

/// Export Search Results pages with a cursor past 1,000 results, archived tickets included, and
/// has no `count`.
#[test]
fn the_export_pages_with_a_cursor_past_a_thousand_results() {
    let (mut data, ana) = with_tickets(1003);
    data.page_size = 1000;
    let archived = *data.tickets.keys().next().unwrap();
    data.tickets.get_mut(&archived).unwrap().archived = true;
    let mut next = format!("/api/v2/search/export?query=requester:{ana}&filter%5Btype%5D=ticket&page%5Bsize%5D=100");
    let (mut found, mut pages) = (Vec::new(), 0);
    loop {
        let page = call(&mut data, "GET", &next, Value::Null);
        assert_eq!(page.status, 200, "{:?}", page.body);
        assert!(page.document().get("count").is_none());
        assert!(page.document()["links"]["prev"].is_null());
        found.extend(ids(&page, "results"));
        pages += 1;
        if page.document()["meta"]["has_more"] != true {
            assert!(page.document()["links"]["next"].is_null());
            break;
        }
        next = page.document()["links"]["next"].as_str().unwrap().trim_start_matches("http://sim").to_string();
        assert!(next.contains("page%5Bafter%5D="), "{next}");
    }
    assert_eq!(pages, 11);
    assert_eq!(found.len(), 1003);
    assert!(found.contains(&archived));
    assert!(found.windows(2).all(|w| w[0] < w[1]), "ordered by creation");
}

/// The export takes the type in `filter[type]` only ("Searches with type in the query string
/// will result in an error").
#[test]
fn the_export_needs_the_type_in_its_filter_only() {
    let (mut data, ana) = with_tickets(1);
    let without = call(&mut data, "GET", &format!("/api/v2/search/export?query=requester:{ana}"), Value::Null);
    assert_eq!(without.status, 400);
    let typed = format!("/api/v2/search/export?query=type:ticket%20requester:{ana}&filter%5Btype%5D=ticket");
    assert_eq!(call(&mut data, "GET", &typed, Value::Null).status, 400);
    let bad_cursor = format!("/api/v2/search/export?query=requester:{ana}&filter%5Btype%5D=ticket&page%5Bafter%5D=x");
    assert_eq!(call(&mut data, "GET", &bad_cursor, Value::Null).status, 400);
}

/// "This API endpoint is rate-limited to 100 requests per minute per account."
#[test]
fn the_export_allows_a_hundred_calls_a_minute() {
    let (mut data, ana) = with_tickets(1);
    let export = format!("/api/v2/search/export?query=requester:{ana}&filter%5Btype%5D=ticket");
    for _ in 0..100 {
        assert_eq!(call(&mut data, "GET", &export, Value::Null).status, 200);
    }
    let throttled = call(&mut data, "GET", &export, Value::Null);
    assert_eq!(throttled.status, 429);
    let retry_after: u64 = throttled.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry_after));
}
