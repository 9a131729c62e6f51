//! What the simulated systems hold and what they have seen.

use crate::SimOptions;
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// One injected fault, consumed by one call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Fault {
    /// Answer this status (e.g. 500, 503, 401), with `Retry-After` if given.
    Status { status: u16, retry_after: Option<u64> },
    /// 429 Too Many Requests, with `Retry-After` if given.
    Throttle { retry_after: Option<u64> },
    /// Wait this long before answering normally (longer than the client timeout = a timeout).
    Hang { millis: u64 },
    /// Do the work at once, then wait this long before answering: the caller may die after
    /// the system erased but before it learned so.
    SlowAnswer { millis: u64 },
}

/// A call as the system saw it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Call {
    /// Milliseconds since the Unix epoch when the call arrived.
    pub at_ms: u64,
    pub action: String,
    pub identifiers: Vec<String>,
    pub idempotency_key: Option<String>,
    pub signature_ok: bool,
    /// The status the simulator answered (0 while the call is in progress).
    pub status: u16,
}

#[derive(Default)]
pub(crate) struct System {
    pub data: HashMap<String, u64>,
    pub faults: VecDeque<Fault>,
    /// Faults for the next call whose action starts with the given text (`DELETE /api/v2/users/`),
    /// taken before the queued ones.
    pub aimed: Vec<(String, Fault)>,
    /// A fault every call gets once the queue is empty, until cleared (an outage).
    pub outage: Option<Fault>,
    pub calls: Vec<Call>,
    pub async_delay: Option<Duration>,
    pub latency: Option<Duration>,
    pub jobs: HashMap<String, Job>,
    /// Answers already given, by idempotency key: a repeated call gets the same answer.
    pub answers: HashMap<String, (u16, serde_json::Value)>,
    pub next_job: u64,
}

pub(crate) struct Job {
    pub ready_at: Instant,
    pub records: u64,
}

pub(crate) struct State {
    pub options: SimOptions,
    /// Per system (a webhook system or a vendor name): calls, faults, webhook data.
    pub systems: Mutex<HashMap<String, System>>,
    pub zendesk: Mutex<crate::zendesk::Data>,
    pub intercom: Mutex<crate::intercom::Data>,
    pub twilio: Mutex<crate::twilio::Data>,
    pub elasticsearch: Mutex<crate::elasticsearch::Data>,
    pub loki: Mutex<crate::loki::Data>,
}

impl State {
    pub fn new(options: SimOptions) -> Self {
        State {
            options,
            systems: Mutex::default(),
            zendesk: Mutex::default(),
            intercom: Mutex::default(),
            twilio: Mutex::default(),
            elasticsearch: Mutex::default(),
            loki: Mutex::default(),
        }
    }

    /// Record a call's arrival; returns its index for `finish_call`.
    pub fn begin_call(&self, system: &str, action: String, identifiers: Vec<String>) -> usize {
        let call = Call { at_ms: now_ms(), action, identifiers, idempotency_key: None, signature_ok: true, status: 0 };
        self.with(system, |s| {
            s.calls.push(call);
            s.calls.len() - 1
        })
    }

    /// Record the status a call was answered with.
    pub fn finish_call(&self, system: &str, index: usize, status: u16) {
        self.with(system, |s| {
            if let Some(call) = s.calls.get_mut(index) {
                call.status = status;
            }
        });
    }

    /// The injected fault for call `index` of `system` (from `begin_call`), if any: one aimed
    /// at its action, else a queued one, else the outage's.
    pub fn take_fault(&self, system: &str, index: usize) -> Option<Fault> {
        self.with(system, |s| {
            let action = s.calls.get(index).map(|c| c.action.as_str()).unwrap_or_default();
            match s.aimed.iter().position(|(prefix, _)| action.starts_with(prefix.as_str())) {
                Some(at) => Some(s.aimed.remove(at).1),
                None => s.faults.pop_front().or_else(|| s.outage.clone()),
            }
        })
    }

    /// The latency configured for `system`, or the default.
    pub fn latency(&self, system: &str) -> std::time::Duration {
        self.with(system, |s| s.latency).unwrap_or(self.options.latency)
    }

    pub fn with<T>(&self, system: &str, f: impl FnOnce(&mut System) -> T) -> T {
        let mut systems = self.systems.lock().expect("sim lock");
        f(systems.entry(system.to_string()).or_default())
    }

    pub fn seed(&self, system: &str, identifier: &str, records: u64) {
        self.with(system, |s| *s.data.entry(identifier.to_string()).or_insert(0) += records);
    }

    pub fn push_faults(&self, system: &str, faults: impl IntoIterator<Item = Fault>) {
        self.with(system, |s| s.faults.extend(faults));
    }

    pub fn aim_fault(&self, system: &str, action_prefix: &str, fault: Fault) {
        self.with(system, |s| s.aimed.push((action_prefix.to_string(), fault)));
    }

    pub fn set_outage(&self, system: &str, fault: Option<Fault>) {
        self.with(system, |s| s.outage = fault);
    }

    pub fn set_async(&self, system: &str, delay: Option<Duration>) {
        self.with(system, |s| s.async_delay = delay);
    }

    pub fn set_latency(&self, system: &str, latency: Duration) {
        self.with(system, |s| s.latency = Some(latency));
    }

    pub fn calls(&self, system: &str) -> Vec<Call> {
        self.with(system, |s| s.calls.clone())
    }

    pub fn records(&self, system: &str, identifier: &str) -> u64 {
        self.with(system, |s| s.data.get(identifier).copied().unwrap_or(0))
    }
}

pub(crate) fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_millis() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_outage_answers_every_call_after_the_queued_faults_until_cleared() {
        let state = State::new(SimOptions::default());
        let throttle = Fault::Throttle { retry_after: Some(1) };
        let down = Fault::Status { status: 503, retry_after: None };
        state.push_faults("billing", [throttle.clone()]);
        state.set_outage("billing", Some(down.clone()));
        let call = |system: &str| state.begin_call(system, "POST /erase".into(), Vec::new());
        assert_eq!(state.take_fault("billing", call("billing")), Some(throttle));
        assert_eq!(state.take_fault("billing", call("billing")), Some(down.clone()));
        assert_eq!(state.take_fault("billing", call("billing")), Some(down));
        assert_eq!(state.take_fault("accounts", call("accounts")), None, "other systems are up");
        state.set_outage("billing", None);
        assert_eq!(state.take_fault("billing", call("billing")), None);
    }

    #[test]
    fn an_aimed_fault_waits_for_its_call_and_goes_before_the_queue() {
        let state = State::new(SimOptions::default());
        let lost = Fault::SlowAnswer { millis: 5_000 };
        let down = Fault::Status { status: 503, retry_after: None };
        state.aim_fault("zendesk", "DELETE /api/v2/users/", lost.clone());
        state.push_faults("zendesk", [down.clone()]);
        let call = |action: &str| state.begin_call("zendesk", action.into(), Vec::new());
        assert_eq!(state.take_fault("zendesk", call("GET /api/v2/users/7")), Some(down));
        assert_eq!(state.take_fault("zendesk", call("GET /api/v2/users/7")), None);
        assert_eq!(state.take_fault("zendesk", call("DELETE /api/v2/users/7")), Some(lost));
        assert_eq!(state.take_fault("zendesk", call("DELETE /api/v2/users/7")), None, "taken once");
    }
}
