//! The simulated Mailchimp's rules, each with the page of Mailchimp's documentation it plays.

use super::answer::Answer;
use super::data::{subscriber_hash, Data};
use super::seed::seed_json;
use axum::http::Method;
use serde_json::{json, Value};
use std::collections::HashMap;

fn call(data: &mut Data, method: Method, path: &str, query: &[(&str, &str)], body: Option<Value>) -> Answer {
    let query: HashMap<String, String> = query.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    data.serve(&method, path, &query, body, "http://sim")
}

fn get(data: &mut Data, path: &str, query: &[(&str, &str)]) -> Answer {
    call(data, Method::GET, path, query, None)
}

fn title(answer: &Answer) -> (u16, String) {
    let title = answer.body.as_ref().and_then(|b| b["title"].as_str()).unwrap_or_default();
    (answer.status, title.to_string())
}

/// A list holding `emails`; returns its id.
fn list_with(data: &mut Data, emails: &[&str]) -> String {
    let list = data.add_list("Newsletter");
    for email in emails {
        data.add_member(&list, email, 0).unwrap();
    }
    list
}

/// "The MD5 hash of urist.mcvankab@freddiesjokes.com is 62eeb292278cc15f5817cb78f7790b08",
/// after lower-casing Urist.McVankab@freddiesjokes.com
/// (<https://mailchimp.com/developer/marketing/guides/manage-subscribers-with-the-mailchimp-api/>).
#[test]
fn the_subscriber_hash_is_the_md5_of_the_lower_cased_address() {
    assert_eq!(subscriber_hash("Urist.McVankab@freddiesjokes.com"), "62eeb292278cc15f5817cb78f7790b08");
}

/// A member is read by its hash or its address; 404 Resource Not Found when the list or the
/// member is unknown (<https://mailchimp.com/developer/marketing/api/list-members/get-member-info/>).
#[test]
fn a_member_is_read_by_hash_or_address_and_an_absent_one_is_a_404() {
    let mut data = Data::default();
    let list = list_with(&mut data, &["Ana@Example.com"]);
    let hash = subscriber_hash("ana@example.com");
    let by_hash = get(&mut data, &format!("/lists/{list}/members/{hash}"), &[]);
    assert_eq!(by_hash.status, 200);
    let member = by_hash.body.unwrap();
    assert_eq!((member["id"].as_str(), member["list_id"].as_str()), (Some(hash.as_str()), Some(list.as_str())));
    assert_eq!(member["email_address"], "Ana@Example.com");
    assert_eq!(get(&mut data, &format!("/lists/{list}/members/ana%40example.com"), &[]).status, 200);
    let absent = get(&mut data, &format!("/lists/{list}/members/{}", subscriber_hash("bob@example.com")), &[]);
    assert_eq!(title(&absent), (404, "Resource Not Found".into()));
    assert_eq!(absent.body.unwrap()["type"], "https://mailchimp.com/developer/marketing/docs/errors/");
    assert_eq!(get(&mut data, &format!("/lists/nolist/members/{hash}"), &[]).status, 404);
}

/// Delete-permanent answers 204 and removes the member (and what is noted about it); a GET then
/// answers 404, a second deletion 404, and the address cannot be imported again
/// (<https://mailchimp.com/developer/marketing/api/list-members/delete-list-member-permanent/>).
/// Other lists keep their own member.
#[test]
fn a_permanent_deletion_removes_the_member_for_good_in_that_list_only() {
    let mut data = Data::default();
    let list = list_with(&mut data, &[]);
    let other = data.add_list("Customers");
    let hash = data.add_member(&list, "ana@example.com", 2).unwrap();
    data.add_member(&other, "ana@example.com", 0).unwrap();
    let path = format!("/lists/{list}/members/{hash}/actions/delete-permanent");
    let deleted = call(&mut data, Method::POST, &path, &[], None);
    assert_eq!((deleted.status, deleted.body), (204, None));
    assert_eq!(get(&mut data, &format!("/lists/{list}/members/{hash}"), &[]).status, 404);
    assert_eq!(title(&call(&mut data, Method::POST, &path, &[], None)), (404, "Resource Not Found".into()));
    let again = call(
        &mut data,
        Method::POST,
        &format!("/lists/{list}/members"),
        &[],
        Some(json!({ "email_address": "ANA@example.com", "status": "subscribed" })),
    );
    assert_eq!(title(&again), (400, "Forgotten Email Not Subscribed".into()));
    assert!(data.add_member(&list, "ana@example.com", 0).is_err(), "no way back in");
    assert_eq!(get(&mut data, &format!("/lists/{other}/members/{hash}"), &[]).status, 200, "another list is untouched");
}

/// Only the subscriber hash names the member to delete permanently (the reference's path
/// parameter); an address there is not a member.
#[test]
fn a_permanent_deletion_takes_the_hash_not_the_address() {
    let mut data = Data::default();
    let list = list_with(&mut data, &["ana@example.com"]);
    let by_address = call(
        &mut data,
        Method::POST,
        &format!("/lists/{list}/members/ana%40example.com/actions/delete-permanent"),
        &[],
        None,
    );
    assert_eq!(by_address.status, 404);
    assert!(data.member(&list, "ana@example.com").is_some());
}

/// Adding an address already on the list is refused: 400 Member Exists.
#[test]
fn adding_an_existing_member_is_refused() {
    let mut data = Data::default();
    let list = list_with(&mut data, &["ana@example.com"]);
    let answer = call(
        &mut data,
        Method::POST,
        &format!("/lists/{list}/members"),
        &[],
        Some(json!({ "email_address": "ana@example.com" })),
    );
    assert_eq!(title(&answer), (400, "Member Exists".into()));
    let answer =
        call(&mut data, Method::POST, &format!("/lists/{list}/members"), &[], Some(json!({ "status": "subscribed" })));
    assert_eq!(answer.status, 400, "an address is required");
}

/// Search is fuzzy: `exact_matches` holds the address itself (any case), `full_search` whatever
/// contains the query, across every list unless `list_id` narrows it
/// (<https://mailchimp.com/developer/marketing/api/search-members/search-members/>).
#[test]
fn search_members_separates_exact_matches_from_the_fuzzy_full_search() {
    let mut data = Data::default();
    let list = list_with(&mut data, &["ana@example.com", "joana@example.com"]);
    let other = data.add_list("Customers");
    data.add_member(&other, "ANA@example.com", 0).unwrap();
    let found = get(&mut data, "/search-members", &[("query", "Ana@Example.com")]).body.unwrap();
    assert_eq!(found["exact_matches"]["total_items"], 2, "one per list");
    assert_eq!(found["full_search"]["total_items"], 3, "joana@ contains the query");
    let narrowed = get(&mut data, "/search-members", &[("query", "ana@example.com"), ("list_id", &list)]).body.unwrap();
    assert_eq!(narrowed["exact_matches"]["members"][0]["list_id"], list.as_str());
    assert_eq!(narrowed["exact_matches"]["total_items"], 1);
    assert_eq!(get(&mut data, "/search-members", &[]).status, 400, "a query is required");
    assert_eq!(get(&mut data, "/search-members", &[("query", "ana"), ("list_id", "nolist")]).status, 404);
}

/// `GET /lists` pages by `count` (default 10, at most 1000) and `offset` with `total_items`, and
/// `email` keeps the audiences holding that address, in any case
/// (<https://mailchimp.com/developer/marketing/api/lists/get-lists-info/>).
#[test]
fn lists_page_by_count_and_offset_and_filter_by_member_address() {
    let mut data = Data::default();
    let ids: Vec<String> = (0..12).map(|i| data.add_list(&format!("List {i}"))).collect();
    let first = get(&mut data, "/lists", &[]).body.unwrap();
    assert_eq!((first["lists"].as_array().unwrap().len(), first["total_items"].as_u64()), (10, Some(12)));
    let rest = get(&mut data, "/lists", &[("count", "5"), ("offset", "10")]).body.unwrap();
    let rest: Vec<&str> = rest["lists"].as_array().unwrap().iter().map(|l| l["id"].as_str().unwrap()).collect();
    assert_eq!(rest, vec![ids[10].as_str(), ids[11].as_str()]);
    for list in [&ids[1], &ids[4], &ids[7]] {
        data.add_member(list, "ana@example.com", 0).unwrap();
    }
    let page = |data: &mut Data, offset: &str| {
        let answer =
            get(data, "/lists", &[("email", "ANA@example.com"), ("count", "2"), ("offset", offset)]).body.unwrap();
        let ids: Vec<String> =
            answer["lists"].as_array().unwrap().iter().map(|l| l["id"].as_str().unwrap().to_string()).collect();
        (ids, answer["total_items"].as_u64())
    };
    assert_eq!(page(&mut data, "0"), (vec![ids[1].clone(), ids[4].clone()], Some(3)));
    assert_eq!(page(&mut data, "2"), (vec![ids[7].clone()], Some(3)));
    assert_eq!(get(&mut data, "/lists", &[("count", "ten")]).status, 400);
    assert_eq!(get(&mut data, "/lists", &[("count", "1001")]).status, 400, "at most 1000");
    assert_eq!(get(&mut data, "/lists", &[("count", "1000")]).status, 200);
}

fn batch_of(data: &mut Data, operations: Value) -> String {
    let created = call(data, Method::POST, "/batches", &[], Some(json!({ "operations": operations })));
    assert_eq!(created.status, 200, "{:?}", created.body);
    let batch = created.body.unwrap();
    assert_eq!((batch["status"].as_str(), batch["finished_operations"].as_u64()), (Some("pending"), Some(0)));
    batch["id"].as_str().unwrap().to_string()
}

/// A batch is accepted as `pending` and its operations run in the background: each status
/// request shows the next of pending, preprocessing, started, finalizing, finished, with the
/// counts, and a finished batch has a `response_body_url` with each operation's status
/// (<https://mailchimp.com/developer/marketing/guides/run-async-requests-batch-endpoint/>). An
/// operation's failure is counted in `errored_operations`; the batch still finishes.
#[test]
fn a_batch_runs_in_the_background_and_reports_each_operation() {
    let mut data = Data::default();
    let list = list_with(&mut data, &["ana@example.com"]);
    let ana = subscriber_hash("ana@example.com");
    let bob = subscriber_hash("bob@example.com");
    let path = |hash: &str| format!("/lists/{list}/members/{hash}/actions/delete-permanent");
    let id = batch_of(
        &mut data,
        json!([
        { "method": "POST", "path": path(&ana), "operation_id": "ana" },
        { "method": "POST", "path": path(&bob), "operation_id": "bob" } ]),
    );
    assert!(data.member(&list, &ana).is_some(), "nothing runs before the batch is started");
    let mut seen = Vec::new();
    for _ in 0..5 {
        let batch = get(&mut data, &format!("/batches/{id}"), &[]).body.unwrap();
        seen.push(batch["status"].as_str().unwrap().to_string());
        if batch["status"] == "finished" {
            assert_eq!(batch["total_operations"], 2);
            assert_eq!(batch["finished_operations"], 2);
            assert_eq!(batch["errored_operations"], 1, "bob was no member");
            assert_eq!(batch["response_body_url"], format!("http://sim/batch-results/{id}"));
        } else {
            assert_eq!(batch["response_body_url"], "");
        }
    }
    assert_eq!(seen, ["preprocessing", "started", "finalizing", "finished", "finished"]);
    assert!(data.member(&list, &ana).is_none(), "the operation ran");
    let results = get(&mut data, &format!("/batch-results/{id}"), &[]).body.unwrap();
    let statuses: Vec<(u64, &str)> = results
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["status_code"].as_u64().unwrap(), r["operation_id"].as_str().unwrap()))
        .collect();
    assert_eq!(statuses, vec![(204, "ana"), (404, "bob")]);
}

/// A batch request must hold an `operations` array whose items have a method among GET, POST,
/// PUT, PATCH, DELETE and a relative path (the batch operations reference); else 400 and no
/// batch. An unknown batch is a 404.
#[test]
fn a_malformed_batch_is_refused_and_an_unknown_one_is_not_found() {
    let mut data = Data::default();
    let refused = |data: &mut Data, body: Value| title(&call(data, Method::POST, "/batches", &[], Some(body)));
    assert_eq!(refused(&mut data, json!({})), (400, "Invalid Resource".into()));
    assert_eq!(refused(&mut data, json!({ "operations": [{ "method": "HEAD", "path": "/ping" }] })).0, 400);
    assert_eq!(refused(&mut data, json!({ "operations": [{ "method": "GET", "path": "https://x/ping" }] })).0, 400);
    assert_eq!(
        refused(&mut data, json!({ "operations": [{ "method": "POST", "path": "/batches", "body": {} }] })).0,
        400,
        "body is JSON text"
    );
    assert!(data.batches.is_empty());
    assert_eq!(get(&mut data, "/batches/nobatch", &[]).status, 404);
    assert_eq!(get(&mut data, "/batch-results/nobatch", &[]).status, 404);
}

/// A known path with another method is 405 Method Not Allowed, an unknown path 404
/// (<https://mailchimp.com/developer/marketing/docs/errors/>).
#[test]
fn a_wrong_method_is_405_and_an_unknown_path_404() {
    let mut data = Data::default();
    let list = list_with(&mut data, &["ana@example.com"]);
    let hash = subscriber_hash("ana@example.com");
    let answer =
        call(&mut data, Method::DELETE, &format!("/lists/{list}/members/{hash}/actions/delete-permanent"), &[], None);
    assert_eq!(title(&answer), (405, "Method Not Allowed".into()));
    assert_eq!(get(&mut data, "/nothing/here", &[]).status, 404);
    assert_eq!(get(&mut data, "/ping", &[]).body.unwrap()["health_status"], "Everything's Chimpy!");
}

#[test]
fn the_seed_builds_lists_and_members() {
    let mut data = Data::default();
    let seed = json!({ "members": [
        { "email": "ana@example.com", "lists": ["Newsletter", "Customers"], "notes": 1 },
        { "email": "bob@example.com", "lists": ["Newsletter"] } ] });
    seed_json(&mut data, &seed).unwrap();
    assert_eq!(data.lists.len(), 2);
    let members: usize = data.lists.values().map(|l| l.members.len()).sum();
    assert_eq!(members, 3);
    assert!(
        seed_json(&mut data, &json!({ "members": [{ "email": "ana@example.com", "lists": ["Newsletter"] }] })).is_err(),
        "already a member"
    );
    assert!(seed_json(&mut data, &json!({ "audiences": [] })).is_err());
}
