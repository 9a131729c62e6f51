//! The simulated Zendesk's ticket and user rules, each with the page of Zendesk's documentation
//! it plays (the doc comments of the endpoints quote them).

use super::data::Data;
use super::routes::{Answer, Link};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::time::{Duration, Instant};

pub(super) fn call(data: &mut Data, method: &str, path_and_query: &str, body: Value) -> Answer {
    let (path, query) = path_and_query.split_once('?').unwrap_or((path_and_query, ""));
    let query: HashMap<String, String> =
        url::form_urlencoded::parse(query.as_bytes()).map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
    let link = Link { api: "http://sim/api/v2".into(), path: path.trim_start_matches("/api/v2").into(), query };
    let body = if body.is_null() { Vec::new() } else { body.to_string().into_bytes() };
    data.handle(method, path, &body, &link, Instant::now())
}

pub(super) fn ids(answer: &Answer, key: &str) -> Vec<u64> {
    answer.document()[key].as_array().unwrap().iter().map(|t| t["id"].as_u64().unwrap()).collect()
}

/// A closed ticket refuses a change of its CCs and followers (422), keeps them, and still lets
/// an agent redact a comment on it (Zendesk's comment redaction works on closed tickets).
#[test]
fn a_closed_ticket_refuses_updates_but_not_comment_redaction() {
    let mut data = Data::default();
    let ana = data.add_user("Ana", Some("ana@example.com"), None, "end-user");
    let other = data.add_user("Bo", Some("bo@example.com"), None, "end-user");
    let ticket = data.add_ticket(other, "Printer broken.");
    let comment = data.add_comment(ticket, ana, "Mine too.", &[]);
    data.tickets.get_mut(&ticket).unwrap().email_cc_ids.push(ana);
    data.reindex_ticket(ticket);
    assert_eq!(data.tickets[&ticket].status, "closed");

    let unwatch = json!({ "ticket": { "email_ccs": [{ "user_id": ana, "action": "delete" }] } });
    let refused = call(&mut data, "PUT", &format!("/api/v2/tickets/{ticket}"), unwatch.clone());
    assert_eq!(refused.status, 422);
    assert_eq!(refused.document()["error"], "RecordInvalid");
    assert_eq!(data.tickets[&ticket].email_cc_ids, [ana], "nothing changed");
    let tags = call(&mut data, "PUT", &format!("/api/v2/tickets/{ticket}"), json!({ "ticket": { "tags": ["x"] } }));
    assert_eq!(tags.status, 200, "tags, subject and priority stay editable");

    data.tickets.get_mut(&ticket).unwrap().status = "open".into();
    assert_eq!(call(&mut data, "PUT", &format!("/api/v2/tickets/{ticket}"), unwatch).status, 200);
    assert!(data.tickets[&ticket].email_cc_ids.is_empty());

    data.tickets.get_mut(&ticket).unwrap().status = "closed".into();
    let html = "<div class=\"zd-comment\" dir=\"auto\"><p><redact>Mine too.</redact></p></div>";
    let redaction = json!({ "ticket_id": ticket, "html_body": html });
    let redacted = call(&mut data, "PUT", &format!("/api/v2/comment_redactions/{comment}"), redaction);
    assert_eq!(redacted.status, 200);
    assert!(!data.find_comment(comment).unwrap().html_body.contains("Mine too"));
}

/// An archived ticket is absent from its requester's and its CCs' lists of tickets, and present
/// in the search results for `requester:` and `cc:`.
#[test]
fn archived_tickets_are_found_by_search_only() {
    let mut data = Data::default();
    let ana = data.add_user("Ana", Some("ana@example.com"), None, "end-user");
    let other = data.add_user("Bo", Some("bo@example.com"), None, "end-user");
    let own = data.add_ticket(ana, "Old.");
    let theirs = data.add_ticket(other, "Old too.");
    data.tickets.get_mut(&theirs).unwrap().email_cc_ids.push(ana);
    data.reindex_ticket(theirs);
    for ticket in [own, theirs] {
        data.tickets.get_mut(&ticket).unwrap().archived = true;
    }
    assert!(ids(&call(&mut data, "GET", &format!("/api/v2/users/{ana}/tickets/requested"), Value::Null), "tickets")
        .is_empty());
    assert!(
        ids(&call(&mut data, "GET", &format!("/api/v2/users/{ana}/tickets/ccd"), Value::Null), "tickets").is_empty()
    );
    let requested = call(&mut data, "GET", &format!("/api/v2/search?query=type:ticket requester:{ana}"), Value::Null);
    assert_eq!(ids(&requested, "results"), [own]);
    assert_eq!(requested.document()["results"][0]["result_type"], "ticket");
    let ccd = call(&mut data, "GET", &format!("/api/v2/search?query=type:ticket cc:{ana}"), Value::Null);
    assert_eq!(ids(&ccd, "results"), [theirs]);
}

/// A user's secondary e-mail is one of its identities, not its `email`; the user search by
/// e-mail finds the user through it.
#[test]
fn a_secondary_email_is_an_identity_found_by_search() {
    let mut data = Data::default();
    let ana = data.add_user("Ana", Some("ana@work.example"), None, "end-user");
    data.users.get_mut(&ana).unwrap().secondary_emails.push("ana@home.example".into());
    data.reindex_user(ana);
    let found = call(&mut data, "GET", "/api/v2/users/search?query=email:\"ana@home.example\"", Value::Null);
    assert_eq!(ids(&found, "users"), [ana]);
    assert_eq!(found.document()["users"][0]["email"], "ana@work.example", "the primary e-mail only");
    let identities = call(&mut data, "GET", &format!("/api/v2/users/{ana}/identities"), Value::Null);
    let values: Vec<(&str, &str, bool)> = identities.document()["identities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["type"].as_str().unwrap(), i["value"].as_str().unwrap(), i["primary"].as_bool().unwrap()))
        .collect();
    assert_eq!(values, [("email", "ana@work.example", true), ("email", "ana@home.example", false)]);
}

/// A permanent ticket deletion job that failed for one ticket still purges the others and
/// completes; its results are one `{"success": false}`, with no per-ticket detail; the ticket left
/// is still among the deleted tickets.
#[test]
fn a_purge_that_fails_for_one_ticket_says_only_that_not_all_succeeded() {
    let mut data = Data { job_delay: Duration::ZERO, ..Data::default() };
    let ana = data.add_user("Ana", Some("ana@example.com"), None, "end-user");
    let (kept, purged) = (data.add_ticket(ana, "One."), data.add_ticket(ana, "Two."));
    call(&mut data, "DELETE", &format!("/api/v2/tickets/destroy_many?ids={kept},{purged}"), Value::Null);
    data.settle(Instant::now());
    let deleted = call(&mut data, "GET", "/api/v2/deleted_tickets", Value::Null);
    assert_eq!(ids(&deleted, "deleted_tickets"), [kept, purged]);
    data.failing_purges.insert(kept);
    let job =
        call(&mut data, "DELETE", &format!("/api/v2/deleted_tickets/destroy_many?ids={kept},{purged}"), Value::Null);
    let job_id = job.document()["job_status"]["id"].as_str().unwrap().to_string();
    data.settle(Instant::now());
    let status = call(&mut data, "GET", &format!("/api/v2/job_statuses/{job_id}"), Value::Null);
    assert_eq!(status.document()["job_status"]["status"], "completed");
    assert_eq!(status.document()["job_status"]["results"], json!({ "success": false }));
    let deleted = call(&mut data, "GET", "/api/v2/deleted_tickets", Value::Null);
    assert_eq!(ids(&deleted, "deleted_tickets"), [kept]);
    assert_eq!(data.tickets[&purged].life, super::data::Life::Purged);
}
