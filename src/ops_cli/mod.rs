//! The operators' commands (`erasure status|list|retry|cancel|hold|release|exempt|extend|dlq|submit|
//! receipt|suppressed`): a client of the HTTP API (`receipt verify` alone works offline), so every
//! action is checked against the token's scopes and audited under its name. Tables by default, the
//! API's JSON with `--json`.

mod client;
mod receipt;
mod submit;
mod table;

pub use client::{ClientError, TOKEN_ENV};

use crate::model::{HoldKind, RequestState};
use chrono::{DateTime, NaiveDate, Utc};
use clap::{Args, Subcommand};
use client::{Client, ListFilter};
use serde_json::Value;
use uuid::Uuid;

/// How a command ended: 0 done (`submit --wait`: completed), 1 the request failed or was
/// cancelled (`submit --wait`), 2 not done (the API refused, or could not be reached).
pub type ExitStatus = i32;

/// Where the API is, and how to print.
#[derive(Debug, Clone, Args)]
pub struct Output {
    /// The API's base URL.
    #[arg(long, env = "ERASURE_API_URL", default_value = "http://127.0.0.1:8080")]
    api: String,
    /// Print the API's JSON instead of a table.
    #[arg(long)]
    json: bool,
}

/// Why an action is taken: kept in the audit log with the token's name.
#[derive(Debug, Clone, Args)]
pub struct Reason {
    #[arg(long)]
    reason: String,
}

/// `--kind`: one of the hold kinds the model knows.
fn hold_kind() -> impl clap::builder::TypedValueParser<Value = HoldKind> {
    use clap::builder::TypedValueParser;
    clap::builder::PossibleValuesParser::new(HoldKind::ALL.map(HoldKind::as_str))
        .map(|kind| HoldKind::parse(&kind).expect("a listed kind"))
}

/// The operators' commands. The token is read from `ERASURE_API_TOKEN`.
#[derive(Debug, Subcommand)]
pub enum OpsCommand {
    /// Show one request: its state, each system's task, and its timeline (API, scope read).
    Status {
        id: Uuid,
        #[command(flatten)]
        out: Output,
    },
    /// List requests, oldest received first (API, scope read).
    List {
        /// received, in_progress, completed, failed, cancelled...
        #[arg(long)]
        state: Option<String>,
        /// Requests with a task on this connector instance.
        #[arg(long)]
        connector: Option<String>,
        /// Only requests past their legal deadline.
        #[arg(long)]
        overdue: bool,
        /// Unfinished requests due before this date (2026-12-01 or RFC 3339).
        #[arg(long, value_parser = parse_date)]
        due_before: Option<DateTime<Utc>>,
        /// Requests per page (at most 200).
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..=200))]
        limit: Option<u32>,
        /// Follow every page.
        #[arg(long, conflicts_with = "cursor")]
        all: bool,
        /// Start after this cursor (a previous page's next_cursor).
        #[arg(long)]
        cursor: Option<String>,
        #[command(flatten)]
        out: Output,
    },
    /// Put a request's failed systems back to pending, attempts reset (API, scope operate).
    Retry {
        id: Uuid,
        #[command(flatten)]
        reason: Reason,
        #[command(flatten)]
        out: Output,
    },
    /// Stop a request that has not settled; the product is told (API, scope operate).
    Cancel {
        id: Uuid,
        #[command(flatten)]
        reason: Reason,
        #[command(flatten)]
        out: Output,
    },
    /// Hold a request: nothing of it runs until every hold is released (API, scope operate).
    Hold {
        id: Uuid,
        #[command(flatten)]
        reason: Reason,
        #[arg(long, value_parser = hold_kind(), default_value_t)]
        kind: HoldKind,
        #[command(flatten)]
        out: Output,
    },
    /// Release one hold of a request (API, scope operate). A legal hold put by the legal hold
    /// list is refused: it goes only with its entry (`POST /v1/legal-holds/{id}/release`).
    Release {
        id: Uuid,
        #[command(flatten)]
        reason: Reason,
        #[arg(long, value_parser = hold_kind(), default_value_t)]
        kind: HoldKind,
        #[command(flatten)]
        out: Output,
    },
    /// Keep one system's data for a legal reason (GDPR art. 17(3)): its task becomes exempt
    /// (API, scope operate).
    Exempt {
        id: Uuid,
        system: String,
        #[command(flatten)]
        reason: Reason,
        #[command(flatten)]
        out: Output,
    },
    /// Extend a request's deadline by one or two months, once (GDPR art. 12(3)) (API, scope operate).
    Extend {
        id: Uuid,
        #[arg(long, value_parser = clap::value_parser!(u8).range(1..=2))]
        months: u8,
        #[command(flatten)]
        reason: Reason,
        #[command(flatten)]
        out: Output,
    },
    /// Print a settled request's signed receipt (API, scope read), or check one offline:
    /// `erasure receipt verify FILE --public-key KEY` (no API, no database).
    #[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
    Receipt {
        #[command(subcommand)]
        command: Option<ReceiptCommand>,
        #[arg(required = true)]
        id: Option<Uuid>,
        #[command(flatten)]
        out: Output,
    },
    /// Did this person ask to be erased? (API, scope suppression; audited.) Exit 0 when
    /// suppressed (do not re-create them), 1 when not.
    #[command(group(clap::ArgGroup::new("identifier").required(true).multiple(true).args(["email", "phone", "user_id"])))]
    Suppressed {
        #[arg(long)]
        email: Option<String>,
        #[arg(long)]
        phone: Option<String>,
        #[arg(long)]
        user_id: Option<String>,
        #[command(flatten)]
        out: Output,
    },
    /// Dead-lettered intake messages.
    Dlq {
        #[command(subcommand)]
        command: DlqCommand,
    },
    /// Submit an erasure request for a person (API, scope submit; `--wait` also needs read).
    #[command(group(clap::ArgGroup::new("identifier").required(true).multiple(true).args(["email", "phone", "user_id"])))]
    Submit {
        #[arg(long)]
        email: Vec<String>,
        /// E.164, e.g. +33612345678.
        #[arg(long)]
        phone: Vec<String>,
        #[arg(long)]
        user_id: Option<String>,
        /// Connector instances to erase from (default: every enabled one).
        #[arg(long)]
        system: Vec<String>,
        /// Language of the confirmation to the person (fr, en-GB...).
        #[arg(long)]
        locale: Option<String>,
        /// Follow the request until it is over; exit 0 if completed, 1 otherwise.
        #[arg(long)]
        wait: bool,
        #[command(flatten)]
        out: Output,
    },
}

#[derive(Debug, Subcommand)]
pub enum ReceiptCommand {
    /// Check a receipt's signature offline; exit 0 if it verifies, 1 if it does not.
    Verify {
        /// The receipt, as `erasure receipt <id>` printed it.
        file: std::path::PathBuf,
        /// The Ed25519 public key in base64url, or a file holding it or the JWK set of
        /// /.well-known/erasure-keys.
        #[arg(long)]
        public_key: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum DlqCommand {
    /// List dead letters, without their bodies (API, scope read).
    List {
        #[command(flatten)]
        out: Output,
    },
    /// Send a dead letter through intake again, its signature checked again (API, scope operate).
    Replay {
        id: i64,
        #[command(flatten)]
        out: Output,
    },
    /// Set a dead letter aside without replaying it; it stops counting in the alert (API, scope
    /// operate; audited with the reason).
    Discard {
        id: i64,
        #[command(flatten)]
        reason: Reason,
        #[command(flatten)]
        out: Output,
    },
}

/// Run one command; an error is printed as a sentence on stderr.
pub async fn run(command: OpsCommand) -> ExitStatus {
    match execute(command).await {
        Ok(status) => status,
        Err(error) => {
            eprintln!("error: {error}");
            2
        }
    }
}

async fn execute(command: OpsCommand) -> Result<ExitStatus, ClientError> {
    match command {
        OpsCommand::Status { id, out } => {
            let reply = connect(&out)?.request(id).await?;
            show(&out, &reply.json, || table::request(&reply.body));
        }
        OpsCommand::List { state, connector, overdue, due_before, limit, all, cursor, out } => {
            let filter = ListFilter { state, connector, overdue, due_before, limit };
            list(&connect(&out)?, &filter, cursor, all, &out).await?;
        }
        OpsCommand::Retry { id, reason, out } => {
            let reply = connect(&out)?.act(id, "retry", &reason.reason, None).await?;
            show(&out, &reply.json, || format!("request {id}: its failed systems are pending again\n"));
        }
        OpsCommand::Cancel { id, reason, out } => {
            let reply = connect(&out)?.act(id, "cancel", &reason.reason, None).await?;
            show(&out, &reply.json, || format!("request {id}: cancelled\n"));
        }
        OpsCommand::Hold { id, reason, kind, out } => {
            let reply = connect(&out)?.act(id, "hold", &reason.reason, Some(kind.as_str())).await?;
            show(&out, &reply.json, || format!("request {id}: {} hold added\n", kind.as_str()));
        }
        OpsCommand::Release { id, reason, kind, out } => {
            let reply = connect(&out)?.act(id, "release", &reason.reason, Some(kind.as_str())).await?;
            show(&out, &reply.json, || format!("request {id}: {} hold released\n", kind.as_str()));
        }
        OpsCommand::Exempt { id, system, reason, out } => {
            let reply = connect(&out)?.exempt(id, &system, &reason.reason).await?;
            show(&out, &reply.json, || format!("request {id}: {system} is exempt\n"));
        }
        OpsCommand::Extend { id, months, reason, out } => {
            let reply = connect(&out)?.extend(id, months, &reason.reason).await?;
            let unit = if months == 1 { "month" } else { "months" };
            show(&out, &reply.json, || format!("request {id}: deadline extended by {months} {unit}\n"));
        }
        OpsCommand::Receipt { command: Some(ReceiptCommand::Verify { file, public_key }), .. } => {
            return Ok(receipt::verify_file(&file, &public_key));
        }
        OpsCommand::Receipt { command: None, id, out } => {
            let id = id.expect("clap requires the id without a subcommand");
            let reply = connect(&out)?.receipt(id).await?;
            let json = serde_json::to_string_pretty(&reply.json).unwrap_or_else(|_| reply.json.to_string());
            let _ = std::io::Write::write_all(&mut std::io::stdout().lock(), format!("{json}\n").as_bytes());
        }
        OpsCommand::Dlq { command: DlqCommand::List { out } } => {
            let reply = connect(&out)?.dead_letters().await?;
            show(&out, &reply.json, || table::dead_letters(&reply.body.dead_letters));
        }
        OpsCommand::Dlq { command: DlqCommand::Replay { id, out } } => {
            let reply = connect(&out)?.replay(id).await?;
            let s = &reply.body;
            show(&out, &reply.json, || format!("dead letter {id} replayed: request {} {}\n", s.request_id, s.status));
        }
        OpsCommand::Dlq { command: DlqCommand::Discard { id, reason, out } } => {
            let reply = connect(&out)?.discard(id, &reason.reason).await?;
            show(&out, &reply.json, || format!("dead letter {id} {}\n", reply.body.status));
        }
        OpsCommand::Suppressed { email, phone, user_id, out } => {
            let query: Vec<(&str, String)> = [("email", email), ("phone", phone), ("user_id", user_id)]
                .into_iter()
                .filter_map(|(k, v)| v.map(|v| (k, v)))
                .collect();
            let reply = connect(&out)?.suppressed(&query).await?;
            let s = &reply.body;
            show(&out, &reply.json, || {
                let verdict = match (s.suppressed, s.erased) {
                    (true, true) => "suppressed: this person was erased",
                    (true, false) => "suppressed: this person asked to be erased",
                    (false, _) => "not suppressed",
                };
                let requests: Vec<String> =
                    s.requests.iter().map(|r| format!("  {} {}", r.request_id, r.state)).collect();
                format!("{verdict}\n{}", requests.iter().map(|l| format!("{l}\n")).collect::<String>())
            });
            return Ok(if s.suppressed { 0 } else { 1 });
        }
        OpsCommand::Submit { email, phone, user_id, system, locale, wait, out } => {
            let subject = submit::Subject { emails: email, phones: phone, user_id, systems: system, locale };
            return send(&out, &subject, wait).await;
        }
    }
    Ok(0)
}

async fn list(
    client: &Client,
    filter: &ListFilter,
    cursor: Option<String>,
    all: bool,
    out: &Output,
) -> Result<(), ClientError> {
    let first = client.list(filter, cursor.as_deref()).await?;
    if !all {
        show(out, &first.json, || table::requests(&first.body.requests));
        if let (false, Some(next)) = (out.json, &first.body.next_cursor) {
            eprintln!("more requests: add --all, or --cursor {next}");
        }
        return Ok(());
    }
    let (mut requests, mut json) = (Vec::new(), Vec::new());
    let mut page = first;
    loop {
        requests.extend(page.body.requests);
        json.extend(page.json["requests"].as_array().cloned().unwrap_or_default());
        let Some(next) = page.body.next_cursor else { break };
        page = client.list(filter, Some(&next)).await?;
    }
    // Every page in one answer, as if the API had given them at once.
    show(out, &serde_json::json!({ "requests": json }), || table::requests(&requests));
    Ok(())
}

async fn send(out: &Output, subject: &submit::Subject, wait: bool) -> Result<ExitStatus, ClientError> {
    let client = connect(out)?;
    let message = submit::message(subject, Uuid::new_v4(), Utc::now());
    let sent = client.submit(&message).await?;
    let id = sent.body.request_id;
    let deadline = sent.body.deadline_at.map(|d| format!("; deadline {}", table::time(d))).unwrap_or_default();
    let accepted = format!("request {id} {}{deadline}", sent.body.status);
    if !wait {
        show(out, &sent.json, || format!("{accepted}\n"));
        return Ok(0);
    }
    // With --json, stdout holds only the final JSON; progress goes to stderr.
    let say = |line: &str| match out.json {
        true => eprintln!("{line}"),
        false => println!("{line}"),
    };
    say(&accepted);
    let last = submit::follow(&client, id, say).await?;
    show(out, &last.json, || format!("\n{}", table::request(&last.body)));
    Ok(if RequestState::parse(&last.body.request.state).is_some_and(RequestState::is_success) { 0 } else { 1 })
}

fn connect(out: &Output) -> Result<Client, ClientError> {
    Client::new(&out.api, std::env::var(TOKEN_ENV).ok())
}

fn show(out: &Output, json: &Value, table: impl FnOnce() -> String) {
    let text = match out.json {
        true => format!("{}\n", serde_json::to_string_pretty(json).unwrap_or_else(|_| json.to_string())),
        false => table(),
    };
    // A closed pipe (`erasure list | head`) is not an error worth a panic.
    let _ = std::io::Write::write_all(&mut std::io::stdout().lock(), text.as_bytes());
}

/// `2026-12-01` (midnight UTC) or an RFC 3339 time.
fn parse_date(text: &str) -> Result<DateTime<Utc>, String> {
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Ok(at.with_timezone(&Utc));
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map(|d| d.and_hms_opt(0, 0, 0).expect("midnight exists").and_utc())
        .map_err(|_| "expected a date like 2026-12-01 or an RFC 3339 time".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(clap::Parser)]
    struct Cli {
        #[command(subcommand)]
        command: OpsCommand,
    }

    #[test]
    fn receipt_takes_an_id_or_the_verify_subcommand() {
        use clap::Parser;
        let id = "5b0c1f9e-8a7d-4c1e-9f3a-2b6d8e0a1c4f";
        let printed = Cli::try_parse_from(["erasure", "receipt", id]).unwrap();
        assert!(matches!(printed.command, OpsCommand::Receipt { command: None, id: Some(_), .. }));
        let verify = Cli::try_parse_from(["erasure", "receipt", "verify", "r.json", "--public-key", "k"]).unwrap();
        assert!(matches!(
            verify.command,
            OpsCommand::Receipt { command: Some(ReceiptCommand::Verify { ref public_key, .. }), id: None, .. } if public_key == "k"
        ));
        assert!(Cli::try_parse_from(["erasure", "receipt"]).is_err(), "an id or verify is needed");
        assert!(Cli::try_parse_from(["erasure", "receipt", "verify", "r.json"]).is_err(), "--public-key is needed");
    }

    #[test]
    fn dates_are_days_or_rfc3339() {
        assert_eq!(parse_date("2026-12-01").unwrap().to_rfc3339(), "2026-12-01T00:00:00+00:00");
        assert_eq!(parse_date("2026-12-01T10:00:00+01:00").unwrap().to_rfc3339(), "2026-12-01T09:00:00+00:00");
        assert!(parse_date("tomorrow").is_err());
    }
}
