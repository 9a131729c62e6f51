//! Forgetting ourselves: identifiers are stored only encrypted, and once a request is over they
//! are deleted; what remains (a tombstone) still answers suppression lookups and makes a replayed
//! message a harmless duplicate.

use crate::support::*;
use erasure_worker::clock::{Clock, ManualClock, SystemClock};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

const OPS: &str = "forget-ops-token-0123456789abcdefghijklmnop";
const PRODUCT: &str = "forget-product-token-0123456789abcdefghijk";

fn tokens() -> [Token<'static>; 2] {
    [
        Token { name: "ops", env: "E2E_FORGET_OPS_TOKEN", value: OPS, scopes: &["read", "operate"] },
        Token { name: "shop", env: "E2E_FORGET_PRODUCT_TOKEN", value: PRODUCT, scopes: &["suppression"] },
    ]
}

/// Every (table, column) of the database whose text form contains `needle` (case-insensitive):
/// every column of every table, cast to text (a `bytea` becomes its `\x...` hex form).
async fn columns_holding(db: &tokio_postgres::Client, needle: &str) -> Vec<String> {
    let columns = db
        .query(
            "SELECT c.table_name, c.column_name FROM information_schema.columns c
             JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name
             WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE'",
            &[],
        )
        .await
        .unwrap();
    assert!(columns.len() > 50, "the scan reads every column ({} found)", columns.len());
    let mut found = Vec::new();
    for column in columns {
        let (table, column): (String, String) = (column.get(0), column.get(1));
        let sql = format!("SELECT count(*) FROM \"{table}\" WHERE strpos(lower(\"{column}\"::text), lower($1)) > 0");
        let n: i64 = db.query_one(&sql, &[&needle]).await.unwrap().get(0);
        if n > 0 {
            found.push(format!("{table}.{column} ({n} rows)"));
        }
    }
    found
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The request's sealed values as stored: its identifiers, its events' reply_to, its dead letters.
async fn ciphertexts(db: &tokio_postgres::Client, id: Uuid) -> Vec<Vec<u8>> {
    let rows = db
        .query(
            "SELECT identifiers_sealed FROM requests WHERE id = $1 AND identifiers_sealed IS NOT NULL
             UNION ALL SELECT reply_to_sealed FROM outbox WHERE request_id = $1 AND reply_to_sealed IS NOT NULL
             UNION ALL SELECT sealed FROM dead_letters WHERE request_id = $1 AND sealed IS NOT NULL",
            &[&id],
        )
        .await
        .unwrap();
    rows.iter().map(|r| r.get(0)).collect()
}

#[tokio::test]
async fn a_closed_request_leaves_no_identifier_in_any_table_in_clear_or_encrypted() {
    let stack = Stack::new().await;
    // accounts is looked up again an hour after its erasure (the test makes that check due when it
    // has scanned the kept request); billing cannot be looked up, so it closes as not verifiable.
    let accounts = format!("verify_after = [\"1h\"]\nlookup_url = \"{}\"", stack.sim.webhook_url("accounts"));
    let systems = [Instance { name: "accounts", extra: &accounts }, Instance { name: "billing", extra: "" }];
    let extra =
        "[retention]\nsettled_identifiers = \"30d\"\nsent_messages = \"30d\"\n\n[verification]\nenabled = true\n";
    let (worker, base) = start_with_api(&stack, Arc::new(SystemClock), &systems, &tokens(), extra).await;
    let http = reqwest::Client::new();
    stack.sim.seed("accounts", "zoe.forget@example.com", 2);
    let mut events = stack.events().await;
    let replies = stack.events().await;
    let reply_to = replies.queue.clone();

    let id = Uuid::new_v4();
    let user_id = format!("user-{}", &id.simple().to_string()[..10]);
    let vendor_id = format!("acct-{}", &id.simple().to_string()[10..20]);
    let message = json!({
        "version": 1,
        "request_id": id,
        "subject": {
            "user_id": user_id,
            "emails": ["Zoe.Forget@Example.com"],
            "phones": ["+33 6 12 34 56 78"],
            "ids": { "billing": vendor_id },
        },
        "requested_at": chrono::Utc::now(),
        "locale": "en",
    });
    stack.publish(&bytes(&message), Some(&reply_to)).await;
    let event = events.next(Duration::from_secs(20)).await.expect("the completed event");
    assert_eq!(event.routing_key, "erasure.completed");
    // The same request id with another body: dead-lettered, the letter naming the request.
    let mut conflicting = message.clone();
    conflicting["locale"] = json!("fr");
    stack.publish(&bytes(&conflicting), Some(&reply_to)).await;
    stack.wait_dead_letters(1, Duration::from_secs(10)).await;
    let db = stack.db().await;
    poll(Duration::from_secs(10), "the reply and the rejection to be sent", || async {
        let unsent: i64 = db
            .query_one("SELECT count(*) FROM outbox WHERE request_id = $1 AND sent_at IS NULL", &[&id])
            .await
            .unwrap()
            .get(0);
        let letters: i64 =
            db.query_one("SELECT count(*) FROM dead_letters WHERE request_id = $1", &[&id]).await.unwrap().get(0);
        (unsent == 0 && letters == 1).then_some(())
    })
    .await;

    let identifiers =
        ["zoe.forget@example.com", "33612345678", user_id.as_str(), vendor_id.as_str(), reply_to.as_str()];
    // At rest from intake on: no identifier in clear anywhere, while the request is still kept.
    for identifier in identifiers {
        assert_eq!(columns_holding(&db, identifier).await, Vec::<String>::new(), "{identifier} in clear");
    }
    let sealed = ciphertexts(&db, id).await;
    assert!(sealed.len() >= 3, "identifiers, the reply's queue and the dead letter are sealed: {}", sealed.len());
    for ciphertext in &sealed {
        assert!(!columns_holding(&db, &hex(ciphertext)).await.is_empty(), "the scan finds a ciphertext");
    }

    // The hour passes: the check finds nothing, the request closes, and the sweep forgets it.
    let made_due = db
        .execute("UPDATE verification_checks SET due_at = now() WHERE request_id = $1 AND done_at IS NULL", &[&id])
        .await
        .unwrap();
    assert_eq!(made_due, 1, "one check is waiting: accounts' after an hour");
    // The conflicting message's erasure.rejected may come first.
    loop {
        let event = events.next(Duration::from_secs(20)).await.expect("the closed event");
        if event.routing_key == "erasure.closed" {
            assert_eq!(event.body["verification"].as_array().map(Vec::len), Some(2), "{:#}", event.body);
            break;
        }
        assert_eq!(event.routing_key, "erasure.rejected", "{:#}", event.body);
    }
    poll(Duration::from_secs(15), "the sweep to forget the closed request", || async {
        let row = db.query_one("SELECT forgotten_at IS NOT NULL FROM requests WHERE id = $1", &[&id]).await.unwrap();
        row.get::<_, bool>(0).then_some(())
    })
    .await;

    for identifier in identifiers {
        assert_eq!(columns_holding(&db, identifier).await, Vec::<String>::new(), "{identifier} after forgetting");
    }
    for ciphertext in &sealed {
        assert_eq!(columns_holding(&db, &hex(ciphertext)).await, Vec::<String>::new(), "a ciphertext remains");
    }
    assert!(ciphertexts(&db, id).await.is_empty());

    // The tombstone: state, keyed hashes, the hash of the message, the audit log.
    let row = db
        .query_one(
            "SELECT state, cardinality(identifier_hashes), octet_length(body_sha256), subject IS NULL
             FROM requests WHERE id = $1",
            &[&id],
        )
        .await
        .unwrap();
    assert_eq!(
        (row.get::<_, String>(0), row.get::<_, i32>(1), row.get::<_, i32>(2), row.get(3)),
        ("closed".into(), 4, 32, true)
    );
    let audit: Vec<String> = stack.audit_events(id).await.into_iter().map(|(_, event, _)| event).collect();
    assert_eq!(audit.last().map(String::as_str), Some("request.forgotten"));

    // A replay of the signed-off message is a duplicate: nothing is stored again. A later
    // request behind it on the queue shows the replay was handled.
    stack.publish(&bytes(&message), Some(&reply_to)).await;
    let later = Uuid::new_v4();
    stack.publish(&bytes(&request(later, "someone.else@example.com", chrono::Utc::now())), None).await;
    stack.wait_for_state(later, "completed", Duration::from_secs(20)).await;
    assert_eq!(stack.request_state(id).await.as_deref(), Some("closed"));
    for identifier in identifiers {
        assert_eq!(columns_holding(&db, identifier).await, Vec::<String>::new(), "{identifier} after a replay");
    }

    // The suppression lookup answers from the tombstone, for the suppression scope only, audited.
    let lookup = |token: &'static str, email: &'static str| {
        let url = url::Url::parse_with_params(&format!("{base}/v1/suppressions"), [("email", email)]).unwrap();
        let request = http.get(url).bearer_auth(token);
        async move {
            let response = request.send().await.unwrap();
            (response.status(), response.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let (status, answer) = lookup(PRODUCT, " ZOE.forget@example.com").await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!((answer["suppressed"].as_bool(), answer["erased"].as_bool()), (Some(true), Some(true)));
    assert_eq!(answer["requests"][0]["request_id"], id.to_string());
    assert_eq!(answer["requests"][0]["state"], "closed");
    let (status, answer) = lookup(PRODUCT, "nobody@example.com").await;
    assert_eq!((status, answer["suppressed"].as_bool()), (StatusCode::OK, Some(false)));
    assert_eq!(lookup(OPS, "zoe.forget@example.com").await.0, StatusCode::FORBIDDEN, "operate is not suppression");
    // The same lookup with the identifier in the body, out of URLs and access logs.
    let posted = http
        .post(format!("{base}/v1/suppressions"))
        .bearer_auth(PRODUCT)
        .json(&serde_json::json!({ "email": "Zoe.Forget@example.com" }))
        .send()
        .await
        .unwrap();
    assert_eq!(posted.status(), StatusCode::OK);
    let answer: Value = posted.json().await.unwrap();
    assert_eq!(answer["requests"][0]["request_id"], id.to_string(), "{answer}");
    let audited: Vec<(String, Value)> = db
        .query("SELECT actor, detail FROM audit_log WHERE event = 'suppression.checked' ORDER BY id", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(audited.len(), 3, "each lookup is audited (the forbidden one was refused before)");
    assert_eq!(audited[0].0, "api:shop");
    assert_eq!(audited[0].1["found"], 1);
    // The same from the shell: `erasure suppressed`, a client of the API.
    let cli = tokio::process::Command::new(env!("CARGO_BIN_EXE_erasure"))
        .args(["suppressed", "--email", "zoe.forget@example.com", "--api", &base])
        .env("ERASURE_API_TOKEN", PRODUCT)
        .output()
        .await
        .unwrap();
    assert_eq!(cli.status.code(), Some(0), "{cli:?}");
    let printed = String::from_utf8_lossy(&cli.stdout);
    assert!(
        printed.starts_with("suppressed: this person was erased") && printed.contains(&id.to_string()),
        "{printed}"
    );
    assert!(!printed.contains("zoe"), "{printed}");
    assert_eq!(columns_holding(&db, "zoe.forget@example.com").await, Vec::<String>::new(), "lookups keep hashes only");
    worker.stop().await;
}

/// Whether the request still holds sealed identifiers, whether it was forgotten, its outbox rows.
async fn kept(db: &tokio_postgres::Client, id: Uuid) -> (bool, bool, i64) {
    let row = db
        .query_one(
            "SELECT identifiers_sealed IS NOT NULL, forgotten_at IS NOT NULL,
                    (SELECT count(*) FROM outbox WHERE request_id = $1)
             FROM requests WHERE id = $1",
            &[&id],
        )
        .await
        .unwrap();
    (row.get(0), row.get(1), row.get(2))
}

#[tokio::test]
async fn a_cancelled_request_keeps_its_identifiers_for_the_retention_period_then_loses_them() {
    let stack = Stack::new().await;
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    let extra =
        "[requests]\ngrace_period = \"7d\"\n[retention]\nsettled_identifiers = \"2d\"\nsent_messages = \"3d\"\n";
    let systems = [Instance { name: "accounts", extra: "" }];
    let (worker, base) = start_with_api(&stack, clock.clone(), &systems, &tokens(), extra).await;
    let mut events = stack.events().await;
    let replies = stack.events().await;
    let id = Uuid::new_v4();
    stack.publish(&bytes(&request(id, "cleo.cancel@example.com", clock.now())), Some(&replies.queue)).await;
    stack.wait_for_state(id, "scheduled", Duration::from_secs(10)).await;
    let cancelled = reqwest::Client::new()
        .post(format!("{base}/v1/requests/{id}/cancel"))
        .bearer_auth(OPS)
        .json(&json!({ "reason": "the person changed their mind" }))
        .send()
        .await
        .unwrap();
    assert_eq!(cancelled.status(), StatusCode::OK);
    assert_eq!(events.next(Duration::from_secs(10)).await.expect("erasure.cancelled").routing_key, "erasure.cancelled");
    let db = stack.db().await;
    poll(Duration::from_secs(10), "the cancellation's events to be sent", || async {
        let unsent: i64 = db
            .query_one("SELECT count(*) FROM outbox WHERE request_id = $1 AND sent_at IS NULL", &[&id])
            .await
            .unwrap()
            .get(0);
        (unsent == 0).then_some(())
    })
    .await;

    // A day later: within the retention period, the identifiers stay (sweeps run meanwhile).
    clock.advance(chrono::Duration::days(1));
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(kept(&db, id).await, (true, false, 2), "kept within the retention period");

    // Past it: forgotten at the next sweep; the sent events go a day later.
    clock.advance(chrono::Duration::days(1) + chrono::Duration::minutes(1));
    poll(Duration::from_secs(15), "the cancelled request to be forgotten", || async {
        let (sealed, forgotten, _) = kept(&db, id).await;
        (!sealed && forgotten).then_some(())
    })
    .await;
    assert_eq!(columns_holding(&db, "cleo.cancel@example.com").await, Vec::<String>::new());
    assert_eq!(columns_holding(&db, &replies.queue).await, Vec::<String>::new());
    assert_eq!(kept(&db, id).await.2, 2, "sent events are kept for their own retention");
    clock.advance(chrono::Duration::days(1));
    poll(Duration::from_secs(15), "the sent events to be pruned", || async {
        (kept(&db, id).await.2 == 0).then_some(())
    })
    .await;
    worker.stop().await;
}

#[tokio::test]
async fn keys_rotate_reseals_every_value_with_the_first_key_and_seals_rows_kept_in_clear() {
    let stack = Stack::new().await;
    let (newer, older) = DATA_KEYS.split_once(',').unwrap();
    // A worker that knows only the older key seals with it.
    // SAFETY: set before the worker starts; each test runs in its own process.
    unsafe { std::env::set_var("E2E_OLDER_DATA_KEYS", older) };
    let systems = [Instance { name: "accounts", extra: "" }];
    let settings = stack.settings(&systems, "[encryption]\nkeys_env = \"E2E_OLDER_DATA_KEYS\"\n");
    stack.declare_queues(&settings).await;
    let replies = stack.events().await;
    let worker = Worker::start(settings, Arc::new(SystemClock));
    let (sealed_id, legacy_id) = (Uuid::new_v4(), Uuid::new_v4());
    stack
        .publish(&bytes(&request(sealed_id, "rita.rotate@example.com", chrono::Utc::now())), Some(&replies.queue))
        .await;
    stack.publish(&bytes(&request(legacy_id, "lou.legacy@example.com", chrono::Utc::now())), None).await;
    stack.publish(b"not json at all", None).await;
    stack.wait_for_state(sealed_id, "completed", Duration::from_secs(20)).await;
    stack.wait_for_state(legacy_id, "completed", Duration::from_secs(20)).await;
    stack.wait_dead_letters(1, Duration::from_secs(10)).await;
    worker.stop().await;
    let db = stack.db().await;
    // A request as stored before encryption: clear columns, nothing sealed.
    db.execute(
        "UPDATE requests SET subject = '{\"emails\": [\"lou.legacy@example.com\"]}', reply_to = 'legacy.replies',
                identifiers_sealed = NULL, identifiers_key_id = NULL WHERE id = $1",
        &[&legacy_id],
    )
    .await
    .unwrap();
    let key_ids = || async {
        db.query_one(
            "SELECT (SELECT array_agg(DISTINCT coalesce(identifiers_key_id, 'clear')) FROM requests),
                    (SELECT array_agg(DISTINCT sealed_key_id) FROM dead_letters),
                    (SELECT array_agg(DISTINCT reply_to_key_id) FROM outbox WHERE destination = 'reply')",
            &[],
        )
        .await
        .map(|r| (r.get::<_, Vec<String>>(0), r.get::<_, Vec<String>>(1), r.get::<_, Vec<String>>(2)))
        .unwrap()
    };
    assert_eq!(key_ids().await, (vec!["clear".into(), "t1".into()], vec!["t1".into()], vec!["t1".into()]));

    let config = stack.config_file(&systems, "");
    let rotate = || {
        tokio::process::Command::new(env!("CARGO_BIN_EXE_erasure"))
            .arg("--config")
            .arg(&config)
            .args(["keys", "rotate", "--batch-size", "1"])
            .env("ERASURE__LOG__LEVEL", "warn")
            .output()
    };
    let first = rotate().await.unwrap();
    let out = String::from_utf8_lossy(&first.stdout).to_string();
    assert!(first.status.success(), "{first:?}");
    assert_eq!(out.trim(), "re-sealed with the data key `t2`: 2 request(s), 1 dead letter(s), 1 event(s)");
    assert!(!format!("{first:?}").contains("@example.com") && !format!("{first:?}").contains(newer));
    assert_eq!(key_ids().await, (vec!["t2".into()], vec!["t2".into()], vec!["t2".into()]));
    assert_eq!(columns_holding(&db, "lou.legacy@example.com").await, Vec::<String>::new(), "sealed now");
    assert_eq!(columns_holding(&db, "legacy.replies").await, Vec::<String>::new());
    let again = rotate().await.unwrap();
    assert_eq!(
        String::from_utf8_lossy(&again.stdout).trim(),
        "re-sealed with the data key `t2`: 0 request(s), 0 dead letter(s), 0 event(s)"
    );

    // Everything opens with the new key alone: the old one can leave the list.
    let vault = erasure_worker::vault::Vault::parse(newer).unwrap();
    let store = erasure_worker::store::Store::connect(
        &secrecy::SecretString::from(stack.db_url.clone()),
        1,
        &stack.postgres_tls(),
    )
    .unwrap()
    .with_vault(vault);
    let subjects = store.stored_subjects(None, 10).await.unwrap();
    let email_of =
        |id: Uuid| subjects.iter().find(|s| s.id == id).and_then(|s| s.subject.clone()).unwrap()["emails"][0].clone();
    assert_eq!(email_of(sealed_id), "rita.rotate@example.com");
    assert_eq!(email_of(legacy_id), "lou.legacy@example.com");
    let letters = store.dead_letters(10, true).await.unwrap();
    assert_eq!(letters[0].raw_body, b"not json at all");
}
