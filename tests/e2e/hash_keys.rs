//! Rotating the hash key: a legal hold entry and a forgotten request's tombstone hashed under the
//! retired key keep matching; `erasure rehash` moves open requests to the new key; `erasure keys
//! hashes` says what still depends on the retired key, with key ids and counts only.

use crate::support::*;
use erasure_connector::subject::RawSubject;
use erasure_connector::Subject;
use erasure_worker::clock::{Clock, ManualClock};
use erasure_worker::identity::Hasher;
use secrecy::SecretString;
use std::process::Output;
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

const NEW_KEY_ENV: &str = "E2E_ROTATED_HASH_KEY";
const NEW_KEY: &str = "the-new-hash-key-0123456789abcdef";
const RETIRED_ENV: &str = "E2E_RETIRED_HASH_KEYS";

fn email(address: &str) -> Subject {
    Subject::new(RawSubject { emails: vec![address.into()], ..RawSubject::default() }).unwrap()
}

fn key(value: &str) -> SecretString {
    SecretString::from(value.to_string())
}

async fn erasure(config: &std::path::Path, dir: &std::path::Path, args: &[&str]) -> Output {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_erasure"))
        .arg("--config")
        .arg(config)
        .args(args)
        .env(WEBHOOK_SECRET_ENV, WEBHOOK_SECRET)
        .env("ERASURE__LOG__LEVEL", "warn")
        .current_dir(dir)
        .output()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_rotated_hash_key_keeps_old_legal_holds_and_tombstones_matching_until_nothing_needs_it() {
    let stack = Stack::new().await;
    let old_key = std::env::var(HASH_KEY_ENV).unwrap();
    unsafe {
        std::env::set_var(NEW_KEY_ENV, NEW_KEY);
        std::env::set_var(RETIRED_ENV, &old_key);
    }
    let old = Hasher::new(key(&old_key));
    let rotated = Hasher::new(key(NEW_KEY)).with_retired(vec![key(&old_key)]);
    let new_only = Hasher::new(key(NEW_KEY));
    let accounts = [Instance { name: "accounts", extra: "" }];
    let grace = "[requests]\ngrace_period = \"7d\"\n";
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));

    // Before the rotation: one request that will be forgotten, one that stays open, and a legal
    // hold entry, all hashed under the old key.
    let settings = stack.settings(&accounts, grace);
    stack.declare_queues(&settings).await;
    let worker = Worker::start(settings, clock.clone());
    let (forgotten, open, held) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
    for (id, address) in [(forgotten, "gone@example.com"), (open, "early@example.com")] {
        stack.publish(&bytes(&request(id, address, clock.now())), None).await;
        stack.wait_for_state(id, "scheduled", Duration::from_secs(15)).await;
    }
    worker.stop().await;
    let db = stack.db().await;
    // What the forgetting sweep leaves (store::forget): hashes, no identifiers.
    db.execute(
        "UPDATE requests SET identifiers_sealed = NULL, identifiers_key_id = NULL, forgotten_at = now() WHERE id = $1",
        &[&forgotten],
    )
    .await
    .unwrap();
    let (old_id, hold_hash) = old.single_identifier(&email("held@example.com")).unwrap();
    db.execute(
        "INSERT INTO legal_holds (identifier_kind, identifier_hash, reason, owner, created_by, created_at, hash_key_id)
         VALUES ('email', $1, 'case 12', 'legal', 'test', now(), $2)",
        &[&hold_hash, &old_id],
    )
    .await
    .unwrap();
    let key_ids = |id: Uuid| {
        let db = &db;
        async move {
            let row = db.query_one("SELECT hash_key_ids FROM requests WHERE id = $1", &[&id]).await.unwrap();
            row.get::<_, Vec<String>>(0)
        }
    };
    assert_eq!(key_ids(open).await, vec![old_id.clone()]);

    // The rotation: the new key hashes, the old one is retired.
    let rotation =
        format!("{grace}[security]\nhash_key_env = \"{NEW_KEY_ENV}\"\nretired_hash_keys_env = \"{RETIRED_ENV}\"\n");
    let settings = stack.settings(&accounts, &rotation);
    let worker = Worker::start(settings, clock.clone());
    stack.publish(&bytes(&request(held, "held@example.com", clock.now())), None).await;
    stack.wait_for_state(held, "scheduled", Duration::from_secs(15)).await;
    poll(Duration::from_secs(10), "the old key's legal hold entry holds the new request", || {
        let db = &db;
        async move {
            let n: i64 = db
                .query_one("SELECT count(*) FROM request_holds WHERE request_id = $1 AND kind = 'legal'", &[&held])
                .await
                .unwrap()
                .get(0);
            (n == 1).then_some(())
        }
    })
    .await;
    worker.stop().await;
    assert_eq!(key_ids(held).await, rotated.key_ids(), "hashed under the new key, then the retired one");
    assert_ne!(rotated.key_id(), old_id);

    let store =
        erasure_worker::store::Store::connect(&SecretString::from(stack.db_url.clone()), 2, &stack.postgres_tls())
            .unwrap();
    let found = store.suppression_lookup("test", &rotated.identifiers(&email("gone@example.com")), clock.now()).await;
    assert_eq!(found.unwrap().iter().map(|m| m.request_id).collect::<Vec<_>>(), vec![forgotten]);
    let lost = store.suppression_lookup("test", &new_only.identifiers(&email("gone@example.com")), clock.now()).await;
    assert!(lost.unwrap().is_empty(), "without the retired key the tombstone is not found: why it stays listed");

    let config = stack.config_file(&accounts, &rotation);
    let report = erasure(&config, &stack.dir, &["keys", "hashes"]).await;
    assert!(report.status.success(), "{report:?}");
    let out = String::from_utf8_lossy(&report.stdout).into_owned();
    assert!(out.contains(&format!("current hash key: {}", rotated.key_id())), "{out}");
    assert!(out.contains(&format!("key {old_id} (retired): 3 request(s), 1 active legal hold entry")), "{out}");
    assert!(
        out.contains("found only through it: 1 open request(s) (run `erasure rehash`), 1 forgotten request(s)"),
        "{out}"
    );
    for secret in [old_key.as_str(), NEW_KEY, "gone@", "early@", "held@"] {
        assert!(!out.contains(secret), "{out}");
    }

    let rehash = erasure(&config, &stack.dir, &["rehash"]).await;
    assert!(rehash.status.success(), "{rehash:?}");
    assert_eq!(key_ids(open).await, rotated.key_ids(), "rehash puts the open request under both keys");
    let found = store.suppression_lookup("test", &new_only.identifiers(&email("early@example.com")), clock.now()).await;
    assert_eq!(found.unwrap().len(), 1, "the open request is found under the new key alone");
    let out = String::from_utf8_lossy(&erasure(&config, &stack.dir, &["keys", "hashes"]).await.stdout).into_owned();
    assert!(out.contains("found only through it: 0 open request(s)"), "{out}");
}
