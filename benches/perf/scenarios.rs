//! The scenarios: each builds its world, runs, measures and checks that nothing was lost.

use crate::database::{self, Audit, Statements};
use crate::people::{self, Person};
use crate::traffic::{Publisher, Sent};
use crate::usage::{self, Cpu};
use crate::world::{Env, Setup, World, LIMITED};
use serde::Serialize;
use std::time::{Duration, Instant};

/// Erasure tasks per request: Zendesk, Intercom, Twilio and Elasticsearch.
pub const VENDORS: u64 = 4;
/// Zendesk documents 700 permanent user deletions per 10 minutes; the simulator enforces what
/// the scenario sets (see `Setup::zendesk_deletions`).
pub const ZENDESK_DOCUMENTED_DELETIONS: u32 = 700;
/// No outcome for this long while requests are outstanding: the scenario fails.
const QUIET: Duration = Duration::from_secs(120);

/// Zendesk's limit raised above what a scenario deletes, so that it does not bound the figure
/// (the output says so).
fn setup(people: usize, limited: Option<u32>) -> Setup {
    Setup { limited, zendesk_deletions: (people as u32).saturating_mul(2).max(ZENDESK_DOCUMENTED_DELETIONS) }
}

fn people(scenario: &str, n: usize) -> Vec<Person> {
    (0..n).map(|i| people::person(scenario, i)).collect()
}

/// Wait for every request's outcome; the failures if some never came or were not `completed`.
async fn settle(world: &World, people: &[Person], failures: &mut Vec<String>) -> Instant {
    let ids: Vec<_> = people.iter().map(|p| p.request_id).collect();
    if !world.outcomes.wait_for(&ids, QUIET).await {
        failures.push(format!(
            "{}: {} of {} requests had no outcome after {} s without progress",
            world.name,
            ids.len() - world.outcomes.len().min(ids.len()),
            ids.len(),
            QUIET.as_secs()
        ));
    }
    let outcomes: Vec<_> = ids.iter().filter_map(|id| world.outcomes.get(id)).collect();
    let not_completed = outcomes.iter().filter(|o| o.event != "erasure.completed").count();
    if not_completed > 0 {
        failures.push(format!("{}: {not_completed} requests ended otherwise than erasure.completed", world.name));
    }
    outcomes.iter().map(|o| o.at).max().unwrap_or_else(Instant::now)
}

async fn check(world: &World, requests: usize, tasks_per_request: u64, failures: &mut Vec<String>) -> Audit {
    let audit = database::audit(&world.db().await).await;
    failures
        .extend(audit.failures(requests as u64, tasks_per_request).into_iter().map(|f| format!("{}: {f}", world.name)));
    audit
}

#[derive(Serialize, Clone, Default)]
pub struct Burst {
    pub requests: usize,
    pub tasks: u64,
    pub publish_seconds: f64,
    pub seconds: f64,
    pub requests_per_second: f64,
    pub tasks_per_second: f64,
    pub cpu: Cpu,
    pub worker_peak_rss_mb: f64,
    pub statements: Statements,
    pub audit: Audit,
}

/// N requests published at once to a running worker: first publication to last outcome.
pub async fn burst(env: &Env, n: usize, failures: &mut Vec<String>) -> Burst {
    let people = people("burst", n);
    let mut world = World::new(env, "burst", &people, &setup(n, None)).await;
    world.start_workers(1).await;
    let admin = env.admin().await;
    let counters = database::start(&admin, &world.db_name).await;
    let before = usage::snapshot(&world.pids());
    let publisher = Publisher::new(&env.amqp_url, &world.requests_queue()).await;
    let sent = Sent::default();
    let started = Instant::now();
    publisher.burst(&people, &sent).await;
    let publish_seconds = started.elapsed().as_secs_f64();
    let last = settle(&world, &people, failures).await;
    let after = usage::snapshot(&world.pids());
    let seconds = last.duration_since(started).as_secs_f64();
    let tasks = n as u64 * VENDORS;
    let statements = database::finish(&admin, &world.db_name, &counters, n as u64).await;
    let worker_peak_rss_mb = usage::status_mb(world.workers[0].id(), "VmHWM").unwrap_or(0.0);
    world.stop_workers().await;
    let audit = check(&world, n, VENDORS, failures).await;
    Burst {
        requests: n,
        tasks,
        publish_seconds,
        seconds,
        requests_per_second: n as f64 / seconds,
        tasks_per_second: tasks as f64 / seconds,
        cpu: usage::cpu(&before, &after, tasks),
        worker_peak_rss_mb,
        statements,
        audit,
    }
}

#[derive(Serialize, Clone, Default)]
pub struct Latency {
    pub offered_per_second: f64,
    pub seconds: f64,
    pub requests: usize,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub cpu: Cpu,
}

/// A steady offered load of `rate` requests per second for `duration`: publish-to-outcome
/// latency of each request.
pub async fn latency(env: &Env, rate: f64, duration: Duration, failures: &mut Vec<String>) -> Latency {
    let n = (rate * duration.as_secs_f64()).round().max(1.0) as usize;
    let people = people("latency", n);
    let mut world = World::new(env, "latency", &people, &setup(n, None)).await;
    world.start_workers(1).await;
    let before = usage::snapshot(&world.pids());
    let publisher = Publisher::new(&env.amqp_url, &world.requests_queue()).await;
    let sent = Sent::default();
    publisher.paced(&people, rate, &sent).await;
    settle(&world, &people, failures).await;
    let after = usage::snapshot(&world.pids());
    world.stop_workers().await;
    check(&world, n, VENDORS, failures).await;
    let mut ms: Vec<f64> = people
        .iter()
        .filter_map(|p| Some(world.outcomes.get(&p.request_id)?.at.duration_since(sent.at(&p.request_id)?)))
        .map(|d| d.as_secs_f64() * 1000.0)
        .collect();
    ms.sort_by(f64::total_cmp);
    let pct = |p: f64| ms.get(((ms.len() as f64 * p).ceil() as usize).saturating_sub(1)).copied().unwrap_or(0.0);
    Latency {
        offered_per_second: rate,
        seconds: duration.as_secs_f64(),
        requests: n,
        p50_ms: pct(0.50),
        p90_ms: pct(0.90),
        p99_ms: pct(0.99),
        max_ms: ms.last().copied().unwrap_or(0.0),
        cpu: usage::cpu(&before, &after, n as u64 * VENDORS),
    }
}

#[derive(Serialize, Clone, Default)]
pub struct Backlog {
    pub requests: usize,
    pub publish_seconds: f64,
    /// From the worker's start to the last outcome.
    pub drain_seconds: f64,
    pub requests_per_second: f64,
    pub tasks_per_second: f64,
    pub cpu: Cpu,
    pub worker_peak_rss_mb: f64,
    /// The worker's resident memory (MB), sampled every second of the drain.
    pub rss_mb: Vec<f64>,
    pub audit: Audit,
}

/// B requests queued first, then `workers` workers start: the drain.
pub async fn backlog(env: &Env, name: &str, b: usize, workers: usize, failures: &mut Vec<String>) -> Backlog {
    let people = people(name, b);
    let mut world = World::new(env, name, &people, &setup(b, None)).await;
    let publisher = Publisher::new(&env.amqp_url, &world.requests_queue()).await;
    let sent = Sent::default();
    let published = Instant::now();
    publisher.burst(&people, &sent).await;
    let publish_seconds = published.elapsed().as_secs_f64();
    let started = Instant::now();
    world.start_workers(workers).await;
    let before = usage::snapshot(&world.pids());
    let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
    let sampler = {
        let pids: Vec<u32> = world.pids().workers;
        tokio::spawn(async move {
            let mut samples = Vec::new();
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            loop {
                tokio::select! {
                    _ = tick.tick() => {
                        let mb: f64 = pids.iter().filter_map(|p| usage::status_mb(*p, "VmRSS")).sum();
                        samples.push((mb * 10.0).round() / 10.0);
                    }
                    _ = &mut stopped => return samples,
                }
            }
        })
    };
    let last = settle(&world, &people, failures).await;
    let _ = stop.send(());
    let rss_mb = sampler.await.expect("the memory sampler");
    let after = usage::snapshot(&world.pids());
    let worker_peak_rss_mb =
        world.pids().workers.iter().filter_map(|p| usage::status_mb(*p, "VmHWM")).fold(0.0, f64::max);
    world.stop_workers().await;
    let audit = check(&world, b, VENDORS, failures).await;
    let drain_seconds = last.duration_since(started).as_secs_f64();
    Backlog {
        requests: b,
        publish_seconds,
        drain_seconds,
        requests_per_second: b as f64 / drain_seconds,
        tasks_per_second: (b as u64 * VENDORS) as f64 / drain_seconds,
        cpu: usage::cpu(&before, &after, b as u64 * VENDORS),
        worker_peak_rss_mb,
        rss_mb,
        audit,
    }
}

#[derive(Serialize, Clone, Default)]
pub struct RateLimit {
    pub limit_per_second: u32,
    pub requests: usize,
    /// Calls the simulator saw each second, from the first call's second to the last's.
    pub arrivals_per_second: Vec<u32>,
    pub max_per_second: u32,
    /// Whole seconds while the system was backlogged (the first and last, partial, left out).
    pub backlogged_seconds: usize,
    /// Share of those seconds with at least 95% of the limit.
    pub share_at_95_percent: f64,
    /// The four vendors' erasure tasks per second meanwhile (first task's end to the last's).
    pub other_tasks_per_second: f64,
    pub audit: Audit,
}

/// The four vendors plus a webhook system limited to `limit` calls per second: the simulator
/// counts the calls it receives each second.
pub async fn ratelimit(env: &Env, n: usize, limit: u32, failures: &mut Vec<String>) -> RateLimit {
    let people = people("ratelimit", n);
    let mut world = World::new(env, "ratelimit", &people, &setup(n, Some(limit))).await;
    // Every request admitted first (a worker running intake only), so that the limited system is
    // backlogged from the first second of the drain to its last.
    world.start_workers_only(1, Some("intake")).await;
    let publisher = Publisher::new(&env.amqp_url, &world.requests_queue()).await;
    let sent = Sent::default();
    publisher.burst(&people, &sent).await;
    let db = world.db().await;
    let deadline = Instant::now() + QUIET;
    while db.query_one("SELECT count(*) FROM requests", &[]).await.expect("count requests").get::<_, i64>(0) < n as i64
    {
        assert!(
            Instant::now() < deadline,
            "ratelimit: the requests were not all admitted within {} s",
            QUIET.as_secs()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    world.stop_workers().await;
    world.start_workers(1).await;
    settle(&world, &people, failures).await;
    world.stop_workers().await;
    let audit = check(&world, n, VENDORS + 1, failures).await;
    let arrivals = world.arrivals_per_second(LIMITED).await;
    let max = arrivals.iter().copied().max().unwrap_or(0);
    if max > limit {
        failures.push(format!("ratelimit: {max} calls in one second to a system limited to {limit} per second"));
    }
    let inner = if arrivals.len() > 2 { &arrivals[1..arrivals.len() - 1] } else { &[][..] };
    let at_95 = inner.iter().filter(|n| f64::from(**n) >= 0.95 * f64::from(limit)).count();
    let others = world
        .db()
        .await
        .query_one(
            "SELECT count(*)::float8 / greatest(extract(epoch FROM max(updated_at) - min(updated_at))::float8, 0.001)
             FROM tasks WHERE connector <> $1",
            &[&LIMITED],
        )
        .await
        .expect("the other systems' task rate")
        .get(0);
    RateLimit {
        limit_per_second: limit,
        requests: n,
        max_per_second: max,
        backlogged_seconds: inner.len(),
        share_at_95_percent: if inner.is_empty() { 0.0 } else { at_95 as f64 / inner.len() as f64 },
        arrivals_per_second: arrivals,
        other_tasks_per_second: others,
        audit,
    }
}
