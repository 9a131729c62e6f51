//! Bulk erasure in chunks, an asynchronous job followed through `Pending` and `check`, vendor
//! references, and vendor error codes mapped to gone, retry or permanent: against the local
//! vendor of `common/vendor.rs`.

mod common;

use common::vendor::Vendor;
use erasure_connector::testkit::Kit;
use erasure_connector::{Connector, Ctx, HttpClient, Outcome, Secrets, Subject};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;

const FIND: &str = r#"
[[find]]
name = "people"
for_each = "email"
path = "/page/people"
query = { email = "{email}" }
records = "/people"
match = { field = "/email", equals = "{email}" }
pagination = { type = "page", query = "page", size = 2 }
"#;

const BULK: &str = r#"
[[erase]]
bulk = "people"
max_batch = 2
method = "POST"
path = "/batches"
body = { operations = "{batch}" }
each = { delete = "{record.id}" }
count = "people"
vendor_ref = "/id"

[erase.job]
id = "/id"
path = "/batches/{job.id}"
done = { field = "/status", equals = "finished" }
failed = [{ field = "/status", equals = "finished" }, { field = "/errored_operations", not_in = [0] }]
check_after = "1s"
"#;

fn connector(url: &str, text: &str) -> erasure_connector_http::Http {
    let definition: Value = serde_json::to_value(toml::from_str::<toml::Table>(text).unwrap()).unwrap();
    let keys = json!({ "definition": definition, "base_url": url });
    common::instance(keys, Secrets::default(), HttpClient::unlimited("acme", Duration::from_secs(5))).unwrap()
}

fn subject(email: &str) -> Subject {
    Subject::new(erasure_connector::subject::RawSubject { emails: vec![email.into()], ..Default::default() }).unwrap()
}

fn ctx() -> Ctx {
    Ctx::standalone("acme", HttpClient::unlimited("acme", Duration::from_secs(5)))
}

#[tokio::test]
async fn a_bulk_erasure_is_pending_until_every_job_is_done() {
    let (vendor, url) = Vendor::start().await;
    for _ in 0..5 {
        vendor.add("ann@example.com");
    }
    vendor.add("bo@example.com");
    let http = connector(&url, &format!("{FIND}{BULK}"));
    let ctx = ctx();
    let ann = subject("ann@example.com");
    let Outcome::Pending(pending) = http.erase(&ctx, &ann).await else { panic!("an async job is pending") };
    assert_eq!(pending.check_after, Duration::from_secs(1));
    assert_eq!(
        pending.state,
        json!({ "jobs": [{ "step": 0, "id": "b1" }, { "step": 0, "id": "b2" }, { "step": 0, "id": "b3" }] })
    );
    assert_eq!(pending.evidence.vendor_refs, ["b1", "b2", "b3"], "5 records in chunks of 2");
    let bodies: Vec<Value> =
        vendor.seen().iter().filter(|s| s.method == "POST").map(|s| serde_json::from_str(&s.body).unwrap()).collect();
    assert_eq!(bodies[0], json!({ "operations": [{ "delete": "p1" }, { "delete": "p2" }] }));
    assert_eq!(vendor.emails().len(), 6, "nothing is gone before the jobs finish");

    // Each batch answers `started` twice, then `finished`.
    let mut outcome = Outcome::Pending(pending);
    let mut checks = 0;
    while let Outcome::Pending(p) = &outcome {
        checks += 1;
        outcome = http.check(&ctx, &ann, p).await;
    }
    assert_eq!(checks, 3);
    let Outcome::Erased(evidence) = outcome else { panic!("erased: {outcome:?}") };
    assert_eq!(evidence.counts["people"], 5);
    assert_eq!(vendor.emails(), ["bo@example.com"]);
}

#[tokio::test]
async fn a_job_that_failed_is_a_failure_never_erased() {
    let (vendor, url) = Vendor::start().await;
    let id = vendor.add("ann@example.com");
    vendor.0.lock().unwrap().in_compliance_state.push(id);
    let http = connector(&url, &format!("{FIND}{BULK}"));
    let ctx = ctx();
    let ann = subject("ann@example.com");
    let mut outcome = http.erase(&ctx, &ann).await;
    while let Outcome::Pending(p) = &outcome {
        outcome = http.check(&ctx, &ann, p).await;
    }
    assert_eq!(outcome, Outcome::failed("the inline definition: the vendor's job of erase[0] failed"));
}

/// The kit drives the asynchronous erasure (`Pending`, then `check`) like any async vendor's.
#[tokio::test]
async fn the_kit_sees_a_pending_erasure_finish() {
    let (vendor, url) = Vendor::start().await;
    let http_client = HttpClient::unlimited("acme", Duration::from_secs(5));
    let http = connector(&url, &format!("{FIND}{BULK}"));
    let kit = Kit::new(Arc::new(http), Arc::new(common::vendor::KitMock(vendor.clone())), http_client);
    kit.erases_when_present().await;
    kit.nothing_to_erase_when_absent().await;
    kit.pagination_beyond_one_page().await;
}

#[tokio::test]
async fn vendor_error_codes_map_to_gone_retry_or_permanent() {
    let per_record = r#"
[[erase]]
for_each = "people"
path = "/people/{record.id}"
gone = [404]
count = "people"
"#;
    let mapping = |class: &str| {
        format!(
            "{FIND}{per_record}\n[[errors]]\nstatus = 400\nfield = \"/title\"\nequals = \"Member In Compliance State\"\nas = \"{class}\"\ncount = \"in_compliance_state\"\n"
        )
    };
    let (vendor, url) = Vendor::start().await;
    vendor.add("ann@example.com");
    let locked = vendor.add("ann@example.com");
    vendor.0.lock().unwrap().in_compliance_state.push(locked);

    let gone = connector(&url, &mapping("gone")).erase(&ctx(), &subject("ann@example.com")).await;
    let Outcome::Erased(evidence) = gone else { panic!("{gone:?}") };
    assert_eq!((evidence.counts["people"], evidence.counts["in_compliance_state"]), (1, 1));

    let retry = connector(&url, &mapping("retry").replace("count = \"in_compliance_state\"\n", ""))
        .erase(&ctx(), &subject("ann@example.com"))
        .await;
    assert!(
        matches!(&retry, Outcome::Retry { throttled: false, reason, .. } if reason.contains("errors[0]")),
        "{retry:?}"
    );
    let permanent = connector(&url, &mapping("permanent").replace("count = \"in_compliance_state\"\n", ""))
        .erase(&ctx(), &subject("ann@example.com"))
        .await;
    assert!(matches!(&permanent, Outcome::Failed { reason } if reason.contains("HTTP 400")), "{permanent:?}");
    // Without a mapping, the SDK's table: a 400 is permanent.
    let unmapped = connector(&url, &format!("{FIND}{per_record}")).erase(&ctx(), &subject("ann@example.com")).await;
    assert_eq!(unmapped, Outcome::failed("acme answered HTTP 400"));
}
