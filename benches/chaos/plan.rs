//! The fault plan: which fault happens when, drawn from a seed so a run can be repeated.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::time::Duration;

#[derive(Debug, Clone, PartialEq)]
pub enum Fault {
    /// SIGKILL one worker process (chosen by the plan), restart it after a pause.
    KillWorker {
        worker: usize,
        down: Duration,
    },
    /// Stop RabbitMQ node 0, the first URL every client tries: they must fail over.
    StopFirstNode,
    StartFirstNode,
    /// Stop every RabbitMQ node, then start them all again.
    RestartCluster,
    /// PostgreSQL stopped as in a crash (no checkpoint) and started again.
    CrashPostgres,
    /// The vendor answers every call with this, until the next `Vendor`.
    Vendor(Option<erasure_sim::Fault>),
}

impl Fault {
    pub fn describe(&self) -> String {
        match self {
            Fault::KillWorker { worker, down } => {
                format!("SIGKILL worker {worker}, restart after {:.1} s", down.as_secs_f64())
            }
            Fault::StopFirstNode => "stop RabbitMQ node 0 (clients fail over)".into(),
            Fault::StartFirstNode => "start RabbitMQ node 0 again".into(),
            Fault::RestartCluster => "restart the whole RabbitMQ cluster".into(),
            Fault::CrashPostgres => "crash-restart PostgreSQL (pg_ctl stop -m immediate)".into(),
            Fault::Vendor(None) => "the vendor recovers".into(),
            Fault::Vendor(Some(erasure_sim::Fault::Status { status, .. })) => format!("the vendor answers {status}"),
            Fault::Vendor(Some(erasure_sim::Fault::Hang { millis })) => {
                format!("the vendor hangs {millis} ms per call (timeouts)")
            }
            Fault::Vendor(Some(erasure_sim::Fault::Throttle { .. })) => "the vendor answers 429".into(),
            Fault::Vendor(Some(other)) => format!("the vendor: {other:?}"),
        }
    }

    /// Is this one of the faults the report counts (a recovery is not)?
    pub fn is_injection(&self) -> bool {
        !matches!(self, Fault::StartFirstNode | Fault::Vendor(None))
    }
}

/// One cycle of faults per `period`, repeated over `load`; each vendor phase lasts `outage`.
/// Every cycle: a worker killed at a random point of each third, node 0 stopped and started,
/// a PostgreSQL crash, a vendor outage (5xx, then timeouts, then 429s), a cluster restart.
pub fn plan(load: Duration, outage: Duration, workers: usize, seed: u64) -> Vec<(Duration, Fault)> {
    let mut rng = StdRng::seed_from_u64(seed);
    // The outage starts at 0.45 of the cycle and the cluster restart (about 25 s) follows it:
    // the cycle is long enough for both to end before the next one starts.
    let period = Duration::from_secs(150).max((outage * 3 + Duration::from_secs(35)).div_f64(0.55));
    let cycles = (load.as_secs_f64() / period.as_secs_f64()).floor().max(1.0) as u32;
    let period = load / cycles;
    let mut plan = Vec::new();
    for cycle in 0..cycles {
        let start = period * cycle;
        let at = |fraction: f64| start + period.mul_f64(fraction);
        for third in 0..3 {
            let fraction = (f64::from(third) + rng.random_range(0.1..0.9)) / 3.0;
            let down = Duration::from_millis(rng.random_range(500..3000));
            plan.push((at(fraction), Fault::KillWorker { worker: rng.random_range(0..workers), down }));
        }
        plan.push((at(0.15), Fault::StopFirstNode));
        plan.push((at(0.28), Fault::StartFirstNode));
        plan.push((at(0.38), Fault::CrashPostgres));
        let vendor = at(0.45);
        plan.push((vendor, Fault::Vendor(Some(erasure_sim::Fault::Status { status: 503, retry_after: None }))));
        plan.push((vendor + outage, Fault::Vendor(Some(erasure_sim::Fault::Hang { millis: 3000 }))));
        plan.push((vendor + outage * 2, Fault::Vendor(Some(erasure_sim::Fault::Throttle { retry_after: Some(2) }))));
        plan.push((vendor + outage * 3, Fault::Vendor(None)));
        plan.push((at(0.8).max(vendor + outage * 3 + Duration::from_secs(5)), Fault::RestartCluster));
    }
    plan.sort_by_key(|(at, _)| *at);
    plan
}
