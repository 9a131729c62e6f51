//! A small vendor for the format's own tests: people with an e-mail, a fuzzy search (a substring
//! match, as vendor search often is) paginated four ways, and a delete. It records every request
//! as received (raw URI, credentials, body), so tests see exactly what went on the wire.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
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
    /// Batches: (id, the people ids it deletes, status reads left before it finishes).
    pub batches: Vec<(String, Vec<String>, u32)>,
    /// People whose deletion the vendor refuses with 400 `{"title": "Member In Compliance State"}`.
    pub in_compliance_state: Vec<String>,
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
            .route("/batches", post(batch))
            .route("/batches/{id}", get(batch_status))
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

async fn remove(State(vendor): State<Vendor>, Path(id): Path<String>, uri: Uri, headers: HeaderMap) -> Response {
    if !record(&vendor, "DELETE", &uri, &headers, &[]) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let mut data = vendor.0.lock().unwrap();
    let before = data.people.len();
    if data.in_compliance_state.contains(&id) {
        return (StatusCode::BAD_REQUEST, Json(json!({ "title": "Member In Compliance State" }))).into_response();
    }
    data.people.retain(|(known, _)| *known != id);
    match data.people.len() < before {
        true => StatusCode::NO_CONTENT.into_response(),
        false => StatusCode::NOT_FOUND.into_response(),
    }
}

/// `POST /batches` `{"operations": [{"delete": ID}, ...]}`: accepted, done after two status reads.
async fn batch(State(vendor): State<Vendor>, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    record(&vendor, "POST", &uri, &headers, &body);
    let request: Value = serde_json::from_slice(&body).unwrap_or_default();
    let Some(operations) = request["operations"].as_array() else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    let ids: Vec<String> = operations.iter().filter_map(|o| o["delete"].as_str().map(str::to_string)).collect();
    let mut data = vendor.0.lock().unwrap();
    let id = format!("b{}", data.batches.len() + 1);
    data.batches.push((id.clone(), ids, 2));
    Json(json!({ "id": id, "status": "pending" })).into_response()
}

/// `GET /batches/{id}`: `started` until its reads run out, then the people go and it is
/// `finished` (a person in compliance state stays, counted in `errored_operations`).
async fn batch_status(State(vendor): State<Vendor>, Path(id): Path<String>, uri: Uri, headers: HeaderMap) -> Response {
    record(&vendor, "GET", &uri, &headers, &[]);
    let mut data = vendor.0.lock().unwrap();
    let Some(index) = data.batches.iter().position(|(known, _, _)| *known == id) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    if data.batches[index].2 > 0 {
        data.batches[index].2 -= 1;
        return Json(json!({ "id": id, "status": "started" })).into_response();
    }
    let ids = data.batches[index].1.clone();
    let locked = data.in_compliance_state.clone();
    let errored = ids.iter().filter(|i| locked.contains(i)).count();
    data.people.retain(|(known, _)| !ids.contains(known) || locked.contains(known));
    Json(json!({ "id": id, "status": "finished", "errored_operations": errored })).into_response()
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

/// The kit's view of this vendor: a record is a person with the subject's first e-mail.
pub struct KitMock(pub Vendor);

#[erasure_connector::async_trait]
impl erasure_connector::testkit::Mock for KitMock {
    async fn seed(&self, subject: &erasure_connector::Subject, records: u64) {
        for _ in 0..records {
            self.0.add(&subject.emails()[0]);
        }
    }

    async fn remaining(&self, subject: &erasure_connector::Subject) -> u64 {
        self.0.emails().iter().filter(|e| subject.emails().contains(e)).count() as u64
    }

    async fn inject(&self, _fault: erasure_connector::testkit::MockFault) {
        unimplemented!("the jobs test runs the kit's checks without faults")
    }

    fn is_async(&self) -> bool {
        true
    }

    fn more_than_a_page(&self) -> u64 {
        PAGE as u64 * 2 + 1
    }
}
