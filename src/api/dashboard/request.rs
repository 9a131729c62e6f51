//! `/dashboard/requests/{id}`: one request, then system by system its task (state, attempts,
//! last error, evidence) and its part of the audit timeline.

use super::session::Session;
use super::{html, PageError};
use crate::api::ApiState;
use crate::events::receipt;
use crate::store::status::{AuditView, RequestDetail, TaskView};
use crate::store::verification::CheckRow;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Utc};
use std::fmt::Write;
use uuid::Uuid;

pub async fn request(
    session: Session,
    State(s): State<ApiState>,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let id = Uuid::parse_str(&id).map_err(|_| PageError::NotFound)?;
    let now = s.app.clock.now();
    let detail = s.app.store.request_detail(id, now).await?.ok_or(PageError::NotFound)?;
    let title = format!("Request {id}");
    Ok(html::respond(StatusCode::OK, html::document(&title, Some(&session.name), &render(&detail, now))))
}

fn render(detail: &RequestDetail, now: DateTime<Utc>) -> String {
    let r = &detail.request;
    let mut out = format!(
        "<p><a href=\"/dashboard\">← All requests</a></p><h1>Request <code>{}</code> {}</h1>",
        r.id,
        html::badge(&r.state)
    );
    let holds = if r.holds.is_empty() {
        "<span class=\"muted\">none</span>".to_string()
    } else {
        r.holds
            .iter()
            .map(|h| {
                format!(
                    "{} {} <span class=\"muted\">by {} since {}</span>",
                    html::badge(&h.kind),
                    html::escape(&h.reason),
                    html::escape(&h.actor),
                    html::time(h.since)
                )
            })
            .collect::<Vec<_>>()
            .join("<br>")
    };
    let _ = write!(
        out,
        "<div class=\"panel\"><dl class=\"facts\">\
         <dt>Receipt</dt><dd><code>{}</code></dd>\
         <dt>Subject (keyed hash)</dt><dd><code>{}</code></dd>\
         <dt>Generation</dt><dd>{}</dd>\
         <dt>Requested</dt><dd>{}</dd>\
         <dt>Received</dt><dd>{}</dd>\
         <dt>Deadline</dt><dd>{}{extended}</dd>\
         <dt>Finished</dt><dd>{}</dd>\
         <dt>Holds</dt><dd>{holds}</dd></dl></div>",
        receipt(r.id),
        html::escape(&r.subject_hash),
        r.generation,
        html::time(r.requested_at),
        html::time(r.received_at),
        html::deadline(r.deadline_at, html::settled_at(&r.state, r.finished_at), now),
        html::optional_time(r.finished_at),
        extended = r
            .deadline_extended_at
            .map(|at| format!("<br><span class=\"muted\">extended on {}</span>", html::time(at)))
            .unwrap_or_default(),
    );
    out.push_str(&tasks(&detail.tasks));
    out.push_str(&checks(&detail.checks));
    out.push_str("<h2>Timeline</h2><div class=\"systems\">");
    let request_events: Vec<&AuditView> = detail.timeline.iter().filter(|a| a.system.is_none()).collect();
    out.push_str(&timeline("<h3>The request</h3>", &request_events));
    for task in &detail.tasks {
        let events: Vec<&AuditView> =
            detail.timeline.iter().filter(|a| a.system.as_deref() == Some(task.system.as_str())).collect();
        let heading = format!(
            "<h3 id=\"system-{0}\">{0} <span class=\"muted\">{1}</span> {2}</h3>",
            html::escape(&task.system),
            html::escape(&task.kind),
            html::badge(&task.state)
        );
        out.push_str(&timeline(&heading, &events));
    }
    out.push_str("</div>");
    out
}

/// The verification checks: each lookup after the erasure, with its time and result.
fn checks(checks: &[CheckRow]) -> String {
    if checks.is_empty() {
        return String::new();
    }
    let mut out = String::from(
        "<h2>Verification</h2><table><thead><tr><th>System</th><th>Generation</th><th>After</th><th>Due</th>\
         <th>Done</th><th>Result</th><th>Count</th><th>Last error</th></tr></thead><tbody>",
    );
    for c in checks {
        let _ = write!(
            out,
            "<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}s</td><td>{}</td><td>{}</td><td>{}</td>\
             <td class=\"num\">{}</td><td>{}</td></tr>",
            html::escape(&c.system),
            c.generation,
            c.after_seconds,
            html::time(c.due_at),
            html::optional_time(c.done_at),
            html::badge(c.result.as_deref().unwrap_or("due")),
            c.count.map(|n| n.to_string()).unwrap_or_else(|| "-".into()),
            html::escape(c.last_error.as_deref().unwrap_or("-")),
        );
    }
    out.push_str("</tbody></table>");
    out
}

fn tasks(tasks: &[TaskView]) -> String {
    let mut out = String::from(
        "<h2>Systems</h2><table><thead><tr><th>System</th><th>Kind</th><th>State</th><th>Attempts</th>\
         <th>Next attempt</th><th>Evidence</th><th>Last error</th><th>Finished</th></tr></thead><tbody>",
    );
    for t in tasks {
        let _ = write!(
            out,
            "<tr><td><a href=\"#system-{0}\">{0}</a></td><td>{1}</td><td>{2}</td><td class=\"num\">{3} / {4}</td>\
             <td>{5}</td><td>{6}</td><td>{7}</td><td>{8}</td></tr>",
            html::escape(&t.system),
            html::escape(&t.kind),
            html::badge(&t.state),
            t.attempt,
            t.max_attempts,
            html::optional_time(t.next_attempt_at),
            evidence(t.evidence.as_ref()),
            t.last_error.as_deref().map(html::escape).unwrap_or_default(),
            html::optional_time(t.finished_at),
        );
    }
    out.push_str("</tbody></table>");
    out
}

/// Counts by kind of record, then the vendor's references and note.
fn evidence(evidence: Option<&serde_json::Value>) -> String {
    let Some(evidence) = evidence else { return "<span class=\"muted\">—</span>".into() };
    let mut parts = Vec::new();
    if let Some(counts) = evidence["counts"].as_object() {
        for (what, n) in counts {
            parts.push(format!("<b>{}</b> {}", html::escape(&n.to_string()), html::escape(what)));
        }
    }
    if parts.is_empty() {
        parts.push("<span class=\"muted\">no count</span>".into());
    }
    if let Some(refs) = evidence["vendor_refs"].as_array().filter(|r| !r.is_empty()) {
        parts.push(format!("<span class=\"muted\">refs</span> <code>{}</code>", html::json(&refs.clone().into())));
    }
    if let Some(note) = evidence["note"].as_str() {
        parts.push(format!("<span class=\"muted\">{}</span>", html::escape(note)));
    }
    parts.join("<br>")
}

fn timeline(heading: &str, events: &[&AuditView]) -> String {
    let mut out = format!("<section class=\"system\">{heading}");
    if events.is_empty() {
        out.push_str("<p class=\"muted\">No event yet.</p></section>");
        return out;
    }
    out.push_str("<table><thead><tr><th>At</th><th>Event</th><th>By</th><th>Detail</th></tr></thead><tbody>");
    for e in events {
        let _ = write!(
            out,
            "<tr><td>{}</td><td><code>{}</code></td><td class=\"mono\">{}</td><td>{}</td></tr>",
            html::time(e.at),
            html::escape(&e.event),
            html::escape(&e.actor),
            html::json(&e.detail),
        );
    }
    out.push_str("</tbody></table></section>");
    out
}
