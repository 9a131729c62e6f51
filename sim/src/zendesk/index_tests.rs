//! The account's indexes (`index.rs`) against the data they index: every path that changes a
//! user's identifiers or a ticket's people leaves the lookups answering as a scan of every record.

use super::data::{Data, Life};
use super::query::parse_terms;
use super::ticket_rules_tests::{call, ids};
use super::Zendesk;
use crate::harness::{Harness, Vendor};
use crate::SimOptions;
use serde_json::{json, Value};
use std::sync::Arc;

/// `GET /users/search?{key}={value}`, given as `key=value`: the users found.
fn search(data: &mut Data, key_value: &str) -> Vec<u64> {
    let (key, value) = key_value.split_once('=').unwrap();
    let value: String = url::form_urlencoded::byte_serialize(value.as_bytes()).collect();
    let answer = call(data, "GET", &format!("/api/v2/users/search?{key}={value}"), Value::Null);
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    ids(&answer, "users")
}

/// A user permanently deleted is found neither by its old e-mail nor by its old external id; a
/// new user with the same ones is.
#[test]
fn a_purged_user_is_not_found_by_its_old_identifiers() {
    let mut data = Data::default();
    let ana = data.add_user("Ana", Some("Ana@Example.com"), Some("u_ana"), "end-user");
    assert_eq!(search(&mut data, "query=email:\"ana@example.com\""), [ana]);
    assert_eq!(call(&mut data, "DELETE", &format!("/api/v2/users/{ana}"), Value::Null).status, 200);
    assert!(search(&mut data, "query=email:\"ana@example.com\"").is_empty(), "soft-deleted: not found");
    assert_eq!(call(&mut data, "DELETE", &format!("/api/v2/deleted_users/{ana}"), Value::Null).status, 200);
    assert!(search(&mut data, "query=email:\"ana@example.com\"").is_empty());
    assert!(search(&mut data, "external_id=u_ana").is_empty());
    assert!(search(&mut data, "query=external_id:u_ana").is_empty());
    let again = data.add_user("Ana", Some("ana@example.com"), Some("u_ana"), "end-user");
    assert_eq!(search(&mut data, "query=email:\"ana@example.com\""), [again]);
    assert_eq!(search(&mut data, "external_id=u_ana"), [again]);
    let records = Zendesk(&vendor_with(data));
    assert_eq!(records.records("ana@example.com"), 1, "the purged user is no record; the new one is");
}

fn vendor_with(data: Data) -> Vendor<Data> {
    let vendor = Vendor::<Data>::new(Arc::new(Harness::new(SimOptions::default())));
    *vendor.data() = data;
    vendor
}

/// A secondary e-mail added through the test handle is found by search at once, and goes with
/// the user's other identities when it is purged.
#[test]
fn a_secondary_email_is_found_once_added_and_gone_once_purged() {
    let vendor = vendor_with(Data::default());
    let zendesk = Zendesk(&vendor);
    let ana = zendesk.user(Some("ana@work.example"), None);
    assert!(search(&mut vendor.data(), "query=email:\"ana@home.example\"").is_empty());
    zendesk.secondary_email(ana, "Ana@Home.example");
    assert_eq!(search(&mut vendor.data(), "query=email:\"ana@home.example\""), [ana]);
    assert_eq!(search(&mut vendor.data(), "query=email:ana@h*"), [ana]);
    let mut data = vendor.data();
    call(&mut data, "DELETE", &format!("/api/v2/users/{ana}"), Value::Null);
    call(&mut data, "DELETE", &format!("/api/v2/deleted_users/{ana}"), Value::Null);
    assert!(data.user_candidates(&parse_terms("email:\"ana@home.example\"")).is_some_and(|c| c.is_empty()));
}

/// CCs and followers changed by `PUT /tickets/{id}` and by the test handle move the ticket
/// between the users' `tickets/ccd` lists and `cc:` searches.
#[test]
fn a_tickets_watchers_follow_its_updates() {
    let vendor = vendor_with(Data::default());
    let zendesk = Zendesk(&vendor);
    let (ana, bo) = (zendesk.user(Some("ana@x.io"), None), zendesk.user(Some("bo@x.io"), None));
    let ticket = zendesk.ticket(bo, "Help.");
    zendesk.set_ticket_status(ticket, "open");
    zendesk.watch(ticket, ana, true);
    let ccd = |data: &mut Data, user: u64| {
        let listed = ids(&call(data, "GET", &format!("/api/v2/users/{user}/tickets/ccd"), Value::Null), "tickets");
        let found = ids(&call(data, "GET", &format!("/api/v2/search?query=cc:{user}"), Value::Null), "results");
        assert_eq!(listed, found);
        listed
    };
    assert_eq!(ccd(&mut vendor.data(), ana), [ticket]);
    let update = json!({ "ticket": { "followers": [{ "user_id": ana, "action": "delete" }],
                                     "email_ccs": [{ "user_id": bo.to_string(), "action": "put" }] } });
    assert_eq!(call(&mut vendor.data(), "PUT", &format!("/api/v2/tickets/{ticket}"), update).status, 200);
    assert!(ccd(&mut vendor.data(), ana).is_empty(), "no longer a follower");
    assert_eq!(ccd(&mut vendor.data(), bo), [ticket]);
    let requested = call(&mut vendor.data(), "GET", &format!("/api/v2/users/{bo}/tickets/requested"), Value::Null);
    assert_eq!(ids(&requested, "tickets"), [ticket]);
    let refused = call(&mut vendor.data(), "DELETE", &format!("/api/v2/users/{bo}"), Value::Null);
    assert_eq!(refused.status, 422, "the requester of an open ticket");
}

/// Every kind of user search answers what a scan of every user answers, over users with mixed
/// case, secondary e-mails, shared external ids, soft-deleted and purged ones.
#[test]
fn indexed_user_searches_answer_as_a_scan_does() {
    let mut data = Data::default();
    let domains = ["example.com", "Example.org", "x.io"];
    for i in 0..300u64 {
        let email = (i % 7 != 0)
            .then(|| format!("{}{}.{i}@{}", ["ann", "JoAnn", "bo"][i as usize % 3], i % 11, domains[i as usize % 3]));
        let external_id = (i % 5 != 0).then(|| format!("u_{}", i % 40));
        let id = data.add_user(&format!("Person {i}"), email.as_deref(), external_id.as_deref(), "end-user");
        if i % 9 == 0 {
            data.users.get_mut(&id).unwrap().secondary_emails.push(format!("other{i}@home.example"));
            data.reindex_user(id);
        }
        match i % 13 {
            0 => data.users.get_mut(&id).unwrap().life = Life::SoftDeleted,
            1 => {
                data.users.get_mut(&id).unwrap().life = Life::SoftDeleted;
                call(&mut data, "DELETE", &format!("/api/v2/deleted_users/{id}"), Value::Null);
            }
            _ => {}
        }
    }
    let queries = [
        "email:\"ann1.12@example.com\"",
        "email:ann",
        "email:joann",
        "email:\"JOANN\"",
        "email:@x.io",
        "email:an",
        "email:a",
        "email:\"\"",
        "email:ann*x.io",
        "email:*@example.org",
        "email:\"ann*\"",
        "email:other9",
        "email:home.example",
        "external_id:u_3",
        "external_id:u_",
        "email:ann external_id:u_13",
        "name:person",
        "type:user email:bo",
        "role:end-user email:.1",
        "email:zzz",
        "erasure-bot",
        "email:ann email:x.io",
    ];
    for query in queries {
        let terms = parse_terms(query);
        let found =
            |u: &&super::data::User| u.life == Life::Active && !terms.is_empty() && terms.iter().all(|t| t.matches(u));
        let indexed: Vec<u64> = data.users_among(data.user_candidates(&terms)).filter(found).map(|u| u.id).collect();
        let scanned: Vec<u64> = data.users.values().filter(found).map(|u| u.id).collect();
        assert_eq!(indexed, scanned, "{query}");
    }
    for external_id in ["u_3", "u_39", "u_40", ""] {
        let indexed: Vec<u64> = data.users_with_external_id(external_id).into_iter().collect();
        let scanned: Vec<u64> =
            data.users.values().filter(|u| u.external_id.as_deref() == Some(external_id)).map(|u| u.id).collect();
        assert_eq!(indexed, scanned, "{external_id}");
    }
}

/// A user's Help Center content, listed by author, follows what is added and deleted.
#[test]
fn help_center_listings_follow_additions_and_deletions() {
    let vendor = vendor_with(Data::default());
    let zendesk = Zendesk(&vendor);
    let (ana, bo) = (zendesk.user(Some("ana@x.io"), None), zendesk.user(Some("bo@x.io"), None));
    let (article, comment) = zendesk.article_comment(ana, "Thanks");
    zendesk.article_comment(bo, "Me too");
    let post = zendesk.community_post(ana, "Printer");
    let post_comment = zendesk.post_comment(post, ana, "Still broken");
    let listed =
        |path: &str, key: &str| ids(&call(&mut vendor.data(), "GET", &format!("/api/v2/{path}"), Value::Null), key);
    assert_eq!(listed(&format!("help_center/users/{ana}/comments"), "comments"), [comment]);
    assert_eq!(listed(&format!("community/users/{ana}/posts"), "posts"), [post]);
    assert_eq!(listed(&format!("community/users/{ana}/comments"), "comments"), [post_comment]);
    assert_eq!(zendesk.help_center_content(ana), (1, 1, 1));
    let path = format!("/api/v2/help_center/articles/{article}/comments/{comment}");
    assert_eq!(call(&mut vendor.data(), "DELETE", &path, Value::Null).status, 204);
    assert_eq!(call(&mut vendor.data(), "DELETE", &format!("/api/v2/community/posts/{post}"), Value::Null).status, 204);
    assert!(listed(&format!("help_center/users/{ana}/comments"), "comments").is_empty());
    assert!(listed(&format!("community/users/{ana}/posts"), "posts").is_empty());
    assert!(listed(&format!("community/users/{ana}/comments"), "comments").is_empty(), "its post is gone");
    assert_eq!(zendesk.help_center_content(ana), (0, 0, 0));
    assert_eq!(zendesk.help_center_content(bo), (1, 0, 0));
}
