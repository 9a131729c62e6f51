//! The workspace's indexes (`index.rs`) against the data they index: searches answer what a
//! scan of every contact or conversation answers, refusals included.

use super::data::Data;
use super::query::matches;
use super::seed::seed_json;
use serde_json::{json, Value};

/// What the search answered before it had an index: every live contact, in order, tried with the
/// filter; the first refusal is the answer.
fn scanned(data: &Data, filter: &Value) -> Result<Vec<String>, String> {
    let mut found = Vec::new();
    for contact in data.contacts.values().filter(|c| !c.deleted) {
        if matches(filter, &|f| contact.field(f))? {
            found.push(contact.id.clone());
        }
    }
    Ok(found)
}

fn indexed(data: &Data, filter: &Value) -> Result<Vec<String>, String> {
    data.contacts_matching(filter).map(|found| found.iter().map(|c| c.id.clone()).collect())
}

fn workspace() -> Data {
    let mut data = Data::default();
    let mut contacts = Vec::new();
    for i in 0..120 {
        let email =
            (i % 6 != 0).then(|| format!("{}{}@{}", ["Ana", "bo", "ana"][i % 3], i % 10, ["x.io", "Y.io"][i % 2]));
        let external_id = (i % 4 != 0).then(|| format!("u_{}", i % 30));
        let phone = (i % 5 == 0).then(|| format!("+3361234{:04}", i % 20));
        let role = ["user", "lead"][i % 2];
        contacts.push(json!({ "role": role, "email": email, "external_id": external_id,
                              "phone": phone, "conversations": i % 3 }));
    }
    seed_json(&mut data, &json!({ "contacts": contacts })).unwrap();
    let ids: Vec<String> = data.contacts.keys().cloned().collect();
    for id in ids.iter().step_by(7) {
        data.contacts.get_mut(id).unwrap().deleted = true;
    }
    data
}

#[test]
fn indexed_contact_searches_answer_as_a_scan_does() {
    let data = workspace();
    let first = data.contacts.keys().nth(3).unwrap().clone();
    let eq = |field: &str, value: &str| json!({ "field": field, "operator": "=", "value": value });
    let filters = [
        eq("email", "ana3@y.io"),
        eq("email", "ANA3@Y.IO"),
        eq("email", "ana1@x.io"),
        eq("email", "nobody@x.io"),
        eq("external_id", "u_7"),
        eq("phone", "+33612340005"),
        eq("id", &first),
        eq("role", "lead"),
        json!({ "field": "email", "operator": "IN", "value": ["bo4@x.io", "Ana1@x.io", "zz@x.io"] }),
        json!({ "field": "email", "operator": "~", "value": "ana" }),
        json!({ "field": "email", "operator": "!=", "value": "bo4@x.io" }),
        json!({ "operator": "AND", "value": [eq("role", "user"), eq("external_id", "u_9")] }),
        json!({ "operator": "OR", "value": [eq("email", "bo2@y.io"), eq("external_id", "u_9")] }),
        json!({ "operator": "OR", "value": [eq("email", "bo2@y.io"), eq("role", "lead")] }),
        json!({ "operator": "AND", "value": [eq("email", "bo2@y.io"), eq("password", "x")] }),
        json!({ "field": "email", "operator": "IN", "value": ["a@x.io", 5] }),
        json!({ "field": "email", "operator": "==", "value": "a@x.io" }),
        json!({ "operator": "AND", "value": "not a list" }),
    ];
    for filter in &filters {
        assert_eq!(indexed(&data, filter), scanned(&data, filter), "{filter}");
    }
    let refused = json!({ "operator": "AND", "value": [eq("email", "bo2@y.io"), eq("password", "x")] });
    assert!(indexed(&data, &refused).is_err(), "a refused filter stays refused with candidates at hand");
    assert_eq!(indexed(&Data::default(), &refused), Ok(Vec::new()), "no contact to refuse it on, as before");
}

#[test]
fn indexed_conversation_searches_answer_as_a_scan_does() {
    let data = workspace();
    let contact = data.conversations.values().nth(5).unwrap().contact_ids[0].clone();
    let conversation = data.conversations.keys().nth(2).unwrap().to_string();
    let eq = |field: &str, value: &str| json!({ "field": field, "operator": "=", "value": value });
    let filters = [
        eq("contact_ids", &contact),
        eq("contact_ids", "nobody"),
        eq("id", &conversation),
        eq("id", &format!("0{conversation}")),
        json!({ "field": "contact_ids", "operator": "IN", "value": [contact, "nobody"] }),
        json!({ "field": "contact_ids", "operator": "!=", "value": contact }),
        json!({ "operator": "AND", "value": [eq("contact_ids", &contact), eq("email", "x")] }),
    ];
    for filter in &filters {
        let mut scanned = Vec::new();
        let scan: Result<(), String> = data.conversations.values().try_for_each(|c| {
            if matches(filter, &|f| c.field(f))? {
                scanned.push(c.id);
            }
            Ok(())
        });
        let indexed = data.conversations_matching(filter).map(|found| found.iter().map(|c| c.id).collect::<Vec<_>>());
        assert_eq!(indexed, scan.map(|_| scanned), "{filter}");
    }
}

/// A contact added after the index was used, or given a phone by the seed, is found; a deleted
/// one is not, by any of its identifiers.
#[test]
fn contacts_are_found_as_they_are_now() {
    let mut data = workspace();
    let by_email = json!({ "field": "email", "operator": "=", "value": "new@x.io" });
    assert_eq!(indexed(&data, &by_email), Ok(Vec::new()));
    let id = data.add_contact("user", Some("New@x.io"), Some("u_new"));
    assert_eq!(indexed(&data, &by_email), Ok(vec![id.clone()]));
    assert_eq!(data.contacts_with_external_id("u_new").collect::<Vec<_>>(), [&id]);
    data.contacts.get_mut(&id).unwrap().deleted = true;
    assert_eq!(indexed(&data, &by_email), Ok(Vec::new()));
    let by_phone = json!({ "field": "phone", "operator": "=", "value": "+33699999999" });
    seed_json(&mut data, &json!({ "contacts": [{ "phone": "+33699999999" }] })).unwrap();
    assert_eq!(indexed(&data, &by_phone).map(|found| found.len()), Ok(1));
}
