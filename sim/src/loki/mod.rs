//! Grafana Loki as the simulator plays it: log lines per stream label set, the compactor's delete
//! API (requests that are `received`, then processed shard by shard, removing matching lines) and
//! `query_range`.
//!
//! Paths (under `/loki`, or at the root of a port with `Sim::serve_vendor_at_root`):
//!
//! - `POST|PUT /loki/api/v1/delete?query=&start=&end=&max_interval=` -> 204. `start` is Unix
//!   seconds (10 digits), `end` defaults to now and may not be in the future. A request whose query
//!   has line filters is split into shards of `max_interval` (at most the server's
//!   `delete_max_interval`, 24h unless set); its shards are processed one after another over the
//!   processing delay (200 ms unless set), each removing the matching lines of its time range,
//!   once Loki's cancellation period (`delete_request_cancel_period`, 24h unless set) is over.
//!   Queries stop showing what a received request matches at once. In `filter-only` deletion
//!   mode (`set_deletion_mode`), processing removes nothing: the lines stay stored, hidden from
//!   queries; in `filter-and-delete` (the default here) they are removed.
//! - `GET /loki/api/v1/delete` -> `[{"request_id", "start_time", "end_time", "query", "status",
//!   "created_at"}]` (times in Unix seconds), oldest first; `status` is `received`, `processed` or
//!   `N% Complete`. Cancelled requests are not listed.
//! - `GET /loki/api/v1/query_range?query=&start=&end=&limit=&direction=` -> `{"status": "success",
//!   "data": {"resultType": "streams", "result": [{"stream": {labels}, "values": [["<ns>", line]]}]}}`
//!   with at most `limit` lines (100 unless given) over `[start, end)`, newest first unless
//!   `direction=forward`. Times are Unix nanoseconds (10 digits or fewer: seconds). A `limit` above
//!   the max entries limit (5000 unless set) or a range above `max_query_length` (721h unless set)
//!   answers 400, as Loki does.
//!
//! Every call needs `Authorization: Bearer sim-token` or Basic `sim-user:sim-password` (401
//! otherwise, unless `Sim::loki().require_auth(false)`). The tenant is `X-Scope-OrgID`, else the Basic
//! user, else the call gets 401 `no org id`; each tenant has its own lines and requests. With a rate
//! limit set, a call over the window's budget gets 429 with `Retry-After` (seconds to the window's
//! end); an injected `Fault::Throttle` answers the same 429, with `Retry-After` only when it has one.
//! Errors are plain text, like Loki's.
//!
//! LogQL, as far as the connector writes it (anything else answers 400, so a connector that drifts
//! from what is simulated fails loudly): a selector of `=`, `!=`, `=~`, `!~` matchers (regexes `.*`,
//! `.+` or literal alternatives `a|b`), then line filters `|= "text"`, `!= "text"` and
//! `|~ "pattern"`, where the pattern is a literal or the whole-token form
//! `(^|[^C])LITERAL($|[^C]|\.($|[^C]))` (C a character class, LITERAL with `\`-escaped
//! metacharacters, optionally inside `(?i:...)`). Strings are Go strings: `"..."` with `\` escapes
//! or `` `raw` ``.
//!
//! Seed (the `"loki"` section of a seed file); every key is optional:
//!
//! ```json
//! { "tenant": "sim-tenant", "processing_delay_ms": 200, "cancel_period_ms": 86400000,
//!   "deletion_mode": "filter-and-delete", "max_entries": 5000,
//!   "streams": [ { "stream": { "app": "shop" },
//!                  "values": [ ["1767225600000000000", "login user=u_123"], "a line stamped now" ] } ] }
//! ```

mod data;
mod endpoints;
mod query;
mod routes;
mod seed;

pub(crate) use data::Data;
pub use data::DeletionMode;
pub(crate) use routes::router;
pub(crate) use seed::seed_json;

use crate::harness::{RateWindow, Vendor};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::sync::MutexGuard;
use std::time::{Duration, Instant};

pub(crate) const SYSTEM: &str = "loki";
/// The tenant helpers and the seed use unless told otherwise.
pub(crate) const TENANT: &str = "sim-tenant";
/// The bearer token the simulated Loki accepts.
pub(crate) const TOKEN: &str = "sim-token";
/// The Basic auth user and password it accepts.
pub(crate) const USER: &str = "sim-user";
pub(crate) const PASSWORD: &str = "sim-password";
const NANOS_PER_MS: i64 = 1_000_000;
const HOUR: Duration = Duration::from_secs(3600);

type Labels = BTreeMap<String, String>;
type Params = HashMap<String, String>;

/// The simulated Loki, seen and changed directly by tests (`Sim::loki`).
pub struct Loki<'a>(pub(crate) &'a Vendor<Data>);

impl Loki<'_> {
    fn with<T>(&self, f: impl FnOnce(&mut Data) -> T) -> T {
        let mut data: MutexGuard<'_, Data> = self.0.data();
        data.advance(Instant::now());
        f(&mut data)
    }

    /// Push a line to the stream `labels` of `tenant`, stamped now.
    pub fn push(&self, tenant: &str, stream: &[(&str, &str)], line: &str) {
        self.with(|data| {
            let ts = data.stamp();
            data.push(tenant, labels(stream), ts, line)
        });
    }

    /// Push a line with its own timestamp (Unix nanoseconds).
    pub fn push_at(&self, tenant: &str, stream: &[(&str, &str)], unix_nanos: i64, line: &str) {
        self.with(|data| data.push(tenant, labels(stream), unix_nanos, line));
    }

    /// Every line `tenant` still stores (deleted ones are gone; hidden ones are not), in every stream.
    pub fn lines(&self, tenant: &str) -> Vec<String> {
        self.with(|data| data.tenant(tenant).streams.values().flatten().map(|(_, line)| line.clone()).collect())
    }

    /// `tenant`'s delete requests, as `GET /loki/api/v1/delete` lists them.
    pub fn delete_requests(&self, tenant: &str) -> Vec<serde_json::Value> {
        self.with(|data| match data.tenant(tenant).list() {
            Value::Array(requests) => requests,
            _ => Vec::new(),
        })
    }

    /// Cancel every request still within its cancellation period, as an operator would with
    /// `DELETE /loki/api/v1/delete?request_id=...`: it is no longer listed, and its lines are
    /// shown (and kept) again. A request whose period is over is no longer cancellable this way.
    pub fn cancel_delete_requests(&self, tenant: &str) {
        let now = Instant::now();
        self.with(|data| data.tenant(tenant).shards.retain(|s| s.period_end <= now));
    }

    /// Loki's `delete_request_cancel_period` (24h unless set): how long a new delete request
    /// waits, cancellable, before the compactor processes it.
    pub fn set_cancel_period(&self, period: Duration) {
        self.with(|data| data.cancel_period = period);
    }

    /// Loki's `deletion_mode`: with `FilterOnly`, processed requests hide lines from queries but
    /// leave them stored (`lines` still returns them).
    pub fn set_deletion_mode(&self, mode: DeletionMode) {
        self.with(|data| data.deletion_mode = mode);
    }

    /// How long a delete request takes to be processed from its creation (its shards one by one).
    pub fn set_processing_delay(&self, delay: Duration) {
        self.with(|data| data.processing_delay = delay);
    }

    /// Loki's `max_entries_limit_per_query`: the largest `limit` query_range takes.
    pub fn set_max_entries(&self, max: usize) {
        self.with(|data| data.max_entries = max.max(1));
    }

    /// Loki's `max_query_length`: the longest range query_range takes.
    pub fn set_max_query_length(&self, max: Duration) {
        self.with(|data| data.max_query_length = max);
    }

    /// The compactor's `delete_max_interval`: the longest shard of a filtered delete request.
    pub fn set_delete_max_interval(&self, max: Duration) {
        self.with(|data| data.delete_max_interval = max);
    }

    /// At most `calls` calls per `window`; `None` for no limit.
    pub fn set_rate_limit(&self, limit: Option<(u32, Duration)>) {
        self.with(|data| data.rate_limit = limit.map(|(calls, length)| RateWindow::new(calls, length)));
    }

    /// Whether calls need credentials (a Loki behind no auth proxy takes any call).
    pub fn require_auth(&self, required: bool) {
        self.with(|data| data.require_auth = required);
    }

    /// Misread whole-token filters as plain substrings, as a vendor that widens a filter would.
    pub fn widen_filters(&self, widen: bool) {
        self.with(|data| data.widen_filters = widen);
    }
}

fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}
