//! Whether this process's loops are running: each loop beats a `Heartbeat` while it works (intake
//! while it consumes, the polling loops at every pass) and `/readyz` is not ready while one of them
//! has not beaten within its bound, or has never beaten (still connecting), or said it stopped.
//! Monotonic time, not the injected clock: a test's fake clock must not make a process look dead.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Every loop of the process and when each last showed life.
#[derive(Default, Clone)]
pub struct Liveness {
    loops: Arc<Mutex<BTreeMap<&'static str, Beat>>>,
}

struct Beat {
    last: Option<Instant>,
    bound: Duration,
}

impl Liveness {
    /// A loop this process is about to start: not alive until it registers and beats, so a
    /// process is not ready before its loops run.
    pub fn expect(&self, name: &'static str) {
        self.lock().entry(name).or_insert(Beat { last: None, bound: Duration::ZERO });
    }

    /// A loop named `name` (`intake`, `runner`, ...) that must beat at least every `bound`; it is
    /// not alive until its first beat.
    pub fn register(&self, name: &'static str, bound: Duration) -> Heartbeat {
        self.lock().insert(name, Beat { last: None, bound });
        Heartbeat { liveness: self.clone(), name }
    }

    /// The loops that did not beat within their bound, by name.
    pub fn stale(&self) -> Vec<&'static str> {
        self.stale_at(Instant::now())
    }

    fn stale_at(&self, now: Instant) -> Vec<&'static str> {
        let loops = self.lock();
        let alive = |beat: &Beat| beat.last.is_some_and(|last| now.saturating_duration_since(last) <= beat.bound);
        loops.iter().filter(|(_, beat)| !alive(beat)).map(|(name, _)| *name).collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<&'static str, Beat>> {
        self.loops.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// One loop's beat.
pub struct Heartbeat {
    liveness: Liveness,
    name: &'static str,
}

impl Heartbeat {
    pub fn beat(&self) {
        self.set(Some(Instant::now()));
    }

    /// The loop stopped working (lost its broker, stopped at shutdown): not alive until it beats again.
    pub fn stopped(&self) {
        self.set(None);
    }

    fn set(&self, last: Option<Instant>) {
        if let Some(beat) = self.liveness.lock().get_mut(self.name) {
            beat.last = last;
        }
    }
}

impl Drop for Heartbeat {
    fn drop(&mut self) {
        self.stopped();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_loop_is_alive_from_its_first_beat_until_its_bound_passes_or_it_stops() {
        let liveness = Liveness::default();
        let runner = liveness.register("runner", Duration::from_secs(10));
        let intake = liveness.register("intake", Duration::from_secs(10));
        assert_eq!(liveness.stale(), vec!["intake", "runner"], "nothing beat yet");
        runner.beat();
        intake.beat();
        assert!(liveness.stale().is_empty());
        let later = Instant::now() + Duration::from_secs(11);
        assert_eq!(liveness.stale_at(later), vec!["intake", "runner"], "both past their bound");
        intake.stopped();
        assert_eq!(liveness.stale(), vec!["intake"]);
        drop(runner);
        assert_eq!(liveness.stale(), vec!["intake", "runner"], "a dropped heartbeat is a stopped loop");
    }

    #[test]
    fn an_expected_loop_is_not_alive_until_it_registers_and_beats() {
        let liveness = Liveness::default();
        liveness.expect("outbox");
        assert_eq!(liveness.stale(), vec!["outbox"]);
        let outbox = liveness.register("outbox", Duration::from_secs(10));
        assert_eq!(liveness.stale(), vec!["outbox"]);
        outbox.beat();
        assert!(liveness.stale().is_empty());
    }

    #[test]
    fn no_loop_no_staleness() {
        assert!(Liveness::default().stale().is_empty());
    }
}
