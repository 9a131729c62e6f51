//! The operators' CLI (`erasure status|list|retry|...|submit`) as an operator runs it: the real
//! binary against a worker serving the HTTP API, each action audited under the token's name.

use crate::support::*;
use erasure_sim::Fault;
use erasure_worker::clock::{Clock, ManualClock};
use serde_json::Value;
use std::process::{Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use uuid::Uuid;

const ONCALL: &str = "oncall-token-0123456789abcdefghijklmnop";
const READER: &str = "reader-token-0123456789abcdefghijklmnop";

/// The CLI pointed at one worker's API.
struct Cli {
    api: String,
}

impl Cli {
    fn command(&self, token: Option<&str>, args: &[&str]) -> tokio::process::Command {
        let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_erasure"));
        command
            .args(args)
            .env_remove("ERASURE_CONFIG")
            .env_remove("ERASURE_API_TOKEN")
            .env("ERASURE_API_URL", &self.api)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        if let Some(token) = token {
            command.env("ERASURE_API_TOKEN", token);
        }
        command
    }

    async fn run(&self, token: Option<&str>, args: &[&str]) -> Output {
        let output = tokio::time::timeout(Duration::from_secs(30), self.command(token, args).output())
            .await
            .expect("the CLI answers within 30 s")
            .unwrap();
        output
    }

    /// Run as on-call (read, operate, submit) and expect success.
    async fn ok(&self, args: &[&str]) -> String {
        let output = self.run(Some(ONCALL), args).await;
        assert_eq!(output.status.code(), Some(0), "erasure {args:?}: {output:?}");
        stdout(&output)
    }

    async fn json(&self, args: &[&str]) -> Value {
        let mut args = args.to_vec();
        args.push("--json");
        serde_json::from_str(&self.ok(&args).await).expect("--json prints JSON")
    }

    /// Submit for `email` without waiting; the new request's id.
    async fn submit(&self, email: &str) -> Uuid {
        let answer = self.json(&["submit", "--email", email]).await;
        assert_eq!(answer["status"], "received", "{answer}");
        answer["request_id"].as_str().unwrap().parse().unwrap()
    }
}

/// A CLI command still running (`submit --wait`), its stdout read line by line.
struct Running {
    child: tokio::process::Child,
    lines: Arc<Mutex<Vec<String>>>,
    reader: tokio::task::JoinHandle<()>,
}

impl Running {
    fn spawn(mut command: tokio::process::Command) -> Running {
        let mut child = command.spawn().expect("start the CLI");
        let stdout = child.stdout.take().unwrap();
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink = lines.clone();
        let reader = tokio::spawn(async move {
            let mut stdout = BufReader::new(stdout).lines();
            while let Ok(Some(line)) = stdout.next_line().await {
                sink.lock().unwrap().push(line);
            }
        });
        Running { child, lines, reader }
    }

    /// Wait until `n` lines printed so far start with `prefix`.
    async fn wait_for(&self, prefix: &str, n: usize) {
        let what = format!("{n} line(s) starting with `{prefix}`");
        wait_until(Duration::from_secs(15), &what, || async {
            self.lines.lock().unwrap().iter().filter(|l| l.starts_with(prefix)).count() >= n
        })
        .await;
    }

    /// Wait for the exit: its status code and everything it printed.
    async fn finish(mut self) -> (Option<i32>, String) {
        let status = tokio::time::timeout(Duration::from_secs(30), self.child.wait())
            .await
            .expect("the CLI ends within 30 s")
            .unwrap();
        self.reader.await.unwrap();
        let lines = self.lines.lock().unwrap().join("\n");
        (status.code(), lines)
    }
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

async fn start(stack: &Stack, clock: Arc<ManualClock>, systems: &[Instance<'_>]) -> (Worker, Cli) {
    let tokens = [
        Token { name: "oncall", env: "E2E_ONCALL_TOKEN", value: ONCALL, scopes: &["read", "operate", "submit"] },
        Token { name: "dashboard", env: "E2E_READER_TOKEN", value: READER, scopes: &["read"] },
    ];
    let (worker, api) = start_with_api(stack, clock, systems, &tokens, "").await;
    (worker, Cli { api })
}

fn line_index(text: &str, starting: &str) -> usize {
    text.lines().position(|l| l.starts_with(starting)).unwrap_or_else(|| panic!("no line `{starting}` in:\n{text}"))
}

#[tokio::test]
async fn ops_cli_submit_wait_shows_each_systems_progress_until_completed() {
    let stack = Stack::new().await;
    stack.sim.seed("accounts", "ivy@example.com", 2);
    stack.sim.seed("billing", "ivy@example.com", 1);
    stack.sim.push_faults("accounts", [Fault::Status { status: 503, retry_after: None }]);
    stack.sim.push_faults("billing", [Fault::Hang { millis: 1500 }]);
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    let systems = [Instance { name: "accounts", extra: "" }, Instance { name: "billing", extra: "" }];
    let (worker, cli) = start(&stack, clock.clone(), &systems).await;

    let waiting = Running::spawn(cli.command(Some(ONCALL), &["submit", "--email", "Ivy@Example.com", "--wait"]));
    waiting.wait_for("accounts: retrying (accounts answered HTTP 503; next attempt at ", 1).await;
    clock.advance(chrono::Duration::seconds(30));
    let (code, out) = waiting.finish().await;
    assert_eq!(code, Some(0), "a completed request exits 0:\n{out}");

    let first = out.lines().next().unwrap();
    assert!(first.starts_with("request ") && first.contains(" received; deadline "), "{out}");
    let retrying = line_index(&out, "accounts: retrying (");
    assert!(line_index(&out, "accounts: erased (records=2)") > retrying, "{out}");
    let running = line_index(&out, "billing: running (attempt 1)");
    assert!(line_index(&out, "billing: erased (records=1)") > running, "{out}");
    assert_eq!(out.lines().filter(|l| l.starts_with("billing: running")).count(), 1, "one line per change:\n{out}");
    assert!(out.contains("state      completed (generation 1)"), "the final state:\n{out}");
    assert!(!out.to_lowercase().contains("ivy@"), "the CLI never prints an identifier:\n{out}");
    assert_eq!(stack.sim.records("accounts", "ivy@example.com"), 0);
    worker.stop().await;
}

#[tokio::test]
async fn ops_cli_status_and_list_show_the_systems_and_json_on_request() {
    let stack = Stack::new().await;
    stack.sim.seed("accounts", "jo@example.com", 2);
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    let systems = [Instance { name: "accounts", extra: "" }, Instance { name: "billing", extra: "" }];
    let (worker, cli) = start(&stack, clock.clone(), &systems).await;
    let first = cli.submit("jo@example.com").await;
    clock.advance(chrono::Duration::seconds(1));
    let second = cli.submit("kim@example.com").await;
    stack.wait_for_state(first, "completed", Duration::from_secs(20)).await;
    stack.wait_for_state(second, "completed", Duration::from_secs(20)).await;

    let status = cli.ok(&["status", &first.to_string()]).await;
    assert!(status.starts_with(&format!("request    {first}\nstate      completed")), "{status}");
    let accounts = status.lines().find(|l| l.starts_with("accounts ")).expect("a line for accounts");
    assert!(accounts.contains("erased") && accounts.contains("1/") && accounts.contains("records=2"), "{status}");
    let billing = status.lines().find(|l| l.starts_with("billing ")).expect("a line for billing");
    assert!(billing.contains("nothing_to_erase"), "{status}");
    assert!(status.contains("TIMELINE") && status.contains("request.completed"), "{status}");
    assert!(!status.contains("jo@"), "{status}");

    let detail = cli.json(&["status", &first.to_string()]).await;
    assert_eq!(detail["state"], "completed");
    assert_eq!(detail["tasks"].as_array().unwrap().len(), 2);

    let list = cli.ok(&["list"]).await;
    assert!(list.starts_with("ID "), "{list}");
    assert!(list.contains(&first.to_string()) && list.contains(&second.to_string()), "{list}");
    let page = cli.json(&["list"]).await;
    let ids: Vec<&str> = page["requests"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [first.to_string(), second.to_string()]);

    let one = cli.run(Some(ONCALL), &["list", "--limit", "1"]).await;
    assert!(stdout(&one).contains(&first.to_string()) && !stdout(&one).contains(&second.to_string()));
    assert!(stderr(&one).contains("more requests: add --all"), "{one:?}");
    let all = cli.ok(&["list", "--limit", "1", "--all"]).await;
    assert!(all.contains(&first.to_string()) && all.contains(&second.to_string()), "{all}");
    let all = cli.json(&["list", "--limit", "1", "--all"]).await;
    assert_eq!(all["requests"].as_array().unwrap().len(), 2, "{all}");

    assert_eq!(cli.ok(&["list", "--state", "failed"]).await, "no request matches\n");
    assert_eq!(cli.json(&["list", "--overdue"]).await["requests"], serde_json::json!([]));
    assert_eq!(cli.json(&["list", "--due-before", "2000-01-01"]).await["requests"], serde_json::json!([]));
    assert_eq!(cli.json(&["list", "--connector", "billing"]).await["requests"].as_array().unwrap().len(), 2);

    let unknown = cli.run(Some(READER), &["status", &Uuid::new_v4().to_string()]).await;
    assert_eq!(unknown.status.code(), Some(2));
    assert_eq!(stderr(&unknown).trim(), "error: not found (HTTP 404, not_found)");
    worker.stop().await;
}

#[tokio::test]
async fn ops_cli_exempt_and_retry_after_failures_then_completed() {
    let stack = Stack::new().await;
    stack.sim.push_faults("accounts", [Fault::Status { status: 401, retry_after: None }]);
    stack.sim.push_faults("billing", [Fault::Status { status: 403, retry_after: None }]);
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    let systems = [Instance { name: "accounts", extra: "" }, Instance { name: "billing", extra: "" }];
    let (worker, cli) = start(&stack, clock.clone(), &systems).await;

    let failed = cli.run(Some(ONCALL), &["submit", "--email", "lea@example.com", "--wait"]).await;
    let out = stdout(&failed);
    assert_eq!(failed.status.code(), Some(1), "a failed request exits 1: {failed:?}");
    line_index(&out, "accounts: failed: ");
    line_index(&out, "billing: failed: ");
    assert!(out.contains("state      failed"), "{out}");
    let id: Uuid = stack.db().await.query_one("SELECT id FROM requests", &[]).await.unwrap().get(0);

    let legal = "invoices kept 10 years, GDPR art. 17(3)(b)";
    let exempt = cli.ok(&["exempt", &id.to_string(), "billing", "--reason", legal]).await;
    assert_eq!(exempt, format!("request {id}: billing is exempt\n"));
    let retry = cli.ok(&["retry", &id.to_string(), "--reason", "rotated the API token"]).await;
    assert_eq!(retry, format!("request {id}: its failed systems are pending again\n"));
    stack.wait_for_state(id, "completed", Duration::from_secs(20)).await;

    let status = cli.ok(&["status", &id.to_string()]).await;
    let billing = status.lines().find(|l| l.starts_with("billing ")).unwrap();
    assert!(billing.contains("exempt") && billing.contains(legal), "{status}");
    let events = stack.audit_events(id).await;
    assert!(events.iter().any(|(actor, event, detail)| actor == "api:oncall"
        && event == "request.retried"
        && detail["reason"] == "rotated the API token"));
    assert!(events.iter().any(|(actor, event, _)| actor == "api:oncall" && event == "task.exempt"));

    let again = cli.run(Some(ONCALL), &["retry", &id.to_string(), "--reason", "again"]).await;
    assert_eq!(again.status.code(), Some(2));
    assert_eq!(stderr(&again).trim(), "error: a completed request has no failed task to retry (HTTP 409, conflict)");
    worker.stop().await;
}

#[tokio::test]
async fn ops_cli_hold_release_then_cancel_a_request_being_waited_for() {
    let stack = Stack::new().await;
    stack.sim.push_faults("accounts", [Fault::Throttle { retry_after: Some(60) }]);
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    let (worker, cli) = start(&stack, clock.clone(), &[Instance { name: "accounts", extra: "" }]).await;

    let waiting = Running::spawn(cli.command(Some(ONCALL), &["submit", "--email", "max@example.com", "--wait"]));
    waiting.wait_for("accounts: retrying (accounts answered HTTP 429; next attempt at ", 1).await;
    let id: Uuid = stack.db().await.query_one("SELECT id FROM requests", &[]).await.unwrap().get(0);
    let id_arg = id.to_string();

    let held = cli.ok(&["hold", &id_arg, "--kind", "legal", "--reason", "litigation 42"]).await;
    assert_eq!(held, format!("request {id}: legal hold added\n"));
    waiting.wait_for("request: held (legal)", 1).await;
    cli.ok(&["hold", &id_arg, "--reason", "checking"]).await;
    waiting.wait_for("request: held (legal, operator)", 1).await;
    let twice = cli.run(Some(ONCALL), &["hold", &id_arg, "--kind", "legal", "--reason", "again"]).await;
    assert_eq!(twice.status.code(), Some(2));
    assert!(stderr(&twice).contains("the request already has a legal hold (HTTP 409, conflict)"), "{twice:?}");
    let status = cli.ok(&["status", &id_arg]).await;
    assert!(status.contains("legal by api:oncall since ") && status.contains(": litigation 42"), "{status}");
    assert!(status.contains("operator by api:oncall"), "{status}");
    let list = cli.ok(&["list"]).await;
    assert!(list.lines().any(|l| l.starts_with(&id_arg) && l.ends_with("legal,operator")), "{list}");

    let released = cli.ok(&["release", &id_arg, "--reason", "checked"]).await;
    assert_eq!(released, format!("request {id}: operator hold released\n"));
    waiting.wait_for("request: held (legal)", 2).await;
    cli.ok(&["release", &id_arg, "--kind", "legal", "--reason", "case closed"]).await;
    waiting.wait_for("request: every hold released", 1).await;
    let cancelled = cli.ok(&["cancel", &id_arg, "--reason", "the person changed their mind"]).await;
    assert_eq!(cancelled, format!("request {id}: cancelled\n"));

    let (code, out) = waiting.finish().await;
    assert_eq!(code, Some(1), "a cancelled request exits 1:\n{out}");
    assert!(out.contains("state      cancelled"), "{out}");
    assert_eq!(stack.request_state(id).await.as_deref(), Some("cancelled"));

    let again = cli.run(Some(ONCALL), &["cancel", &id_arg, "--reason", "again"]).await;
    assert_eq!(again.status.code(), Some(2));
    assert!(stderr(&again).contains("a cancelled request cannot be cancelled"), "{again:?}");
    let events: Vec<(String, String)> =
        stack.audit_events(id).await.into_iter().map(|(actor, event, _)| (actor, event)).collect();
    for (event, n) in [("request.held", 2), ("request.released", 2), ("request.cancelled", 1)] {
        assert_eq!(events.iter().filter(|(a, e)| a == "api:oncall" && e == event).count(), n, "{event}: {events:?}");
    }
    worker.stop().await;
}

#[tokio::test]
async fn ops_cli_a_missing_or_wrong_token_is_a_clear_error() {
    let stack = Stack::new().await;
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    let (worker, cli) = start(&stack, clock.clone(), &[Instance { name: "accounts", extra: "" }]).await;
    let id = Uuid::new_v4().to_string();

    let missing = cli.run(None, &["status", &id]).await;
    assert_eq!(missing.status.code(), Some(2));
    assert!(stderr(&missing).starts_with("error: ERASURE_API_TOKEN is not set"), "{missing:?}");

    let wrong = cli.run(Some("not-a-token"), &["list"]).await;
    assert_eq!(wrong.status.code(), Some(2));
    assert_eq!(
        stderr(&wrong).trim(),
        "error: a valid bearer token is required (HTTP 401, unauthenticated); check ERASURE_API_TOKEN"
    );
    assert!(stdout(&wrong).is_empty());

    let reader = cli.run(Some(READER), &["cancel", &id, "--reason", "x"]).await;
    assert_eq!(reader.status.code(), Some(2));
    assert_eq!(stderr(&reader).trim(), "error: this token lacks the `Operate` scope (HTTP 403, forbidden)");
    let submit = cli.run(Some(READER), &["submit", "--email", "ned@example.com"]).await;
    assert!(stderr(&submit).contains("lacks the `Submit` scope"), "{submit:?}");
    assert!(!stderr(&submit).contains("ned@"));

    let nowhere = Cli { api: "http://127.0.0.1:9".into() };
    let unreachable = nowhere.run(Some(ONCALL), &["list"]).await;
    assert_eq!(unreachable.status.code(), Some(2));
    assert!(stderr(&unreachable).starts_with("error: cannot reach the API at http://127.0.0.1:9: "), "{unreachable:?}");
    worker.stop().await;
}

#[tokio::test]
async fn ops_cli_extend_the_deadline_once() {
    let stack = Stack::new().await;
    stack.sim.push_faults("accounts", [Fault::Throttle { retry_after: Some(3600) }]);
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    let (worker, cli) = start(&stack, clock.clone(), &[Instance { name: "accounts", extra: "" }]).await;
    let id = cli.submit("oli@example.com").await;
    let before = cli.json(&["status", &id.to_string()]).await;
    let deadline: chrono::DateTime<chrono::Utc> = before["deadline_at"].as_str().unwrap().parse().unwrap();

    let args = ["extend", &id.to_string(), "--months", "2", "--reason", "many systems to search"];
    assert_eq!(cli.ok(&args).await, format!("request {id}: deadline extended by 2 months\n"));
    let after = cli.json(&["status", &id.to_string()]).await;
    let extended: chrono::DateTime<chrono::Utc> = after["deadline_at"].as_str().unwrap().parse().unwrap();
    assert_eq!(extended, deadline.checked_add_months(chrono::Months::new(2)).unwrap());
    let status = cli.ok(&["status", &id.to_string()]).await;
    assert!(status.contains(&format!("deadline   {} (extended on ", table_time(extended))), "{status}");

    let again = cli.run(Some(ONCALL), &args).await;
    assert_eq!(again.status.code(), Some(2));
    assert_eq!(stderr(&again).trim(), "error: the deadline was already extended once (HTTP 409, conflict)");
    let three = cli.run(Some(ONCALL), &["extend", &id.to_string(), "--months", "3", "--reason", "x"]).await;
    assert_eq!(three.status.code(), Some(2), "clap refuses more than two months");
    let events = stack.audit_events(id).await;
    assert!(events
        .iter()
        .any(|(actor, _, detail)| actor == "api:oncall" && detail["reason"] == "many systems to search"));
    worker.stop().await;
}

#[tokio::test]
async fn ops_cli_dead_letters_listed_without_bodies_and_replayed_after_a_fix() {
    let stack = Stack::new().await;
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    let (worker, cli) = start(&stack, clock.clone(), &[Instance { name: "accounts", extra: "" }]).await;
    let id = Uuid::new_v4();
    let mut body = request(id, "pia@example.com", clock.now());
    body["systems"] = serde_json::json!(["payroll"]);
    stack.publish(&bytes(&body), None).await;
    let letters = poll(Duration::from_secs(15), "the dead letter", || async {
        let list = cli.json(&["dlq", "list"]).await;
        list["dead_letters"].as_array().filter(|l| !l.is_empty()).cloned()
    })
    .await;
    let letter = letters[0]["id"].as_i64().unwrap().to_string();

    let table = cli.ok(&["dlq", "list"]).await;
    assert!(table.starts_with("ID "), "{table}");
    let row = table.lines().find(|l| l.starts_with(&format!("{letter} "))).expect("a row for the letter");
    assert!(row.contains("unknown_system") && row.contains(&id.to_string()), "{table}");
    assert!(!table.contains("pia@") && !table.contains("payroll"), "no body in the table:\n{table}");
    let reader = cli.run(Some(READER), &["dlq", "list"]).await;
    assert!(stdout(&reader).contains("unknown_system"), "{reader:?}");

    let refused = cli.run(Some(ONCALL), &["dlq", "replay", &letter]).await;
    assert_eq!(refused.status.code(), Some(2));
    assert!(stderr(&refused).contains("(HTTP 422, unknown_system)"), "{refused:?}");
    assert!(!stderr(&refused).contains("pia@"));
    worker.stop().await;

    // The fix: the system is configured now.
    let systems = [Instance { name: "accounts", extra: "" }, Instance { name: "payroll", extra: "" }];
    let (worker, cli) = start(&stack, clock.clone(), &systems).await;
    let replayed = cli.ok(&["dlq", "replay", &letter]).await;
    assert_eq!(replayed, format!("dead letter {letter} replayed: request {id} received\n"));
    stack.wait_for_state(id, "completed", Duration::from_secs(20)).await;
    let again = cli.run(Some(ONCALL), &["dlq", "replay", &letter]).await;
    assert_eq!(again.status.code(), Some(2));
    assert!(
        stderr(&again).contains("this dead letter was already replayed or discarded (HTTP 409, conflict)"),
        "{again:?}"
    );
    let listed = cli.ok(&["dlq", "list"]).await;
    let row = listed.lines().find(|l| l.starts_with(&format!("{letter} "))).unwrap();
    let day = format!(" {} ", clock.now().format("%Y-%m-%d"));
    assert_eq!(row.matches(&day).count(), 2, "dead-lettered and replayed times:\n{listed}");

    // A letter nobody will replay is discarded, with a reason; only once.
    stack.publish(b"{not json", None).await;
    let second = poll(Duration::from_secs(15), "the second dead letter", || async {
        let list = cli.json(&["dlq", "list"]).await;
        list["dead_letters"].as_array().and_then(|l| l.iter().find(|d| d["reason"] == "not_json")).cloned()
    })
    .await;
    let second = second["id"].as_i64().unwrap().to_string();
    let discarded = cli.ok(&["dlq", "discard", &second, "--reason", "a producer's test message"]).await;
    assert_eq!(discarded, format!("dead letter {second} discarded\n"));
    let again = cli.run(Some(ONCALL), &["dlq", "discard", &second, "--reason", "again"]).await;
    assert!(stderr(&again).contains("(HTTP 409, conflict)"), "{again:?}");
    let listed = cli.ok(&["dlq", "list"]).await;
    let row = listed.lines().find(|l| l.starts_with(&format!("{second} "))).unwrap();
    assert_eq!(row.matches(&day).count(), 2, "dead-lettered and discarded times:\n{listed}");
    worker.stop().await;
}

/// A time as the tables print it.
fn table_time(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%SZ").to_string()
}
