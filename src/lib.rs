//! erasure-worker: turns one "delete my account" event into a tracked, proven erasure across
//! every system that holds the person's data. ARCHITECTURE.md is the map; in short:
//!
//! - `intake`: RabbitMQ consumer; `intake::admit` (signature, decode, validate, commit) -> ack,
//!   or dead-letter. The HTTP submission and dead-letter replay admit through it too.
//! - `runner`: claims due tasks, calls connectors (`registry`), records outcomes (`runner::transition`).
//! - `outbox`: publishes committed events with publisher confirms.
//! - `mail`: sends the messages to the person over SMTP (when `[mail] enabled`).
//! - `store`: every SQL statement and the migrations. `model`: states and their rules; `events`:
//!   the events we publish. No I/O in either.
//! - `poll`: the one claim/wait/stop loop of the runner, the relay and the mail sender; `retry`:
//!   the one retry policy (durable delays, and `backon` for in-process retries).
//! - `rehash`: `erasure rehash`, identifier hashes recomputed after the normalisation changed.
//! - `liveness`: the loops' heartbeats that `/readyz` reads.
//! - `scaffold`: `erasure connector new NAME`, a new connector crate from `connectors/template/`.
//! - `config`, `app`, `clock`, `identity` (keyed hashes), `amqp`, `listen`, `shutdown`: plumbing.

pub mod amqp;
pub mod api;
pub mod app;
pub mod audit;
pub mod clock;
pub mod config;
pub mod connector_cli;
pub mod events;
pub mod identity;
pub mod intake;
pub mod keys;
pub mod listen;
pub mod liveness;
pub mod mail;
pub mod metrics;
pub mod model;
pub mod ops_cli;
pub mod outbox;
pub mod poll;
pub mod readiness;
pub mod receipt;
pub mod registry;
pub mod rehash;
pub mod retry;
pub mod runner;
pub mod scaffold;
pub mod shutdown;
pub mod store;
pub mod telemetry;
pub mod tls;
pub mod vault;

use app::App;
use clock::Clock;
use config::Settings;
use shutdown::Shutdown;
use std::sync::Arc;
use std::time::Duration;

/// The loops a process runs; each scales on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Components {
    pub intake: bool,
    pub runner: bool,
    pub outbox: bool,
    pub api: bool,
    /// Runs only when `[mail] enabled = true`.
    pub mail: bool,
}

impl Components {
    pub const ALL: Components = Components { intake: true, runner: true, outbox: true, api: true, mail: true };
    pub const NONE: Components = Components { intake: false, runner: false, outbox: false, api: false, mail: false };

    /// Parse `intake,runner,outbox,api,mail` (any subset).
    pub fn parse(list: &str) -> Result<Components, String> {
        let mut c = Components::NONE;
        for part in list.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            match part {
                "intake" => c.intake = true,
                "runner" => c.runner = true,
                "outbox" => c.outbox = true,
                "api" => c.api = true,
                "mail" => c.mail = true,
                other => {
                    return Err(format!("unknown component `{other}`; use intake, runner, outbox, api and/or mail"))
                }
            }
        }
        Ok(c)
    }
}

/// Migrate, then run the chosen loops until `shutdown` is triggered and they have drained.
pub async fn run(
    settings: Settings,
    clock: Arc<dyn Clock>,
    components: Components,
    shutdown: Shutdown,
) -> anyhow::Result<()> {
    use anyhow::Context;
    let mut app = App::new(settings, clock)?;
    let instances = registry::build(&app.settings, &app.store)?;
    app.store = app.store.with_system_labels(registry::labels(&instances));
    let tokens = std::sync::Arc::new(api::Tokens::from_settings(&app.settings.api)?);
    let mail = match components.mail && app.settings.mail.enabled {
        true => Some(mail::Sender::from_settings(&app.settings)?),
        false => None,
    };
    let app = Arc::new(app);
    let instances = Arc::new(instances);
    let mut loops = tokio::task::JoinSet::new();
    // Not ready until every loop of this process runs; the probes answer from the start (a long
    // migration is not a dead process).
    for (runs, name) in [
        (components.intake, "intake"),
        (components.runner, "runner"),
        (components.outbox, "outbox"),
        (mail.is_some(), "mail"),
    ] {
        if runs {
            app.liveness.expect(name);
        }
    }
    metrics::install();
    metrics::register_known(&app.settings);
    loops.spawn(metrics::upkeep(shutdown.clone()));
    match app.settings.probes.listen.clone() {
        Some(listen) => {
            loops.spawn(api::probes::run(app.clone(), listen, shutdown.clone()));
        }
        None if !components.api => {
            tracing::warn!(
                "This process serves no /readyz or /metrics: set probes.listen (README, \"Probes and metrics\")."
            )
        }
        None => {}
    }
    let migrated = connect_and_migrate(&app, &shutdown).await.context("could not migrate the database")?;
    tracing::info!(migrations = migrated, "Database schema is up to date.");
    if app.hasher.key_ids().len() == 1 {
        let (requests, legal_holds) = app
            .store
            .attribute_unrecorded_hashes(app.hasher.key_id())
            .await
            .context("could not record the hash key of older hashes")?;
        if requests + legal_holds > 0 {
            tracing::info!(requests, legal_holds, "Hashes stored before key ids attributed to the hash key.");
        }
    }
    app.store.set_mail_enabled(app.settings.mail.enabled).await.context("could not record the mail setting")?;

    if components.intake {
        loops.spawn(intake::run(app.clone(), shutdown.clone()));
    }
    if components.runner {
        loops.spawn(runner::run(app.clone(), instances.clone(), shutdown.clone()));
    }
    if components.outbox {
        loops.spawn(outbox::run(app.clone(), shutdown.clone()));
    }
    if let Some(sender) = mail {
        loops.spawn(mail::run(app.clone(), sender, shutdown.clone()));
    }
    if components.api {
        loops.spawn(api::run(app.clone(), tokens, shutdown.clone()));
    }
    while let Some(result) = loops.join_next().await {
        if let Err(error) = result {
            shutdown.trigger();
            anyhow::bail!("a worker loop crashed: {error}");
        }
    }
    Ok(())
}

/// Migrations, retried while the database is still starting (200 ms, doubling up to 5 s, 20
/// times), unless shutdown comes first.
async fn connect_and_migrate(app: &App, shutdown: &Shutdown) -> Result<usize, store::StoreError> {
    use backon::Retryable;
    let backoff = retry::while_unavailable(Duration::from_millis(200), Duration::from_secs(5), Some(20));
    (|| app.store.migrate())
        .retry(backoff)
        .when(|_| !shutdown.is_triggered())
        .notify(|error, _| tracing::warn!(%error, "Database not ready; retrying."))
        .await
}

/// The connector guide's Rust samples (`connectors/README.md`), compiled by `cargo test --doc
/// -p erasure-worker`: this crate has every dependency they use (the SDK, the connectors, the
/// simulator).
#[cfg(doctest)]
#[doc = include_str!("../connectors/README.md")]
pub struct ConnectorGuide;
