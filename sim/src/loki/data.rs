//! What the simulated Loki holds: each tenant's streams and delete requests.

use super::query::LogQuery;
use super::{Labels, HOUR, NANOS_PER_MS};
use crate::harness::RateWindow;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// What the simulated Loki holds.
pub(crate) struct Data {
    pub(super) tenants: HashMap<String, Tenant>,
    pub(super) processing_delay: Duration,
    pub(super) max_entries: usize,
    pub(super) max_query_length: Duration,
    pub(super) delete_max_interval: Duration,
    pub(super) rate_limit: Option<RateWindow>,
    pub(super) require_auth: bool,
    /// Match `|~` whole-token filters as plain substrings: a vendor that reads a filter wider than
    /// it was written, for tests of the connector's own re-check.
    pub(super) widen_filters: bool,
    pub(super) next_request: u64,
    pub(super) last_stamp: i64,
}

impl Default for Data {
    fn default() -> Self {
        Data {
            tenants: HashMap::new(),
            processing_delay: Duration::from_millis(200),
            max_entries: 5000,
            max_query_length: 721 * HOUR,
            delete_max_interval: 24 * HOUR,
            rate_limit: None,
            require_auth: true,
            widen_filters: false,
            next_request: 0,
            last_stamp: 0,
        }
    }
}

#[derive(Default)]
pub(super) struct Tenant {
    /// Entries `(unix nanoseconds, line)` in arrival order, per stream.
    pub(super) streams: BTreeMap<Labels, Vec<(i64, String)>>,
    /// Delete request shards, in creation order; a request is its shards with one `request_id`.
    pub(super) shards: Vec<Shard>,
}

pub(super) struct Shard {
    pub(super) request_id: String,
    pub(super) query: String,
    pub(super) parsed: LogQuery,
    pub(super) start_ms: i64,
    pub(super) end_ms: i64,
    pub(super) created_ms: i64,
    pub(super) ready_at: Instant,
    pub(super) processed: bool,
}

impl Data {
    pub(super) fn tenant(&mut self, tenant: &str) -> &mut Tenant {
        self.tenants.entry(tenant.to_string()).or_default()
    }

    /// Process every shard whose time has come: its matching lines are removed.
    pub(super) fn advance(&mut self, now: Instant) {
        let widen = self.widen_filters;
        for tenant in self.tenants.values_mut() {
            for shard in tenant.shards.iter_mut().filter(|s| !s.processed && s.ready_at <= now) {
                for (labels, entries) in tenant.streams.iter_mut() {
                    entries.retain(|(ts, line)| !shard.covers(labels, *ts, line, widen));
                }
                shard.processed = true;
            }
        }
    }

    /// A strictly increasing "now" in nanoseconds, so pushed lines never share a timestamp.
    pub(super) fn stamp(&mut self) -> i64 {
        self.last_stamp = now_ns().max(self.last_stamp + 1);
        self.last_stamp
    }

    pub(super) fn push(&mut self, tenant: &str, labels: Labels, ts: i64, line: &str) {
        let entries = self.tenant(tenant).streams.entry(labels).or_default();
        // Loki drops an entry identical to one its stream already holds.
        if !entries.iter().any(|(t, l)| *t == ts && l == line) {
            entries.push((ts, line.to_string()));
        }
    }
}

impl Tenant {
    /// The delete requests as `GET /loki/api/v1/delete` lists them: shards merged per request.
    pub(super) fn list(&self) -> Value {
        let mut ids: Vec<&str> = Vec::new();
        for shard in &self.shards {
            if !ids.contains(&shard.request_id.as_str()) {
                ids.push(&shard.request_id);
            }
        }
        let requests: Vec<Value> = ids
            .into_iter()
            .map(|id| {
                let shards: Vec<&Shard> = self.shards.iter().filter(|s| s.request_id == id).collect();
                let done = shards.iter().filter(|s| s.processed).count();
                let status = match done {
                    0 => "received".to_string(),
                    d if d == shards.len() => "processed".to_string(),
                    d => format!("{}% Complete", d * 100 / shards.len()),
                };
                let seconds = |ms: i64| ms as f64 / 1000.0;
                json!({
                    "request_id": id,
                    "start_time": seconds(shards.iter().map(|s| s.start_ms).min().unwrap_or(0)),
                    "end_time": seconds(shards.iter().map(|s| s.end_ms).max().unwrap_or(0)),
                    "query": shards[0].query,
                    "status": status,
                    "created_at": seconds(shards[0].created_ms),
                })
            })
            .collect();
        Value::Array(requests)
    }
}

impl Shard {
    /// Whether this shard deletes the entry.
    pub(super) fn covers(&self, labels: &Labels, ts: i64, line: &str, widen: bool) -> bool {
        let ms = ts.div_euclid(NANOS_PER_MS);
        (self.start_ms..=self.end_ms).contains(&ms) && self.parsed.selects(labels) && self.parsed.keeps(line, widen)
    }
}

pub(super) fn now_ns() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_nanos() as i64
}
