//! The web dashboard: sign-in and sessions, the overview and request pages, the search by
//! e-mail that never shows the e-mail, and the whole thing in a real headless Chromium.

use crate::support::*;
use erasure_sim::Fault;
use erasure_worker::clock::{Clock, ManualClock};
use reqwest::header::{HeaderMap, CONTENT_TYPE, COOKIE, LOCATION, SET_COOKIE};
use reqwest::StatusCode;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

const OPS: &str = "ops-token-0123456789abcdefghijklmnop";
const READER: &str = "reader-token-0123456789abcdefghijklmnop";
const PRODUCT: &str = "product-token-0123456789abcdefghijklmnop";
const CHROMIUM: &str = "/usr/bin/chromium";

struct Dashboard {
    base: String,
    /// Follows no redirect, keeps no cookie: each test says which session it sends.
    http: reqwest::Client,
}

struct Page {
    status: StatusCode,
    headers: HeaderMap,
    html: String,
}

impl Page {
    fn location(&self) -> Option<&str> {
        self.headers.get(LOCATION).and_then(|v| v.to_str().ok())
    }
}

impl Dashboard {
    async fn read(response: reqwest::Response) -> Page {
        let (status, headers) = (response.status(), response.headers().clone());
        Page { status, headers, html: response.text().await.unwrap() }
    }

    async fn get(&self, path: &str, session: Option<&str>) -> Page {
        let mut request = self.http.get(format!("{}{path}", self.base));
        if let Some(session) = session {
            request = request.header(COOKIE, session);
        }
        Dashboard::read(request.send().await.unwrap()).await
    }

    /// A form post, `body` already encoded.
    async fn post(&self, path: &str, session: Option<&str>, body: &str) -> Page {
        let mut request = self
            .http
            .post(format!("{}{path}", self.base))
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(body.to_string());
        if let Some(session) = session {
            request = request.header(COOKIE, session);
        }
        Dashboard::read(request.send().await.unwrap()).await
    }

    /// Sign in with the read token; the `Cookie` header value of the session.
    /// An operator's action through the API.
    async fn act(&self, path: &str, body: serde_json::Value) -> StatusCode {
        let request = self.http.post(format!("{}{path}", self.base)).bearer_auth(OPS).json(&body);
        request.send().await.unwrap().status()
    }

    async fn sign_in(&self) -> String {
        let page = self.post("/dashboard/login", None, &format!("token={READER}")).await;
        assert_eq!((page.status, page.location()), (StatusCode::SEE_OTHER, Some("/dashboard")));
        let set_cookie = page.headers.get(SET_COOKIE).unwrap().to_str().unwrap();
        set_cookie.split(';').next().unwrap().to_string()
    }

    async fn submit(&self, id: Uuid, email: &str, requested_at: chrono::DateTime<chrono::Utc>) {
        let response = self
            .http
            .post(format!("{}/v1/requests", self.base))
            .bearer_auth(PRODUCT)
            .json(&request(id, email, requested_at))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::CREATED);
    }
}

async fn start(stack: &Stack, clock: Arc<ManualClock>, systems: &[Instance<'_>]) -> (Worker, Dashboard) {
    let tokens = [
        Token { name: "ops", env: "E2E_OPS_TOKEN", value: OPS, scopes: &["read", "operate"] },
        Token { name: "dpo", env: "E2E_READER_TOKEN", value: READER, scopes: &["read"] },
        Token { name: "shop", env: "E2E_PRODUCT_TOKEN", value: PRODUCT, scopes: &["submit"] },
    ];
    let (worker, base) = start_with_api(stack, clock, systems, &tokens, "").await;
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    (worker, Dashboard { base, http })
}

#[tokio::test]
async fn dashboard_without_a_session_sends_to_the_login_and_a_wrong_token_gets_the_login_again() {
    let stack = Stack::new().await;
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    let (worker, dashboard) = start(&stack, clock.clone(), &[Instance { name: "accounts", extra: "" }]).await;

    for page in [
        dashboard.get("/dashboard", None).await,
        dashboard.get(&format!("/dashboard/requests/{}", Uuid::new_v4()), None).await,
        dashboard.post("/dashboard/search", None, "identifier=a%40example.com").await,
        dashboard.get("/dashboard", Some("erasure_session=1.2.3")).await,
    ] {
        assert_eq!((page.status, page.location()), (StatusCode::SEE_OTHER, Some("/dashboard/login")));
    }
    let login = dashboard.get("/dashboard/login", None).await;
    assert_eq!(login.status, StatusCode::OK);
    assert!(login.html.contains("name=\"token\" type=\"password\""), "{}", login.html);

    let wrong = dashboard.post("/dashboard/login", None, "token=not-a-valid-token-4242").await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(wrong.html.contains("That token is not valid.") && wrong.html.contains("name=\"token\""));
    assert!(!wrong.html.contains("not-a-valid-token-4242"), "the token is never echoed");
    assert!(wrong.headers.get(SET_COOKIE).is_none());
    let product = dashboard.post("/dashboard/login", None, &format!("token={PRODUCT}")).await;
    assert_eq!(product.status, StatusCode::UNAUTHORIZED);
    assert!(product.html.contains("lacks the read scope"), "{}", product.html);
    assert_eq!(dashboard.post("/dashboard/login", None, "token=").await.status, StatusCode::UNAUTHORIZED);

    let signed_in = dashboard.post("/dashboard/login", None, &format!("token=+{READER}+")).await;
    assert_eq!((signed_in.status, signed_in.location()), (StatusCode::SEE_OTHER, Some("/dashboard")));
    let set_cookie = signed_in.headers.get(SET_COOKIE).unwrap().to_str().unwrap();
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/dashboard", "Max-Age=43200"] {
        assert!(set_cookie.contains(attribute), "{set_cookie} has {attribute}");
    }
    assert!(!set_cookie.contains(READER), "the cookie never holds the token");
    let session = set_cookie.split(';').next().unwrap().to_string();

    let page = dashboard.get("/dashboard", Some(&session)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.html.contains("Erasure requests") && page.html.contains("signed in as <b>dpo</b>"));
    assert!(page.headers[CONTENT_TYPE].to_str().unwrap().starts_with("text/html"));
    assert_eq!(page.headers["cache-control"], "no-store");
    assert!(page.headers["content-security-policy"].to_str().unwrap().contains("default-src 'none'"));
    let mut tampered = session.clone();
    let last = tampered.pop().unwrap();
    tampered.push(if last == '0' { '1' } else { '0' });
    assert_eq!(dashboard.get("/dashboard", Some(&tampered)).await.status, StatusCode::SEE_OTHER);
    assert_eq!(
        dashboard.get("/v1/requests", Some(&session)).await.status,
        StatusCode::UNAUTHORIZED,
        "a session is not an API token"
    );

    let logout = dashboard.post("/dashboard/logout", Some(&session), "").await;
    assert_eq!((logout.status, logout.location()), (StatusCode::SEE_OTHER, Some("/dashboard/login")));
    assert!(logout.headers[SET_COOKIE].to_str().unwrap().contains("Max-Age=0"));

    clock.advance(chrono::Duration::hours(12));
    let expired = dashboard.get("/dashboard", Some(&session)).await;
    assert_eq!((expired.status, expired.location()), (StatusCode::SEE_OTHER, Some("/dashboard/login")));
    worker.stop().await;
}

#[tokio::test]
async fn dashboard_request_page_shows_every_systems_task_and_its_timeline_escaped() {
    let stack = Stack::new().await;
    stack.sim.seed("accounts", "ivy@example.com", 2);
    stack.sim.push_faults("billing", [Fault::Status { status: 401, retry_after: None }]);
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    let systems = [
        Instance { name: "accounts", extra: "" },
        Instance { name: "billing", extra: "" },
        Instance { name: "crm", extra: "" },
    ];
    let (worker, dashboard) = start(&stack, clock.clone(), &systems).await;
    let session = dashboard.sign_in().await;
    let id = Uuid::new_v4();
    dashboard.submit(id, "ivy@example.com", clock.now() - chrono::Duration::days(40)).await;
    stack.wait_for_state(id, "failed", Duration::from_secs(20)).await;

    let overview = dashboard.get("/dashboard", Some(&session)).await.html;
    assert!(overview.contains("<b>1</b><span>overdue</span>"), "a failed request past its deadline is overdue");
    let at_risk = overview.split("<h2 id=\"at-risk\">").nth(1).unwrap().split("<h2>").next().unwrap();
    assert!(
        at_risk.contains(&format!("/dashboard/requests/{id}")) && at_risk.contains("days late</span>"),
        "{at_risk}"
    );
    assert!(overview.contains("<a href=\"/dashboard?connector=billing\">billing</a></td><td class=\"num late\">1</td>"));
    assert!(overview.contains("<b>1</b><span>failed</span>"), "{overview}");

    let path = format!("/dashboard/requests/{id}");
    let page = dashboard.get(&path, Some(&session)).await;
    assert_eq!(page.status, StatusCode::OK);
    let html = page.html;
    let rows: Vec<&str> = html.split("<tr><td><a href=\"#system-").skip(1).collect();
    assert_eq!(rows.len(), 3, "one row per system");
    assert!(rows[0].starts_with("accounts\"") && rows[0].contains("s-erased") && rows[0].contains("<b>2</b> records"));
    assert!(rows[1].starts_with("billing\"") && rows[1].contains("s-failed"));
    assert!(rows[2].starts_with("crm\"") && rows[2].contains("s-nothing_to_erase"));
    let billing = stack.tasks(id).await.into_iter().find(|t| t.connector == "billing").unwrap();
    let error = billing.last_error.expect("billing failed with an error");
    assert!(rows[1].contains(&escaped(&error)), "the last error: {error}");
    for section in ["<h3>The request</h3>", "<h3 id=\"system-accounts\">", "<h3 id=\"system-billing\">"] {
        assert!(html.contains(section), "{section}");
    }
    for event in [
        "request.received",
        "request.in_progress",
        "task.erased",
        "task.failed",
        "task.nothing_to_erase",
        "request.failed",
    ] {
        assert!(html.contains(&format!("<code>{event}</code>")), "{event}");
    }
    assert!(html.contains(&erasure_worker::events::receipt(id)));
    assert!(!html.to_lowercase().contains("ivy@"), "subjects appear only as their keyed hash");

    let extend = json!({ "months": 1, "reason": "restoring an archive" });
    assert_eq!(dashboard.act(&format!("/v1/requests/{id}/extend"), extend).await, StatusCode::OK);
    let overview = dashboard.get("/dashboard", Some(&session)).await.html;
    assert!(overview.contains("No open or failed request is overdue or due within 7 days."), "{overview}");
    let html = dashboard.get(&path, Some(&session)).await.html;
    assert!(html.contains("extended on <time") && html.contains("<code>request.deadline_extended</code>"));

    let reason = "<script>alert('x')</script> & rotated the token";
    assert_eq!(dashboard.act(&format!("/v1/requests/{id}/retry"), json!({ "reason": reason })).await, StatusCode::OK);
    stack.wait_for_state(id, "completed", Duration::from_secs(20)).await;
    let html = dashboard.get(&path, Some(&session)).await.html;
    assert!(html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; rotated the token"), "{html}");
    assert!(!html.contains("<script"), "no value reaches the page unescaped");

    assert_eq!(
        dashboard.get(&format!("/dashboard/requests/{}", Uuid::new_v4()), Some(&session)).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(dashboard.get("/dashboard/requests/not-a-uuid", Some(&session)).await.status, StatusCode::NOT_FOUND);
    worker.stop().await;
}

/// The escaping the dashboard applies, restated here so the test does not trust the code under test.
fn escaped(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&#39;")
}

#[tokio::test]
async fn dashboard_search_by_email_finds_the_request_and_never_shows_the_email() {
    let stack = Stack::new().await;
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    let systems = [Instance { name: "accounts", extra: "" }, Instance { name: "billing", extra: "" }];
    let (worker, dashboard) = start(&stack, clock.clone(), &systems).await;
    let session = dashboard.sign_in().await;
    let (wes, other) = (Uuid::new_v4(), Uuid::new_v4());
    dashboard.submit(wes, "wes@example.com", clock.now()).await;
    dashboard.submit(other, "other@example.com", clock.now()).await;
    stack.wait_for_state(wes, "completed", Duration::from_secs(20)).await;
    stack.wait_for_state(other, "completed", Duration::from_secs(20)).await;

    let found = dashboard.post("/dashboard/search", Some(&session), "identifier=+WES%40Example.com+").await;
    assert_eq!(found.status, StatusCode::OK);
    assert!(found.html.contains(&format!("/dashboard/requests/{wes}")), "{}", found.html);
    assert!(!found.html.contains(&other.to_string()));
    assert!(found.html.contains("1 request for the identifier searched for"));
    let lower = found.html.to_lowercase();
    assert!(!lower.contains("wes@") && !lower.contains("wes%40") && !lower.contains("wes&#64;"), "never echoed");
    // A zero-width space and a fullwidth at sign (U+FF20): the same address by the subject's rules.
    let alike =
        dashboard.post("/dashboard/search", Some(&session), "identifier=W%E2%80%8BES%EF%BC%A0example.com").await;
    assert_eq!(alike.status, StatusCode::OK, "{}", alike.html);
    assert!(alike.html.contains(&format!("/dashboard/requests/{wes}")), "{}", alike.html);

    let none = dashboard.post("/dashboard/search", Some(&session), "identifier=%2B33+6+12+34+56+78").await;
    assert!(none.html.contains("No request for the identifier searched for"));
    assert!(!none.html.contains("612345678") && !none.html.contains("12 34 56"));
    let invalid = dashboard.post("/dashboard/search", Some(&session), "identifier=not-an-identifier-7").await;
    assert_eq!(invalid.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(invalid.html.contains("Enter an e-mail address") && !invalid.html.contains("not-an-identifier-7"));
    let audited = stack
        .db()
        .await
        .query(
            "SELECT actor, detail::text FROM audit_log WHERE event = 'searched' AND request_id IS NULL ORDER BY id",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(audited.len(), 3, "each answered search is audited, the refused one is not");
    for row in audited {
        let (actor, detail): (String, String) = (row.get(0), row.get(1));
        assert!(actor.starts_with("dashboard:"), "{actor}");
        assert!(detail.contains("identifier_hashes"), "{detail}");
        assert!(!detail.to_lowercase().contains("wes@") && !detail.contains("612345678"), "{detail}");
    }

    let completed = dashboard.get("/dashboard?state=completed&connector=billing&overdue=no", Some(&session)).await;
    assert!(completed.html.contains(&wes.to_string()) && completed.html.contains(&other.to_string()));
    assert!(completed.html.contains("<option value=\"completed\" selected>"), "the form keeps its filters");
    let failed = dashboard.get("/dashboard?state=failed&connector=&overdue=", Some(&session)).await;
    assert!(failed.html.contains("No request matches.") && failed.html.contains("<b>2</b><span>completed</span>"));
    let late = dashboard.get("/dashboard?overdue=yes", Some(&session)).await;
    assert!(late.html.contains("No request matches."));
    assert_eq!(dashboard.get("/dashboard?state=nonsense", Some(&session)).await.status, StatusCode::BAD_REQUEST);
    assert_eq!(dashboard.get("/dashboard?cursor=nonsense", Some(&session)).await.status, StatusCode::BAD_REQUEST);
    worker.stop().await;
}

#[tokio::test]
async fn dashboard_in_a_headless_chromium_signs_in_and_shows_the_completed_request() {
    assert!(
        Path::new(CHROMIUM).exists(),
        "{CHROMIUM} is missing: scripts/test installs it (apt-get install --no-install-recommends chromium)"
    );
    let stack = Stack::new().await;
    stack.sim.seed("accounts", "uma@example.com", 3);
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    let systems = [Instance { name: "accounts", extra: "" }, Instance { name: "billing", extra: "" }];
    let (worker, dashboard) = start(&stack, clock.clone(), &systems).await;
    let (completed, failed) = (Uuid::new_v4(), Uuid::new_v4());
    dashboard.submit(completed, "uma@example.com", clock.now()).await;
    stack.wait_for_state(completed, "completed", Duration::from_secs(20)).await;
    stack.sim.push_faults("billing", [Fault::Status { status: 401, retry_after: None }]);
    clock.advance(chrono::Duration::minutes(1));
    dashboard.submit(failed, "vic@example.com", clock.now() - chrono::Duration::days(27)).await;
    stack.wait_for_state(failed, "failed", Duration::from_secs(20)).await;

    // The browser signs in itself: a page on another port of 127.0.0.1 posts the login form.
    // Ports do not make another site, so the SameSite=Strict cookie set by that post is sent
    // on the redirect to /dashboard, and kept in the profile for the next runs.
    let form = format!(
        "<!doctype html><form method=\"post\" action=\"{}/dashboard/login\">\
         <input type=\"hidden\" name=\"token\" value=\"{READER}\"></form>\
         <script>document.forms[0].submit()</script>",
        dashboard.base
    );
    let sign_in_page = serve_page(form).await;
    let profile = stack.dir.join("chromium-profile");
    std::fs::create_dir_all(&profile).unwrap();

    let dom = chromium(&profile, &["--dump-dom", &sign_in_page]).await;
    assert!(dom.contains("<h1>Erasure requests</h1>"), "the browser reached the dashboard: {dom}");
    let row = |id: Uuid| {
        let row = dom.split(&format!("<a class=\"mono\" href=\"/dashboard/requests/{id}\">{id}</a>")).nth(1);
        row.and_then(|r| r.split("</tr>").next()).expect("the submitted request is listed").to_string()
    };
    assert!(row(completed).contains("<span class=\"badge s-completed\">completed</span>"), "{}", row(completed));
    assert!(row(failed).contains("<span class=\"badge s-failed\">failed</span>"), "{}", row(failed));
    assert!(dom.contains("<a href=\"/dashboard?connector=billing\">billing</a>"), "billing is a failing connector");
    assert!(!dom.to_lowercase().contains("uma@") && !dom.to_lowercase().contains("vic@"));
    assert_eq!(dom.matches("<svg class=\"chart\"").count(), 3, "the three pictures render in the browser");
    assert!(dom.contains("Requests received (2) and settled (2) per day"), "{dom}");

    let artifacts = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-artifacts");
    std::fs::create_dir_all(&artifacts).unwrap();
    let overview =
        screenshot(&profile, &format!("{}/dashboard", dashboard.base), &artifacts.join("dashboard.png")).await;
    println!("dashboard screenshot: {}", overview.display());
    let request_page = format!("{}/dashboard/requests/{failed}", dashboard.base);
    let dom = chromium(&profile, &["--dump-dom", &request_page]).await;
    assert!(dom.contains("id=\"system-accounts\"") && dom.contains("id=\"system-billing\""), "{dom}");
    assert!(dom.contains("<code>task.failed</code>"));
    let detail = screenshot(&profile, &request_page, &artifacts.join("dashboard-request.png")).await;
    println!("request page screenshot: {}", detail.display());
    worker.stop().await;
}

/// Serve `html` on 127.0.0.1 to any GET, until the test ends; its URL.
async fn serve_page(html: String) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let html = html.clone();
            tokio::spawn(async move {
                let mut request = [0u8; 4096];
                let _ = socket.read(&mut request).await;
                let response = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: text/html; charset=utf-8\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{html}",
                    html.len()
                );
                let _ = socket.write_all(response.as_bytes()).await;
            });
        }
    });
    url
}

/// Run headless Chromium on `profile` with `args` (a URL last); its standard output.
async fn chromium(profile: &Path, args: &[&str]) -> String {
    let output = tokio::process::Command::new(CHROMIUM)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            // Tall enough that the overview's screenshot shows its pictures as well as the list.
            "--window-size=1280,1800",
            "--virtual-time-budget=5000",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(90), output)
        .await
        .expect("chromium finishes within 90 s")
        .expect("chromium starts");
    assert!(output.status.success(), "chromium failed: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).expect("the DOM is UTF-8")
}

async fn screenshot(profile: &Path, url: &str, path: &Path) -> PathBuf {
    let _ = std::fs::remove_file(path);
    chromium(profile, &[&format!("--screenshot={}", path.display()), url]).await;
    let png = std::fs::read(path).expect("chromium wrote the screenshot");
    assert!(png.starts_with(b"\x89PNG") && png.len() > 10_000, "a real screenshot, {} bytes", png.len());
    path.to_path_buf()
}

/// The section of `html` from `from` to the next `<h2`.
fn section<'a>(html: &'a str, from: &str) -> &'a str {
    let start = html.find(from).unwrap_or_else(|| panic!("{from} is on the page"));
    let rest = &html[start..];
    let end = rest[from.len()..].find("<h2").map_or(rest.len(), |i| i + from.len());
    &rest[..end]
}

#[tokio::test]
async fn dashboard_pictures_show_each_days_counts_and_the_list_is_most_urgent_first() {
    let stack = Stack::new().await;
    let start_at = chrono::Utc::now() - chrono::Duration::days(3);
    let clock = Arc::new(ManualClock::new(start_at));
    let (worker, dashboard) = start(&stack, clock.clone(), &[Instance { name: "accounts", extra: "" }]).await;
    let day = |at: chrono::DateTime<chrono::Utc>| at.format("%m-%d").to_string();

    // Three days ago: one received and settled; two days ago: the same.
    let (first, second) = (Uuid::new_v4(), Uuid::new_v4());
    dashboard.submit(first, "ann@example.com", clock.now()).await;
    stack.wait_for_state(first, "completed", Duration::from_secs(20)).await;
    clock.advance(chrono::Duration::days(1));
    dashboard.submit(second, "bo@example.com", clock.now()).await;
    stack.wait_for_state(second, "completed", Duration::from_secs(20)).await;

    // Today: two received that stay open (the vendor answers 503, the next attempt is later than
    // the test's clock ever goes): one already past its deadline, one due in 10 days.
    clock.advance(chrono::Duration::days(2));
    let now = clock.now();
    stack.sim.push_faults("accounts", (0..4).map(|_| Fault::Status { status: 503, retry_after: None }));
    let (due_soon, overdue) = (Uuid::new_v4(), Uuid::new_v4());
    dashboard.submit(due_soon, "cy@example.com", now - chrono::Duration::days(20)).await;
    dashboard.submit(overdue, "di@example.com", now - chrono::Duration::days(40)).await;
    for id in [due_soon, overdue] {
        poll(Duration::from_secs(20), "the task to be retrying", || async {
            stack.tasks(id).await.first().filter(|t| t.state == "retrying").map(|_| ())
        })
        .await;
    }

    let session = dashboard.sign_in().await;
    let page = dashboard.get("/dashboard", Some(&session)).await;
    assert_eq!(page.status, StatusCode::OK);
    let trends = section(&page.html, "<h2 id=\"trends\">");
    assert_eq!(trends.matches("<svg class=\"chart\"").count(), 3, "{trends}");
    assert!(!trends.contains("<script") && !trends.contains("style="), "{trends}");
    // Received and settled per day.
    assert!(trends.contains(&format!("<title>{}: 1 received</title>", day(start_at))), "{trends}");
    assert!(trends.contains(&format!("<title>{}: 1 settled</title>", day(start_at))), "{trends}");
    assert!(trends.contains(&format!("<title>{}: 1 settled</title>", day(start_at + chrono::Duration::days(1)))));
    assert!(trends.contains(&format!("<title>{}: 2 received</title>", day(now))), "{trends}");
    assert!(trends.contains(&format!("<title>{}: 0 settled</title>", day(now))), "{trends}");
    assert!(trends.contains("Requests received (4) and settled (2) per day"), "{trends}");
    // The open backlog: accounts has the two retrying tasks at the end of today.
    assert!(trends.contains(&format!("<title>{}: 2 accounts</title>", day(now))), "{trends}");
    // The burn-down: one overdue now, one due within 30 days; at the end of the 30th day both are
    // past their deadline.
    assert!(trends.contains("1 overdue now, 1 due within 30 days, 0 later"), "{trends}");
    let last_day = day(now + chrono::Duration::days(29));
    assert!(trends.contains(&format!("<title>{last_day}: 2 overdue unless settled</title>")), "{trends}");
    assert!(trends.contains(&format!("<title>{last_day}: 0 still within their deadline</title>")), "{trends}");

    // The list: unsettled by deadline first, then the settled ones.
    let list = section(&page.html, "<h2 id=\"requests\">");
    assert!(list.contains("most urgent first"), "{list}");
    let at = |id: Uuid| list.find(&format!("/dashboard/requests/{id}\"")).unwrap_or_else(|| panic!("{id} listed"));
    assert!(at(overdue) < at(due_soon) && at(due_soon) < at(first) && at(first) < at(second), "{list}");
    let received = dashboard.get("/dashboard?order=received", Some(&session)).await;
    let list = section(&received.html, "<h2 id=\"requests\">");
    assert!(list.contains("oldest first"), "{list}");
    let at = |id: Uuid| list.find(&format!("/dashboard/requests/{id}\"")).unwrap_or_else(|| panic!("{id} listed"));
    assert!(at(first) < at(second) && at(second) < at(due_soon).min(at(overdue)), "{list}");
    worker.stop().await;
}
