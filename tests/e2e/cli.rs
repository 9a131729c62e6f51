//! `erasure connector check|erase`: one connector, by hand, as an integrator debugs it.

use crate::support::*;
use std::process::Output;

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
    let config = stack.config_file(&[Instance { name: "accounts", extra: "" }], "");
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
