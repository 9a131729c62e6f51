//! A definition is checked when the instance is built: every error names the file (or the
//! inline definition) and the key at fault, and never a secret.

mod common;

use erasure_connector::{ConfigError, Connector, HttpClient, KindLabel, Secrets};
use serde_json::{json, Value};
use std::time::Duration;

const GOOD: &str = r#"
base_url = "https://api.example.com"
[auth]
type = "bearer"
token = "token_env"

[[find]]
name = "people"
for_each = "email"
path = "/people"
query = { email = "{email}" }
records = "/people"
match = { field = "/email", equals = "{email}" }

[[erase]]
for_each = "people"
path = "/people/{record.id}"
count = "people"
"#;

fn http() -> HttpClient {
    HttpClient::unlimited("acme", Duration::from_secs(5))
}

/// Build an instance from `text` written to a file; the error, if any.
fn from_file(text: &str, extra: Value) -> Result<(), (ConfigError, String)> {
    let dir = std::env::temp_dir().join(format!("http-def-{}-{:x}", std::process::id(), fnv(text)));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("acme.toml");
    std::fs::write(&path, text).unwrap();
    let mut keys = json!({ "definition_file": path.to_str().unwrap(), "token_env": "ACME_TOKEN" });
    keys.as_object_mut().unwrap().extend(extra.as_object().cloned().unwrap_or_default());
    let path = path.to_str().unwrap().to_string();
    common::instance(keys, Secrets::one("token_env", "s3cr3t-token"), http()).map(|_| ()).map_err(|e| (e, path))
}

fn refused(text: &str) -> (ConfigError, String) {
    from_file(text, json!({})).expect_err("the definition must be refused")
}

#[test]
fn a_good_definition_builds() {
    from_file(GOOD, json!({})).map_err(|(e, _)| e).unwrap();
}

#[test]
fn an_unknown_placeholder_names_the_file_and_the_key() {
    let (error, file) = refused(&GOOD.replace("/people/{record.id}", "/people/{emial}"));
    assert_eq!(error.key.as_deref(), Some("definition_file"));
    assert!(error.message.starts_with(&format!("{file}: erase[0].path: ")), "{}", error.message);
    assert!(error.message.contains("{emial}"), "{}", error.message);
}

#[test]
fn an_unknown_key_is_refused_with_its_path() {
    let (error, file) = refused(&GOOD.replace("records = \"/people\"", "records = \"/people\"\nmethd = \"GET\""));
    assert!(error.message.starts_with(&format!("{file}: find[0].methd: unknown field `methd`")), "{}", error.message);
}

#[test]
fn an_unknown_key_in_a_condition_is_named() {
    let (error, file) = refused(&GOOD.replace("match = { field = \"/email\",", "match = { feild = \"/email\","));
    assert!(error.message.starts_with(&format!("{file}: find[0].match: unknown field `feild`")), "{}", error.message);
}

#[test]
fn a_step_run_for_an_identifier_needs_the_exact_match_rule() {
    let (error, _) = refused(&GOOD.replace("match = { field = \"/email\", equals = \"{email}\" }", ""));
    assert!(
        error.message.contains("find[0].match: a step run for `email` needs an exact-match rule"),
        "{}",
        error.message
    );
    let (error, _) = refused(&GOOD.replace("equals = \"{email}\" }", "present = true }"));
    assert!(error.message.contains("find[0].match"), "{}", error.message);
}

#[test]
fn placeholders_are_checked_against_what_the_step_knows() {
    let (error, _) =
        refused(&GOOD.replace("query = { email = \"{email}\" }", "query = { email = \"{record.email}\" }"));
    assert!(
        error.message.contains("find[0].query.email: placeholder {record.email} is not known here"),
        "{}",
        error.message
    );
    let (error, _) = refused(&GOOD.replace("/people/{record.id}", "/people/{phone}"));
    assert!(error.message.contains("erase[0].path: placeholder {phone} is not known here"), "{}", error.message);
    let (error, _) = refused(&GOOD.replace("/people/{record.id}", "/people/{orgs.id}"));
    assert!(error.message.contains("erase[0].path: placeholder {orgs.id}"), "{}", error.message);
    let (error, _) = refused(&GOOD.replace("/people/{record.id}", "/people/{record.id|upper}"));
    assert!(error.message.contains("erase[0].path: unknown transform `upper`"), "{}", error.message);
}

#[test]
fn sets_pointers_and_methods_are_checked() {
    let (error, _) = refused(&GOOD.replace("for_each = \"people\"", "for_each = \"persons\""));
    assert!(error.message.contains("erase[0].for_each: no find step makes a set named `persons`"), "{}", error.message);
    let (error, _) = refused(&GOOD.replace("records = \"/people\"", "records = \"people\""));
    assert!(error.message.contains("find[0].records: `people` is not a JSON pointer"), "{}", error.message);
    let (error, _) = refused(&GOOD.replace("count = \"people\"", "count = \"people\"\nmethod = \"PURGE\""));
    assert!(error.message.contains("erase[0].method: `PURGE`"), "{}", error.message);
    let (error, _) = refused(&GOOD.replace("for_each = \"email\"", "for_each = \"people\""));
    assert!(error.message.contains("find[0].for_each"), "{}", error.message);
}

/// A scope-only step (the audiences that hold an address) needs no exact-match rule, but the
/// step run per its records does, and its own set is never erased or looked up.
#[test]
fn a_scope_only_set_passes_the_exact_match_rule_on_to_the_next_step() {
    let scoped = GOOD
        .replace("name = \"people\"\nfor_each = \"email\"", "name = \"lists\"\nfor_each = \"email\"\nscope_only = true")
        .replace("records = \"/people\"\nmatch = { field = \"/email\", equals = \"{email}\" }", "records = \"/lists\"")
        .replace(
            "[[erase]]",
            "[[find]]\nname = \"people\"\nfor_each = \"lists\"\npath = \"/lists/{record.id}/people/{email|lower|md5}\"\n\
             records = \"\"\ngone = [404]\nmatch = { field = \"/email\", equals = \"{email}\" }\n\n[[erase]]",
        );
    from_file(&scoped, json!({})).map_err(|(e, _)| e).unwrap();
    let (error, _) = refused(
        &scoped.replace("\nmatch = { field = \"/email\", equals = \"{email}\" }\n\n[[erase]]", "\n\n[[erase]]"),
    );
    assert!(
        error.message.contains("find[1].match: a step run for `lists` needs an exact-match rule"),
        "{}",
        error.message
    );
    let (error, _) =
        refused(&scoped.replace("for_each = \"people\"\npath = \"/people/", "for_each = \"lists\"\npath = \"/people/"));
    assert!(error.message.contains("erase[0].for_each: `lists` is a scope-only set"), "{}", error.message);
    let (error, _) = refused(&scoped.replace("base_url =", "lookup = \"lists\"\nbase_url ="));
    assert!(error.message.contains("lookup: `lists` is a scope-only set"), "{}", error.message);
}

#[test]
fn vars_must_be_set_by_the_instance() {
    let text = GOOD.replace("path = \"/people\"\n", "path = \"/lists/{vars.list_id}/people\"\n");
    let (error, _) = from_file(&text, json!({})).err().unwrap();
    assert!(error.message.contains("vars.list_id"), "{}", error.message);
    from_file(&text, json!({ "vars": { "list_id": "L1" } })).map_err(|(e, _)| e).unwrap();
}

#[test]
fn secrets_come_only_from_env_keys_and_never_print() {
    let (error, _) = refused(&GOOD.replace("token = \"token_env\"", "token = \"s3cr3t-token\""));
    assert!(
        error.message.contains("auth.token: `s3cr3t-token` must name an instance key ending in `_env`"),
        "{}",
        error.message
    );
    let (error, _) = refused(&GOOD.replace("token = \"token_env\"", "token = \"other_env\""));
    assert_eq!(error.key.as_deref(), Some("other_env"), "{error:?}");
    let (error, _) = refused(&GOOD.replace("[[find]]", "[[find]]\nbogus = 1\n"));
    assert!(!error.message.contains("s3cr3t-token"));
}

#[test]
fn a_toml_error_and_an_unreadable_file_name_the_file() {
    let (error, file) = refused("find = [");
    assert!(error.message.starts_with(&format!("{file}: not valid TOML")), "{}", error.message);
    let keys = json!({ "definition_file": "/nonexistent/acme.toml" });
    let error = common::instance(keys, Secrets::default(), http()).err().unwrap();
    assert_eq!(error.key.as_deref(), Some("definition_file"));
    assert!(error.message.contains("/nonexistent/acme.toml"), "{}", error.message);
}

#[test]
fn the_source_of_the_definition_is_exactly_one() {
    let keys = json!({ "definition": "intercom", "definition_file": "/x.toml" });
    assert!(common::instance(keys, Secrets::default(), http()).err().unwrap().message.contains("exactly one"));
    let keys = json!({ "definition": "no-such-vendor" });
    let error = common::instance(keys, Secrets::default(), http()).err().unwrap();
    assert!(
        error.message.contains("no built-in definition `no-such-vendor`") && error.message.contains("intercom"),
        "{}",
        error.message
    );
    let keys = json!({ "definition": "intercom", "token": "x" });
    assert!(common::instance(keys, Secrets::default(), http()).err().unwrap().message.contains("unknown key `token`"));
}

#[test]
fn an_inline_definition_is_named_as_such() {
    let mut inline: Value = serde_json::to_value(toml::from_str::<toml::Table>(GOOD).unwrap()).unwrap();
    inline["erase"][0]["path"] = json!("/people/{emial}");
    let keys = json!({ "definition": inline, "token_env": "T" });
    let error = common::instance(keys, Secrets::one("token_env", "t"), http()).err().unwrap();
    assert_eq!(error.key.as_deref(), Some("definition"));
    assert!(error.message.starts_with("the inline definition: erase[0].path:"), "{}", error.message);
}

#[test]
fn every_built_in_definition_is_valid() {
    for name in erasure_connector_http::builtin_names() {
        erasure_connector_http::check_builtin(name).unwrap_or_else(|e| panic!("{name}: {}", e.message));
    }
    assert!(erasure_connector_http::builtin_names().contains(&"intercom"));
}

/// The `[label]` is what the person reads in the e-mail: read into the connector, or absent (the
/// worker then says "Other system"); one that is not a few words in both languages is refused,
/// naming the file and the key.
#[test]
fn a_label_names_the_kind_of_system_in_both_languages() {
    let labelled = format!("{GOOD}\n[label]\nen = \"CRM\"\nfr = \"Gestion de la relation client\"\n");
    let keys = |text: &str| json!({ "definition": toml::from_str::<toml::Table>(text).unwrap(), "token_env": "T" });
    let build = |text: &str| common::instance(keys(text), Secrets::one("token_env", "t"), http());
    let crm = KindLabel { en: "CRM".into(), fr: "Gestion de la relation client".into() };
    assert_eq!(build(&labelled).map_err(|e| e.message).unwrap().label(), Some(crm));
    assert_eq!(build(GOOD).map_err(|e| e.message).unwrap().label(), None, "a definition without one loads");

    let (error, file) = refused(&labelled.replace("fr = \"Gestion de la relation client\"", "fr = \" \""));
    assert!(error.message.starts_with(&format!("{file}: label.fr: ")), "{}", error.message);
    let (error, file) = refused(&labelled.replace("fr = \"Gestion de la relation client\"\n", ""));
    assert!(error.message.starts_with(&format!("{file}: label: missing field `fr`")), "{}", error.message);
    let (error, file) = refused(&labelled.replace("en = \"CRM\"", "en = \"CRM\"\nde = \"CRM\""));
    assert!(error.message.starts_with(&format!("{file}: label.de: unknown field `de`")), "{}", error.message);
}

/// Each built-in definition names its kind of system, so no e-mail says "Other system" for it.
#[test]
fn every_built_in_definition_has_a_label() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../definitions");
    let mut labelled = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let definition: toml::Table = toml::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let label: KindLabel = definition["label"].clone().try_into().unwrap_or_else(|e| panic!("{path:?}: {e}"));
        assert_eq!(label.check(), Ok(()), "{path:?}");
        labelled.push(path.file_stem().unwrap().to_string_lossy().into_owned());
    }
    labelled.sort();
    let mut builtin = erasure_connector_http::builtin_names();
    builtin.sort();
    assert_eq!(labelled, builtin);
}

fn fnv(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, c| (h ^ u64::from(c)).wrapping_mul(0x100_0000_01b3))
}
