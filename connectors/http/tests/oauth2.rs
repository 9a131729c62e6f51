//! OAuth 2.0 client credentials (RFC 6749 §4.4) against the simulator's RFC 6749 authorization
//! server, with a small resource server here that accepts only the tokens it issued.

mod common;

use common::vendor::Vendor;
use erasure_connector::{Connector, Ctx, HttpClient, Outcome, Secrets, Subject};
use erasure_sim::{Sim, SimOptions};
use serde_json::{json, Value};
use std::time::Duration;

async fn setup() -> (Sim, Vendor, String) {
    let sim = Sim::start("127.0.0.1:0".parse().unwrap(), SimOptions::default()).await.unwrap();
    let (vendor, url) = Vendor::start().await;
    let server = sim.oauth2().clone();
    vendor.0.lock().unwrap().gate = Some(Box::new(move |authorization| {
        authorization.and_then(|a| a.strip_prefix("Bearer ")).is_some_and(|token| server.accepts(token))
    }));
    (sim, vendor, url)
}

fn connector(sim: &Sim, url: &str, secret: &str) -> erasure_connector_http::Http {
    let text = format!(
        r#"
[auth]
type = "oauth2_client_credentials"
token_url = "{}"
client_id = "client_id_env"
client_secret = "client_secret_env"
scopes = ["people.read", "people.delete"]

[[find]]
name = "people"
for_each = "email"
path = "/page/people"
query = {{ email = "{{email}}" }}
records = "/people"
match = {{ field = "/email", equals = "{{email}}" }}

[[erase]]
for_each = "people"
path = "/people/{{record.id}}"
gone = [404]
count = "people"
"#,
        sim.oauth2_token_url()
    );
    let definition: Value = serde_json::to_value(toml::from_str::<toml::Table>(&text).unwrap()).unwrap();
    let keys = json!({ "definition": definition, "base_url": url, "client_id_env": "A", "client_secret_env": "B" });
    let secrets = Secrets::one("client_id_env", Sim::OAUTH2_CLIENT_ID).with("client_secret_env", secret);
    common::instance(keys, secrets, HttpClient::unlimited("acme", Duration::from_secs(5))).unwrap()
}

fn subject(email: &str) -> Subject {
    Subject::new(erasure_connector::subject::RawSubject { emails: vec![email.into()], ..Default::default() }).unwrap()
}

fn ctx() -> Ctx {
    Ctx::standalone("acme", HttpClient::unlimited("acme", Duration::from_secs(5)))
}

#[tokio::test]
async fn a_token_is_fetched_once_cached_and_fetched_again_once_after_a_401() {
    let (sim, vendor, url) = setup().await;
    let http = connector(&sim, &url, Sim::OAUTH2_CLIENT_SECRET);
    vendor.add("ann@example.com");
    assert!(matches!(http.erase(&ctx(), &subject("ann@example.com")).await, Outcome::Erased(_)));
    vendor.add("bo@example.com");
    assert!(matches!(http.erase(&ctx(), &subject("bo@example.com")).await, Outcome::Erased(_)));
    assert_eq!(sim.oauth2().token_requests(), 1, "the token is cached");
    assert_eq!(vendor.0.lock().unwrap().refused, 0);

    // Revoked server-side: the API answers 401, the connector fetches a new token once.
    sim.oauth2().revoke_all();
    vendor.add("cy@example.com");
    assert!(matches!(http.erase(&ctx(), &subject("cy@example.com")).await, Outcome::Erased(_)));
    assert_eq!(sim.oauth2().token_requests(), 2);
    assert_eq!(vendor.0.lock().unwrap().refused, 1, "one 401, then the new token");
    assert_eq!(vendor.emails(), Vec::<String>::new());
}

#[tokio::test]
async fn a_token_is_renewed_before_it_expires() {
    let (sim, vendor, url) = setup().await;
    sim.oauth2().set_expires_in(2);
    let http = connector(&sim, &url, Sim::OAUTH2_CLIENT_SECRET);
    vendor.add("ann@example.com");
    assert!(matches!(http.erase(&ctx(), &subject("ann@example.com")).await, Outcome::Erased(_)));
    // Renewed 1 s before expiry (10% of the lifetime, at least 1 s).
    tokio::time::sleep(Duration::from_millis(1200)).await;
    vendor.add("bo@example.com");
    assert!(matches!(http.erase(&ctx(), &subject("bo@example.com")).await, Outcome::Erased(_)));
    assert_eq!(sim.oauth2().token_requests(), 2);
    assert_eq!(vendor.0.lock().unwrap().refused, 0, "never sent an expired token");
}

#[tokio::test]
async fn a_refused_client_fails_naming_rfc_6749_s_error_and_never_the_secret() {
    let (sim, vendor, url) = setup().await;
    let http = connector(&sim, &url, "wrong-secret-value");
    vendor.add("ann@example.com");
    match http.erase(&ctx(), &subject("ann@example.com")).await {
        Outcome::Failed { reason } => {
            assert!(reason.contains("401") && reason.contains("invalid_client"), "{reason}");
            assert!(!reason.contains("wrong-secret-value"), "{reason}");
        }
        other => panic!("a refused client must fail: {other:?}"),
    }
    assert_eq!(vendor.seen().len(), 0, "no API call without a token");
}

/// The simulator's authorization server refuses what RFC 6749 §5.2 says it refuses.
#[tokio::test]
async fn the_authorization_server_refuses_a_bad_client_and_another_grant() {
    let sim = Sim::start("127.0.0.1:0".parse().unwrap(), SimOptions::default()).await.unwrap();
    let client = reqwest::Client::new();
    let post = |body: &'static str, secret: &'static str| {
        client
            .post(sim.oauth2_token_url())
            .basic_auth(Sim::OAUTH2_CLIENT_ID, Some(secret))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
    };
    let bad = post("grant_type=client_credentials", "nope").await.unwrap();
    assert_eq!(bad.status(), 401);
    assert!(bad.headers().contains_key("www-authenticate"));
    assert_eq!(bad.json::<Value>().await.unwrap(), json!({ "error": "invalid_client" }));
    let grant = post("grant_type=password&username=a&password=b", Sim::OAUTH2_CLIENT_SECRET).await.unwrap();
    assert_eq!(grant.status(), 400);
    assert_eq!(grant.json::<Value>().await.unwrap(), json!({ "error": "unsupported_grant_type" }));
    let good = post("grant_type=client_credentials&scope=a%20b", Sim::OAUTH2_CLIENT_SECRET).await.unwrap();
    assert_eq!(good.status(), 200);
    assert_eq!(good.headers()["cache-control"], "no-store");
    let token: Value = good.json().await.unwrap();
    assert_eq!(token["token_type"], "Bearer");
    assert_eq!(token["scope"], "a b");
    assert!(sim.oauth2().accepts(token["access_token"].as_str().unwrap()));
}
