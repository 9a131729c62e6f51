//! Messages to the person: a real SMTP server on loopback (aiosmtpd writing a Maildir), and
//! assertions on what it received: recipients, subject, language, body, and no other identifier.

use crate::support::*;
use erasure_sim::Fault;
use erasure_worker::clock::SystemClock;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

const OPS: &str = "ops-token-0123456789abcdefghijklmnop";
const PRODUCT: &str = "product-token-0123456789abcdefghijklmnop";
const PYTHON: &str = "/usr/bin/python3";

/// `python3 -m aiosmtpd` on a loopback port, delivering to a Maildir.
struct Smtp {
    child: tokio::process::Child,
}

impl Smtp {
    /// `handler`: `aiosmtpd.handlers.Mailbox`, or `smtp_refuse.Refuse` (550 for `refuse*@`).
    async fn start(port: u16, maildir: &Path, handler: &str) -> Smtp {
        let here = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/e2e");
        let child = tokio::process::Command::new(PYTHON)
            .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}"), "-c", handler])
            .arg(maildir)
            .env("PYTHONPATH", here)
            .kill_on_drop(true)
            .spawn()
            .expect("start aiosmtpd (apt install python3-aiosmtpd)");
        wait_until(Duration::from_secs(15), "the SMTP server to listen", || async {
            tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok()
        })
        .await;
        Smtp { child }
    }

    async fn stop(mut self) {
        self.child.kill().await.expect("stop aiosmtpd");
    }
}

/// The messages in `maildir`, decoded by Python's e-mail parser.
fn received(maildir: &Path) -> Vec<Value> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/e2e/smtp_read.py");
    let output = std::process::Command::new(PYTHON).arg(script).arg(maildir).output().expect("read the Maildir");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).unwrap()
}

async fn wait_for_mail(maildir: &Path, n: usize) -> Vec<Value> {
    poll(Duration::from_secs(20), "the messages to the person", || async {
        let messages = received(maildir);
        (messages.len() >= n).then_some(messages)
    })
    .await
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

struct Api {
    base: String,
    http: reqwest::Client,
}

impl Api {
    async fn post(&self, path: &str, token: &str, body: Value) -> StatusCode {
        self.http.post(format!("{}{path}", self.base)).bearer_auth(token).json(&body).send().await.unwrap().status()
    }

    /// Whether `GET /metrics` has this exact line.
    async fn metric(&self, line: &str) -> bool {
        let text = self.http.get(format!("{}/metrics", self.base)).send().await.unwrap().text().await.unwrap();
        text.lines().any(|l| l == line)
    }
}

/// A worker with the API and `[mail]` pointing at `smtp_port`, plus the `mail` keys. No
/// `starttls`: on loopback it defaults to `opportunistic`, and aiosmtpd here offers no STARTTLS,
/// so these messages travel in plain text, as in the demo.
async fn start(stack: &Stack, smtp_port: u16, mail: &str, systems: &[Instance<'_>]) -> (Worker, Api) {
    let tokens = [
        Token { name: "ops", env: "E2E_OPS_TOKEN", value: OPS, scopes: &["read", "operate"] },
        Token { name: "shop", env: "E2E_PRODUCT_TOKEN", value: PRODUCT, scopes: &["submit"] },
    ];
    let extra = format!(
        r#"
[outbox]
retry_base = "300ms"
retry_cap = "1s"

[mail]
enabled = true
smtp_url = "smtp://127.0.0.1:{smtp_port}"
from = "Privacy team <privacy@example.com>"
{mail}
"#
    );
    let (worker, base) = start_with_api(stack, Arc::new(SystemClock), systems, &tokens, &extra).await;
    (worker, Api { base, http: reqwest::Client::new() })
}

/// A request with two e-mails, a phone and a user id; only the first e-mail may be written to.
fn person(id: Uuid, locale: Option<&str>) -> Value {
    let mut body = request(id, "ana@example.com", chrono::Utc::now());
    body["subject"]["emails"] = json!(["ana@example.com", "ana.other@example.org"]);
    body["subject"]["phones"] = json!(["+33 6 12 34 56 78"]);
    match locale {
        Some(locale) => body["locale"] = json!(locale),
        None => {
            body.as_object_mut().unwrap().remove("locale");
        }
    }
    body
}

fn receipt(id: Uuid) -> String {
    erasure_worker::events::receipt(id)
}

/// No identifier of the person other than `allowed` anywhere in the message.
fn assert_no_other_identifier(message: &Value, id: Uuid, allowed: &[&str]) {
    let all = serde_json::to_string(message).unwrap();
    let user_id = format!("u_{}", &id.simple().to_string()[..8]);
    for identifier in ["ana.other@example.org", "+33 6 12 34 56 78", "612345678", &user_id, &id.to_string()] {
        if !allowed.contains(&identifier) {
            assert!(!all.contains(identifier), "the message holds an identifier it must not: {all}");
        }
    }
}

type MailRow = (Uuid, i32, Option<String>, bool, bool);

/// `(message_id, attempts, last_error, sent, refused)` of the request's message for `event`.
async fn try_mail_row(stack: &Stack, id: Uuid, event: &str) -> Option<MailRow> {
    let row = stack
        .db()
        .await
        .query_opt(
            "SELECT message_id, attempts, last_error, sent_at IS NOT NULL, refused_at IS NOT NULL
             FROM mail_outbox WHERE request_id = $1 AND event_type = $2",
            &[&id, &event],
        )
        .await
        .unwrap()?;
    Some((row.get(0), row.get(1), row.get(2), row.get(3), row.get(4)))
}

async fn mail_row(stack: &Stack, id: Uuid, event: &str) -> MailRow {
    try_mail_row(stack, id, event).await.expect("a message row")
}

#[tokio::test]
async fn completed_in_english_names_the_kinds_of_system_erased_to_the_first_address_only() {
    let stack = Stack::new().await;
    let smtp_port = free_port();
    let maildir = stack.dir.join("maildir");
    let smtp = Smtp::start(smtp_port, &maildir, "aiosmtpd.handlers.Mailbox").await;
    let systems = [Instance { name: "accounts", extra: "" }, Instance { name: "billing", extra: "" }];
    let backups = "recipients = \"first\"\n[[retention.copies]]\nname = \"nightly backups\"\nexpires_after = \"35d\"\n";
    let (worker, api) = start(&stack, smtp_port, backups, &systems).await;
    stack.sim.seed("accounts", "ana@example.com", 2);
    let id = Uuid::new_v4();
    assert_eq!(api.post("/v1/requests", PRODUCT, person(id, None)).await, StatusCode::CREATED);

    let messages = wait_for_mail(&maildir, 1).await;
    let m = &messages[0];
    assert_eq!(m["rcpt_to"], "ana@example.com");
    assert_eq!(m["to"], "ana@example.com");
    assert_eq!(m["from"], "Privacy team <privacy@example.com>");
    assert_eq!(m["subject"], format!("Your data has been erased ({})", receipt(id)));
    let text = m["text"].as_str().unwrap();
    assert!(text.contains("Your request to erase your personal data was completed on"), "{text}");
    assert!(text.contains("Internal service") && text.contains(&receipt(id)), "{text}");
    // accounts held two records, billing none: each is said as it is, and the backups' date.
    let erased_part = text.split("We found no data").next().unwrap();
    assert!(erased_part.contains("Internal service: 2 records erased"), "{text}");
    assert!(text.contains("We found no data about you in these kinds of system:\n\n  - Internal service"), "{text}");
    // The erasure finished moments ago: around midnight that may be yesterday's date.
    let by = |ago: i64| {
        (chrono::Utc::now() - chrono::Duration::minutes(ago) + chrono::Duration::days(35)).format("%-d %B %Y")
    };
    let said = |ago| text.contains(&format!("nightly backups: by {} at the latest", by(ago)));
    assert!(said(0) || said(1), "{text}");
    assert!(m["html"].as_str().unwrap().contains("<li>Internal service</li>"));
    assert!(!text.contains("accounts") && !text.contains("billing"), "instance names stay internal: {text}");
    assert_no_other_identifier(m, id, &[]);
    // The server has the message before the worker has committed that it was sent.
    wait_until(Duration::from_secs(10), "the message marked sent", || async {
        mail_row(&stack, id, "erasure.completed").await.3
    })
    .await;
    let (message_id, ..) = mail_row(&stack, id, "erasure.completed").await;
    assert_eq!(m["message_id"], format!("<{message_id}@erasure-worker>"), "stable, from the outbox message id");
    assert!(api.metric(r#"erasure_mail_messages_total{result="sent"} 1"#).await);
    worker.stop().await;
    smtp.stop().await;
}

#[tokio::test]
async fn failed_then_completed_in_french_to_every_address_says_what_was_kept_and_why() {
    let stack = Stack::new().await;
    let smtp_port = free_port();
    let maildir = stack.dir.join("maildir");
    let smtp = Smtp::start(smtp_port, &maildir, "aiosmtpd.handlers.Mailbox").await;
    stack.sim.push_faults("billing", [Fault::Status { status: 401, retry_after: None }]);
    stack.sim.seed("accounts", "ana@example.com", 3);
    let systems = [Instance { name: "accounts", extra: "" }, Instance { name: "billing", extra: "" }];
    let (worker, api) = start(&stack, smtp_port, r#"recipients = "all""#, &systems).await;
    let id = Uuid::new_v4();
    assert_eq!(api.post("/v1/requests", PRODUCT, person(id, Some("fr"))).await, StatusCode::CREATED);

    let copies = wait_for_mail(&maildir, 2).await;
    let mut recipients: Vec<&str> = copies.iter().map(|m| m["rcpt_to"].as_str().unwrap()).collect();
    recipients.sort();
    assert_eq!(recipients, ["ana.other@example.org", "ana@example.com"], "one copy per address");
    let failed = copies.iter().find(|m| m["rcpt_to"] == "ana@example.com").unwrap().clone();
    assert_eq!(failed["to"], "ana@example.com", "no copy shows another address");
    assert_eq!(failed["subject"], format!("Votre demande d'effacement est en cours de traitement ({})", receipt(id)));
    let text = failed["text"].as_str().unwrap();
    assert!(text.contains("Notre équipe s'en occupe"), "{text}");
    for technical in ["401", "HTTP", "billing", "webhook", "Unauthorized"] {
        assert!(!text.contains(technical), "no technical detail ({technical}) in: {text}");
    }
    assert_no_other_identifier(&failed, id, &[]);

    let reason = "factures conservées 10 ans (Code de commerce, art. L123-22), RGPD art. 17(3)(b)";
    let path = format!("/v1/requests/{id}/tasks/billing/exempt");
    assert_eq!(api.post(&path, OPS, json!({ "reason": reason })).await, StatusCode::OK);
    let messages = wait_for_mail(&maildir, 4).await;
    let completed = messages
        .iter()
        .find(|m| m["subject"].as_str().unwrap().starts_with("Vos données") && m["rcpt_to"] == "ana@example.com")
        .unwrap();
    assert_eq!(completed["subject"], format!("Vos données ont été effacées ({})", receipt(id)));
    let text = completed["text"].as_str().unwrap();
    assert!(text.contains("Vos données ont été effacées des systèmes suivants"), "{text}");
    assert!(text.contains("Service interne : 3 éléments effacés"), "{text}");
    assert!(!text.contains("aucune donnée"), "every system found something or kept it: {text}");
    assert!(text.contains(&format!("Service interne : {reason}")), "{text}");
    assert!(text.contains(&receipt(id)));
    assert_no_other_identifier(completed, id, &[]);
    worker.stop().await;
    smtp.stop().await;
}

#[tokio::test]
async fn the_extended_deadline_notice_gives_the_reason_and_the_new_date() {
    let stack = Stack::new().await;
    let smtp_port = free_port();
    let maildir = stack.dir.join("maildir");
    let smtp = Smtp::start(smtp_port, &maildir, "aiosmtpd.handlers.Mailbox").await;
    stack.sim.push_faults("accounts", [Fault::Throttle { retry_after: Some(600) }]);
    let (worker, api) =
        start(&stack, smtp_port, r#"recipients = "first""#, &[Instance { name: "accounts", extra: "" }]).await;
    let id = Uuid::new_v4();
    let body = person(id, Some("fr-FR"));
    let requested_at: chrono::DateTime<chrono::Utc> = body["requested_at"].as_str().unwrap().parse().unwrap();
    assert_eq!(api.post("/v1/requests", PRODUCT, body).await, StatusCode::CREATED);
    wait_until(Duration::from_secs(15), "the throttled first call", || async {
        stack.sim.calls("accounts").len() == 1
    })
    .await;

    let reason = "la restauration des archives du prestataire prend plusieurs semaines";
    let path = format!("/v1/requests/{id}/extend");
    assert_eq!(api.post(&path, OPS, json!({ "months": 2, "reason": reason })).await, StatusCode::OK);
    let m = wait_for_mail(&maildir, 1).await.remove(0);
    assert_eq!(m["subject"], format!("Le délai de traitement de votre demande est prolongé ({})", receipt(id)));
    let text = m["text"].as_str().unwrap();
    let new_deadline = requested_at.checked_add_months(chrono::Months::new(3)).unwrap();
    assert!(text.contains(&new_deadline.format("%d/%m/%Y").to_string()), "{text}");
    assert!(text.contains(&format!("Motif : {reason}")) && text.contains("12(3)"), "{text}");
    assert_no_other_identifier(&m, id, &[]);
    worker.stop().await;
    smtp.stop().await;
}

#[tokio::test]
async fn the_cancelled_notice_is_sent_in_english() {
    let stack = Stack::new().await;
    let smtp_port = free_port();
    let maildir = stack.dir.join("maildir");
    let smtp = Smtp::start(smtp_port, &maildir, "aiosmtpd.handlers.Mailbox").await;
    stack.sim.push_faults("accounts", [Fault::Throttle { retry_after: Some(600) }]);
    let (worker, api) =
        start(&stack, smtp_port, r#"recipients = "first""#, &[Instance { name: "accounts", extra: "" }]).await;
    let id = Uuid::new_v4();
    assert_eq!(api.post("/v1/requests", PRODUCT, person(id, Some("en"))).await, StatusCode::CREATED);
    wait_until(Duration::from_secs(15), "the throttled first call", || async {
        stack.sim.calls("accounts").len() == 1
    })
    .await;

    let cancel = format!("/v1/requests/{id}/cancel");
    assert_eq!(api.post(&cancel, OPS, json!({ "reason": "the person changed their mind" })).await, StatusCode::OK);
    let m = wait_for_mail(&maildir, 1).await.remove(0);
    assert_eq!(m["rcpt_to"], "ana@example.com");
    assert_eq!(m["subject"], format!("Your erasure request was cancelled ({})", receipt(id)));
    let text = m["text"].as_str().unwrap();
    assert!(text.contains("This request did not erase your data"), "{text}");
    assert_no_other_identifier(&m, id, &[]);
    worker.stop().await;
    smtp.stop().await;
}

#[tokio::test]
async fn a_refused_address_is_recorded_and_not_retried() {
    let stack = Stack::new().await;
    let smtp_port = free_port();
    let maildir = stack.dir.join("maildir");
    let smtp = Smtp::start(smtp_port, &maildir, "smtp_refuse.Refuse").await;
    let (worker, api) =
        start(&stack, smtp_port, r#"recipients = "first""#, &[Instance { name: "accounts", extra: "" }]).await;
    let id = Uuid::new_v4();
    let mut body = person(id, Some("en"));
    body["subject"]["emails"] = json!(["refuse-me@example.com"]);
    assert_eq!(api.post("/v1/requests", PRODUCT, body).await, StatusCode::CREATED);

    poll(Duration::from_secs(20), "the refusal to be recorded", || async {
        let row = try_mail_row(&stack, id, "erasure.completed").await?;
        row.4.then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_secs(3)).await; // several retry periods (retry_cap = 1s)
    let (_, attempts, error, sent, refused) = mail_row(&stack, id, "erasure.completed").await;
    assert!(refused && !sent);
    assert_eq!(attempts, 1, "a permanent refusal is never retried");
    let error = error.unwrap();
    assert!(error.contains("550"), "{error}");
    assert!(!error.contains("refuse-me@"), "the address is not recorded in the error: {error}");
    assert!(received(&maildir).is_empty());
    assert!(api.metric(r#"erasure_mail_messages_total{result="refused"} 1"#).await);
    assert!(!api.metric(r#"erasure_mail_messages_total{result="sent"} 1"#).await);
    worker.stop().await;
    smtp.stop().await;
}

/// STARTTLS `required` against a server that does not offer it: nothing is sent, the message
/// keeps a clear error and waits; the loopback default then delivers it in plain text.
///
/// Why `required` is set here rather than reached through a host beyond loopback: the worker
/// decides "beyond loopback" from the `smtp_url` host as written (`localhost`, 127.0.0.0/8 and
/// `::1` are loopback; any other name or address is not), never through DNS. This machine can
/// only serve SMTP on loopback, and the honest ways to reach it under a non-loopback name would
/// be an /etc/hosts entry (changing the machine for a test) or a resolver quirk such as
/// `127.1` (which only glibc reads as 127.0.0.1). So the decision is unit-tested
/// (`config::tests::starttls_is_required_beyond_loopback_unless_set`: no setting and a
/// non-loopback host give `required`, a name that resolves to loopback included), and this test
/// runs the path that decision leads to, `required`, against a real server without STARTTLS.
#[tokio::test]
async fn without_starttls_from_the_server_required_sends_nothing_and_the_loopback_default_stays_plain() {
    let stack = Stack::new().await;
    let smtp_port = free_port();
    let maildir = stack.dir.join("maildir");
    let smtp = Smtp::start(smtp_port, &maildir, "aiosmtpd.handlers.Mailbox").await;
    let fast_retries = "retry_base = \"200ms\"\nretry_cap = \"500ms\"\n";
    let (worker, api) = start(
        &stack,
        smtp_port,
        &format!("starttls = \"required\"\n{fast_retries}"),
        &[Instance { name: "accounts", extra: "" }],
    )
    .await;
    let id = Uuid::new_v4();
    assert_eq!(api.post("/v1/requests", PRODUCT, person(id, Some("en"))).await, StatusCode::CREATED);

    poll(Duration::from_secs(20), "several refused send attempts", || async {
        let (_, attempts, error, _, _) = try_mail_row(&stack, id, "erasure.completed").await?;
        (attempts >= 2 && error.is_some()).then_some(())
    })
    .await;
    let (_, _, error, sent, refused) = mail_row(&stack, id, "erasure.completed").await;
    assert!(!sent && !refused, "not sent, and kept for when the server offers STARTTLS");
    let error = error.unwrap();
    assert!(error.contains("STARTTLS is not supported"), "a clear reason: {error}");
    assert!(!error.contains("ana@example.com"), "{error}");
    assert!(received(&maildir).is_empty(), "nothing reached the server in plain text");
    assert!(!api.metric(r#"erasure_mail_messages_total{result="sent"} 1"#).await);
    worker.stop().await;

    // The same message and server with the loopback default (no `starttls`): sent, in plain text.
    let (worker, _) = start(&stack, smtp_port, fast_retries, &[Instance { name: "accounts", extra: "" }]).await;
    let messages = wait_for_mail(&maildir, 1).await;
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0]["subject"], format!("Your erasure request is complete ({})", receipt(id)));
    poll(Duration::from_secs(10), "the row marked sent", || async {
        mail_row(&stack, id, "erasure.completed").await.3.then_some(())
    })
    .await;
    worker.stop().await;
    smtp.stop().await;
}

#[tokio::test]
async fn a_message_waits_while_the_smtp_server_is_down_and_is_sent_when_it_is_back() {
    let stack = Stack::new().await;
    let smtp_port = free_port();
    let maildir = stack.dir.join("maildir");
    let (worker, api) =
        start(&stack, smtp_port, r#"recipients = "first""#, &[Instance { name: "accounts", extra: "" }]).await;
    let id = Uuid::new_v4();
    assert_eq!(api.post("/v1/requests", PRODUCT, person(id, Some("en"))).await, StatusCode::CREATED);

    poll(Duration::from_secs(20), "a failed send attempt", || async {
        let (_, attempts, error, _, _) = try_mail_row(&stack, id, "erasure.completed").await?;
        (attempts >= 2 && error.is_some()).then_some(())
    })
    .await;
    let (_, _, _, sent, refused) = mail_row(&stack, id, "erasure.completed").await;
    assert!(!sent && !refused, "a connection failure is temporary");

    let smtp = Smtp::start(smtp_port, &maildir, "aiosmtpd.handlers.Mailbox").await;
    let messages = wait_for_mail(&maildir, 1).await;
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0]["subject"], format!("Your erasure request is complete ({})", receipt(id)));
    poll(Duration::from_secs(10), "the row marked sent", || async {
        mail_row(&stack, id, "erasure.completed").await.3.then_some(())
    })
    .await;
    worker.stop().await;
    smtp.stop().await;
}

#[tokio::test]
async fn with_also_reply_off_the_mail_replaces_the_reply_but_the_events_exchange_still_gets_it() {
    let stack = Stack::new().await;
    let smtp_port = free_port();
    let maildir = stack.dir.join("maildir");
    let smtp = Smtp::start(smtp_port, &maildir, "aiosmtpd.handlers.Mailbox").await;
    let mut events = stack.events().await;
    // A second queue bound to the exchange, used as reply_to: it gets the exchange's copy only.
    let mut replies = stack.events().await;
    let mail = "recipients = \"first\"\nalso_reply = false";
    let (worker, _api) = start(&stack, smtp_port, mail, &[Instance { name: "accounts", extra: "" }]).await;
    let id = Uuid::new_v4();
    stack.publish(&bytes(&person(id, Some("en"))), Some(&replies.queue)).await;

    let m = wait_for_mail(&maildir, 1).await.remove(0);
    assert_eq!(m["subject"], format!("Your erasure request is complete ({})", receipt(id)));
    let event = events.next(Duration::from_secs(10)).await.expect("erasure.completed on the exchange");
    assert_eq!(event.routing_key, "erasure.completed");
    let copy = replies.next(Duration::from_secs(10)).await.expect("the exchange's copy");
    assert_eq!(copy.message_id, event.message_id);
    assert!(replies.next(Duration::from_secs(2)).await.is_none(), "no reply_to copy: the e-mail replaced it");
    worker.stop().await;
    smtp.stop().await;
}

#[tokio::test]
async fn without_mail_nothing_is_queued_for_the_person() {
    let stack = Stack::new().await;
    let settings = stack.settings(&[Instance { name: "accounts", extra: "" }], "");
    stack.declare_queues(&settings).await;
    let worker = Worker::start(settings, Arc::new(SystemClock));
    let id = Uuid::new_v4();
    stack.publish(&bytes(&person(id, Some("en"))), None).await;
    stack.wait_for_state(id, "completed", Duration::from_secs(20)).await;
    assert!(try_mail_row(&stack, id, "erasure.completed").await.is_none(), "mail is off by default");
    worker.stop().await;
}
