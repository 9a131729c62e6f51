//! Bad input: dead-lettered with its reason, never blocking the queue, never merged.

use crate::support::*;
use erasure_worker::clock::SystemClock;
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

#[tokio::test]
async fn invalid_messages_are_dead_lettered_with_their_reason_and_the_next_valid_one_completes() {
    let stack = Stack::new().await;
    let settings = stack.settings(&[Instance { name: "accounts", extra: "" }], "[intake]\nmax_message_bytes = 2048\n");
    stack.declare_queues(&settings).await;
    let mut events = stack.events().await;
    let worker = Worker::start(settings, Arc::new(SystemClock));

    let rejected_id = Uuid::new_v4();
    let mut bad_email = request(rejected_id, "not-an-address", chrono::Utc::now());
    bad_email["subject"]["emails"] = serde_json::json!(["not-an-address"]);
    let mut wrong_version = request(Uuid::new_v4(), "a@example.com", chrono::Utc::now());
    wrong_version["version"] = serde_json::json!(7);
    let mut unknown_system = request(Uuid::new_v4(), "a@example.com", chrono::Utc::now());
    unknown_system["systems"] = serde_json::json!(["payroll"]);
    let no_identifier = serde_json::json!({
        "version": 1, "request_id": Uuid::new_v4(), "subject": {}, "requested_at": chrono::Utc::now()
    });
    let huge = vec![b' '; 4096];
    stack.publish(b"this is not json", None).await;
    stack.publish(&bytes(&bad_email), None).await;
    stack.publish(&bytes(&wrong_version), None).await;
    stack.publish(&bytes(&unknown_system), None).await;
    stack.publish(&bytes(&no_identifier), None).await;
    stack.publish(&huge, None).await;
    let good = Uuid::new_v4();
    stack.publish(&bytes(&request(good, "eve@example.com", chrono::Utc::now())), None).await;

    stack.wait_for_state(good, "completed", Duration::from_secs(20)).await;
    let mut reasons: Vec<String> = stack
        .wait_dead_letters(6, Duration::from_secs(10))
        .await
        .into_iter()
        .map(|(r, _)| r.unwrap_or_default())
        .collect();
    reasons.sort();
    assert_eq!(
        reasons,
        ["invalid_subject", "invalid_subject", "not_json", "too_large", "unknown_system", "unsupported_version"]
    );

    let mut seen = Vec::new();
    while let Some(event) = events.next(Duration::from_secs(3)).await {
        seen.push(event);
    }
    let rejection = seen.iter().find(|e| e.body["request_id"] == rejected_id.to_string()).expect("a rejection event");
    assert_eq!(rejection.routing_key, "erasure.rejected");
    assert_eq!(rejection.body["reason"], "invalid_subject");
    crate::pipeline::assert_matches_event_schema(&rejection.body);
    assert!(!rejection.body.to_string().contains("not-an-address"), "the detail never echoes the identifier");
    assert!(seen.iter().any(|e| e.routing_key == "erasure.completed" && e.body["request_id"] == good.to_string()));
    assert_eq!(stack.request_state(rejected_id).await, None, "nothing was stored for an invalid request");
    worker.stop().await;
}

#[tokio::test]
async fn a_reused_request_id_with_another_body_is_a_conflict_not_a_merge() {
    let stack = Stack::new().await;
    let settings = stack.settings(&[Instance { name: "accounts", extra: "" }], "");
    stack.declare_queues(&settings).await;
    let mut events = stack.events().await;
    let worker = Worker::start(settings, Arc::new(SystemClock));

    let id = Uuid::new_v4();
    let at = chrono::Utc::now();
    stack.publish(&bytes(&request(id, "fay@example.com", at)), None).await;
    stack.wait_for_state(id, "completed", Duration::from_secs(20)).await;
    stack.publish(&bytes(&request(id, "someone-else@example.com", at)), None).await;

    let dead = stack.wait_dead_letters(1, Duration::from_secs(10)).await;
    assert_eq!(dead[0].0.as_deref(), Some("request_id_conflict"));
    let mut routing_keys = Vec::new();
    while let Some(event) = events.next(Duration::from_secs(3)).await {
        routing_keys.push(event.routing_key);
    }
    assert_eq!(routing_keys, ["erasure.completed", "erasure.rejected"]);
    let subject = stack.identifiers(id).await.unwrap().subject;
    assert_eq!(subject["emails"][0], "fay@example.com", "the stored request is untouched");
    assert_eq!(stack.sim.calls("accounts").len(), 1);
    worker.stop().await;
}

#[tokio::test]
async fn a_request_for_disabled_systems_only_is_rejected_not_left_waiting() {
    let stack = Stack::new().await;
    let instances = [Instance { name: "accounts", extra: "" }, Instance { name: "legacy", extra: "enabled = false" }];
    let settings = stack.settings(&instances, "");
    stack.declare_queues(&settings).await;
    let worker = Worker::start(settings, Arc::new(SystemClock));
    let id = Uuid::new_v4();
    let mut body = request(id, "uma@example.com", chrono::Utc::now());
    body["systems"] = serde_json::json!(["legacy"]);
    stack.publish(&bytes(&body), None).await;
    let dead = stack.wait_dead_letters(1, Duration::from_secs(10)).await;
    assert_eq!(dead[0].0.as_deref(), Some("no_enabled_system"));
    assert_eq!(stack.request_state(id).await, None);

    let all = Uuid::new_v4();
    stack.publish(&bytes(&request(all, "vic@example.com", chrono::Utc::now())), None).await;
    stack.wait_for_state(all, "completed", Duration::from_secs(20)).await;
    let tasks = stack.tasks(all).await;
    assert_eq!(
        tasks.iter().map(|t| t.connector.as_str()).collect::<Vec<_>>(),
        ["accounts"],
        "no task for a disabled instance"
    );
    worker.stop().await;
}

#[tokio::test]
async fn only_messages_signed_with_an_active_key_are_executed() {
    use erasure_worker::intake::signature::{sign, KEY_ID_HEADER, SIGNATURE_HEADER};
    use lapin::types::{AMQPValue, FieldTable};
    // SAFETY: set before the worker starts; each test runs in its own process.
    unsafe {
        std::env::set_var("E2E_KEY_OLD", "old-signing-secret");
        std::env::set_var("E2E_KEY_NEW", "new-signing-secret");
    }
    let stack = Stack::new().await;
    let extra = "[intake]\nrequire_signature = true\nsigning_keys = [{ id = \"old\", secret_env = \"E2E_KEY_OLD\" }, { id = \"new\", secret_env = \"E2E_KEY_NEW\" }]\n";
    let settings = stack.settings(&[Instance { name: "accounts", extra: "" }], extra);
    stack.declare_queues(&settings).await;
    let mut events = stack.events().await;
    let worker = Worker::start(settings, Arc::new(SystemClock));
    let signed = |key_id: &str, secret: &[u8], body: &[u8]| {
        let mut headers = FieldTable::default();
        headers.insert(KEY_ID_HEADER.into(), AMQPValue::LongString(key_id.into()));
        headers.insert(SIGNATURE_HEADER.into(), AMQPValue::LongString(sign(secret, None, body).as_str().into()));
        headers
    };

    let unsigned = Uuid::new_v4();
    stack.publish(&bytes(&request(unsigned, "forged@example.com", chrono::Utc::now())), None).await;
    let forged = Uuid::new_v4();
    let body = bytes(&request(forged, "forged@example.com", chrono::Utc::now()));
    stack.publish_with_headers(&body, None, signed("old", b"guessed-secret", &body)).await;
    let old = Uuid::new_v4();
    let body = bytes(&request(old, "ok1@example.com", chrono::Utc::now()));
    stack.publish_with_headers(&body, None, signed("old", b"old-signing-secret", &body)).await;
    let new = Uuid::new_v4();
    let body = bytes(&request(new, "ok2@example.com", chrono::Utc::now()));
    stack.publish_with_headers(&body, None, signed("new", b"new-signing-secret", &body)).await;

    stack.wait_for_state(old, "completed", Duration::from_secs(20)).await;
    stack.wait_for_state(new, "completed", Duration::from_secs(20)).await;
    let dead = stack.wait_dead_letters(2, Duration::from_secs(10)).await;
    assert!(dead.iter().all(|(reason, _)| reason.as_deref() == Some("bad_signature")));
    assert_eq!(stack.request_state(unsigned).await, None, "never executed");
    assert_eq!(stack.request_state(forged).await, None, "never executed");
    let mut seen = Vec::new();
    while let Some(event) = events.next(Duration::from_secs(2)).await {
        seen.push(event);
    }
    assert!(seen.iter().all(|e| e.routing_key != "erasure.rejected"), "an unauthenticated request id gets no event");
    assert!(stack.sim.calls("accounts").iter().all(|c| !c.identifiers.iter().any(|i| i.starts_with("forged"))));
    worker.stop().await;
}

/// A `reply_to` property with a NUL byte, a space or more than 255 bytes, a `requested_at`
/// before 2000 or beyond what PostgreSQL stores, and odd ids and headers (`odd_properties`) are
/// refused and dead-lettered; none of them is retried in place, so with one intake slot the next
/// valid request still completes at once.
/// (Before, the NUL `reply_to` was "Intake cannot reach the database" for ever.)
#[tokio::test]
async fn odd_properties_and_times_are_dead_lettered_and_never_stall_intake() {
    let stack = Stack::new().await;
    let settings = stack.settings(&[Instance { name: "accounts", extra: "" }], "[intake]\nconcurrency = 1\n");
    stack.declare_queues(&settings).await;
    let worker = Worker::start(settings, Arc::new(SystemClock));

    let now = chrono::Utc::now();
    let long = "q".repeat(200) + " x";
    for reply_to in ["replies\0evil", "two words", long.as_str()] {
        stack.publish(&bytes(&request(Uuid::new_v4(), "a@example.com", now)), Some(reply_to)).await;
    }
    for requested_at in ["1999-12-31T23:59:59Z", "0001-01-01T00:00:00Z"] {
        let mut old = request(Uuid::new_v4(), "a@example.com", now);
        old["requested_at"] = serde_json::json!(requested_at);
        stack.publish(&bytes(&old), Some("product.replies")).await;
    }
    for properties in odd_properties() {
        stack.publish_with_properties(&bytes(&request(Uuid::new_v4(), "a@example.com", now)), properties).await;
    }
    let good = Uuid::new_v4();
    stack.publish(&bytes(&request(good, "eve@example.com", now)), None).await;

    stack.wait_for_state(good, "completed", Duration::from_secs(20)).await;
    let mut reasons: Vec<String> = stack
        .wait_dead_letters(11, Duration::from_secs(10))
        .await
        .into_iter()
        .map(|(r, _)| r.unwrap_or_default())
        .collect();
    reasons.sort();
    assert_eq!(reasons, ["invalid_message"; 11]);
    let db = stack.db().await;
    let stored: i64 = db.query_one("SELECT count(*) FROM requests", &[]).await.unwrap().get(0);
    assert_eq!(stored, 1, "only the valid request was stored");
    worker.stop().await;
}

/// Properties beyond intake's rules: a NUL or a non-ASCII `message_id`, a line break in
/// `correlation_id`, 40 headers, one 10 KB header, and a table nested in an array.
fn odd_properties() -> Vec<lapin::BasicProperties> {
    use lapin::types::{AMQPValue, FieldArray, FieldTable, LongString};
    let base = lapin::BasicProperties::default;
    let mut many = FieldTable::default();
    for i in 0..40 {
        many.insert(format!("x-h{i}").into(), AMQPValue::Boolean(true));
    }
    let mut big = FieldTable::default();
    big.insert("x-big".into(), AMQPValue::LongString(LongString::from(vec![b'b'; 10_000])));
    let mut nested = FieldTable::default();
    let inner: FieldArray = vec![AMQPValue::FieldTable(many.clone())].into();
    nested.insert("x-nested".into(), AMQPValue::FieldArray(inner));
    vec![
        base().with_message_id("id\0nul".into()),
        base().with_message_id("caf\u{e9}".into()),
        base().with_correlation_id("line\nbreak".into()),
        base().with_headers(many),
        base().with_headers(big),
        base().with_headers(nested),
    ]
}

/// A value the database refuses (here a NUL in a cancellation's reason, which a jsonb audit row
/// cannot hold: SQLSTATE 22P05) is dead-lettered as `unstorable`, not retried, and the queue goes
/// on: a clean cancellation behind it applies.
#[tokio::test]
async fn a_message_the_database_refuses_is_dead_lettered_as_unstorable_and_the_queue_goes_on() {
    let stack = Stack::new().await;
    let extra = "[requests]\ngrace_period = \"7d\"\n\n[intake]\nconcurrency = 1\n";
    let settings = stack.settings(&[Instance { name: "accounts", extra: "" }], extra);
    stack.declare_queues(&settings).await;
    let worker = Worker::start(settings, Arc::new(SystemClock));

    let id = Uuid::new_v4();
    stack.publish(&bytes(&request(id, "a@example.com", chrono::Utc::now())), None).await;
    stack.wait_for_state(id, "scheduled", Duration::from_secs(10)).await;
    let poisoned = serde_json::json!({ "version": 1, "type": "cancel", "request_id": id, "reason": "stop\u{0}now" });
    stack.publish(&bytes(&poisoned), None).await;
    let clean = serde_json::json!({ "version": 1, "type": "cancel", "request_id": id, "reason": "withdrawn" });
    stack.publish(&bytes(&clean), None).await;

    stack.wait_for_state(id, "cancelled", Duration::from_secs(10)).await;
    let letters = stack.wait_dead_letters(1, Duration::from_secs(10)).await;
    assert_eq!(letters.len(), 1);
    assert_eq!(letters[0].0.as_deref(), Some("unstorable"));
    worker.stop().await;
}

/// Random deliveries from a printed seed (`E2E_INTAKE_SEED` replays one): bodies valid, damaged
/// or random bytes, cancellations, and random `reply_to`, `message_id`, `correlation_id` and
/// headers. Each is admitted or dead-lettered, none waits in place, and a valid request
/// published behind them, with one intake slot, completes within seconds.
#[tokio::test]
async fn random_properties_headers_and_bodies_never_stall_intake() {
    use proptest::strategy::{Strategy, ValueTree};
    use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
    let seed: u64 = std::env::var("E2E_INTAKE_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(rand::random);
    println!("E2E_INTAKE_SEED={seed}");
    let _ = tracing_subscriber::fmt().with_env_filter("warn,lapin=error").try_init();
    let mut seed_bytes = [0u8; 32];
    seed_bytes[..8].copy_from_slice(&seed.to_le_bytes());
    let mut runner = TestRunner::new_with_rng(Config::default(), TestRng::from_seed(RngAlgorithm::ChaCha, &seed_bytes));

    let stack = Stack::new().await;
    let settings = stack.settings(&[Instance { name: "accounts", extra: "" }], "[intake]\nconcurrency = 1\n");
    stack.declare_queues(&settings).await;
    let worker = Worker::start(settings, Arc::new(SystemClock));
    const DELIVERIES: usize = 60;
    for _ in 0..DELIVERIES {
        let (body, properties) = random_delivery().new_tree(&mut runner).unwrap().current();
        stack.publish_with_properties(&body, properties).await;
    }
    let good = Uuid::new_v4();
    stack.publish(&bytes(&request(good, "eve@example.com", chrono::Utc::now())), None).await;
    stack.wait_for_state(good, "completed", Duration::from_secs(20)).await;

    let db = stack.db().await;
    let handled = || async {
        let row = db
            .query_one("SELECT (SELECT count(*) FROM requests) - 1 + (SELECT count(*) FROM dead_letters)", &[])
            .await
            .unwrap();
        let handled = row.get::<_, i64>(0);
        println!("handled {handled} of {DELIVERIES}");
        Some(handled).filter(|n| *n == DELIVERIES as i64)
    };
    poll(Duration::from_secs(20), "every random delivery admitted or dead-lettered", handled).await;
    worker.stop().await;
}

/// One random delivery: a body and its properties.
fn random_delivery() -> impl proptest::strategy::Strategy<Value = (Vec<u8>, lapin::BasicProperties)> {
    use lapin::types::{AMQPValue, FieldTable, LongString};
    use proptest::option;
    use proptest::prelude::*;
    // AMQP short strings: at most 255 bytes (lapin cannot send more).
    let text = || prop_oneof!["[a-z0-9.]{1,20}", "[a-z]{250,255}", ".{0,40}", "[\\u{0}-\\u{1f}\\u{e9} a-z]{0,120}"];
    let header_value = prop_oneof![
        any::<bool>().prop_map(AMQPValue::Boolean),
        prop::collection::vec(any::<u8>(), 0..3000).prop_map(|b| AMQPValue::LongString(LongString::from(b))),
        "(v1|v2)=[0-9a-f]{0,64}".prop_map(|s| AMQPValue::LongString(s.as_str().into())),
    ];
    let name = prop_oneof![Just("x-erasure-key-id".to_string()), Just("x-erasure-signature".to_string()), ".{0,10}"];
    let headers = prop::collection::vec((name, header_value), 0..40).prop_map(|entries| {
        let mut table = FieldTable::default();
        for (name, value) in entries {
            table.insert(name.as_str().into(), value);
        }
        table
    });
    let body = prop_oneof![
        Just(0u8).prop_map(|_| bytes(&request(Uuid::new_v4(), "r@example.com", chrono::Utc::now()))),
        (".{0,12}", ".{0,40}").prop_map(|(key, value)| {
            let mut damaged = request(Uuid::new_v4(), "d@example.com", chrono::Utc::now());
            damaged[key] = serde_json::json!(value);
            bytes(&damaged)
        }),
        prop::collection::vec(any::<u8>(), 0..400),
        Just(0u8)
            .prop_map(|_| bytes(&serde_json::json!({ "version": 1, "type": "cancel", "request_id": Uuid::new_v4() }))),
    ];
    (body, option::of(text()), option::of(text()), option::of(text()), option::of(headers)).prop_map(
        |(body, reply_to, message_id, correlation_id, headers)| {
            let mut properties = lapin::BasicProperties::default();
            if let Some(r) = reply_to {
                properties = properties.with_reply_to(r.as_str().into());
            }
            if let Some(m) = message_id {
                properties = properties.with_message_id(m.as_str().into());
            }
            if let Some(c) = correlation_id {
                properties = properties.with_correlation_id(c.as_str().into());
            }
            if let Some(h) = headers {
                properties = properties.with_headers(h);
            }
            (body, properties)
        },
    )
}

/// A server error that is not about availability and keeps coming back for one message (here a
/// trigger that raises P0001 for it) dead-letters that message as `unstorable` after five tries,
/// and the queue goes on. (Before, it was retried in place for ever, holding the only slot.)
#[tokio::test]
async fn a_database_error_that_repeats_for_one_message_dead_letters_it() {
    let stack = Stack::new().await;
    let settings = stack.settings(&[Instance { name: "accounts", extra: "" }], "[intake]\nconcurrency = 1\n");
    stack.declare_queues(&settings).await;
    stack
        .db()
        .await
        .batch_execute(
            "CREATE FUNCTION poison() RETURNS trigger LANGUAGE plpgsql AS $$
             BEGIN IF NEW.locale = 'zz-poison' THEN RAISE EXCEPTION 'refused by a trigger'; END IF; RETURN NEW; END $$;
             CREATE TRIGGER poison BEFORE INSERT ON requests FOR EACH ROW EXECUTE FUNCTION poison();",
        )
        .await
        .unwrap();
    let worker = Worker::start(settings, Arc::new(SystemClock));
    let now = chrono::Utc::now();
    let mut poisoned = request(Uuid::new_v4(), "a@example.com", now);
    poisoned["locale"] = serde_json::json!("zz-poison");
    stack.publish(&bytes(&poisoned), None).await;
    let good = Uuid::new_v4();
    stack.publish(&bytes(&request(good, "eve@example.com", now)), None).await;

    stack.wait_for_state(good, "completed", Duration::from_secs(20)).await;
    let letters = stack.wait_dead_letters(1, Duration::from_secs(5)).await;
    assert_eq!(letters[0].0.as_deref(), Some("unstorable"));
    worker.stop().await;
}

/// Requests stored at the same moment share intake transactions (`Store::insert_request`'s
/// group commit) and each keeps its own answer: a redelivery is a duplicate, a reused id with
/// another body a conflict, and a value the database refuses fails alone.
#[tokio::test]
async fn requests_stored_at_once_each_get_their_own_answer() {
    use erasure_worker::store::requests::{Inserted, NewRequest};

    let stack = Stack::new().await;
    let store = stack.store(8);
    store.migrate().await.unwrap();
    let now = chrono::Utc::now();
    let new = |id: Uuid, body: u8| NewRequest {
        body_sha256: vec![body],
        subject: serde_json::json!({ "emails": [format!("{id}@example.com")] }),
        subject_hash: format!("h-{id}"),
        identifier_hashes: vec![format!("i-{id}"), format!("j-{id}")],
        hash_key_ids: vec!["k1".into()],
        ..new_request(id, &["accounts", "billing"], now)
    };
    let distinct: Vec<Uuid> = (0..40).map(|_| Uuid::new_v4()).collect();
    let (redelivered, reused, refused) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
    let mut bad = new(refused, 1);
    bad.traceparent = Some("not a traceparent".into());
    let mut all: Vec<NewRequest> = distinct.iter().map(|id| new(*id, 1)).collect();
    all.extend([new(redelivered, 1), new(redelivered, 1), new(reused, 1), new(reused, 2), bad]);
    let answers = futures_util::future::join_all(all.iter().map(|n| store.insert_request(n, now))).await;

    for (n, answer) in all.iter().zip(&answers).take(distinct.len()) {
        assert_eq!(*answer.as_ref().unwrap(), Inserted::Created, "{}", n.id);
    }
    let answers_of = |id: Uuid| -> Vec<String> {
        let mut of: Vec<String> =
            all.iter().zip(&answers).filter(|(n, _)| n.id == id).map(|(_, a)| format!("{a:?}")).collect();
        of.sort();
        of
    };
    assert_eq!(answers_of(redelivered), ["Ok(Created)", "Ok(Duplicate)"]);
    let reused_answers = answers_of(reused);
    assert!(
        reused_answers == ["Ok(Conflict)", "Ok(Created)"],
        "one body stored, the other refused as a conflict: {reused_answers:?}"
    );
    let refusal = answers.last().unwrap().as_ref().unwrap_err();
    assert!(refusal.is_refused_value(), "a CHECK violation is the message's own: {refusal}");

    let db = stack.db().await;
    let count = |sql: &'static str| {
        let db = &db;
        async move { db.query_one(sql, &[]).await.unwrap().get::<_, i64>(0) }
    };
    assert_eq!(count("SELECT count(*) FROM requests").await, 42);
    assert_eq!(count("SELECT count(*) FROM tasks").await, 84);
    assert_eq!(count("SELECT count(*) FROM audit_log WHERE event = 'request.received'").await, 42);
    let hashes: Vec<String> =
        db.query_one("SELECT identifier_hashes FROM requests WHERE id = $1", &[&distinct[0]]).await.unwrap().get(0);
    assert_eq!(hashes, [format!("i-{}", distinct[0]), format!("j-{}", distinct[0])]);
    let report = erasure_worker::audit::verify::run(&store, None).await.unwrap();
    assert!(report.breaks.is_empty(), "{:?}", report.lines());
}
