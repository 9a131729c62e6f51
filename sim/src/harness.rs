//! What every simulated system shares: call recording, latency, injected faults (queued, aimed,
//! outages), rate windows, and the webhook systems' data. A vendor supplies its error shape.

use crate::fault::Fault;
use axum::http::HeaderValue;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

#[derive(Debug, Clone)]
pub struct SimOptions {
    /// The HMAC secret webhook calls must be signed with.
    pub webhook_secret: String,
    /// Added to every answer.
    pub latency: Duration,
}

impl Default for SimOptions {
    fn default() -> Self {
        SimOptions { webhook_secret: "sim-secret".into(), latency: Duration::ZERO }
    }
}

/// A call as the system saw it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Call {
    /// Milliseconds since the Unix epoch when the call arrived.
    pub at_ms: u64,
    pub action: String,
    pub identifiers: Vec<String>,
    pub idempotency_key: Option<String>,
    /// The W3C `traceparent` header the call carried (webhook calls).
    #[serde(default)]
    pub traceparent: Option<String>,
    pub signature_ok: bool,
    /// The status the simulator answered (0 while the call is in progress).
    pub status: u16,
}

/// A span as the OTLP receiver (`otlp.rs`) received it (what tests look at).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceivedSpan {
    /// 32 lowercase hex digits.
    pub trace_id: String,
    /// 16 lowercase hex digits.
    pub span_id: String,
    /// Empty for a root span.
    pub parent_span_id: String,
    pub name: String,
    /// The `service.name` resource attribute.
    pub service: String,
    /// The span's attributes whose values are strings, integers or booleans, as text.
    pub attributes: Vec<(String, String)>,
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
    /// Identifiers whose records an erasure removed: only these can resurface.
    pub erased: std::collections::HashSet<String>,
}

pub(crate) struct Job {
    pub ready_at: Instant,
    pub records: u64,
}

/// Per system (a webhook system or a vendor name): calls, faults, webhook data.
pub(crate) struct Harness {
    pub options: SimOptions,
    systems: Mutex<HashMap<String, System>>,
    /// What the OTLP receiver (`otlp.rs`) was sent, in order.
    spans: Mutex<Vec<ReceivedSpan>>,
}

/// One vendor's data with the harness it answers through: the state of its routes.
pub(crate) struct Vendor<D> {
    pub harness: Arc<Harness>,
    data: Mutex<D>,
}

impl<D: Default> Vendor<D> {
    pub fn new(harness: Arc<Harness>) -> Self {
        Vendor { harness, data: Mutex::default() }
    }
}

impl<D> Vendor<D> {
    pub fn data(&self) -> MutexGuard<'_, D> {
        self.data.lock().expect("sim lock")
    }
}

/// How a vendor answers the injected faults that stand for its own errors.
pub(crate) trait ErrorShape {
    /// The system name its calls and faults are recorded under.
    const SYSTEM: &'static str;
    /// The answer to `Fault::Status`.
    fn injected_status(status: u16, retry_after: Option<u64>) -> Response;
    /// The answer to `Fault::Throttle`.
    fn injected_throttle(retry_after: Option<u64>) -> Response;
}

/// A recorded call past latency and injected faults, waiting for its answer.
pub(crate) struct OpenCall<'a> {
    harness: &'a Harness,
    system: &'static str,
    index: usize,
    /// A `Fault::SlowAnswer`: how long to wait once the work is done.
    slow: Option<Duration>,
}

impl OpenCall<'_> {
    /// Answer after the work (and after the `SlowAnswer` delay: the work is already done).
    pub async fn answer(self, response: Response) -> Response {
        if let Some(delay) = self.slow {
            tokio::time::sleep(delay).await;
        }
        self.refuse(response)
    }

    /// Answer at once, the work not done (no `SlowAnswer` delay).
    pub fn refuse(self, response: Response) -> Response {
        self.harness.finish_call(self.system, self.index, response.status().as_u16());
        response
    }
}

impl Harness {
    pub fn new(options: SimOptions) -> Self {
        Harness { options, systems: Mutex::default(), spans: Mutex::default() }
    }

    /// Record the call, wait the latency, then apply the injected fault: a hang waits, a slow
    /// answer is kept for `OpenCall::answer`, a status or a throttle is answered in `V`'s shape
    /// (`Err`, already recorded).
    pub async fn open<V: ErrorShape>(
        &self,
        action: String,
        identifiers: Vec<String>,
    ) -> Result<OpenCall<'_>, Response> {
        let index = self.begin_call(V::SYSTEM, action, identifiers);
        let latency = self.latency(V::SYSTEM);
        if !latency.is_zero() {
            tokio::time::sleep(latency).await;
        }
        let call = OpenCall { harness: self, system: V::SYSTEM, index, slow: None };
        match self.take_fault(V::SYSTEM, index) {
            None => Ok(call),
            Some(Fault::Hang { millis }) => {
                tokio::time::sleep(Duration::from_millis(millis)).await;
                Ok(call)
            }
            Some(Fault::SlowAnswer { millis }) => Ok(OpenCall { slow: Some(Duration::from_millis(millis)), ..call }),
            Some(Fault::Status { status, retry_after }) => Err(call.refuse(V::injected_status(status, retry_after))),
            Some(Fault::Throttle { retry_after }) => Err(call.refuse(V::injected_throttle(retry_after))),
        }
    }

    /// Record a call's arrival; returns its index for `finish_call`.
    pub fn begin_call(&self, system: &str, action: String, identifiers: Vec<String>) -> usize {
        let call = Call {
            at_ms: now_ms(),
            action,
            identifiers,
            idempotency_key: None,
            traceparent: None,
            signature_ok: true,
            status: 0,
        };
        self.record(system, call)
    }

    pub fn record_spans(&self, spans: Vec<ReceivedSpan>) {
        self.spans.lock().expect("sim lock").extend(spans);
    }

    pub fn spans(&self) -> Vec<ReceivedSpan> {
        self.spans.lock().expect("sim lock").clone()
    }

    /// Record a call as given; returns its index for `finish_call`.
    pub fn record(&self, system: &str, call: Call) -> usize {
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
    pub fn latency(&self, system: &str) -> Duration {
        self.with(system, |s| s.latency).unwrap_or(self.options.latency)
    }

    pub fn with<T>(&self, system: &str, f: impl FnOnce(&mut System) -> T) -> T {
        let mut systems = self.systems.lock().expect("sim lock");
        f(systems.entry(system.to_string()).or_default())
    }

    pub fn seed(&self, system: &str, identifier: &str, records: u64) {
        self.with(system, |s| *s.data.entry(identifier.to_string()).or_insert(0) += records);
    }

    /// Re-create `records` records about `identifier`, which an erasure removed earlier; `false`
    /// (nothing changed) if no erasure removed any.
    pub fn resurface(&self, system: &str, identifier: &str, records: u64) -> bool {
        self.with(system, |s| {
            let erased = s.erased.contains(identifier);
            if erased {
                *s.data.entry(identifier.to_string()).or_insert(0) += records;
            }
            erased
        })
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

/// A fixed window of calls: `limit` per `length`.
pub(crate) struct RateWindow {
    pub limit: u32,
    length: Duration,
    /// `None` until the first call when the window starts with the traffic.
    started: Option<Instant>,
    pub used: u32,
}

impl RateWindow {
    /// A window that starts now.
    pub fn new(limit: u32, length: Duration) -> Self {
        RateWindow { limit, length, started: Some(Instant::now()), used: 0 }
    }

    /// A window that starts with the first call it counts.
    pub fn from_first_call(limit: u32, length: Duration) -> Self {
        RateWindow { limit, length, started: None, used: 0 }
    }

    /// Count one call: `Ok(remaining)`, or `Err(seconds until the window resets)`, at least 1.
    pub fn take(&mut self, now: Instant) -> Result<u32, u64> {
        let started = match self.started {
            Some(started) if now < started + self.length => started,
            _ => {
                self.used = 0;
                *self.started.insert(now)
            }
        };
        if self.used >= self.limit {
            let left = (started + self.length).saturating_duration_since(now);
            return Err(left.as_secs_f64().ceil().max(1.0) as u64);
        }
        self.used += 1;
        Ok(self.limit - self.used)
    }

    /// Whole seconds until the window resets.
    pub fn reset_in(&self, now: Instant) -> u64 {
        let end = self.started.map_or(now, |started| started + self.length);
        end.saturating_duration_since(now).as_secs_f64().ceil() as u64
    }
}

/// Add `Retry-After: seconds` when there is a hint.
pub(crate) fn with_retry_after(mut response: Response, retry_after: Option<u64>) -> Response {
    if let Some(secs) = retry_after {
        response.headers_mut().insert("retry-after", HeaderValue::from(secs));
    }
    response
}

pub(crate) fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_millis() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_outage_answers_every_call_after_the_queued_faults_until_cleared() {
        let state = Harness::new(SimOptions::default());
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
        let state = Harness::new(SimOptions::default());
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

    #[test]
    fn a_window_admits_its_limit_then_answers_when_it_resets() {
        let start = Instant::now();
        let mut window = RateWindow::from_first_call(2, Duration::from_secs(10));
        assert_eq!(window.take(start), Ok(1));
        assert_eq!(window.take(start + Duration::from_secs(1)), Ok(0));
        assert_eq!(window.take(start + Duration::from_millis(2500)), Err(8));
        assert_eq!(window.take(start + Duration::from_secs(10)), Ok(1), "a new window");
    }
}
