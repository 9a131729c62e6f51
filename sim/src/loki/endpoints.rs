//! What the delete and query_range endpoints do for a tenant, with Loki's time formats.

use super::data::{now_ns, Data, Shard};
use super::query::LogQuery;
use super::routes::bad_request;
use super::{Labels, Params, HOUR, NANOS_PER_MS};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

impl Data {
    /// `DELETE /loki/api/v1/delete?request_id=...[&force=true]`: cancel a delete request. Loki's
    /// HTTP API reference: a request "may be canceled within a configurable cancellation period";
    /// with `force=true` "partially completed delete requests will be canceled. NOTE: some data
    /// from the request may still be deleted and the deleted request will be listed as
    /// 'processed'"; "A 204 response indicates success". Loki refuses the cancellation of a
    /// request already processed or in process (400) and of an unknown one (404).
    pub(super) fn cancel(&mut self, tenant: &str, params: &Params, now: Instant) -> Response {
        let Some(id) = params.get("request_id").filter(|id| !id.is_empty()) else {
            return bad_request("missing request_id");
        };
        let force = params.get("force").is_some_and(|f| f == "true");
        let shards = &mut self.tenant(tenant).shards;
        if !shards.iter().any(|s| &s.request_id == id) {
            return super::routes::error(StatusCode::NOT_FOUND, "could not find delete request with given id", None);
        }
        let started = shards.iter().any(|s| &s.request_id == id && (s.processed || s.period_end <= now));
        if started && !force {
            return bad_request("deletion of request which is in process or already processed is not allowed");
        }
        // The shards not processed yet go; processed ones stay listed as `processed`.
        shards.retain(|s| &s.request_id != id || s.processed);
        StatusCode::NO_CONTENT.into_response()
    }

    /// `POST /loki/api/v1/delete`.
    pub(super) fn create(&mut self, tenant: &str, params: &Params) -> Response {
        let Some(query) = params.get("query").filter(|q| !q.is_empty()) else {
            return bad_request("query not set");
        };
        let parsed = match LogQuery::parse(query) {
            Ok(parsed) => parsed,
            Err(e) => return bad_request(format!("invalid query expression: {e}")),
        };
        let Some(start) = params.get("start").filter(|s| !s.is_empty()) else {
            return bad_request("start time not set");
        };
        let Some(start_ms) = delete_time(start) else {
            return bad_request("invalid start time: require unix seconds or RFC3339 format");
        };
        let now_ms = now_ns() / NANOS_PER_MS;
        let end_ms = match params.get("end").filter(|e| !e.is_empty()) {
            None => now_ms,
            Some(end) => match delete_time(end) {
                Some(end_ms) => end_ms,
                None => return bad_request("invalid end time: require unix seconds or RFC3339 format"),
            },
        };
        if end_ms > now_ms {
            return bad_request("deletes in the future are not allowed");
        }
        if start_ms > end_ms {
            return bad_request("start time can't be greater than end time");
        }
        let span = Duration::from_millis((end_ms - start_ms) as u64);
        let mut interval = Duration::ZERO;
        if !parsed.filters.is_empty() {
            interval = match params.get("max_interval").filter(|m| !m.is_empty()) {
                None if span < Duration::from_secs(1) => {
                    return bad_request("difference between start time and end time must be at least one second")
                }
                None => span.min(self.delete_max_interval),
                Some(text) => match go_duration(text) {
                    Some(i) if i >= Duration::from_secs(1) && i <= self.delete_max_interval && i <= span => i,
                    Some(i) if i > self.delete_max_interval && i >= Duration::from_secs(1) => {
                        return bad_request(format!(
                            "max_interval can't be greater than {:?}",
                            self.delete_max_interval
                        ))
                    }
                    Some(i) if i > span => {
                        return bad_request("max_interval can't be greater than the interval to be deleted")
                    }
                    _ => return bad_request("invalid max_interval: valid time units are 's', 'm', 'h'"),
                },
            };
        }
        let mut ranges = Vec::new();
        if interval.is_zero() || interval >= span {
            ranges.push((start_ms, end_ms));
        } else {
            let step = interval.as_millis() as i64;
            let mut from = start_ms;
            while from < end_ms {
                ranges.push((from, (from + step).min(end_ms)));
                from += step;
            }
        }
        self.next_request += 1;
        let request_id = format!("{:08x}", (self.next_request.wrapping_mul(0x9e37_79b9) ^ 0x5bd1_e995) as u32);
        // Processed once the cancellation period is over, shard after shard.
        let period_end = Instant::now() + self.cancel_period;
        let n = ranges.len() as u32;
        let delay = self.processing_delay;
        let shards = ranges.into_iter().enumerate().map(|(k, (start_ms, end_ms))| Shard {
            request_id: request_id.clone(),
            query: query.clone(),
            parsed: parsed.clone(),
            start_ms,
            end_ms,
            created_ms: now_ms,
            period_end,
            ready_at: period_end + delay * (k as u32 + 1) / n,
            processed: false,
        });
        self.tenant(tenant).shards.extend(shards);
        StatusCode::NO_CONTENT.into_response()
    }

    /// `GET /loki/api/v1/query_range`.
    pub(super) fn query_range(&mut self, tenant: &str, params: &Params) -> Response {
        let Some(query) = params.get("query").filter(|q| !q.is_empty()) else {
            return bad_request("query not set");
        };
        let parsed = match LogQuery::parse(query) {
            Ok(parsed) => parsed,
            Err(e) => return bad_request(format!("parse error: {e}")),
        };
        let limit = match params.get("limit").map(|l| l.parse::<usize>()) {
            None => 100,
            Some(Ok(limit)) if limit > 0 => limit,
            Some(_) => return bad_request("invalid limit"),
        };
        if limit > self.max_entries {
            return bad_request(format!(
                "max entries limit per query exceeded, limit > max_entries_limit_per_query ({limit} > {})",
                self.max_entries
            ));
        }
        let now = now_ns();
        let (Some(start), Some(end)) =
            (query_time(params.get("start"), now - HOUR.as_nanos() as i64), query_time(params.get("end"), now))
        else {
            return bad_request("invalid start or end: require unix nanoseconds, seconds or RFC3339 format");
        };
        if end <= start {
            return bad_request("end timestamp must not be before or equal to start time");
        }
        let length = Duration::from_nanos((end - start) as u64);
        if length > self.max_query_length {
            return bad_request(format!(
                "the query time range exceeds the limit (query length: {length:?}, limit: {:?})",
                self.max_query_length
            ));
        }
        let forward = match params.get("direction").map(String::as_str) {
            None | Some("backward") | Some("BACKWARD") => false,
            Some("forward") | Some("FORWARD") => true,
            Some(_) => return bad_request("invalid direction"),
        };
        let widen = self.widen_filters;
        self.tenant(tenant);
        let tenant = &self.tenants[tenant];
        let mut found: Vec<(i64, &Labels, &str)> = Vec::new();
        for (labels, entries) in tenant.streams.iter().filter(|(labels, _)| parsed.selects(labels)) {
            for (ts, line) in entries {
                let hidden = || self.hidden(tenant, labels, *ts, line);
                if (start..end).contains(ts) && parsed.keeps(line, widen) && !hidden() {
                    found.push((*ts, labels, line));
                }
            }
        }
        found.sort_by(|a, b| if forward { a.cmp(b) } else { b.0.cmp(&a.0).then(a.1.cmp(b.1)).then(a.2.cmp(b.2)) });
        found.truncate(limit);
        let mut result: Vec<(&Labels, Vec<Value>)> = Vec::new();
        for (ts, labels, line) in found {
            match result.iter_mut().find(|(l, _)| *l == labels) {
                Some((_, values)) => values.push(json!([ts.to_string(), line])),
                None => result.push((labels, vec![json!([ts.to_string(), line])])),
            }
        }
        let result: Vec<Value> =
            result.into_iter().map(|(labels, values)| json!({ "stream": labels, "values": values })).collect();
        Json(json!({ "status": "success", "data": { "resultType": "streams", "result": result, "stats": {} } }))
            .into_response()
    }
}

/// A delete request's time: Unix seconds, exactly 10 digits (RFC3339, which Loki also takes, is not
/// simulated). In milliseconds.
fn delete_time(text: &str) -> Option<i64> {
    let valid = text.len() == 10 && text.bytes().all(|b| b.is_ascii_digit());
    valid.then(|| text.parse::<i64>().ok().map(|s| s * 1000)).flatten()
}

/// A query time: Unix nanoseconds; 10 digits or fewer are seconds; with a `.`, fractional seconds.
fn query_time(text: Option<&String>, default: i64) -> Option<i64> {
    let Some(text) = text.filter(|t| !t.is_empty()) else {
        return Some(default);
    };
    if text.contains('.') {
        return text.parse::<f64>().ok().map(|s| (s * 1e9) as i64);
    }
    let n = text.parse::<i64>().ok()?;
    Some(if text.len() <= 10 { n.checked_mul(1_000_000_000)? } else { n })
}

/// A Go duration of whole `h`, `m` and `s` units, such as `24h` or `1h30m`.
fn go_duration(text: &str) -> Option<Duration> {
    let mut total = Duration::ZERO;
    let mut number = String::new();
    for c in text.chars() {
        match c {
            '0'..='9' => number.push(c),
            'h' | 'm' | 's' if !number.is_empty() => {
                let unit = match c {
                    'h' => 3600,
                    'm' => 60,
                    _ => 1,
                };
                total += Duration::from_secs(number.parse::<u64>().ok()?.checked_mul(unit)?);
                number.clear();
            }
            _ => return None,
        }
    }
    (number.is_empty() && !text.is_empty()).then_some(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_and_durations() {
        assert_eq!(delete_time("1700000000"), Some(1_700_000_000_000));
        assert_eq!(delete_time("170000000"), None);
        assert_eq!(query_time(Some(&"1700000000".into()), 0), Some(1_700_000_000_000_000_000));
        assert_eq!(query_time(Some(&"1700000000000000001".into()), 0), Some(1_700_000_000_000_000_001));
        assert_eq!(go_duration("1h30m"), Some(Duration::from_secs(5400)));
        assert_eq!(go_duration("1d"), None);
        assert_eq!(go_duration(""), None);
    }
}
