//! One request through the whole pipeline to every kind of vendor the simulator plays, with the
//! demo's seed: every system erases, and the confirmation carries each one's evidence.

use crate::support::*;
use erasure_worker::clock::SystemClock;
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

#[tokio::test]
async fn one_request_erases_the_subject_from_every_vendor_with_evidence() {
    let stack = Stack::new().await;
    // SAFETY: set before the worker starts; each test runs in its own process.
    unsafe {
        std::env::set_var("E2E_SIM_TOKEN", "sim-token");
        std::env::set_var("E2E_HUBSPOT_TOKEN", erasure_sim::Sim::HUBSPOT_TOKEN);
    }
    let seed: serde_json::Value =
        serde_json::from_str(include_str!("../../config/demo-seed.json")).expect("the demo seed is JSON");
    stack.sim.seed_json(&seed).expect("the demo seed loads");
    let vendors = format!(
        r#"
[connectors.helpdesk]
kind = "zendesk"
base_url = "{zendesk}"
email = "erasure-bot@sim.invalid"
api_token_env = "E2E_SIM_TOKEN"
check_after_seconds = 1
[connectors.chat]
kind = "intercom"
base_url = "{intercom}"
access_token_env = "E2E_SIM_TOKEN"
[connectors.voice]
kind = "twilio"
base_url = "{twilio}"
account_sid = "AC0123456789abcdef0123456789abcdef"
auth_token_env = "E2E_SIM_TOKEN"
[connectors.logs]
kind = "loki"
base_url = "{loki}"
selector = '{{app="shop"}}'
lookback = "31d"
tenant = "sim-tenant"
token_env = "E2E_SIM_TOKEN"
check_interval = "1s"
min_identifier_length = 5
delete_request_cancel_period = "0s"
[connectors.crm]
kind = "http"
definition = "hubspot"
base_url = "{hubspot}"
access_token_env = "E2E_HUBSPOT_TOKEN"
"#,
        zendesk = stack.sim.vendor_url("zendesk"),
        intercom = stack.sim.vendor_url("intercom"),
        twilio = stack.sim.vendor_url("twilio"),
        loki = stack.sim.vendor_url("loki"),
        hubspot = stack.sim.vendor_url("hubspot"),
    );
    // Loki's cancellation period (24h by default) is over at once here.
    stack.sim.loki().set_cancel_period(Duration::ZERO);
    let settings = stack.settings(&[Instance { name: "accounts", extra: "" }], &vendors);
    stack.declare_queues(&settings).await;
    let mut events = stack.events().await;
    let worker = Worker::start(settings, Arc::new(SystemClock));

    let id = Uuid::new_v4();
    let mut body = request(id, "Ana@Example.com", chrono::Utc::now());
    body["subject"]["user_id"] = serde_json::json!("u_123");
    body["subject"]["phones"] = serde_json::json!(["+33 6 12 34 56 78"]);
    stack.publish(&bytes(&body), None).await;

    let event = events.next(Duration::from_secs(60)).await.expect("a confirmation");
    assert_eq!(event.routing_key, "erasure.completed", "{:#}", event.body);
    let systems = event.body["systems"].as_array().unwrap();
    let evidence = |name: &str| systems.iter().find(|s| s["system"] == name).unwrap()["evidence"].clone();
    for name in ["accounts", "helpdesk", "chat", "voice", "logs", "crm"] {
        let system = systems.iter().find(|s| s["system"] == name).unwrap();
        assert_eq!(system["outcome"], "erased", "{name}: {system:#}");
    }
    assert_eq!(evidence("helpdesk")["counts"]["tickets_deleted"], 2);
    assert_eq!(evidence("helpdesk")["counts"]["users_deleted"], 1);
    assert!(!evidence("helpdesk")["vendor_refs"].as_array().unwrap().is_empty(), "Zendesk job ids");
    assert_eq!(evidence("chat")["counts"]["contacts"], 1);
    assert_eq!(evidence("voice")["counts"]["recordings"], 3);
    assert_eq!(evidence("logs")["counts"]["log_lines"], 3, "u_1234's line is not u_123's");
    // The declarative HubSpot: Ana's one contact (found by e-mail and by phone), not ana.other's.
    assert_eq!(evidence("crm")["counts"]["contacts"], 1, "{:#}", evidence("crm"));
    assert_eq!(stack.sim.hubspot().remaining(&["ana@example.com", "+33612345678"]), 0);
    assert_eq!(
        stack.sim.hubspot().remaining(&["ana.other@example.com"]),
        2,
        "a near miss (a contact and its engagement) is never erased"
    );
    // The e-mail names the declarative CRM by its definition's label, as the Rust connectors by
    // their kind, never "Other system".
    let crm = systems.iter().find(|s| s["system"] == "crm").unwrap();
    assert_eq!(crm["label"], serde_json::json!({ "en": "CRM", "fr": "Gestion de la relation client" }), "{crm:#}");
    let helpdesk = systems.iter().find(|s| s["system"] == "helpdesk").unwrap();
    assert!(helpdesk.get("label").is_none(), "a Rust connector is worded by its kind: {helpdesk:#}");
    use erasure_worker::mail::templates::{render, Lang};
    let en = render("erasure.completed", &event.body, Lang::En).unwrap();
    assert!(en.text.contains("  - CRM: 1 contact deleted\n"), "{}", en.text);
    let fr = render("erasure.completed", &event.body, Lang::Fr).unwrap();
    assert!(fr.text.contains("  - Gestion de la relation client : 1 contact supprimé\n"), "{}", fr.text);
    assert!(!fr.text.contains("Autre système") && !en.text.contains("Other system"), "{}", en.text);
    let text = event.body.to_string();
    for identifier in ["ana@example.com", "+33612345678", "u_123\""] {
        assert!(!text.contains(identifier), "the confirmation never carries an identifier");
    }
    worker.stop().await;
}
