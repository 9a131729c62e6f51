//! The performance benchmark (README, "Performance"): the worker as release `erasure run`
//! processes, the vendor simulator as its own `erasure-sim` process, PostgreSQL at production
//! durability with `pg_stat_statements`, RabbitMQ; four vendors per request (Zendesk, Intercom,
//! Twilio, Elasticsearch), signed intake, quorum queues, publisher confirms, data keys.
//!
//! Run with `scripts/bench [--short] [--scenario burst|latency|backlog|ratelimit|scaleout|all]
//! [--backlog B] [--latency-seconds S] [N]`; it starts the stack. Prints a table, writes JSON
//! (`target/bench/`), and exits non-zero when a request was lost, a task claimed twice or a rate
//! limit exceeded. It never asserts a speed.

mod database;
mod people;
mod report;
mod scenarios;
mod traffic;
mod usage;
mod world;

use report::Report;
use std::time::Duration;

pub struct Options {
    pub short: bool,
    pub scenarios: Vec<String>,
    pub burst: usize,
    pub latency: Duration,
    pub backlog: usize,
    pub ratelimit_requests: usize,
    pub ratelimit: u32,
    pub scaleout: usize,
}

const SCENARIOS: [&str; 5] = ["burst", "latency", "backlog", "ratelimit", "scaleout"];

impl Options {
    fn parse() -> Options {
        let args: Vec<String> = std::env::args().skip(1).filter(|a| a != "--bench").collect();
        let short = args.iter().any(|a| a == "--short");
        let mut o = if short {
            Options {
                short,
                scenarios: Vec::new(),
                burst: 1_000,
                latency: Duration::from_secs(10),
                backlog: 1_000,
                ratelimit_requests: 400,
                ratelimit: 50,
                scaleout: 500,
            }
        } else {
            Options {
                short,
                scenarios: Vec::new(),
                burst: 20_000,
                latency: Duration::from_secs(30),
                backlog: 200_000,
                ratelimit_requests: 3_000,
                ratelimit: 50,
                scaleout: 20_000,
            }
        };
        let mut i = 0;
        let usage = "scripts/bench [--short] [--scenario burst|latency|backlog|ratelimit|scaleout|all] \
                     [--backlog B] [--latency-seconds S] [N]";
        let number = |i: usize| -> usize {
            args.get(i + 1)
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| panic!("{} needs a number: {usage}", args[i]))
        };
        while i < args.len() {
            match args[i].as_str() {
                "--short" => {}
                "--scenario" => {
                    let value = args.get(i + 1).unwrap_or_else(|| panic!("--scenario needs a name: {usage}"));
                    for name in value.split(',') {
                        match name {
                            "all" => o.scenarios.extend(SCENARIOS.map(String::from)),
                            known if SCENARIOS.contains(&known) => o.scenarios.push(known.to_string()),
                            other => panic!("unknown scenario {other}: {usage}"),
                        }
                    }
                    i += 1;
                }
                "--backlog" => {
                    o.backlog = number(i);
                    i += 1;
                }
                "--latency-seconds" => {
                    o.latency = Duration::from_secs(number(i) as u64);
                    i += 1;
                }
                n if n.parse::<usize>().is_ok() => o.burst = n.parse().unwrap(),
                other => panic!("unknown argument {other}: {usage}"),
            }
            i += 1;
        }
        if o.scenarios.is_empty() {
            o.scenarios = SCENARIOS.map(String::from).to_vec();
        }
        o.scenarios.dedup();
        o
    }

    fn runs(&self, scenario: &str) -> bool {
        self.scenarios.iter().any(|s| s == scenario)
    }
}

#[tokio::main]
async fn main() {
    let options = Options::parse();
    let env = world::Env::from_stack();
    let mut report = Report::new(&options);
    report.print_header();
    let mut failures = Vec::new();

    // The latency scenario's offered load is half the burst's maximum: it needs a burst.
    if options.runs("burst") || options.runs("latency") {
        println!("burst: {} requests at once...", options.burst);
        let burst = scenarios::burst(&env, options.burst, &mut failures).await;
        report.burst = Some(burst);
        report.print_burst();
    }
    if options.runs("latency") {
        let rate = report.burst.as_ref().map_or(1.0, |b| (b.requests_per_second / 2.0).max(1.0));
        println!("latency: {rate:.0} requests/s for {} s...", options.latency.as_secs());
        report.latency = Some(scenarios::latency(&env, rate, options.latency, &mut failures).await);
        report.print_latency();
    }
    if options.runs("backlog") {
        println!("backlog: {} requests queued, then the worker starts...", options.backlog);
        report.backlog = Some(scenarios::backlog(&env, "backlog", options.backlog, 1, &mut failures).await);
        report.print_backlog();
    }
    if options.runs("ratelimit") {
        println!(
            "ratelimit: {} requests, one webhook system limited to {}/s...",
            options.ratelimit_requests, options.ratelimit
        );
        report.ratelimit =
            Some(scenarios::ratelimit(&env, options.ratelimit_requests, options.ratelimit, &mut failures).await);
        report.print_ratelimit();
    }
    if options.runs("scaleout") {
        for workers in [1, 2, 4] {
            println!("scaleout: {} requests queued, then {workers} worker process(es)...", options.scaleout);
            let name = format!("scaleout{workers}");
            let run = scenarios::backlog(&env, &name, options.scaleout, workers, &mut failures).await;
            report.scaleout.push((workers, run));
        }
        report.print_scaleout();
    }

    report.failures = failures.clone();
    let path = report.write(&env.out_dir);
    println!("JSON: {}", path.display());
    if !failures.is_empty() {
        eprintln!("bench: {} check(s) failed; logs and configs in {}", failures.len(), env.out_dir.display());
        for failure in &failures {
            eprintln!("  FAILED: {failure}");
        }
        std::process::exit(1);
    }
    println!("bench: every check passed (every request completed, no task claimed twice, no rate limit exceeded)");
}
