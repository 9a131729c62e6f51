//! Human-readable output: aligned tables and the lines `submit --wait` prints. Everything shown
//! comes from the API, which gives subjects only as a keyed hash.

use super::client::{DeadLetterView, RequestDetail, RequestView, TaskView};
use chrono::{DateTime, Utc};
use serde_json::Value;
use std::fmt;

/// Columns aligned on the widest cell; the last column is not padded.
pub struct Table {
    header: Vec<&'static str>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(header: &[&'static str]) -> Table {
        Table { header: header.to_vec(), rows: Vec::new() }
    }

    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells.into_iter().map(|c| one_line(&c)).collect());
    }
}

impl fmt::Display for Table {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut widths: Vec<usize> = self.header.iter().map(|h| h.chars().count()).collect();
        for row in &self.rows {
            for (i, cell) in row.iter().enumerate() {
                if let Some(w) = widths.get_mut(i) {
                    *w = (*w).max(cell.chars().count());
                }
            }
        }
        let header: Vec<String> = self.header.iter().map(|h| h.to_string()).collect();
        for row in std::iter::once(&header).chain(&self.rows) {
            let mut line = String::new();
            for (i, cell) in row.iter().enumerate() {
                if i > 0 {
                    line.push_str("  ");
                }
                line.push_str(cell);
                let pad = widths.get(i).copied().unwrap_or(0).saturating_sub(cell.chars().count());
                line.extend(std::iter::repeat_n(' ', pad));
            }
            writeln!(f, "{}", line.trim_end())?;
        }
        Ok(())
    }
}

/// `erasure status`: the request, each system's task, the timeline.
pub fn request(detail: &RequestDetail) -> String {
    let r = &detail.request;
    let mut out = String::new();
    let mut field = |name: &str, value: String| out.push_str(&format!("{name:<10} {value}\n"));
    field("request", r.id.to_string());
    field("state", format!("{} (generation {})", r.state, r.generation));
    field("subject", format!("{} (keyed hash)", r.subject_hash));
    field("requested", time(r.requested_at));
    field("received", time(r.received_at));
    let mut deadline = time(r.deadline_at);
    if let Some(at) = r.deadline_extended_at {
        deadline.push_str(&format!(" (extended on {})", time(at)));
    }
    if r.overdue {
        deadline.push_str(" (overdue)");
    }
    field("deadline", deadline);
    field("finished", r.finished_at.map(time).unwrap_or_else(|| "-".into()));
    if r.holds.is_empty() {
        field("holds", "none".into());
    }
    for (i, h) in r.holds.iter().enumerate() {
        let since = h.since.map(|s| format!(" since {}", time(s))).unwrap_or_default();
        field(if i == 0 { "holds" } else { "" }, one_line(&format!("{} by {}{since}: {}", h.kind, h.actor, h.reason)));
    }

    let mut tasks = Table::new(&["SYSTEM", "KIND", "STATE", "ATTEMPT", "NEXT ATTEMPT", "EVIDENCE", "LAST ERROR"]);
    for t in &detail.tasks {
        tasks.row(vec![
            t.system.clone(),
            t.kind.clone(),
            t.state.clone(),
            format!("{}/{}", t.attempt, t.max_attempts),
            t.next_attempt_at.map(time).unwrap_or_else(|| "-".into()),
            t.evidence.as_ref().map(evidence).unwrap_or_else(|| "-".into()),
            match (t.state.as_str(), t.last_error.as_deref()) {
                (_, None) => "-".into(),
                ("exempt", Some(reason)) => format!("legal reason: {}", cut(reason, 80)),
                (_, Some(error)) => cut(error, 80),
            },
        ]);
    }
    out.push('\n');
    out.push_str(&tasks.to_string());

    if !detail.checks.is_empty() {
        let mut checks = Table::new(&["SYSTEM", "GENERATION", "AFTER", "DUE", "DONE", "RESULT", "COUNT", "LAST ERROR"]);
        for c in &detail.checks {
            checks.row(vec![
                c.system.clone(),
                c.generation.to_string(),
                format!("{}s", c.after_seconds),
                time(c.due_at),
                c.done_at.map(time).unwrap_or_else(|| "-".into()),
                c.result.clone().unwrap_or_else(|| "due".into()),
                c.count.map(|n| n.to_string()).unwrap_or_else(|| "-".into()),
                c.last_error.as_deref().map(|e| cut(e, 80)).unwrap_or_else(|| "-".into()),
            ]);
        }
        out.push_str("\nVERIFICATION CHECKS\n");
        out.push_str(&checks.to_string());
    }

    let mut timeline = Table::new(&["AT", "ACTOR", "EVENT", "SYSTEM", "DETAIL"]);
    for a in &detail.timeline {
        timeline.row(vec![
            time(a.at),
            a.actor.clone(),
            a.event.clone(),
            a.system.clone().unwrap_or_else(|| "-".into()),
            audit_detail(&a.detail),
        ]);
    }
    out.push_str("\nTIMELINE\n");
    out.push_str(&timeline.to_string());
    out
}

/// `erasure list`.
pub fn requests(requests: &[RequestView]) -> String {
    if requests.is_empty() {
        return "no request matches\n".into();
    }
    let mut table = Table::new(&["ID", "STATE", "RECEIVED", "DEADLINE", "OVERDUE", "FINISHED", "HOLDS"]);
    for r in requests {
        let holds: Vec<&str> = r.holds.iter().map(|h| h.kind.as_str()).collect();
        table.row(vec![
            r.id.to_string(),
            r.state.clone(),
            time(r.received_at),
            time(r.deadline_at),
            if r.overdue { "overdue".into() } else { "-".into() },
            r.finished_at.map(time).unwrap_or_else(|| "-".into()),
            if holds.is_empty() { "-".into() } else { holds.join(",") },
        ]);
    }
    table.to_string()
}

/// `erasure dlq list`. Bodies are never shown here: they can hold personal data.
pub fn dead_letters(letters: &[DeadLetterView]) -> String {
    if letters.is_empty() {
        return "no dead letter\n".into();
    }
    let mut table = Table::new(&["ID", "REASON", "REQUEST", "DEAD-LETTERED", "REPLAYED", "DISCARDED", "DETAIL"]);
    for d in letters {
        table.row(vec![
            d.id.to_string(),
            d.reason.clone(),
            d.request_id.map(|id| id.to_string()).unwrap_or_else(|| "-".into()),
            time(d.dead_lettered_at),
            d.replayed_at.map(time).unwrap_or_else(|| "-".into()),
            d.discarded_at.map(time).unwrap_or_else(|| "-".into()),
            d.detail.as_deref().map(|d| cut(d, 100)).unwrap_or_else(|| "-".into()),
        ]);
    }
    table.to_string()
}

/// One line of `submit --wait` progress for a task: "helpdesk: running (attempt 1)".
pub fn progress(task: &TaskView) -> String {
    let what = match task.state.as_str() {
        "running" => format!("running (attempt {})", task.attempt),
        "retrying" => {
            let error = task.last_error.as_deref().map(|e| cut(e, 80)).unwrap_or_else(|| "transient error".into());
            match task.next_attempt_at {
                Some(t) => format!("retrying ({error}; next attempt at {})", time(t)),
                None => format!("retrying ({error})"),
            }
        }
        "waiting" => "accepted; waiting for the system to finish".into(),
        "erased" => match task.evidence.as_ref().map(evidence).filter(|e| e != "-") {
            Some(counts) => format!("erased ({counts})"),
            None => "erased".into(),
        },
        "failed" => match &task.last_error {
            Some(error) => format!("failed: {}", cut(error, 120)),
            None => "failed".into(),
        },
        "exempt" => match &task.last_error {
            Some(reason) => format!("exempt: {}", cut(reason, 120)),
            None => "exempt".into(),
        },
        other => other.replace('_', " "),
    };
    format!("{}: {what}", task.system)
}

/// Evidence counts, "records=2 tickets=3"; "-" when there are none.
pub fn evidence(evidence: &Value) -> String {
    let counts: Vec<String> = evidence["counts"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| format!("{k}={}", v.as_u64().map(|n| n.to_string()).unwrap_or_else(|| v.to_string())))
        .collect();
    if counts.is_empty() {
        "-".into()
    } else {
        counts.join(" ")
    }
}

fn audit_detail(detail: &Value) -> String {
    match detail {
        Value::Null => "-".into(),
        Value::Object(map) if map.is_empty() => "-".into(),
        Value::Object(map) => {
            let parts: Vec<String> = map
                .iter()
                .map(|(k, v)| match v {
                    Value::String(s) => format!("{k}={s}"),
                    other => format!("{k}={other}"),
                })
                .collect();
            cut(&parts.join(" "), 100)
        }
        other => cut(&other.to_string(), 100),
    }
}

pub fn time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%SZ").to_string()
}

fn cut(text: &str, max: usize) -> String {
    let text = one_line(text);
    if text.chars().count() <= max {
        return text;
    }
    let mut short: String = text.chars().take(max - 1).collect();
    short.push('…');
    short
}

/// Control characters (newlines in an error) would break the columns.
fn one_line(text: &str) -> String {
    text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn task(value: Value) -> TaskView {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn columns_align_on_the_widest_cell() {
        let mut t = Table::new(&["A", "LONGER"]);
        t.row(vec!["wide cell".into(), "x".into()]);
        t.row(vec!["b".into(), "multi\nline".into()]);
        assert_eq!(t.to_string(), "A          LONGER\nwide cell  x\nb          multi line\n");
    }

    #[test]
    fn progress_lines_say_what_each_system_is_doing() {
        let running = task(json!({ "system": "helpdesk", "state": "running", "attempt": 1 }));
        assert_eq!(progress(&running), "helpdesk: running (attempt 1)");
        let erased = task(json!({ "system": "helpdesk", "state": "erased", "attempt": 1,
                                   "evidence": { "counts": { "records": 2, "tickets": 3 } } }));
        assert_eq!(progress(&erased), "helpdesk: erased (records=2 tickets=3)");
        let retrying = task(json!({ "system": "crm", "state": "retrying", "attempt": 2,
                                     "last_error": "crm answered HTTP 503",
                                     "next_attempt_at": "2026-11-24T03:00:10Z" }));
        assert_eq!(progress(&retrying), "crm: retrying (crm answered HTTP 503; next attempt at 2026-11-24 03:00:10Z)");
        let nothing = task(json!({ "system": "crm", "state": "nothing_to_erase", "attempt": 1 }));
        assert_eq!(progress(&nothing), "crm: nothing to erase");
    }

    #[test]
    fn long_errors_are_cut() {
        assert_eq!(cut("abcdef", 4), "abc…");
        assert_eq!(cut("abc", 4), "abc");
    }
}
