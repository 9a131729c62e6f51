//! Counting the lines one identifier's query matches: `query_range` over the lookback in windows
//! of at most `query_window` (Loki refuses longer ranges), newest first, page by page, each line
//! re-checked client-side.
//!
//! Paging goes backward: the next page ends just after the oldest line of the page before, and the
//! lines at that boundary timestamp, already counted, are skipped when they come again.

use crate::api::{Api, Entry};
use crate::logql::Token;
use erasure_connector::Failure;
use std::collections::hash_map::DefaultHasher;
use std::collections::HashSet;
use std::hash::{Hash, Hasher};

/// `[start, end)` in Unix nanoseconds.
#[derive(Debug, Clone, Copy)]
pub struct Span {
    pub start: i64,
    pub end: i64,
}

pub struct Limits {
    pub window_ns: i64,
    pub page_size: u32,
    /// Counting stops at this many lines for one identifier.
    pub max_lines: u64,
}

#[derive(Debug, Default)]
pub struct Counted {
    /// Lines this identifier's query matched.
    pub matched: u64,
    /// Of those, lines no earlier identifier of the same subject matched.
    pub new_lines: u64,
    /// Counting stopped at the limit: there may be more.
    pub capped: bool,
}

/// Count the lines `query` matches in `span`; `seen` holds the lines of earlier identifiers.
pub async fn count(
    api: &Api,
    query: &str,
    token: &Token,
    span: Span,
    limits: &Limits,
    seen: &mut HashSet<u64>,
) -> Result<Counted, Failure> {
    let mut counted = Counted::default();
    let mut window_end = span.end;
    while window_end > span.start {
        let window_start = span.start.max(window_end.saturating_sub(limits.window_ns));
        let mut end = window_end;
        let mut boundary_ts = i64::MIN;
        let mut boundary: HashSet<u64> = HashSet::new();
        while end > window_start {
            let page = api.query_range(query, window_start, end, limits.page_size).await?;
            let mut fresh = 0;
            for entry in &page {
                if !token.matches(&entry.line) {
                    return Err(Failure::permanent(
                        "loki returned log lines the connector's own check does not match: it reads the filter \
                         wider than written, so no delete request was sent",
                    ));
                }
                let key = key(entry);
                if entry.ts == boundary_ts && boundary.contains(&key) {
                    continue;
                }
                fresh += 1;
                counted.matched += 1;
                if seen.insert(key) {
                    counted.new_lines += 1;
                }
                if counted.matched >= limits.max_lines {
                    counted.capped = true;
                    return Ok(counted);
                }
            }
            let Some(oldest) = page.iter().map(|e| e.ts).min() else { break };
            if page.len() < limits.page_size as usize {
                break;
            }
            if fresh == 0 {
                // More than a page of lines share one timestamp: step past it (some may go uncounted).
                end = oldest;
                boundary.clear();
                boundary_ts = i64::MIN;
            } else {
                if oldest != boundary_ts {
                    boundary.clear();
                    boundary_ts = oldest;
                }
                boundary.extend(page.iter().filter(|e| e.ts == oldest).map(key));
                end = oldest.saturating_add(1);
            }
        }
        window_end = window_start;
    }
    Ok(counted)
}

/// A line's identity: stream, timestamp and text.
fn key(entry: &Entry) -> u64 {
    let mut hasher = DefaultHasher::new();
    (&entry.stream, entry.ts, &entry.line).hash(&mut hasher);
    hasher.finish()
}
