//! The API and dashboard against hostile callers (issue 12): slow headers, big bodies, too many
//! requests at once, garbage from strangers, framework errors as problem+json, `/metrics` on its
//! own listener, server-side dashboard sessions, sign-in and search rate limits, search audit.

use crate::support::*;
use erasure_worker::clock::ManualClock;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const OPS: &str = "hostile-ops-token-0123456789abcdefghij";
const READER: &str = "hostile-reader-token-0123456789abcdefgh";

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

async fn start(stack: &Stack, api_keys: &str) -> (Worker, String) {
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    let tokens = [
        Token { name: "ops", env: "E2E_HOSTILE_OPS_TOKEN", value: OPS, scopes: &["read", "operate"] },
        Token { name: "dpo", env: "E2E_HOSTILE_READER_TOKEN", value: READER, scopes: &["read"] },
    ];
    start_with_api_keys(stack, clock, &[Instance { name: "accounts", extra: "" }], &tokens, "", api_keys).await
}

async fn problem(response: reqwest::Response) -> (StatusCode, Value) {
    let status = response.status();
    let content_type = response.headers().get("content-type").map(|v| v.to_str().unwrap().to_string());
    assert_eq!(content_type.as_deref(), Some("application/problem+json"), "{status}");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"].as_u64(), Some(status.as_u16() as u64));
    assert!(body["type"].is_string() && body["title"].is_string() && body["detail"].is_string(), "{body}");
    (status, body)
}

/// A request whose body never arrives in full: it holds a slot until the request timeout.
async fn stalled_request(base: &str) -> tokio::net::TcpStream {
    let mut stream = tokio::net::TcpStream::connect(base.trim_start_matches("http://")).await.unwrap();
    let head = format!(
        "POST /v1/requests/search HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {OPS}\r\n\
         Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"email\""
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream
}

#[tokio::test]
async fn hostile_callers_are_cut_off_limited_and_answered_with_problems() {
    let stack = Stack::new().await;
    let metrics_port = free_port();
    let keys = format!(
        "header_read_timeout = \"1s\"\nrequest_timeout = \"3s\"\nmax_body_bytes = 2048\n\
         max_concurrent_requests = 2\nmetrics_listen = \"127.0.0.1:{metrics_port}\""
    );
    let (worker, base) = start(&stack, &keys).await;
    let http = reqwest::Client::new();

    // Slowloris: headers dripped one line every 300 ms are cut off after the 1 s header timeout.
    let mut slow = tokio::net::TcpStream::connect(base.trim_start_matches("http://")).await.unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n").await.unwrap();
    let (mut reader, mut writer) = slow.into_split();
    let drip = tokio::spawn(async move {
        for i in 0..30 {
            tokio::time::sleep(Duration::from_millis(300)).await;
            if writer.write_all(format!("X-Drip-{i}: y\r\n").as_bytes()).await.is_err() {
                return;
            }
        }
    });
    let started = Instant::now();
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(6), reader.read_to_end(&mut answer)).await;
    assert!(read.is_ok(), "the slow client was not cut off");
    assert!(started.elapsed() < Duration::from_secs(4), "cut off after {:?}", started.elapsed());
    assert!(!String::from_utf8_lossy(&answer).contains("200 OK"));
    drip.abort();

    // An unauthenticated caller never sees the framework's body errors.
    let id = uuid::Uuid::new_v4();
    for path in [format!("/v1/requests/{id}/cancel"), "/v1/requests/search".to_string(), "/v1/legal-holds".into()] {
        let response = http.post(format!("{base}{path}")).body("{not json at all").send().await.unwrap();
        let (status, body) = problem(response).await;
        assert_eq!((status, body["error"].as_str()), (StatusCode::UNAUTHORIZED, Some("unauthenticated")), "{path}");
    }
    let response = http.post(format!("{base}/v1/requests/not-a-uuid/cancel")).body("[").send().await.unwrap();
    assert_eq!(problem(response).await.0, StatusCode::UNAUTHORIZED);

    // Over the body limit: 413, as a problem.
    let big = json!({ "email": "a".repeat(4096) });
    let response = http.post(format!("{base}/v1/requests/search")).bearer_auth(OPS).json(&big).send().await.unwrap();
    assert_eq!(problem(response).await.0, StatusCode::PAYLOAD_TOO_LARGE);

    // Framework errors are problems with a fixed detail that repeats nothing of the request.
    let response = http.get(format!("{base}/no/such/route")).send().await.unwrap();
    assert_eq!(problem(response).await.0, StatusCode::NOT_FOUND);
    let response = http.delete(format!("{base}/v1/requests/search")).bearer_auth(OPS).send().await.unwrap();
    assert_eq!(problem(response).await.0, StatusCode::METHOD_NOT_ALLOWED);
    let response = http.get(format!("{base}/v1/requests/not-a-uuid")).bearer_auth(OPS).send().await.unwrap();
    assert_eq!(problem(response).await.0, StatusCode::BAD_REQUEST);
    let response = http.get(format!("{base}/v1/requests?limit=lots")).bearer_auth(OPS).send().await.unwrap();
    assert_eq!(problem(response).await.0, StatusCode::BAD_REQUEST);
    let response = http
        .post(format!("{base}/v1/requests/search"))
        .bearer_auth(OPS)
        .header("content-type", "application/json")
        .body(r#"{"email": 42, "secret": "ana@example.com"}"#)
        .send()
        .await
        .unwrap();
    let (status, body) = problem(response).await;
    assert!(status.is_client_error());
    assert!(!body.to_string().contains("ana@example.com") && !body.to_string().contains("secret"), "{body}");
    let response = http.post(format!("{base}/v1/requests/search")).bearer_auth(OPS).body("{}").send().await.unwrap();
    assert_eq!(problem(response).await.0, StatusCode::UNSUPPORTED_MEDIA_TYPE);

    // /metrics is on its own listener only.
    let response = http.get(format!("{base}/metrics")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let text = http.get(format!("http://127.0.0.1:{metrics_port}/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(text.contains("erasure_requests_overdue"), "{text}");

    // Concurrency: two stalled requests take both slots; a third is 503 at once, with Retry-After,
    // and once they time out (408) the API answers again.
    let mut first = stalled_request(&base).await;
    let mut second = stalled_request(&base).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let response = http.get(format!("{base}/v1/requests")).bearer_auth(OPS).send().await.unwrap();
    assert_eq!(response.headers().get("retry-after").map(|v| v.to_str().unwrap()), Some("1"));
    let (status, body) = problem(response).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::SERVICE_UNAVAILABLE, Some("busy")));
    let mut timed_out = String::new();
    let mut buffer = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(6), first.read(&mut buffer)).await.unwrap().unwrap();
    timed_out.push_str(&String::from_utf8_lossy(&buffer[..n]));
    assert!(timed_out.starts_with("HTTP/1.1 408"), "{timed_out}");
    let _ = tokio::time::timeout(Duration::from_secs(6), second.read(&mut buffer)).await;
    let response = http.get(format!("{base}/v1/requests")).bearer_auth(OPS).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    worker.stop().await;
}

fn session_cookie(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("erasure_session=") && !v.starts_with("erasure_session=;"))
        .map(str::to_string)
}

#[tokio::test]
async fn dashboard_sessions_live_in_the_database_and_sign_ins_are_rate_limited() {
    let stack = Stack::new().await;
    let keys = "public_url = \"https://erasure.example.org\"\nlogin_failures_per_minute = 3";
    let (worker, base) = start(&stack, keys).await;
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let login = |token: &str| {
        let body = format!("token={}", token.replace(' ', "+").replace('\n', "%0A"));
        http.post(format!("{base}/dashboard/login"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
    };

    let response = login(READER).await.unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let set_cookie = session_cookie(&response).expect("a session cookie");
    assert!(set_cookie.contains("; Secure"), "{set_cookie}");
    let cookie = set_cookie.split(';').next().unwrap().to_string();
    let value = cookie.trim_start_matches("erasure_session=").to_string();
    let db = stack.db().await;
    let rows = db.query("SELECT id_sha256, token_name FROM dashboard_sessions", &[]).await.unwrap();
    assert_eq!(rows.len(), 1);
    let stored: Vec<u8> = rows[0].get(0);
    assert_ne!(hex::encode(&stored), value, "the table holds a hash of the id, not the id");
    let page = |cookie: String| http.get(format!("{base}/dashboard")).header("cookie", cookie).send();
    assert_eq!(page(cookie.clone()).await.unwrap().status(), StatusCode::OK);

    // Signing out deletes the row: the old cookie no longer opens the dashboard.
    let out = http.post(format!("{base}/dashboard/logout")).header("cookie", cookie.clone()).send().await.unwrap();
    assert_eq!(out.status(), StatusCode::SEE_OTHER);
    assert_eq!(db.query("SELECT 1 FROM dashboard_sessions", &[]).await.unwrap().len(), 0);
    assert_eq!(page(cookie).await.unwrap().status(), StatusCode::SEE_OTHER);

    // A session whose token was rotated (another digest) is ended.
    let response = login(&format!("  {READER}\n")).await.unwrap();
    let cookie = session_cookie(&response).expect("a trimmed token signs in").split(';').next().unwrap().to_string();
    db.execute("UPDATE dashboard_sessions SET token_sha256 = '\\x00'::bytea || substr(token_sha256, 2)", &[])
        .await
        .unwrap();
    assert_eq!(page(cookie).await.unwrap().status(), StatusCode::SEE_OTHER);
    assert_eq!(db.query("SELECT 1 FROM dashboard_sessions", &[]).await.unwrap().len(), 0);

    // Three failures from this address, then even the right token is refused for a while.
    for _ in 0..3 {
        assert_eq!(login("wrong-token").await.unwrap().status(), StatusCode::UNAUTHORIZED);
    }
    let refused = login(READER).await.unwrap();
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(refused.headers().get("retry-after").is_some());
    worker.stop().await;
}

#[tokio::test]
async fn searches_by_identifier_are_audited_and_rate_limited() {
    let stack = Stack::new().await;
    let (worker, base) = start(&stack, "searches_per_minute = 2").await;
    let http = reqwest::Client::new();
    let search = || {
        http.post(format!("{base}/v1/requests/search"))
            .bearer_auth(OPS)
            .json(&json!({ "email": "ana@example.com" }))
            .send()
    };
    assert_eq!(search().await.unwrap().status(), StatusCode::OK);
    assert_eq!(search().await.unwrap().status(), StatusCode::OK);
    let refused = search().await.unwrap();
    assert!(refused.headers().get("retry-after").is_some());
    let (status, body) = problem(refused).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::TOO_MANY_REQUESTS, Some("rate_limited")));

    let db = stack.db().await;
    let rows = db
        .query("SELECT actor, detail::text FROM audit_log WHERE event = 'searched' AND request_id IS NULL", &[])
        .await
        .unwrap();
    assert_eq!(rows.len(), 2, "each answered search is audited");
    for row in rows {
        let (actor, detail): (String, String) = (row.get(0), row.get(1));
        assert_eq!(actor, "api:ops");
        assert!(detail.contains("identifier_hashes") && !detail.contains("ana@example.com"), "{detail}");
    }
    worker.stop().await;
}
