//! The format's requests on the wire, against a small local vendor: each kind of credentials,
//! each kind of pagination with the exact-match rule, and hostile identifiers kept as data.

mod common;

use common::vendor::{Vendor, PAGE};
use erasure_connector::{Connector, Ctx, HttpClient, Outcome, Secrets, Subject};
use serde_json::{json, Value};
use std::time::Duration;

/// A definition listing `/{mode}/people` with `pagination` (TOML inline table) and deleting
/// each exact match; `auth` is the `[auth]` table's body.
fn definition(mode: &str, pagination: &str, auth: &str) -> Value {
    let text = format!(
        r#"
[auth]
{auth}

[[find]]
name = "people"
for_each = "email"
path = "/{mode}/people"
query = {{ email = "{{email}}" }}
records = "/people"
match = {{ field = "/email", equals = "{{email}}" }}
{pagination}

[[erase]]
for_each = "people"
path = "/people/{{record.id}}"
gone = [404]
count = "people"
"#
    );
    serde_json::to_value(toml::from_str::<toml::Table>(&text).unwrap()).unwrap()
}

fn connector(url: &str, definition: Value, secrets: Secrets) -> erasure_connector_http::Http {
    let keys = json!({ "definition": definition, "base_url": url, "token_env": "T", "user_env": "U", "key_env": "K" });
    common::instance(keys, secrets, HttpClient::unlimited("acme", Duration::from_secs(5))).unwrap()
}

fn subject(email: &str) -> Subject {
    Subject::new(erasure_connector::subject::RawSubject { emails: vec![email.into()], ..Default::default() }).unwrap()
}

fn ctx() -> Ctx {
    Ctx::standalone("acme", HttpClient::unlimited("acme", Duration::from_secs(5)))
}

const BEARER: &str = "type = \"bearer\"\ntoken = \"token_env\"";

/// Every pagination kind reaches the last page, and the fuzzy search's near misses stay.
#[tokio::test]
async fn every_pagination_kind_erases_every_exact_match_and_nothing_else() {
    let kinds = [
        ("cursor", "pagination = { type = \"cursor\", next = \"/paging/next\", query = \"after\" }"),
        ("link", "pagination = { type = \"link\" }"),
        ("page", "pagination = { type = \"page\", query = \"page\", size = 2 }"),
        ("offset", "pagination = { type = \"offset\", query = \"offset\", size = 2 }"),
    ];
    for (mode, pagination) in kinds {
        let (vendor, url) = Vendor::start().await;
        let many = PAGE * 2 + 1;
        for _ in 0..many {
            vendor.add("ann@example.com");
        }
        vendor.add("joann@example.com");
        vendor.add("ann@example.com.evil");
        let http = connector(&url, definition(mode, pagination, BEARER), Secrets::one("token_env", "t0k"));
        let outcome = http.erase(&ctx(), &subject("Ann@Example.com")).await;
        match outcome {
            Outcome::Erased(evidence) => assert_eq!(evidence.counts["people"], many as u64, "{mode}"),
            other => panic!("{mode}: {other:?}"),
        }
        assert_eq!(vendor.emails(), vec!["joann@example.com", "ann@example.com.evil"], "{mode}");
        let listings = vendor.seen().iter().filter(|s| s.method == "GET").count();
        assert!(listings >= 3, "{mode}: {listings} pages read");
        assert_eq!(http.erase(&ctx(), &subject("ann@example.com")).await, Outcome::NothingToErase, "{mode}");
    }
}

#[tokio::test]
async fn each_kind_of_credentials_goes_where_the_definition_says() {
    let none = "pagination = { type = \"page\", query = \"page\", size = 2 }";
    type Carries<'a> = &'a dyn Fn(&common::vendor::Seen) -> bool;
    let cases: [(&str, Carries); 4] = [
        (BEARER, &|s| s.authorization.as_deref() == Some("Bearer t0k")),
        // base64("u5er:t0k")
        ("type = \"basic\"\nusername_secret = \"user_env\"\npassword = \"token_env\"", &|s| {
            s.authorization.as_deref() == Some("Basic dTVlcjp0MGs=")
        }),
        ("type = \"api_key\"\nkey = \"key_env\"\nheader = \"X-Api-Key\"", &|s| s.api_key.as_deref() == Some("k3y")),
        ("type = \"api_key\"\nkey = \"key_env\"\nquery = \"api_key\"", &|s| s.uri.contains("api_key=k3y")),
    ];
    for (auth, carries) in cases {
        let (vendor, url) = Vendor::start().await;
        vendor.add("bo@example.com");
        let secrets = Secrets::one("token_env", "t0k").with("user_env", "u5er").with("key_env", "k3y");
        let http = connector(&url, definition("page", none, auth), secrets);
        assert!(matches!(http.erase(&ctx(), &subject("bo@example.com")).await, Outcome::Erased(_)), "{auth}");
        let seen = vendor.seen();
        assert_eq!(seen.len(), 2, "{auth}: {seen:?}");
        assert!(seen.iter().all(carries), "{auth}: {seen:?}");
    }
}

/// A hostile identifier lands as one query value or one path segment: it never adds a segment,
/// a parameter or a JSON key.
#[tokio::test]
async fn hostile_identifiers_stay_data_wherever_they_land() {
    let (vendor, url) = Vendor::start().await;
    let text = r#"
[[find]]
name = "people"
for_each = "user_id"
method = "POST"
path = "/by-id/{user_id}/x"
query = { q = "{user_id}" }
body = { filter = { value = "{user_id}" } }
records = "/people"
match = { field = "/id", equals = "{user_id}" }
"#;
    let definition: Value = serde_json::to_value(toml::from_str::<toml::Table>(text).unwrap()).unwrap();
    let http = connector(&url, definition, Secrets::default());
    for hostile in ["a/../b", "x?y=1", "\"}", "a#b", "..", "%2e%2e"] {
        let subject = Subject::new(erasure_connector::subject::RawSubject {
            user_id: Some(hostile.into()),
            ..Default::default()
        })
        .unwrap();
        // The vendor answers 404 to anything here: a failure, but only after the request went out.
        let _ = http.erase(&ctx(), &subject).await;
    }
    let seen = vendor.seen();
    let uris: Vec<&str> = seen.iter().map(|s| s.uri.as_str()).collect();
    assert_eq!(
        uris,
        vec![
            "/by-id/a%2F..%2Fb/x?q=a%2F..%2Fb",
            "/by-id/x%3Fy%3D1/x?q=x%3Fy%3D1",
            "/by-id/%22%7D/x?q=%22%7D",
            "/by-id/a%23b/x?q=a%23b",
            // `..` cannot be a path segment: that request is never made.
            "/by-id/%252e%252e/x?q=%252e%252e",
        ]
    );
    let bodies: Vec<Value> = seen.iter().map(|s| serde_json::from_str(&s.body).unwrap()).collect();
    assert_eq!(bodies[2], json!({ "filter": { "value": "\"}" } }));
}
