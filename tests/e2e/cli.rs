//! `erasure connector check|erase`: one connector, by hand, as an integrator debugs it;
//! `erasure check-config`; `erasure rehash` after an upgrade.

use crate::support::*;
use erasure_worker::clock::{Clock, ManualClock};
use serde_json::json;
use std::process::Output;
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

async fn erasure(stack: &Stack, config: &std::path::Path, args: &[&str]) -> Output {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_erasure"))
        .arg("--config")
        .arg(config)
        .args(args)
        .env(HASH_KEY_ENV, "unused-here-0123456789")
        .env(WEBHOOK_SECRET_ENV, WEBHOOK_SECRET)
        .env("ERASURE__LOG__LEVEL", "warn")
        .current_dir(&stack.dir)
        .output()
        .await
        .unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[tokio::test]
async fn connector_check_dry_run_and_erase() {
    let stack = Stack::new().await;
    let lookup_url = format!("lookup_url = \"{}\"", stack.sim.webhook_url("accounts"));
    let config = stack.config_file(&[Instance { name: "accounts", extra: &lookup_url }], "");
    stack.sim.seed("accounts", "rae@example.com", 2);

    let check = erasure(&stack, &config, &["connector", "check", "accounts"]).await;
    assert!(check.status.success(), "{check:?}");
    assert!(stdout(&check).starts_with("accounts: healthy"));

    let dry =
        erasure(&stack, &config, &["connector", "erase", "accounts", "--email", "Rae@Example.com", "--dry-run"]).await;
    assert!(dry.status.success());
    assert_eq!(stdout(&dry).trim(), "accounts: would erase: data found (2 records)");
    assert_eq!(stack.sim.records("accounts", "rae@example.com"), 2, "a dry run erases nothing");

    let erase = erasure(&stack, &config, &["connector", "erase", "accounts", "--email", "rae@example.com"]).await;
    assert_eq!(erase.status.code(), Some(0));
    assert_eq!(stdout(&erase).trim(), r#"accounts: erased: {"counts":{"records":2}}"#);
    assert_eq!(stack.sim.records("accounts", "rae@example.com"), 0);

    stack.sim.push_faults("accounts", [erasure_sim::Fault::Status { status: 403, retry_after: None }]);
    let denied = erasure(&stack, &config, &["connector", "erase", "accounts", "--email", "sam@example.com"]).await;
    assert_eq!(denied.status.code(), Some(1));
    assert_eq!(stdout(&denied).trim(), "accounts: failed: accounts answered HTTP 403");

    let unknown = erasure(&stack, &config, &["connector", "check", "payroll"]).await;
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no connector instance `payroll`"));
}

#[tokio::test]
async fn check_config_refuses_a_plain_http_webhook_unless_allowed() {
    let stack = Stack::new().await;
    let refused = stack.config_file(&[Instance { name: "accounts", extra: "allow_insecure_http = false" }], "");
    let output = erasure(&stack, &refused, &["check-config"]).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(stderr.contains("`connectors.accounts.url`") && stderr.contains(refused.to_str().unwrap()), "{stderr}");
    assert!(stderr.contains("must be https") && stderr.contains("allow_insecure_http"), "{stderr}");

    let allowed = stack.config_file(&[Instance { name: "accounts", extra: "" }], "");
    let output = erasure(&stack, &allowed, &["check-config"]).await;
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
}

/// A broken `http` definition stops `check-config`, naming the definition's file and the key at
/// fault in it; the built-in Intercom definition passes.
#[tokio::test]
async fn check_config_names_a_broken_http_definition_s_file_and_key() {
    let stack = Stack::new().await;
    let definition = stack.dir.join("acme-definition.toml");
    let text = "[[find]]\nname = \"people\"\nfor_each = \"email\"\npath = \"/people/{emial}\"\n\
                match = { field = \"/email\", equals = \"{email}\" }\n";
    std::fs::write(&definition, text).unwrap();
    let broken = format!(
        "[connectors.acme]\nkind = \"http\"\ndefinition_file = \"{}\"\nbase_url = \"{}\"\n",
        definition.display(),
        stack.sim.vendor_url("acme")
    );
    let output = erasure(&stack, &stack.config_file(&[], &broken), &["check-config"]).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(stderr.contains("`connectors.acme.definition_file`"), "{stderr}");
    assert!(
        stderr.contains(&format!("{}: find[0].path:", definition.display())) && stderr.contains("{emial}"),
        "{stderr}"
    );

    let intercom = format!(
        "[connectors.support]\nkind = \"http\"\ndefinition = \"intercom\"\nbase_url = \"{}\"\n\
         access_token_env = \"{WEBHOOK_SECRET_ENV}\"\n",
        stack.sim.vendor_url("intercom")
    );
    let output = erasure(&stack, &stack.config_file(&[], &intercom), &["check-config"]).await;
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));

    // An inline definition goes through the config layers as written (mixed-case keys too).
    let inline = format!(
        "[connectors.crm]\nkind = \"http\"\nbase_url = \"{}\"\n[connectors.crm.vars]\nlistId = \"L1\"\n\
         [connectors.crm.definition.headers]\nX-Api-Version = \"2\"\n\
         [[connectors.crm.definition.find]]\nname = \"people\"\nfor_each = \"email\"\n\
         path = \"/lists/{{vars.listId}}/people\"\nquery = {{ email = \"{{email}}\" }}\nrecords = \"/people\"\n\
         match = {{ field = \"/email\", equals = \"{{email}}\" }}\n",
        stack.sim.vendor_url("crm")
    );
    let output = erasure(&stack, &stack.config_file(&[], &inline), &["check-config"]).await;
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let broken = inline.replace("{email}\" }\nrecords", "{emial}\" }\nrecords");
    let output = erasure(&stack, &stack.config_file(&[], &broken), &["check-config"]).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(
        stderr.contains("`connectors.crm.definition`") && stderr.contains("the inline definition: find[0].query.email"),
        "{stderr}"
    );
}

#[tokio::test]
async fn check_config_warns_about_weak_settings_and_still_exits_0() {
    let stack = Stack::new().await;
    // The test base sets `intake.require_signature = false`; the API listens beyond loopback
    // without tokens.
    let config = stack.config_file(&[Instance { name: "accounts", extra: "" }], "[api]\nlisten = \"0.0.0.0:0\"\n");
    let output = erasure(&stack, &config, &["check-config"]).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "warnings are not errors: {stderr}");
    let file = config.to_str().unwrap();
    for key in ["intake.require_signature", "api.listen"] {
        let line =
            stderr.lines().find(|l| l.contains(&format!("`{key}`"))).unwrap_or_else(|| panic!("{key}: {stderr}"));
        assert!(line.starts_with("warning: ") && line.contains(file), "{line}");
    }
    // Loopback plain transport (the stack's database, broker and simulator) is not warned about.
    assert!(!stderr.contains("`database.url`") && !stderr.contains("`amqp.urls`"), "{stderr}");
    assert!(!stderr.contains("allow_insecure_http`"), "{stderr}");
}

/// Requests stored before the normalisation rules changed: `erasure rehash` recomputes their
/// identifier hashes from the stored subject, holds those the legal hold list now matches, says
/// which subjects no longer pass, counts the hold list's entries, and changes nothing the second
/// time.
#[tokio::test]
async fn rehash_recomputes_identifier_hashes_from_stored_subjects_and_is_idempotent() {
    let stack = Stack::new().await;
    let settings = stack.settings(&[Instance { name: "accounts", extra: "" }], "[requests]\ngrace_period = \"7d\"\n");
    stack.declare_queues(&settings).await;
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    let worker = Worker::start(settings, clock.clone());
    let (stale, current, invalid) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
    for (id, email) in [(stale, "ray@example.com"), (current, "sol@example.com"), (invalid, "tom@example.com")] {
        stack.publish(&bytes(&request(id, email, clock.now())), None).await;
        stack.wait_for_state(id, "scheduled", Duration::from_secs(15)).await;
    }
    worker.stop().await;

    // What the old rules stored: `+33 (0)6 12 34 56 78` became `+330612345678`, and a number
    // that is not one passed if it had 7 to 15 digits. Stored as before encryption (V12): in the
    // clear `subject` column, nothing sealed.
    let hasher = RawHasher(std::env::var(HASH_KEY_ENV).unwrap());
    let db = stack.db().await;
    for (id, phone) in [(stale, "+330612345678"), (invalid, "+999612345678")] {
        let user_id = format!("u_{}", &id.simple().to_string()[..8]);
        let email = if id == stale { "ray@example.com" } else { "tom@example.com" };
        let subject = json!({ "user_id": user_id, "emails": [email], "phones": [phone] });
        let old_hashes = vec![
            hasher.identifier("user_id", &user_id),
            hasher.identifier("email", email),
            hasher.identifier("phone", phone),
        ];
        db.execute(
            "UPDATE requests SET subject = $2, identifier_hashes = $3, identifiers_sealed = NULL,
                                 identifiers_key_id = NULL
             WHERE id = $1",
            &[&id, &subject, &old_hashes],
        )
        .await
        .unwrap();
    }
    let phone_hash = hasher.identifier("phone", "+33612345678");
    db.execute(
        "INSERT INTO legal_holds (identifier_kind, identifier_hash, reason, owner, created_by, created_at)
         VALUES ('phone', $1, 'case 9', 'legal', 'test', now())",
        &[&phone_hash],
    )
    .await
    .unwrap();
    let hashes_of = |id: Uuid| {
        let db = &db;
        async move {
            let row = db.query_one("SELECT identifier_hashes FROM requests WHERE id = $1", &[&id]).await.unwrap();
            row.get::<_, Vec<String>>(0)
        }
    };
    let invalid_before = hashes_of(invalid).await;

    let first = rehash(&stack, &["rehash", "--batch-size", "2"]).await;
    assert_eq!(first.status.code(), Some(0), "{first:?}");
    let out = stdout(&first);
    assert!(out.contains("requests: 3 read, 1 updated, 1 already current, 0 forgotten, 1 no longer valid"), "{out}");
    assert!(out.contains(&format!("no longer valid: {invalid}")), "{out}");
    assert!(out.contains("held by the legal hold list: 1"), "{out}");
    assert!(out.contains("legal hold entries: 1 active (1 phone), 0 released"), "{out}");
    for secret in ["ray@", "tom@", "+33", "+999"] {
        assert!(!out.contains(secret) && !String::from_utf8_lossy(&first.stderr).contains(secret), "{first:?}");
    }
    assert!(hashes_of(stale).await.contains(&phone_hash), "the stale request is found by the parsed number");
    assert_eq!(hashes_of(invalid).await, invalid_before, "a subject that no longer passes keeps its hashes");
    let held: i64 = db
        .query_one("SELECT count(*) FROM request_holds WHERE request_id = $1 AND kind = 'legal'", &[&stale])
        .await
        .unwrap()
        .get(0);
    assert_eq!(held, 1, "the hold list's entry for the parsed number now holds it");

    let again = rehash(&stack, &["rehash"]).await;
    assert_eq!(again.status.code(), Some(0), "{again:?}");
    assert!(stdout(&again).contains("requests: 3 read, 0 updated, 2 already current"), "{}", stdout(&again));
}

/// The keyed hash as `identity::Hasher` computes it (HMAC-SHA256 of `kind:value`), for any value:
/// the worker's own hashes only normalised identifiers, and these are the old rules' results.
struct RawHasher(String);

impl RawHasher {
    fn identifier(&self, kind: &str, value: &str) -> String {
        use hmac::{Hmac, Mac};
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(self.0.as_bytes()).unwrap();
        mac.update(format!("{kind}:{value}").as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }
}

/// `erasure` with the stack's config and the hash key the worker used.
async fn rehash(stack: &Stack, args: &[&str]) -> Output {
    let config = stack.config_file(&[Instance { name: "accounts", extra: "" }], "");
    tokio::process::Command::new(env!("CARGO_BIN_EXE_erasure"))
        .arg("--config")
        .arg(config)
        .args(args)
        .env(HASH_KEY_ENV, std::env::var(HASH_KEY_ENV).unwrap())
        .env(WEBHOOK_SECRET_ENV, WEBHOOK_SECRET)
        .env("ERASURE__LOG__LEVEL", "warn")
        .current_dir(&stack.dir)
        .output()
        .await
        .unwrap()
}
