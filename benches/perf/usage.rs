//! What each process of the stack spent, from `/proc`: CPU seconds (user + system) and memory.
//! PostgreSQL is the postmaster with every backend: live ones are read one by one, and those that
//! exited are in the postmaster's `cutime`/`cstime` once it reaped them.

use serde::Serialize;
use std::collections::BTreeMap;

/// The fields of `/proc/PID/stat` after the command name: state is index 0 (field 3).
struct Stat {
    ppid: u32,
    /// Own user + system ticks.
    own: u64,
    /// Reaped children's user + system ticks.
    children: u64,
}

fn stat(pid: u32) -> Option<Stat> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let fields: Vec<u64> = text.rsplit_once(") ")?.1.split(' ').skip(1).map(|f| f.parse().unwrap_or(0)).collect();
    // Field n of proc(5) is index n - 4 here: ppid (4), utime (14), stime (15), cutime (16),
    // cstime (17).
    Some(Stat {
        ppid: *fields.first()? as u32,
        own: fields.get(10)? + fields.get(11)?,
        children: fields.get(12)? + fields.get(13)?,
    })
}

/// Clock ticks per second (`getconf CLK_TCK`, 100 on Linux).
pub fn ticks_per_second() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}

/// CPU ticks of `pid` and its reaped children.
pub fn process_ticks(pid: u32) -> u64 {
    stat(pid).map_or(0, |s| s.own + s.children)
}

/// CPU ticks of `pid`, its reaped children and its live children (a postmaster and its backends).
pub fn tree_ticks(pid: u32) -> u64 {
    let mut total = process_ticks(pid);
    let Ok(entries) = std::fs::read_dir("/proc") else { return total };
    for entry in entries.flatten() {
        let Some(child) = entry.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else { continue };
        if let Some(s) = stat(child).filter(|s| s.ppid == pid) {
            total += s.own + s.children;
        }
    }
    total
}

/// A `kB` line of `/proc/PID/status` (`VmRSS`, `VmHWM`), in MB.
pub fn status_mb(pid: u32, key: &str) -> Option<f64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = text.lines().find(|l| l.starts_with(key))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// The processes measured, by role.
#[derive(Clone)]
pub struct Pids {
    pub workers: Vec<u32>,
    pub postgres: u32,
    pub rabbitmq: u32,
    pub simulator: u32,
}

/// CPU ticks by role at one instant.
#[derive(Clone)]
pub struct Snapshot {
    ticks: BTreeMap<&'static str, u64>,
}

pub fn snapshot(pids: &Pids) -> Snapshot {
    let mut ticks = BTreeMap::new();
    ticks.insert("worker", pids.workers.iter().map(|p| process_ticks(*p)).sum());
    ticks.insert("postgresql", tree_ticks(pids.postgres));
    ticks.insert("rabbitmq", process_ticks(pids.rabbitmq));
    ticks.insert("simulator", process_ticks(pids.simulator));
    ticks.insert("bench", process_ticks(std::process::id()));
    Snapshot { ticks }
}

/// CPU seconds spent by each role between two snapshots, and per 1,000 erasure tasks.
#[derive(Serialize, Clone, Default)]
pub struct Cpu {
    pub seconds: BTreeMap<String, f64>,
    pub per_1000_tasks: BTreeMap<String, f64>,
    /// Worker + PostgreSQL + RabbitMQ + simulator (not the bench's own producer and consumer).
    pub stack_per_1000_tasks: f64,
}

pub fn cpu(before: &Snapshot, after: &Snapshot, tasks: u64) -> Cpu {
    let hz = ticks_per_second();
    let mut cpu = Cpu::default();
    for (role, end) in &after.ticks {
        let seconds = end.saturating_sub(before.ticks[role]) as f64 / hz;
        cpu.seconds.insert(role.to_string(), seconds);
        let per = seconds * 1000.0 / tasks.max(1) as f64;
        cpu.per_1000_tasks.insert(role.to_string(), per);
        if *role != "bench" {
            cpu.stack_per_1000_tasks += per;
        }
    }
    cpu
}
