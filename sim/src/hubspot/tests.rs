//! The simulated HubSpot's rules, each with the page of HubSpot's documentation it plays.

use super::answer::Answer;
use super::data::Data;
use super::seed::seed_json;
use axum::http::Method;
use serde_json::{json, Value};
use std::collections::HashMap;

const CONTACTS: &str = "/crm/v3/objects/contacts";

fn post(data: &mut Data, tail: &str, body: Value) -> Answer {
    data.serve(&Method::POST, &format!("{CONTACTS}/{tail}"), &HashMap::new(), Some(body))
}

fn get(data: &mut Data, tail: &str, query: &[(&str, &str)]) -> Answer {
    let query: HashMap<String, String> = query.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    data.serve(&Method::GET, &format!("{CONTACTS}/{tail}"), &query, None)
}

fn eq(property: &str, value: &str) -> Value {
    json!({ "filterGroups": [{ "filters": [{ "propertyName": property, "operator": "EQ", "value": value }] }] })
}

fn ids(answer: &Answer) -> Vec<String> {
    let results = answer.body.as_ref().unwrap()["results"].as_array().unwrap();
    results.iter().map(|r| r["id"].as_str().unwrap().to_string()).collect()
}

fn category(answer: &Answer) -> (u16, String) {
    (answer.status, answer.body.as_ref().and_then(|b| b["category"].as_str()).unwrap_or_default().to_string())
}

/// `EQ` on `email` finds the contact whatever the case of the query, with the default properties
/// unless `properties` says otherwise (<https://developers.hubspot.com/docs/api/crm/search>).
#[test]
fn search_finds_a_contact_by_email_in_any_case_with_the_properties_asked_for() {
    let mut data = Data::default();
    let ana = data.add_contact(Some("Ana@Example.com"), Some("+33612345678"), 0).unwrap();
    data.add_contact(Some("bob@example.com"), None, 0).unwrap();
    let found = post(&mut data, "search", eq("email", "ana@example.COM"));
    assert_eq!(ids(&found), vec![ana.to_string()]);
    let body = found.body.unwrap();
    assert_eq!(body["total"], 1);
    assert_eq!(body["results"][0]["properties"]["email"], "Ana@Example.com", "as stored");
    assert!(body["results"][0]["properties"].get("phone").is_none(), "not a default property");
    let mut asked = eq("email", "ana@example.com");
    asked["properties"] = json!(["email", "phone"]);
    let body = post(&mut data, "search", asked).body.unwrap();
    assert_eq!(body["results"][0]["properties"]["phone"], "+33612345678");
    assert!(body["results"][0]["properties"].get("firstname").is_none(), "properties replace the defaults");
    assert!(body.get("paging").is_none(), "one page");
}

/// Filter groups are ORed, filters in a group ANDed; `CONTAINS_TOKEN` with a wildcard matches
/// more than one address, which is why a caller checks what it got.
#[test]
fn groups_are_ored_filters_anded_and_a_token_search_is_wide() {
    let mut data = Data::default();
    let ana = data.add_contact(Some("ana@example.com"), Some("+331"), 0).unwrap();
    let bob = data.add_contact(Some("bob@example.com"), Some("+331"), 0).unwrap();
    let both = json!({ "filterGroups": [
        { "filters": [{ "propertyName": "email", "operator": "EQ", "value": "ana@example.com" }] },
        { "filters": [{ "propertyName": "email", "operator": "EQ", "value": "bob@example.com" }] } ] });
    assert_eq!(ids(&post(&mut data, "search", both)), vec![ana.to_string(), bob.to_string()]);
    let anded = json!({ "filterGroups": [{ "filters": [
        { "propertyName": "phone", "operator": "EQ", "value": "+331" },
        { "propertyName": "email", "operator": "NEQ", "value": "ana@example.com" } ] }] });
    assert_eq!(ids(&post(&mut data, "search", anded)), vec![bob.to_string()]);
    let wide = json!({ "filterGroups": [{ "filters": [{ "propertyName": "email", "operator": "CONTAINS_TOKEN", "value": "*@example.com" }] }] });
    assert_eq!(ids(&post(&mut data, "search", wide)).len(), 2);
}

/// Paging: `paging.next.after` is the cursor of the next page, absent on the last one; `limit`
/// is at most 200 and no query pages past 10,000 results (400)
/// (<https://developers.hubspot.com/docs/api/crm/search>, "Limitations").
#[test]
fn search_pages_by_cursor_within_hubspots_limits() {
    let mut data = Data::default();
    let all: Vec<String> = (0..7)
        .map(|i| data.add_contact(Some(&format!("p{i}@example.com")), Some("+339"), 0).unwrap().to_string())
        .collect();
    let mut seen = Vec::new();
    let mut request = eq("phone", "+339");
    request["limit"] = json!(100);
    loop {
        let page = post(&mut data, "search", request.clone());
        assert!(ids(&page).len() <= 3, "the simulator's page size");
        seen.extend(ids(&page));
        match page.body.unwrap()["paging"]["next"]["after"].as_str() {
            Some(after) => request["after"] = json!(after),
            None => break,
        }
    }
    assert_eq!(seen, all);
    let mut too_many = eq("phone", "+339");
    too_many["limit"] = json!(201);
    assert_eq!(category(&post(&mut data, "search", too_many)), (400, "VALIDATION_ERROR".into()));
    let mut too_far = eq("phone", "+339");
    too_far["after"] = json!("9995");
    too_far["limit"] = json!(10);
    assert_eq!(post(&mut data, "search", too_far).status, 400);
}

/// More than 5 filter groups, 6 filters in a group or 18 in all, an unknown operator or
/// property: 400 (<https://developers.hubspot.com/docs/api/crm/search>).
#[test]
fn a_search_hubspot_would_not_run_is_refused() {
    let mut data = Data::default();
    let filter = json!({ "propertyName": "email", "operator": "EQ", "value": "a@example.com" });
    let groups = |groups: usize, filters: usize| json!({ "filterGroups": vec![json!({ "filters": vec![filter.clone(); filters] }); groups] });
    assert_eq!(post(&mut data, "search", groups(5, 3)).status, 200);
    assert_eq!(post(&mut data, "search", groups(6, 1)).status, 400);
    assert_eq!(post(&mut data, "search", groups(1, 7)).status, 400);
    assert_eq!(post(&mut data, "search", groups(4, 5)).status, 400, "20 filters in all");
    let bad = |operator: &str, property: &str| json!({ "filterGroups": [{ "filters": [{ "propertyName": property, "operator": operator, "value": "x" }] }] });
    assert_eq!(post(&mut data, "search", bad("LIKE", "email")).status, 400);
    assert_eq!(post(&mut data, "search", bad("EQ", "favourite_colour")).status, 400);
    assert_eq!(post(&mut data, "search", json!("not an object")).status, 400);
}

/// GDPR deletion by address: 204, the contact and its associated engagements are gone (GET
/// 404), and the address is blocklisted; an address that matches no contact is blocklisted
/// too, still 204
/// (<https://developers.hubspot.com/docs/api-reference/legacy/crm/objects/contacts/gdpr/gdpr-delete-contact>).
#[test]
fn a_gdpr_deletion_by_email_removes_the_contact_and_blocklists_the_address() {
    let mut data = Data::default();
    let ana = data.add_contact(Some("Ana@Example.com"), None, 3).unwrap();
    let bob = data.add_contact(Some("bob@example.com"), None, 1).unwrap();
    let deleted = post(&mut data, "gdpr-delete", json!({ "objectId": "ana@example.com", "idProperty": "email" }));
    assert_eq!((deleted.status, deleted.body), (204, None));
    assert_eq!(category(&get(&mut data, &ana.to_string(), &[])), (404, "OBJECT_NOT_FOUND".into()));
    assert!(data.blocklist.contains("ana@example.com"));
    assert!(data.contacts.contains_key(&bob), "another contact stays");
    let unknown = post(&mut data, "gdpr-delete", json!({ "objectId": "Carl@example.com", "idProperty": "email" }));
    assert_eq!(unknown.status, 204);
    assert!(data.blocklist.contains("carl@example.com"), "blocklisted although no contact had it");
}

/// By id (no `idProperty`): the contact goes and its address is blocklisted; an unknown id is a
/// 404; a missing `objectId` or another `idProperty` is refused (400).
#[test]
fn a_gdpr_deletion_by_id_and_its_refusals() {
    let mut data = Data::default();
    let ana = data.add_contact(Some("ana@example.com"), None, 0).unwrap();
    assert_eq!(post(&mut data, "gdpr-delete", json!({ "objectId": ana.to_string() })).status, 204);
    assert!(data.contacts.is_empty() && data.blocklist.contains("ana@example.com"));
    assert_eq!(post(&mut data, "gdpr-delete", json!({ "objectId": ana.to_string() })).status, 404, "already gone");
    assert_eq!(post(&mut data, "gdpr-delete", json!({})).status, 400);
    assert_eq!(post(&mut data, "gdpr-delete", json!({ "objectId": "x", "idProperty": "phone" })).status, 400);
}

/// A contact is read by id, or by address with `idProperty=email`
/// (<https://developers.hubspot.com/docs/api/crm/contacts>); 404 when there is none.
#[test]
fn a_contact_is_read_by_id_or_by_email() {
    let mut data = Data::default();
    let ana = data.add_contact(Some("ana@example.com"), Some("+331"), 0).unwrap();
    let by_id = get(&mut data, &ana.to_string(), &[("properties", "email,phone")]);
    assert_eq!(by_id.body.unwrap()["properties"]["phone"], "+331");
    let by_email = get(&mut data, "ANA%40example.com", &[("idProperty", "email")]);
    assert_eq!(by_email.body.unwrap()["id"], ana.to_string());
    assert_eq!(get(&mut data, "999", &[]).status, 404);
    assert_eq!(get(&mut data, "bob@example.com", &[("idProperty", "email")]).status, 404);
}

/// The contacts list pages by `after` (healthcheck target); an unknown path is a 404.
#[test]
fn the_contact_list_pages_and_unknown_paths_are_404() {
    let mut data = Data::default();
    for i in 0..4 {
        data.add_contact(Some(&format!("c{i}@example.com")), None, 0);
    }
    let first = data.serve(&Method::GET, CONTACTS, &HashMap::new(), None);
    let after = first.body.as_ref().unwrap()["paging"]["next"]["after"].as_str().unwrap().to_string();
    let rest = data.serve(&Method::GET, CONTACTS, &[("after".to_string(), after)].into_iter().collect(), None);
    assert_eq!(ids(&first).len() + ids(&rest).len(), 4);
    assert!(rest.body.unwrap().get("paging").is_none());
    assert_eq!(data.serve(&Method::DELETE, &format!("{CONTACTS}/search"), &HashMap::new(), None).status, 404);
}

#[test]
fn the_seed_builds_contacts_and_refuses_a_second_contact_with_one_address() {
    let mut data = Data::default();
    let seed = json!({ "page_size": 2, "rate_limit_per_10s": 100, "contacts": [
        { "email": "ana@example.com", "engagements": 2 }, { "phone": "+33612345678" } ] });
    seed_json(&mut data, &seed).unwrap();
    assert_eq!((data.contacts.len(), data.page_size()), (2, 2));
    assert!(data.rate_limit.is_some());
    assert!(seed_json(&mut data, &json!({ "contacts": [{ "email": "ANA@example.com" }] })).is_err());
    assert!(seed_json(&mut data, &json!({ "companies": [] })).is_err());
}
