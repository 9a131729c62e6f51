//! `/dashboard`: totals by state, deadlines at risk (the numbers of `/metrics`, and the most
//! urgent requests), failing connector instances, and the list of requests with its filters (a GET
//! form) and the search by e-mail or phone (a POST form, so the identifier never lands in a URL,
//! a browser history or an access log).

use super::session::Session;
use super::trends::Trends;
use super::{form, html, PageError};
use crate::api::ApiState;
use crate::model::RequestState;
use crate::store::dashboard::{AtRisk, ConnectorHealth};
use crate::store::gauges::Gauges;
use crate::store::status::{ListFilter, ListOrder, RequestView};
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Utc};
use erasure_connector::subject::RawSubject;
use erasure_connector::Subject;
use serde::Deserialize;
use std::fmt::Write;
use uuid::Uuid;

const PAGE: i64 = 50;
const SEARCH_LIMIT: i64 = 200;
const AT_RISK_LIMIT: i64 = 20;
const SOON: chrono::Duration = chrono::Duration::days(7);

/// The list's filters, as the form and the links send them; empty means "any".
#[derive(Debug, Default, Deserialize)]
pub struct Filters {
    state: Option<String>,
    connector: Option<String>,
    overdue: Option<String>,
    /// `received`: oldest received first; anything else: most urgent first.
    order: Option<String>,
    cursor: Option<String>,
}

impl Filters {
    fn get(value: &Option<String>) -> Option<&str> {
        value.as_deref().map(str::trim).filter(|v| !v.is_empty())
    }

    fn to_list_filter(&self) -> Result<ListFilter, PageError> {
        let state = Filters::get(&self.state);
        if state.is_some_and(|s| RequestState::parse(s).is_none()) {
            return Err(PageError::BadFilter("There is no such request state."));
        }
        let order = self.order();
        let after = Filters::get(&self.cursor)
            .map(|c| {
                parse_cursor(c, order).ok_or(PageError::BadFilter("The page link is not one this dashboard made."))
            })
            .transpose()?;
        let (after, after_settled) = match after {
            Some((settled, at, id)) => (Some((at, id)), settled),
            None => (None, false),
        };
        Ok(ListFilter {
            state: state.map(str::to_string),
            connector: Filters::get(&self.connector).map(str::to_string),
            overdue: match Filters::get(&self.overdue) {
                Some("yes") => Some(true),
                Some("no") => Some(false),
                _ => None,
            },
            due_before: None,
            identifier_hashes: Vec::new(),
            order,
            after,
            after_settled,
            limit: PAGE,
        })
    }

    fn order(&self) -> ListOrder {
        match Filters::get(&self.order) {
            Some("received") => ListOrder::Received,
            _ => ListOrder::Urgent,
        }
    }

    /// The query string of these filters, on another page of the list.
    fn query(&self, cursor: Option<&str>) -> String {
        form::query(&[
            ("state", Filters::get(&self.state)),
            ("connector", Filters::get(&self.connector)),
            ("overdue", Filters::get(&self.overdue)),
            ("order", Filters::get(&self.order)),
            ("cursor", cursor),
        ])
    }
}

/// The next page's key: `received-at_id`, or in urgency order `settled_deadline_id` (settled `0`
/// or `1`, times in microseconds).
fn cursor(request: &RequestView, order: ListOrder) -> String {
    match order {
        ListOrder::Received => format!("{}_{}", request.received_at.timestamp_micros(), request.id),
        ListOrder::Urgent => format!(
            "{}_{}_{}",
            u8::from(request.finished_at.is_some()),
            request.deadline_at.timestamp_micros(),
            request.id
        ),
    }
}

/// `(settled, time, id)` from a cursor of `order`.
fn parse_cursor(cursor: &str, order: ListOrder) -> Option<(bool, DateTime<Utc>, Uuid)> {
    let (settled, rest) = match order {
        ListOrder::Received => (false, cursor),
        ListOrder::Urgent => match cursor.split_once('_')? {
            ("0", rest) => (false, rest),
            ("1", rest) => (true, rest),
            _ => return None,
        },
    };
    let (micros, id) = rest.split_once('_')?;
    Some((settled, DateTime::from_timestamp_micros(micros.parse().ok()?)?, Uuid::parse_str(id).ok()?))
}

/// Everything above the list: the gauges `/metrics` shows, the most urgent requests, and the
/// failing connector instances.
struct Summary {
    gauges: Gauges,
    at_risk: Vec<AtRisk>,
    connectors: Vec<ConnectorHealth>,
    trends: Trends,
}

impl Summary {
    async fn load(s: &ApiState, now: DateTime<Utc>) -> Result<Summary, PageError> {
        Ok(Summary {
            gauges: s.app.store.gauges(now).await?,
            at_risk: s.app.store.at_risk(now + SOON, AT_RISK_LIMIT).await?,
            connectors: s.app.store.failing_connectors().await?,
            trends: Trends::load(&s.app.store, now).await?,
        })
    }
}

pub async fn overview(
    session: Session,
    State(s): State<ApiState>,
    Query(filters): Query<Filters>,
) -> Result<Response, PageError> {
    let now = s.app.clock.now();
    let list_filter = filters.to_list_filter()?;
    let summary = Summary::load(&s, now).await?;
    let requests = s.app.store.list_requests(&list_filter, now).await?;
    let mut list = table(&requests, now);
    let order = filters.order();
    let next = (requests.len() as i64 == PAGE).then(|| requests.last().map(|r| cursor(r, order))).flatten();
    list.push_str("<div class=\"pager\"><span>");
    if filters.cursor.is_some() {
        let _ = write!(list, "<a href=\"/dashboard?{}\">First page</a>", html::escape(&filters.query(None)));
    }
    list.push_str("</span><span>");
    if let Some(next) = next {
        let _ = write!(list, "<a href=\"/dashboard?{}\">Next page</a>", html::escape(&filters.query(Some(&next))));
    }
    list.push_str("</span></div>");
    Ok(page(&s, &session, &summary, &filters, now, &list, StatusCode::OK))
}

/// The requests of one person, found by the keyed hash of an e-mail address or phone number.
/// Rate-limited per session user and audited like `POST /v1/requests/search`.
pub async fn search(session: Session, State(s): State<ApiState>, body: Bytes) -> Result<Response, PageError> {
    let actor = format!("dashboard:{}", session.name);
    if s.search_allowed(&actor).is_err() {
        return Err(PageError::TooMany);
    }
    let now = s.app.clock.now();
    let summary = Summary::load(&s, now).await?;
    let identifier = form::field(&body, "identifier").unwrap_or_default();
    let identifier = identifier.trim();
    // An address by the subject's own rules (a fullwidth `＠` counts), else a phone number.
    let raw = if erasure_connector::subject::normalise_email(identifier).is_some() {
        RawSubject { emails: vec![identifier.to_string()], ..RawSubject::default() }
    } else {
        RawSubject { phones: vec![identifier.to_string()], ..RawSubject::default() }
    };
    let filters = Filters::default();
    let Ok(subject) = Subject::new(raw) else {
        let refusal = "<p class=\"error\">Enter an e-mail address, or a phone number in international form \
                       (such as +33612345678).</p>";
        return Ok(page(&s, &session, &summary, &filters, now, refusal, StatusCode::UNPROCESSABLE_ENTITY));
    };
    let hashes = s.app.hasher.identifiers(&subject);
    let list_filter = ListFilter { identifier_hashes: hashes.clone(), limit: SEARCH_LIMIT, ..ListFilter::default() };
    let requests = s.app.store.list_requests(&list_filter, now).await?;
    s.app.store.audit_search(&actor, &hashes, requests.len(), now).await?;
    let found = match requests.len() {
        0 => "No request".to_string(),
        1 => "1 request".to_string(),
        n => format!("{n} requests"),
    };
    let list = format!(
        "<p class=\"note\">{found} for the identifier searched for. It was hashed for the search and is not kept. \
         <a href=\"/dashboard\">Show all</a></p>{}",
        table(&requests, now)
    );
    Ok(page(&s, &session, &summary, &filters, now, &list, StatusCode::OK))
}

fn page(
    s: &ApiState,
    session: &Session,
    summary: &Summary,
    filters: &Filters,
    now: DateTime<Utc>,
    list: &str,
    status: StatusCode,
) -> Response {
    let mut body = String::from("<h1>Erasure requests</h1>");
    body.push_str(&cards(&summary.gauges));
    body.push_str(&at_risk(summary, now));
    body.push_str(&summary.trends.html());
    body.push_str(&connectors(&summary.connectors));
    body.push_str(&list_heading(filters));
    body.push_str(&tools(s, filters));
    body.push_str(list);
    html::respond(status, html::document("Dashboard", Some(&session.name), &body))
}

fn cards(gauges: &Gauges) -> String {
    let states = &gauges.requests_by_state;
    let count = |state: &str| states.iter().find(|(s, _)| s == state).map_or(0, |(_, n)| *n);
    let total: i64 = states.iter().map(|(_, n)| n).sum();
    let card = |class: &str, href: &str, n: i64, label: &str| {
        let class = if n == 0 { "card zero" } else { class };
        format!(
            "<a class=\"{class}\" href=\"{}\"><b>{n}</b><span>{}</span></a>",
            html::escape(href),
            html::escape(label)
        )
    };
    let mut out = String::from("<div class=\"cards\">");
    out.push_str(&card("card", "/dashboard", total, "all requests"));
    for state in RequestState::ALL {
        let class = if state == RequestState::Failed { "card alert" } else { "card" };
        let label = state.as_str().replace('_', " ");
        out.push_str(&card(class, &format!("/dashboard?state={state}"), count(state.as_str()), &label));
    }
    out.push_str(&card("card alert", "#at-risk", gauges.overdue, "overdue"));
    out.push_str(&card("card warn", "#at-risk", gauges.due_within_7_days, "due in 7 days"));
    out.push_str("</div>");
    out
}

/// The most urgent requests not yet erased everywhere, by deadline.
fn at_risk(summary: &Summary, now: DateTime<Utc>) -> String {
    let mut out = String::from("<h2 id=\"at-risk\">Deadlines at risk</h2>");
    if summary.at_risk.is_empty() {
        out.push_str("<p class=\"muted\">No open or failed request is overdue or due within 7 days.</p>");
        return out;
    }
    let counted = summary.gauges.overdue + summary.gauges.due_within_7_days;
    if counted > summary.at_risk.len() as i64 {
        let _ = write!(out, "<p class=\"muted\">The {} most urgent of {counted}.</p>", summary.at_risk.len());
    }
    out.push_str(
        "<div class=\"scroll\"><table><thead><tr><th>Request</th><th>State</th><th>Subject hash</th>\
         <th>Deadline</th></tr></thead><tbody>",
    );
    for r in &summary.at_risk {
        let _ = write!(
            out,
            "<tr><td><a class=\"mono\" href=\"/dashboard/requests/{id}\">{id}</a></td><td>{}</td><td><code>{}</code></td>\
             <td>{}</td></tr>",
            html::badge(&r.state),
            html::escape(&r.subject_hash),
            html::deadline(r.deadline_at, None, now),
            id = r.id,
        );
    }
    out.push_str("</tbody></table></div>");
    out
}

fn connectors(connectors: &[ConnectorHealth]) -> String {
    let mut out = String::from("<h2>Failing connectors</h2>");
    if connectors.is_empty() {
        out.push_str("<p class=\"muted\">No connector instance has failed or retrying tasks.</p>");
        return out;
    }
    out.push_str(
        "<table><thead><tr><th>Instance</th><th>Failed tasks</th><th>Retrying tasks</th>\
         <th>Latest error</th><th>Last change</th></tr></thead><tbody>",
    );
    for c in connectors {
        let href = format!("/dashboard?{}", form::query(&[("connector", Some(&c.connector))]));
        let _ = write!(
            out,
            "<tr><td><a href=\"{}\">{}</a></td><td class=\"num{}\">{}</td><td class=\"num\">{}</td><td>{}</td><td>{}</td></tr>",
            html::escape(&href),
            html::escape(&c.connector),
            if c.failed > 0 { " late" } else { "" },
            c.failed,
            c.retrying,
            c.last_error.as_deref().map(html::escape).unwrap_or_default(),
            html::time(c.last_change_at),
        );
    }
    out.push_str("</tbody></table>");
    out
}

/// The list's title, its order, and a link to the other order (with the same filters).
fn list_heading(filters: &Filters) -> String {
    let (current, other, other_value) = match filters.order() {
        ListOrder::Urgent => ("most urgent first: unsettled by deadline, then settled", "oldest first", "received"),
        ListOrder::Received => ("oldest first", "most urgent first", "urgent"),
    };
    let query = form::query(&[
        ("state", Filters::get(&filters.state)),
        ("connector", Filters::get(&filters.connector)),
        ("overdue", Filters::get(&filters.overdue)),
        ("order", Some(other_value)),
    ]);
    format!(
        "<h2 id=\"requests\">Requests <span class=\"muted\">({current})</span> \
         <a class=\"small\" href=\"/dashboard?{}#requests\">show {other}</a></h2>",
        html::escape(&query)
    )
}

/// The filter form (GET) and the search form (POST). The search field is never filled back in.
fn tools(s: &ApiState, filters: &Filters) -> String {
    let option = |value: &str, label: &str, current: Option<&str>| {
        let selected = if current == Some(value) { " selected" } else { "" };
        format!("<option value=\"{}\"{selected}>{}</option>", html::escape(value), html::escape(label))
    };
    let mut out = String::from("<div class=\"tools\"><form method=\"get\" action=\"/dashboard\">");
    out.push_str("<label>State<select name=\"state\"><option value=\"\">any</option>");
    for state in RequestState::ALL {
        out.push_str(&option(state.as_str(), &state.as_str().replace('_', " "), Filters::get(&filters.state)));
    }
    out.push_str("</select></label><label>Connector<select name=\"connector\"><option value=\"\">any</option>");
    for system in &s.app.known_systems {
        out.push_str(&option(system, system, Filters::get(&filters.connector)));
    }
    out.push_str("</select></label><label>Deadline<select name=\"overdue\"><option value=\"\">any</option>");
    out.push_str(&option("yes", "overdue", Filters::get(&filters.overdue)));
    out.push_str(&option("no", "on time", Filters::get(&filters.overdue)));
    out.push_str("</select></label>");
    if let Some(order) = Filters::get(&filters.order) {
        let _ = write!(out, "<input type=\"hidden\" name=\"order\" value=\"{}\">", html::escape(order));
    }
    out.push_str(
        "<button type=\"submit\">Filter</button></form>\
         <form method=\"post\" action=\"/dashboard/search\">\
         <label>Find a person's requests<input type=\"search\" name=\"identifier\" autocomplete=\"off\" \
         placeholder=\"e-mail address or phone number\" required></label>\
         <button type=\"submit\">Search</button></form></div>",
    );
    out
}

fn table(requests: &[RequestView], now: DateTime<Utc>) -> String {
    if requests.is_empty() {
        return "<p class=\"muted\">No request matches.</p>".into();
    }
    let mut out = String::from(
        "<div class=\"scroll\"><table><thead><tr><th>Request</th><th>State</th><th>Subject hash</th><th>Received</th>\
         <th>Deadline</th><th>Finished</th><th>Holds</th></tr></thead><tbody>",
    );
    for r in requests {
        let holds: Vec<String> = r.holds.iter().map(|h| html::badge(&h.kind)).collect();
        let _ = write!(
            out,
            "<tr><td><a class=\"mono\" href=\"/dashboard/requests/{id}\">{id}</a></td><td>{}</td><td><code>{}</code></td>\
             <td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            html::badge(&r.state),
            html::escape(&r.subject_hash),
            html::time(r.received_at),
            html::deadline(r.deadline_at, html::settled_at(&r.state, r.finished_at), now),
            html::optional_time(r.finished_at),
            holds.join(" "),
            id = r.id,
        );
    }
    out.push_str("</tbody></table></div>");
    out
}
