//! A small vendor for the format's own tests: people with an e-mail, a fuzzy search (a substring
//! match, as vendor search often is) paginated four ways, and a delete. It records every request
//! as received (raw URI, credentials, body), so tests see exactly what went on the wire.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use axum::{Json, Router};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

pub const PAGE: usize = 2;

#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub uri: String,
    pub authorization: Option<String>,
    pub api_key: Option<String>,
    pub body: String,
}

/// Decides whether a request's `Authorization` header is good; refused requests get 401.
pub type Gate = Box<dyn Fn(Option<&str>) -> bool + Send>;

#[derive(Default)]
pub struct Data {
    pub people: Vec<(String, String)>,
    pub seen: Vec<Seen>,
    pub gate: Option<Gate>,
    /// Requests refused by the gate.
    pub refused: u64,
    next_id: u64,
}

#[derive(Clone, Default)]
pub struct Vendor(pub Arc<Mutex<Data>>);

impl Vendor {
    pub async fn start() -> (Vendor, String) {
        let vendor = Vendor::default();
        let app = Router::new()
            .route("/{mode}/people", get(list))
            .route("/people/{id}", delete(remove))
            .fallback(other)
            .with_state(vendor.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (vendor, url)
    }

    pub fn add(&self, email: &str) -> String {
        let mut data = self.0.lock().unwrap();
        data.next_id += 1;
        let id = format!("p{}", data.next_id);
        data.people.push((id.clone(), email.to_string()));
        id
    }

    pub fn emails(&self) -> Vec<String> {
        self.0.lock().unwrap().people.iter().map(|(_, e)| e.clone()).collect()
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.0.lock().unwrap().seen.clone()
    }
}

/// Record the request; `false` when the gate refuses its credentials.
fn record(vendor: &Vendor, method: &str, uri: &Uri, headers: &HeaderMap, body: &[u8]) -> bool {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
    let mut data = vendor.0.lock().unwrap();
    let admitted = data.gate.as_ref().is_none_or(|gate| gate(header("authorization").as_deref()));
    if !admitted {
        data.refused += 1;
    }
    data.seen.push(Seen {
        method: method.into(),
        uri: uri.to_string(),
        authorization: header("authorization"),
        api_key: header("x-api-key"),
        body: String::from_utf8_lossy(body).into_owned(),
    });
    admitted
}

/// `GET /{cursor|link|page|offset}/people?email=…`: people whose e-mail contains `email`.
async fn list(
    State(vendor): State<Vendor>,
    Path(mode): Path<String>,
    Query(query): Query<BTreeMap<String, String>>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    if !record(&vendor, "GET", &uri, &headers, &[]) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let needle = query.get("email").cloned().unwrap_or_default();
    let matching: Vec<Value> = vendor
        .0
        .lock()
        .unwrap()
        .people
        .iter()
        .filter(|(_, email)| !needle.is_empty() && email.contains(&needle))
        .map(|(id, email)| json!({ "id": id, "email": email }))
        .collect();
    let number = |key: &str| query.get(key).and_then(|v| v.parse::<usize>().ok());
    let start = match mode.as_str() {
        "cursor" | "link" => number("after").unwrap_or(0),
        "page" => (number("page").unwrap_or(1).max(1) - 1) * PAGE,
        "offset" => number("offset").unwrap_or(0),
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    let page: Vec<Value> = matching.iter().skip(start).take(PAGE).cloned().collect();
    let more = start + PAGE < matching.len();
    let next = more.then(|| (start + PAGE).to_string());
    let mut answer = json!({ "people": page });
    if mode == "cursor" {
        answer["paging"] = json!({ "next": next });
    }
    let mut response = Json(answer).into_response();
    if let (true, Some(next)) = (mode == "link", next) {
        let link = format!("</link/people?email={}&after={next}>; rel=\"next\"", urlencode(&needle));
        response.headers_mut().insert("link", link.parse().unwrap());
    }
    response
}

async fn remove(State(vendor): State<Vendor>, Path(id): Path<String>, uri: Uri, headers: HeaderMap) -> StatusCode {
    if !record(&vendor, "DELETE", &uri, &headers, &[]) {
        return StatusCode::UNAUTHORIZED;
    }
    let mut data = vendor.0.lock().unwrap();
    let before = data.people.len();
    data.people.retain(|(known, _)| *known != id);
    if data.people.len() < before {
        StatusCode::NO_CONTENT
    } else {
        StatusCode::NOT_FOUND
    }
}

async fn other(
    State(vendor): State<Vendor>,
    uri: Uri,
    headers: HeaderMap,
    method: axum::http::Method,
    body: Bytes,
) -> StatusCode {
    record(&vendor, method.as_str(), &uri, &headers, &body);
    StatusCode::NOT_FOUND
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}
