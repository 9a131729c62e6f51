//! The dashboard's HTML: escaping, the page layout and its style, and small formatters. Every
//! value from the database or the request goes through `escape` before it reaches a page.

use crate::model::RequestState;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use std::fmt::Write;

/// Text made safe for HTML element content and quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A whole page. `signed_in` is the token name shown in the header, with the logout button.
pub fn document(title: &str, signed_in: Option<&str>, body: &str) -> String {
    let mut page = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{} · erasure-worker</title><style>{STYLE}</style></head><body>\
         <header><a href=\"/dashboard\" class=\"brand\">erasure-worker</a>",
        escape(title)
    );
    if let Some(name) = signed_in {
        let _ = write!(
            page,
            "<span class=\"who\">signed in as <b>{}</b></span>\
             <form method=\"post\" action=\"/dashboard/logout\"><button type=\"submit\">Sign out</button></form>",
            escape(name)
        );
    }
    let _ = writeln!(page, "</header><main>{body}</main></body></html>");
    page
}

/// An HTML response that no cache keeps, no other site frames, and that runs no script.
pub fn respond(status: StatusCode, page: String) -> Response {
    let mut response = (status, page).into_response();
    let headers = response.headers_mut();
    let set = [
        (header::CONTENT_TYPE, "text/html; charset=utf-8"),
        (header::CACHE_CONTROL, "no-store"),
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
    ];
    for (name, value) in set {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}

/// A request or task state as a coloured badge.
pub fn badge(state: &str) -> String {
    let class: String = state.chars().filter(|c| c.is_ascii_lowercase() || *c == '_').collect();
    format!("<span class=\"badge s-{class}\">{}</span>", escape(&state.replace('_', " ")))
}

pub fn time(at: DateTime<Utc>) -> String {
    format!("<time datetime=\"{}\">{}</time>", at.to_rfc3339(), at.format("%Y-%m-%d %H:%M:%S UTC"))
}

pub fn optional_time(at: Option<DateTime<Utc>>) -> String {
    at.map(time).unwrap_or_else(|| "<span class=\"muted\">—</span>".into())
}

/// The deadline, and how far it is: "in 12 days", or in red "3 days late".
pub fn deadline(deadline_at: DateTime<Utc>, finished_at: Option<DateTime<Utc>>, now: DateTime<Utc>) -> String {
    let reference = finished_at.unwrap_or(now);
    let late = reference > deadline_at;
    let span = if late { reference - deadline_at } else { deadline_at - reference };
    let amount = if span.num_days() >= 1 {
        plural(span.num_days(), "day")
    } else if span.num_hours() >= 1 {
        plural(span.num_hours(), "hour")
    } else {
        plural(span.num_minutes(), "minute")
    };
    let note = match (late, finished_at.is_some()) {
        (true, _) => format!("<span class=\"late\">{amount} late</span>"),
        (false, true) => format!("<span class=\"muted\">finished {amount} before</span>"),
        (false, false) => format!("<span class=\"muted\">in {amount}</span>"),
    };
    format!("{}<br>{note}", time(deadline_at))
}

/// When a request stopped running against its deadline. A failed request still owes an erasure
/// (as `/metrics` counts it), so its deadline keeps running.
pub fn settled_at(state: &str, finished_at: Option<DateTime<Utc>>) -> Option<DateTime<Utc>> {
    finished_at.filter(|_| RequestState::parse(state) != Some(RequestState::Failed))
}

fn plural(n: i64, unit: &str) -> String {
    if n == 1 {
        format!("1 {unit}")
    } else {
        format!("{n} {unit}s")
    }
}

/// A JSON value for people: objects as `key: value` pairs, strings without quotes.
pub fn json(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::Object(map) if map.is_empty() => String::new(),
        serde_json::Value::Object(map) => map
            .iter()
            .map(|(k, v)| format!("<span class=\"k\">{}</span> {}", escape(k), json(v)))
            .collect::<Vec<_>>()
            .join(" · "),
        serde_json::Value::Array(items) => items.iter().map(json).collect::<Vec<_>>().join(", "),
        serde_json::Value::String(s) => escape(s),
        other => escape(&other.to_string()),
    }
}

const STYLE: &str = "\
:root{--fg:#1f2328;--muted:#59636e;--line:#d1d9e0;--bg:#f6f8fa;--accent:#0969da}
*{box-sizing:border-box}
body{margin:0;font:14px/1.5 system-ui,-apple-system,'Segoe UI',Roboto,'Noto Sans',sans-serif;color:var(--fg);background:var(--bg)}
header{background:#24292f;color:#d1d9e0;padding:10px 24px;display:flex;align-items:center;gap:16px}
header .brand{color:#fff;font-weight:600;text-decoration:none;font-size:15px}
header .who{margin-left:auto;font-size:13px}
header .who b{color:#fff}
header button{background:transparent;color:#fff;border-color:#57606a}
main{max-width:1240px;margin:0 auto;padding:20px 24px 48px}
h1{font-size:20px;margin:0 0 16px}
h1 code{font-size:18px}
h2{font-size:15px;margin:28px 0 10px}
h3{font-size:14px;margin:0 0 8px;display:flex;gap:8px;align-items:center}
a{color:var(--accent);text-decoration:none}
a:hover{text-decoration:underline}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(104px,1fr));gap:10px}
.card{display:block;background:#fff;border:1px solid var(--line);border-radius:6px;padding:10px 12px;color:inherit}
.card:hover{border-color:var(--accent);text-decoration:none}
.card b{display:block;font-size:22px;line-height:1.2}
.card span{color:var(--muted);font-size:12px}
.card.alert b{color:#cf222e}
.card.warn b{color:#9a6700}
.card.zero b{color:#8c959f}
div.scroll{overflow-x:auto}
div.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(420px,1fr));gap:12px}
figure{margin:0;padding:8px 10px;background:#fff;border:1px solid var(--line);border-radius:6px}
figure h3{margin:0 0 4px;font-size:14px}
figcaption{color:var(--muted);font-size:13px}
svg.chart{display:block;width:100%;height:auto}
a.small{font-size:13px;font-weight:normal;margin-left:8px}
table{width:100%;border-collapse:separate;border-spacing:0;background:#fff;border:1px solid var(--line);border-radius:6px;overflow:hidden}
th,td{text-align:left;padding:7px 9px;border-bottom:1px solid #eaeef2;vertical-align:top}
th{background:#f6f8fa;font-weight:600;font-size:12px;color:var(--muted)}
tr:last-child td{border-bottom:0}
td.num{text-align:right;font-variant-numeric:tabular-nums}
code,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12.5px}
time,a.mono{white-space:nowrap}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;font-size:12px;font-weight:600;background:#eaeef2;color:#424a53;white-space:nowrap}
.s-completed,.s-erased,.s-nothing_to_erase{background:#dafbe1;color:#116329}
.s-failed{background:#ffebe9;color:#a40e26}
.s-in_progress,.s-running{background:#ddf4ff;color:#0550ae}
.s-retrying,.s-waiting,.s-scheduled,.s-pending{background:#fff8c5;color:#7d4e00}
.s-exempt{background:#fbefff;color:#6e40c9}
.late{color:#cf222e;font-weight:600}
.muted{color:var(--muted)}
.k{color:var(--muted)}
.error{background:#ffebe9;border:1px solid #ffcecb;color:#82071e;padding:8px 12px;border-radius:6px;margin:0 0 12px}
.note{background:#ddf4ff;border:1px solid #b6e3ff;padding:8px 12px;border-radius:6px;margin:0 0 12px}
.panel{background:#fff;border:1px solid var(--line);border-radius:6px;padding:14px 16px}
.tools{display:flex;flex-wrap:wrap;gap:12px 28px;align-items:flex-end;margin-bottom:12px}
.tools form{display:flex;flex-wrap:wrap;gap:8px;align-items:flex-end;margin:0}
label{display:flex;flex-direction:column;gap:2px;font-size:12px;color:var(--muted)}
select,input{font:inherit;padding:5px 8px;border:1px solid var(--line);border-radius:6px;background:#fff;color:var(--fg)}
input[type=search]{width:260px}
button{font:inherit;padding:5px 12px;border:1px solid var(--line);border-radius:6px;background:#f6f8fa;color:var(--fg);cursor:pointer}
button.primary{background:#1f883d;color:#fff;border-color:#1a7f37}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:6px 20px;margin:0}
dl.facts dt{color:var(--muted)}
dl.facts dd{margin:0}
.systems{display:grid;gap:12px}
.system table{table-layout:fixed}
.system th:nth-child(1){width:190px}
.system th:nth-child(2){width:180px}
.system th:nth-child(3){width:370px}
.system td{overflow-wrap:anywhere}
.pager{margin-top:10px;display:flex;justify-content:space-between;color:var(--muted)}
.login{max-width:420px;margin:60px auto}
.login form{display:flex;flex-direction:column;gap:12px}
.login input{width:100%}
";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_neutralises_every_character_that_means_something_in_html() {
        assert_eq!(
            escape("<a href=\"x\" title='y'>&amp;</a>"),
            "&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;amp;&lt;/a&gt;"
        );
        assert_eq!(escape("plain text, é ü 日本"), "plain text, é ü 日本");
        assert_eq!(escape(""), "");
    }

    #[test]
    fn a_badge_class_holds_only_letters_and_underscores() {
        assert_eq!(badge("in_progress"), "<span class=\"badge s-in_progress\">in progress</span>");
        assert_eq!(badge("x\" onclick=\"y"), "<span class=\"badge s-xonclicky\">x&quot; onclick=&quot;y</span>");
    }

    #[test]
    fn json_details_are_escaped() {
        let detail = serde_json::json!({ "reason": "<script>", "attempt": 2 });
        assert_eq!(
            json(&detail),
            "<span class=\"k\">attempt</span> 2 · <span class=\"k\">reason</span> &lt;script&gt;"
        );
    }

    #[test]
    fn deadlines_say_how_far_they_are() {
        let deadline_at: DateTime<Utc> = "2026-12-01T00:00:00Z".parse().unwrap();
        let before = deadline_at - chrono::Duration::days(3);
        let after = deadline_at + chrono::Duration::hours(5);
        assert!(deadline(deadline_at, None, before).ends_with("<span class=\"muted\">in 3 days</span>"));
        assert!(deadline(deadline_at, None, after).ends_with("<span class=\"late\">5 hours late</span>"));
        assert!(
            deadline(deadline_at, Some(before), after).ends_with("<span class=\"muted\">finished 3 days before</span>")
        );
    }
}
