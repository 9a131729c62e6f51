//! `erasure`: the worker binary. Parse the command line, load config, init tracing, run.

use anyhow::Context;
use clap::{Parser, Subcommand};
use erasure_worker::clock::SystemClock;
use erasure_worker::config::{LogFormat, Settings};
use erasure_worker::shutdown::Shutdown;
use erasure_worker::telemetry::{self, Telemetry};
use erasure_worker::{registry, Components};
use std::path::PathBuf;
use std::sync::Arc;

/// glibc's allocator was a sixth of the worker's CPU while draining a backlog (`perf`: malloc,
/// free and their chunk consolidation); mimalloc's per-thread pages cost a fraction of that.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(name = "erasure", version, about = "Turns \"delete my account\" events into proven erasures.")]
struct Cli {
    /// Environment config file layered over the built-in defaults (e.g. config/local.toml).
    #[arg(long, short, global = true, env = "ERASURE_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the worker: intake, runner, outbox relay, HTTP API and mail sender (or `--only` some of them).
    Run {
        /// Comma-separated subset of intake, runner, outbox, api, mail (mail runs only when `[mail] enabled`).
        #[arg(long, default_value = "intake,runner,outbox,api,mail")]
        only: String,
    },
    /// Apply database migrations and exit (needs only the `[database]` settings and password).
    Migrate,
    /// Recompute requests' identifier hashes from their stored subjects after an upgrade that
    /// changed the normalisation (README, "Upgrading") or a hash key rotation, under every live hash
    /// key; safe to run again. Prints counts only.
    Rehash {
        /// Requests read and written per transaction.
        #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(i64).range(1..=10_000))]
        batch_size: i64,
    },
    /// The data keys that encrypt identifiers at rest, and the hash keys of identifiers.
    Keys {
        #[command(subcommand)]
        action: KeysCommand,
    },
    /// Load and check the configuration (secrets included), print a summary, exit.
    CheckConfig,
    /// About the configuration itself (reads none).
    Config {
        #[command(subcommand)]
        action: ConfigCommand,
    },
    /// The tamper-evident audit log (reads the database directly).
    Audit {
        #[command(subcommand)]
        action: AuditCommand,
    },
    /// Run one connector instance by hand, to debug an integration.
    Connector {
        #[command(subcommand)]
        action: ConnectorCommand,
    },
    #[command(flatten)]
    Ops(erasure_worker::ops_cli::OpsCommand),
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Print every configuration key with its type, default and meaning, as Markdown
    /// (docs/configuration.md is this output).
    Reference,
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Recompute the audit log's hash chains (every request's and the operator chain, or one
    /// request's) and report the first break of each by row id; exit 1 if any is broken.
    Verify {
        /// A request id (the nil UUID for the operator chain); every chain when absent.
        id: Option<uuid::Uuid>,
    },
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Re-seal every value sealed with an older data key (and any still in clear from before
    /// encryption) with the first key of `[encryption] keys_env`; safe to run again.
    Rotate {
        /// Rows re-sealed per transaction.
        #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(i64).range(1..=10_000))]
        batch_size: i64,
    },
    /// What depends on each hash key (`[security] hash_key_env` and `retired_hash_keys_env`), and
    /// whether a retired key can leave the list; key ids and counts only.
    Hashes,
}

#[derive(Subcommand)]
enum ConnectorCommand {
    /// Create a Rust connector crate for a new kind NAME in this repository (connectors/NAME, its
    /// simulator stub sim/src/NAME) and register it. Reads no configuration.
    New { name: String },
    /// Call the instance's healthcheck (credentials, reachability); a kind without one says
    /// `not checked` and exits 1.
    Check { instance: String },
    /// Erase one subject from one instance and print the outcome and its evidence.
    Erase {
        instance: String,
        #[arg(long)]
        email: Vec<String>,
        #[arg(long)]
        phone: Vec<String>,
        #[arg(long)]
        user_id: Option<String>,
        /// The subject's id in this system.
        #[arg(long)]
        id: Option<String>,
        /// Look up only: say what would be erased, erase nothing.
        #[arg(long)]
        dry_run: bool,
        /// Follow an accepted (pending) erasure for this many seconds.
        #[arg(long, default_value_t = 120)]
        wait: u64,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let command = match cli.command {
        // The operators' commands talk to the API: no config, no database.
        Command::Ops(ops) => std::process::exit(erasure_worker::ops_cli::run(ops).await),
        Command::Connector { action: ConnectorCommand::New { name } } => {
            let root = erasure_worker::scaffold::find_repository(&std::env::current_dir()?)?;
            let done = erasure_worker::scaffold::new_connector(&root, &name, registry::KINDS)?;
            print!("{}", done.report(&name));
            return Ok(());
        }
        Command::Config { action: ConfigCommand::Reference } => {
            print!("{}", erasure_worker::config::reference::markdown());
            return Ok(());
        }
        command => command,
    };
    let settings = Settings::load(cli.config.as_deref()).map_err(|e| anyhow::anyhow!("{e}"))?;
    let telemetry = init_tracing(&settings)?;
    match command {
        Command::Run { only } => {
            let components = Components::parse(&only).map_err(anyhow::Error::msg)?;
            let shutdown = Shutdown::default();
            tokio::spawn(on_signal(shutdown.clone()));
            let result = erasure_worker::run(settings, Arc::new(SystemClock), components, shutdown).await;
            // The exporter's last batch is sent from its own thread, which may block.
            let _ = tokio::task::spawn_blocking(move || telemetry.shutdown()).await;
            result
        }
        Command::Migrate => {
            // The database settings alone: a migration Job holds no hash, data, signing or
            // connector secrets.
            let error = |e: erasure_worker::config::ConfigError| anyhow::anyhow!("{e}");
            let tls = settings.database_tls().map_err(error)?;
            let store = erasure_worker::store::Store::connect(&settings.database_url().map_err(error)?, 1, &tls)?
                .with_direct_url(settings.database_direct_url().map_err(error)?, &tls);
            let n = store.migrate().await.context("could not migrate the database")?;
            println!("applied {n} migration(s)");
            Ok(())
        }
        Command::Rehash { batch_size } => {
            let app = erasure_worker::app::App::new(settings, Arc::new(SystemClock))?;
            let report = erasure_worker::rehash::run(&app, batch_size).await.context("could not rehash")?;
            for line in report.lines() {
                println!("{line}");
            }
            Ok(())
        }
        Command::Audit { action: AuditCommand::Verify { id } } => {
            let url = settings.database_url().map_err(|e| anyhow::anyhow!("{e}"))?;
            let tls = settings.database_tls().map_err(|e| anyhow::anyhow!("{e}"))?;
            let store = erasure_worker::store::Store::connect(&url, 2, &tls)?;
            let report =
                erasure_worker::audit::verify::run(&store, id).await.context("could not read the audit log")?;
            for line in report.lines() {
                println!("{line}");
            }
            if !report.breaks.is_empty() {
                std::process::exit(1);
            }
            Ok(())
        }
        Command::Keys { action: KeysCommand::Rotate { batch_size } } => {
            let app = erasure_worker::app::App::new(settings, Arc::new(SystemClock))?;
            let report =
                erasure_worker::keys::rotate(&app, batch_size).await.context("could not rotate the data keys")?;
            println!("{}", report.lines(app.store.current_data_key().unwrap_or("?")));
            Ok(())
        }
        Command::Keys { action: KeysCommand::Hashes } => {
            let app = erasure_worker::app::App::new(settings, Arc::new(SystemClock))?;
            let lines =
                erasure_worker::keys::hash_key_lines(&app).await.context("could not read the hash keys in use")?;
            for line in lines {
                println!("{line}");
            }
            Ok(())
        }
        Command::Connector { action: ConnectorCommand::Check { instance } } => {
            erasure_worker::connector_cli::check(&settings, &instance).await
        }
        Command::Connector {
            action: ConnectorCommand::Erase { instance, email, phone, user_id, id, dry_run, wait },
        } => {
            let ids = id.map(|id| [(instance.clone(), id)].into_iter().collect()).unwrap_or_default();
            let subject = erasure_connector::subject::RawSubject { user_id, emails: email, phones: phone, ids };
            let args = erasure_worker::connector_cli::EraseArgs {
                subject,
                dry_run,
                wait: std::time::Duration::from_secs(wait),
            };
            let status = erasure_worker::connector_cli::erase(&settings, &instance, args).await?;
            std::process::exit(status);
        }
        Command::CheckConfig => {
            let app = erasure_worker::app::App::new(settings, Arc::new(SystemClock))?;
            let instances = registry::build(&app.settings, &app.store)?;
            println!("configuration is valid: {} connector instance(s)", instances.len());
            let labels = registry::labels(&instances);
            for (name, c) in &app.settings.connectors {
                let rate = c.requests_per_second.map(|r| format!("{r}/s")).unwrap_or_else(|| "unlimited".into());
                let state = if c.enabled { "enabled" } else { "disabled" };
                // What the e-mail to the person calls the system, when the instance names it.
                let label = labels.get(name).map(|l| format!(" label=\"{}\" / \"{}\"", l.en, l.fr)).unwrap_or_default();
                println!(
                    "  {name:<20} kind={:<10} {state:<8} rate={rate} concurrency={}{label}",
                    c.kind, c.concurrency
                );
            }
            // Valid but weaker than production needs: said, never fatal.
            for warning in app.settings.warnings() {
                eprintln!("{warning}");
            }
            Ok(())
        }
        Command::Ops(_) | Command::Config { .. } | Command::Connector { action: ConnectorCommand::New { .. } } => {
            unreachable!("these commands return above")
        }
    }
}

/// Logs to stderr, and traces to the OTLP collector when `[telemetry]` names one.
fn init_tracing(settings: &Settings) -> anyhow::Result<Telemetry> {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(&settings.log.level))
        // lapin logs a returned message with its body, which can hold personal data; the outbox
        // and intake report returns themselves, without it.
        .add_directive("lapin::returned_messages=off".parse().expect("a valid directive"));
    let (traces, telemetry) = telemetry::layer(&settings.telemetry).map_err(anyhow::Error::msg)?;
    use std::io::IsTerminal;
    let registry = tracing_subscriber::registry().with(filter).with(traces);
    let fmt = tracing_subscriber::fmt::layer().with_writer(std::io::stderr).with_ansi(std::io::stderr().is_terminal());
    match settings.log.format {
        LogFormat::Json => registry.with(fmt.json().flatten_event(true)).init(),
        LogFormat::Text => registry.with(fmt).init(),
    }
    Ok(telemetry)
}

/// SIGTERM or SIGINT: stop claiming, drain, release, exit.
async fn on_signal(shutdown: Shutdown) {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).expect("can listen for SIGTERM");
    let mut int = signal(SignalKind::interrupt()).expect("can listen for SIGINT");
    tokio::select! {
        _ = term.recv() => tracing::info!("SIGTERM received; shutting down."),
        _ = int.recv() => tracing::info!("SIGINT received; shutting down."),
    }
    shutdown.trigger();
}
