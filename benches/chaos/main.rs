//! The chaos soak: a steady stream of signed requests through the whole stack (a RabbitMQ cluster,
//! PostgreSQL, worker processes, the vendor simulator) while workers are SIGKILLed, RabbitMQ nodes
//! and the whole cluster restart, PostgreSQL crashes, a vendor fails for a while and one connector
//! falls behind its rate limit. Then it checks, from the database, the broker and the simulator's
//! own records, that nothing was lost, and prints the figures.
//!
//! Run with `scripts/chaos [short|long] [--minutes M] [--rate R] [--outage-seconds S] [--seed N]`;
//! it starts the servers. Exits non-zero if any check fails.

#[path = "../../tests/e2e/support.rs"]
#[allow(dead_code)]
mod support;

mod plan;
mod producer;
mod verify;

use erasure_sim::Sim;
use lapin::options::{QueueBindOptions, QueueDeclareOptions};
use lapin::types::{AMQPValue, FieldTable};
use plan::Fault;
use producer::{Publisher, Sent};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use support::{Instance, Process, Stack};
use uuid::Uuid;

/// The systems every request goes to. `billing` is rate-limited to 60% of the arrival rate, so its
/// backlog grows; `support` answers asynchronously; `helpdesk` (Zendesk) has the outage.
const WEBHOOK_SYSTEMS: [&str; 3] = ["accounts", "billing", "support"];
const VENDOR_SYSTEM: &str = "helpdesk";
const ZENDESK_TOKEN_ENV: &str = "ERASURE_CHAOS_ZENDESK_TOKEN";
const SIGNING_KEY_ENV: &str = "ERASURE_CHAOS_SIGNING_KEY";
/// One message in this many is invalid.
const INVALID_EVERY: u64 = 40;

pub struct Options {
    pub load: Duration,
    pub rate: f64,
    pub outage: Duration,
    pub seed: u64,
    pub workers: usize,
    pub settle: Duration,
}

impl Options {
    fn parse() -> Options {
        let mut o = Options {
            load: Duration::from_secs(150),
            rate: 8.0,
            outage: Duration::from_secs(12),
            seed: rand::random::<u16>().into(),
            workers: 2,
            settle: Duration::from_secs(600),
        };
        let args: Vec<String> = std::env::args().skip(1).filter(|a| a != "--bench").collect();
        let mut i = 0;
        while i < args.len() {
            let value = |i: usize| -> f64 {
                args.get(i + 1).and_then(|v| v.parse().ok()).unwrap_or_else(|| panic!("{} needs a number", args[i]))
            };
            match args[i].as_str() {
                "short" => {}
                "long" => {
                    o.load = Duration::from_secs(20 * 60);
                    o.outage = Duration::from_secs(60);
                    o.settle = o.load + Duration::from_secs(600);
                }
                "--minutes" => {
                    o.load = Duration::from_secs_f64(value(i) * 60.0);
                    o.settle = o.load + Duration::from_secs(600);
                    i += 1;
                }
                "--rate" => {
                    o.rate = value(i);
                    i += 1;
                }
                "--outage-seconds" => {
                    o.outage = Duration::from_secs_f64(value(i));
                    i += 1;
                }
                "--seed" => {
                    o.seed = value(i) as u64;
                    i += 1;
                }
                "--workers" => {
                    o.workers = value(i) as usize;
                    i += 1;
                }
                other => panic!("unknown argument {other}: short | long | --minutes M | --rate R | --outage-seconds S | --seed N | --workers W"),
            }
            i += 1;
        }
        o
    }
}

#[tokio::main]
async fn main() {
    let options = Options::parse();
    let urls: Vec<String> = std::env::var("ERASURE_TEST_AMQP_URLS")
        .expect("ERASURE_TEST_AMQP_URLS is not set: run scripts/chaos, which starts the servers")
        .split_whitespace()
        .map(str::to_string)
        .collect();
    let stack_dir = PathBuf::from(std::env::var("STACK_DIR").expect("STACK_DIR is set by scripts/stack.sh"));
    // SAFETY: set before any other thread starts.
    unsafe {
        std::env::set_var(ZENDESK_TOKEN_ENV, Sim::ZENDESK_TOKEN);
        std::env::set_var(SIGNING_KEY_ENV, producer::SIGNING_KEY);
    }

    let stack = Stack::new().await;
    stack.sim.set_async("support", Some(Duration::from_secs(1)));
    // The soak's Zendesk account deletes more than 700 users per 10 minutes.
    stack.sim.zendesk().set_user_deletion_limit(1_000_000, Duration::from_secs(600));
    let config = config_file(&stack, &urls, &options);
    let settings = erasure_worker::config::Settings::load_with_env(Some(&config), Default::default()).unwrap();
    stack.declare_queues(&settings).await;
    let events_queue = declare_events_queue(&stack).await;

    let fault_plan = plan::plan(options.load, options.outage, options.workers, options.seed);
    println!(
        "chaos: {:.0} s of load at {} requests/s over {} RabbitMQ nodes, {} workers, seed {}; {} faults planned",
        options.load.as_secs_f64(),
        options.rate,
        urls.len(),
        options.workers,
        options.seed,
        fault_plan.iter().filter(|(_, f)| f.is_injection()).count()
    );

    let env = [(ZENDESK_TOKEN_ENV, Sim::ZENDESK_TOKEN), (SIGNING_KEY_ENV, producer::SIGNING_KEY)];
    let log = |i: usize| stack.dir.join(format!("worker-{i}.log"));
    let mut workers: Vec<Option<Process>> =
        (0..options.workers).map(|i| Some(Process::start_with_env(&config, &log(i), &env))).collect();

    let started = Instant::now();
    let sent = Arc::new(Mutex::new(Sent::default()));
    let producer = tokio::spawn(produce(
        stack.sim.clone(),
        urls.clone(),
        stack.requests_queue(),
        options.rate,
        options.load,
        sent.clone(),
    ));

    let mut injected = Vec::new();
    let mut peak = verify::Peak::default();
    for (at, fault) in &fault_plan {
        peak.watch_until(&stack, started, started + *at).await;
        println!("  {:>6.1} s  {}", started.elapsed().as_secs_f64(), fault.describe());
        inject(fault, &stack, &stack_dir, &mut workers, &config, &log, &env).await;
        if fault.is_injection() {
            injected.push(fault.clone());
        }
    }
    while !producer.is_finished() {
        peak.watch_until(&stack, started, Instant::now() + Duration::from_secs(1)).await;
    }
    producer.await.expect("the producer");
    let load_ended = started.elapsed();
    let backlog = verify::backlog(&stack).await;
    println!("  {:>6.1} s  load ends; tasks not yet done: {}", load_ended.as_secs_f64(), verify::show(&backlog));

    let sent = std::mem::take(&mut *sent.lock().unwrap());
    verify::wait_settled(&stack, &sent, options.settle, started).await;
    let settled = started.elapsed();
    for worker in workers.into_iter().flatten() {
        let status = worker.terminate(Duration::from_secs(30)).await;
        assert!(status.success(), "a worker exited with {status} after SIGTERM");
    }

    let report = verify::check(&stack, &sent, &events_queue, &backlog, &peak).await;
    println!("chaos results (seed {}):", options.seed);
    println!(
        "  requests sent        {} valid + {} invalid, {} publications repeated after a broker fault",
        sent.requests.len(),
        sent.invalid.len(),
        sent.republished
    );
    println!("  faults injected      {} ({})", injected.len(), count_faults(&injected));
    println!("  load / settled       {:.0} s / {:.0} s", load_ended.as_secs_f64(), settled.as_secs_f64());
    report.print();
    if !report.failures.is_empty() {
        eprintln!("chaos: {} check(s) failed; worker logs in {}", report.failures.len(), stack.dir.display());
        for failure in &report.failures {
            eprintln!("  FAILED: {failure}");
        }
        std::process::exit(1);
    }
    println!("chaos: every check passed; requests lost: 0");
    let _ = std::fs::remove_dir_all(&stack.dir);
}

async fn produce(sim: Sim, urls: Vec<String>, queue: String, rate: f64, load: Duration, sent: Arc<Mutex<Sent>>) {
    let mut publisher = Publisher::new(urls);
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / rate));
    let end = Instant::now() + load;
    let mut n = 0u64;
    while Instant::now() < end {
        tick.tick().await;
        n += 1;
        if n % INVALID_EVERY == 0 {
            let (message, reason, request_id) = producer::invalid(n / INVALID_EVERY);
            let retries = publisher.publish(&queue, &message).await;
            let mut sent = sent.lock().unwrap();
            sent.invalid.push((message.message_id, reason));
            sent.rejected_ids.extend(request_id);
            sent.republished += retries;
            continue;
        }
        let id = Uuid::new_v4();
        let email = format!("chaos{n}@example.com");
        for system in WEBHOOK_SYSTEMS {
            sim.seed(system, &email, 2);
        }
        let user = sim.zendesk().user(Some(&email), None);
        sim.zendesk().ticket(user, "Please close my account.");
        let retries = publisher.publish(&queue, &producer::request(id, &email)).await;
        let mut sent = sent.lock().unwrap();
        sent.requests.push((id, email));
        sent.republished += retries;
    }
}

#[allow(clippy::too_many_arguments)]
async fn inject(
    fault: &Fault,
    stack: &Stack,
    stack_dir: &Path,
    workers: &mut [Option<Process>],
    config: &Path,
    log: &dyn Fn(usize) -> PathBuf,
    env: &[(&str, &str)],
) {
    match fault {
        Fault::KillWorker { worker, down } => {
            let i = *worker % workers.len();
            if let Some(victim) = workers[i].take() {
                victim.kill().await;
            }
            tokio::time::sleep(*down).await;
            workers[i] = Some(Process::start_with_env(config, &log(i), env));
        }
        Fault::StopFirstNode => stack_ctl(stack_dir, &["rabbit-stop", "0"]).await,
        Fault::StartFirstNode => stack_ctl(stack_dir, &["rabbit-start", "0"]).await,
        Fault::RestartCluster => stack_ctl(stack_dir, &["rabbit-restart-all"]).await,
        Fault::CrashPostgres => stack_ctl(stack_dir, &["pg-restart", "immediate"]).await,
        Fault::Vendor(fault) => stack.sim.set_outage("zendesk", fault.clone()),
    }
}

async fn stack_ctl(stack_dir: &Path, args: &[&str]) {
    let started = Instant::now();
    let status = tokio::process::Command::new("bash")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/stack-ctl"))
        .arg(stack_dir)
        .args(args)
        .stdin(std::process::Stdio::null())
        .status()
        .await
        .expect("run scripts/stack-ctl");
    assert!(status.success(), "scripts/stack-ctl {} failed ({status})", args.join(" "));
    println!("            ({} took {:.1} s)", args[0], started.elapsed().as_secs_f64());
}

/// The soak's config: every node's URL, signed intake, the brake above the load, short leases
/// (a killed worker's tasks are rescued within seconds) and retries that outlast the outage.
fn config_file(stack: &Stack, urls: &[String], options: &Options) -> PathBuf {
    let urls = urls.iter().map(|u| format!("\"{u}\"")).collect::<Vec<_>>().join(", ");
    let billing = format!("concurrency = 4\nrequests_per_second = {}", (options.rate * 0.6).max(1.0));
    let extra = format!(
        "[amqp]\nurls = [{urls}]\nreconnect_max_delay = \"2s\"\n\
         [database]\npool_size = 12\n\
         [intake]\nrequire_signature = true\nsigning_keys = [{{ id = \"{key_id}\", secret_env = \"{SIGNING_KEY_ENV}\" }}]\nbrake_max_requests = 1000000\n\
         [runner]\nlease = \"6s\"\nmax_attempts = 1000\nretry_base = \"1s\"\nretry_cap = \"8s\"\npoll_interval = \"250ms\"\ndrain_timeout = \"5s\"\n\
         [outbox]\nretry_base = \"1s\"\nretry_cap = \"5s\"\n\
         [log]\nformat = \"json\"\nlevel = \"info\"\n\
         [connectors.{VENDOR_SYSTEM}]\nkind = \"zendesk\"\nbase_url = \"{zendesk}\"\nemail = \"{email}\"\napi_token_env = \"{ZENDESK_TOKEN_ENV}\"\n\
         tickets = \"delete\"\ncheck_after_seconds = 1\nrequests_per_second = 200\nconcurrency = 4\ntimeout = \"2s\"\n",
        key_id = producer::SIGNING_KEY_ID,
        zendesk = stack.sim.vendor_url("zendesk"),
        email = Sim::ZENDESK_EMAIL,
    );
    let instances = [
        Instance { name: "accounts", extra: "concurrency = 8" },
        Instance { name: "billing", extra: &billing },
        Instance { name: "support", extra: "concurrency = 8" },
    ];
    stack.config_file(&instances, &extra)
}

/// A quorum queue bound to every event: what a product would consume, kept across node faults.
async fn declare_events_queue(stack: &Stack) -> String {
    let name = format!("{}chaos.events", stack.prefix);
    let connection = stack.amqp().await;
    let channel = connection.create_channel().await.unwrap();
    let mut args = FieldTable::default();
    args.insert("x-queue-type".into(), AMQPValue::LongString("quorum".into()));
    channel.queue_declare(name.as_str().into(), QueueDeclareOptions::durable(), args).await.unwrap();
    channel
        .queue_bind(
            name.as_str().into(),
            stack.events_exchange().as_str().into(),
            "#".into(),
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await
        .unwrap();
    connection.close(200, "done".into()).await.ok();
    name
}

fn count_faults(faults: &[Fault]) -> String {
    let count = |f: &dyn Fn(&Fault) -> bool| faults.iter().filter(|x| f(x)).count();
    format!(
        "{} worker SIGKILLs, {} node-0 stops, {} cluster restarts, {} PostgreSQL crashes, {} vendor fault phases",
        count(&|f| matches!(f, Fault::KillWorker { .. })),
        count(&|f| *f == Fault::StopFirstNode),
        count(&|f| *f == Fault::RestartCluster),
        count(&|f| *f == Fault::CrashPostgres),
        count(&|f| matches!(f, Fault::Vendor(Some(_)))),
    )
}
