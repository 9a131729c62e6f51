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
    /// Loki's `delete_request_cancel_period`: a request is not processed before it has passed.
    ///
    /// <https://grafana.com/docs/loki/latest/operations/storage/logs-deletion/>: "The deletion of
    /// the log entries takes place after a configurable cancellation time period expires." ... "A
    /// delete request may be canceled within a configurable cancellation period. Set the
    /// delete_request_cancel_period in the compactor's YAML configuration or on the command line
    /// when invoking Loki. Its default value is 24h."
    pub(super) cancel_period: Duration,
    /// Loki's `deletion_mode` (see [`DeletionMode`]).
    pub(super) deletion_mode: DeletionMode,
    /// How long the compactor takes to process a request once its cancellation period is over.
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
            cancel_period: 24 * HOUR,
            deletion_mode: DeletionMode::FilterAndDelete,
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

/// Loki's `deletion_mode`, a runtime (per-tenant) setting.
///
/// <https://grafana.com/docs/loki/latest/operations/storage/logs-deletion/>: "With filter-only,
/// log lines matching the query in the delete request are filtered out when querying Loki. They
/// are not removed from storage. With filter-and-delete, log lines matching the query in the
/// delete request are filtered out when querying Loki, and they are also removed from storage."
/// (`disabled`, which refuses delete requests, is not simulated.)
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeletionMode {
    FilterOnly,
    FilterAndDelete,
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
    /// The end of the cancellation period: cancellable until then, processed after.
    pub(super) period_end: Instant,
    pub(super) ready_at: Instant,
    pub(super) processed: bool,
}

impl Data {
    pub(super) fn tenant(&mut self, tenant: &str) -> &mut Tenant {
        self.tenants.entry(tenant.to_string()).or_default()
    }

    /// Process every shard whose time has come (its cancellation period over): its matching
    /// lines are removed from storage, unless the deletion mode is `filter-only`.
    pub(super) fn advance(&mut self, now: Instant) {
        let widen = self.widen_filters;
        let delete = self.deletion_mode == DeletionMode::FilterAndDelete;
        for tenant in self.tenants.values_mut() {
            for shard in tenant.shards.iter_mut().filter(|s| !s.processed && s.ready_at <= now) {
                if delete {
                    for (labels, entries) in tenant.streams.iter_mut() {
                        entries.retain(|(ts, line)| !shard.covers(labels, *ts, line, widen));
                    }
                }
                shard.processed = true;
            }
        }
    }

    /// Whether queries must not show the entry: a request not yet processed already filters its
    /// lines out; in `filter-only` mode a processed one keeps filtering them (they are stored).
    pub(super) fn hidden(&self, tenant: &Tenant, labels: &Labels, ts: i64, line: &str) -> bool {
        let filter_only = self.deletion_mode == DeletionMode::FilterOnly;
        let filtering = |s: &&Shard| !s.processed || filter_only;
        tenant.shards.iter().filter(filtering).any(|s| s.covers(labels, ts, line, self.widen_filters))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::loki::{labels, Params};

    const QUERY: &str = r#"{app="shop"} |= "u_1234""#;

    fn data_with_a_request(cancel_period: Duration, mode: DeletionMode) -> Data {
        let mut data = Data { cancel_period, deletion_mode: mode, processing_delay: Duration::ZERO, ..Data::default() };
        let ts = data.stamp() - 5_000_000_000;
        data.push("t", labels(&[("app", "shop")]), ts, "login u_1234");
        let start = ((ts / 1_000_000_000) - 1).to_string();
        let params = Params::from([("query".to_string(), QUERY.to_string()), ("start".to_string(), start)]);
        assert_eq!(data.create("t", &params).status(), 204);
        data
    }

    fn stored(data: &mut Data) -> usize {
        data.tenant("t").streams.values().map(Vec::len).sum()
    }

    #[test]
    fn nothing_is_processed_before_the_cancellation_period_ends() {
        let mut data = data_with_a_request(Duration::from_secs(3600), DeletionMode::FilterAndDelete);
        data.advance(Instant::now() + Duration::from_secs(3599));
        assert_eq!(data.tenant("t").list()[0]["status"], "received");
        assert_eq!(stored(&mut data), 1, "still stored, and still cancellable");
        data.advance(Instant::now() + Duration::from_secs(3601));
        assert_eq!(data.tenant("t").list()[0]["status"], "processed");
        assert_eq!(stored(&mut data), 0);
    }

    #[test]
    fn filter_only_hides_lines_but_keeps_them_stored() {
        let mut data = data_with_a_request(Duration::ZERO, DeletionMode::FilterOnly);
        data.advance(Instant::now() + Duration::from_secs(1));
        assert_eq!(data.tenant("t").list()[0]["status"], "processed");
        assert_eq!(stored(&mut data), 1, "not removed from storage");
        let tenant = &data.tenants["t"];
        let (labels, entries) = tenant.streams.iter().next().unwrap();
        assert!(data.hidden(tenant, labels, entries[0].0, &entries[0].1), "filtered out of queries");
    }

    /// `DELETE /loki/api/v1/delete`: cancellable within the period (204, no longer listed, the
    /// lines kept); after it 400 unless `force=true`; an unknown id 404; no id 400.
    #[test]
    fn a_request_is_cancelled_over_http_only_within_its_period() {
        let id = |data: &mut Data| data.tenant("t").list()[0]["request_id"].as_str().unwrap().to_string();
        let params =
            |pairs: &[(&str, &str)]| -> Params { pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect() };
        let mut data = data_with_a_request(Duration::from_secs(3600), DeletionMode::FilterAndDelete);
        let request = id(&mut data);
        let now = Instant::now();
        assert_eq!(data.cancel("t", &params(&[]), now).status(), 400);
        assert_eq!(data.cancel("t", &params(&[("request_id", "nope")]), now).status(), 404);
        assert_eq!(data.cancel("t", &params(&[("request_id", &request)]), now).status(), 204);
        assert_eq!(data.tenant("t").list(), serde_json::json!([]));
        data.advance(now + Duration::from_secs(7200));
        assert_eq!(stored(&mut data), 1, "a cancelled request deletes nothing");

        let mut data = data_with_a_request(Duration::ZERO, DeletionMode::FilterAndDelete);
        let request = id(&mut data);
        let later = Instant::now() + Duration::from_secs(1);
        data.advance(later);
        assert_eq!(data.cancel("t", &params(&[("request_id", &request)]), later).status(), 400);
        assert_eq!(data.cancel("t", &params(&[("request_id", &request), ("force", "true")]), later).status(), 204);
        assert_eq!(data.tenant("t").list()[0]["status"], "processed", "a processed request stays listed");
    }
}
