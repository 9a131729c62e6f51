//! The conformance kit, and Zendesk's own flows (closed, archived and CC'd tickets, a secondary
//! e-mail identity, a purge that fails once, compliance deletion statuses, Help Center content,
//! Talk recordings), through Zendesk's published OpenAPI documents: two Prism proxies (mode
//! `--errors`) stand between the connector and the simulator, one with
//! `zendesk-support-oas.yaml`, one with `zendesk-helpcenter-oas.yaml`. Prism answers 422 to a
//! request that breaks its spec and 500 to a simulator answer that breaks it; either fails the
//! test. The specs declare no 404 or 429: Prism passes those on with a warning, so the kit's
//! faults run here too.
//!
//! A small router in front sends `/api/v2/help_center/...` and `/api/v2/community/...` to the
//! Help Center proxy and everything else to the Support proxy, except the calls no published spec
//! has, which go straight to the simulator, unvalidated. They are exactly these (the same list is
//! in `connectors/README.md`, "Calls no published spec validates"):
//!
//! - `GET /api/v2/help_center/users/{user_id}/comments`,
//!   `GET /api/v2/community/users/{user_id}/posts` and `GET /api/v2/community/users/{user_id}/comments`:
//!   the per-user listings of Help Center content, documented on Zendesk's developer site only.
//! - `DELETE /api/v2/help_center/articles/{article_id}/comments/{comment_id}`: the form without a
//!   locale ("Admins and agents can omit it", says the OAS, whose path has the locale); sent only
//!   for a comment without a `locale`, which the simulator never answers.
//! - `DELETE /api/v2/channels/voice/calls/{call_id}/recordings`: Talk's API is in neither spec.
//! - `PUT /api/v2/comment_redactions/{ticket_comment_id}`: the Support spec has the path but
//!   describes its body in prose only (a "Request Body Properties" table, no `requestBody`), so
//!   Prism refuses any body. The router checks the body against that table instead (`ticket_id`
//!   an integer, required; `html_body` a string; `external_attachment_urls` an array of strings;
//!   nothing else); the simulator's answer is not validated.
//!
//! Any other path outside the specs reaches Prism, which refuses it (`NO_PATH_MATCHED`).

mod common;

use axum::response::IntoResponse;
use common::ZendeskMock;
use erasure_connector::subject::RawSubject;
use erasure_connector::testkit::{Kit, SpecProxy};
use erasure_connector::{Connector, Ctx, Evidence, HttpClient, Outcome, Subject};
use erasure_connector_zendesk::{TicketPolicy, Zendesk};
use erasure_sim::Sim;
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The calls no published spec has: `(method, path)` with `{}` for one numeric segment.
const UNVALIDATED: [(&str, &str); 6] = [
    ("GET", "/api/v2/help_center/users/{}/comments"),
    ("GET", "/api/v2/community/users/{}/posts"),
    ("GET", "/api/v2/community/users/{}/comments"),
    ("DELETE", "/api/v2/help_center/articles/{}/comments/{}"),
    ("DELETE", "/api/v2/channels/voice/calls/{}/recordings"),
    ("PUT", REDACTION),
];

/// The call whose body the spec describes in prose only; the router checks it (`redaction_body`).
const REDACTION: &str = "/api/v2/comment_redactions/{}";

/// The one the simulator never makes the connector send (every comment it lists has a locale).
const NEVER_TAKEN: (&str, &str) = ("DELETE", "/api/v2/help_center/articles/{}/comments/{}");

/// Two hops through Node.js, slow on a busy machine: more room than the kit's 500 ms; an
/// injected hang outlasts it all the same.
const PROXIED_TIMEOUT: Duration = Duration::from_secs(3);

const INSTANCE: &str = "helpdesk";

#[tokio::test]
async fn every_call_conforms_to_zendesks_specs() {
    let sim = Sim::start("127.0.0.1:0".parse().unwrap(), erasure_sim::SimOptions::default()).await.unwrap();
    sim.zendesk().set_page_size(5);
    let upstream = sim.serve_vendor_at_root("zendesk").await.unwrap();
    let (support, help_center) = tokio::join!(
        SpecProxy::start("zendesk-support-oas.yaml", &upstream),
        SpecProxy::start("zendesk-helpcenter-oas.yaml", &upstream),
    );
    let seen = Arc::new(Seen::default());
    let routes = Routes { support: support.url.clone(), help_center: help_center.url.clone(), sim: upstream };
    let url = split(routes, seen.clone()).await;
    warm_up(&sim, &url).await;

    let http = HttpClient::unlimited("zendesk", PROXIED_TIMEOUT);
    let connector = common::connector(common::config(&url, TicketPolicy::Delete), http.clone());
    let mock = ZendeskMock { sim: sim.clone(), hang: PROXIED_TIMEOUT * 2 };
    Kit::new(Arc::new(connector), Arc::new(mock), http).run().await;

    tickets_of_every_kind_and_a_secondary_identity(&sim, &url).await;
    help_center_content_and_deletion_statuses(&sim, &url).await;
    talk_recordings_on_redacted_tickets(&sim, &url).await;

    for proxy in [&support, &help_center] {
        assert_eq!(proxy.violations(), Vec::<String>::new(), "requests or answers that break the spec");
        let log = proxy.log_text();
        assert!(!log.contains("Request terminated with error"), "prism refused a call or an answer:\n{log}");
    }
    let help_center_log = help_center.log_text();
    for deletion in ["delete /api/v2/community/posts/", "delete /api/v2/help_center/en-us/articles/"] {
        assert!(help_center_log.contains(&format!("[HTTP SERVER] {deletion}")), "{deletion} went through its spec");
    }
    let bypassed = seen.bypassed.lock().unwrap().clone();
    let expected: BTreeSet<(&str, &str)> = UNVALIDATED.into_iter().filter(|c| *c != NEVER_TAKEN).collect();
    assert_eq!(bypassed, expected, "the calls no spec has, and only those, went around the proxies");
    assert_eq!(*seen.prose_violations.lock().unwrap(), Vec::<String>::new(), "redaction bodies off the prose");
}

/// The list of calls the test lets around the proxies is the one `connectors/README.md` gives
/// under "Calls no published spec validates" (its Zendesk entries), and the reverse.
#[test]
fn the_unvalidated_calls_are_the_ones_the_readme_lists() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md")).unwrap();
    let (_, section) = readme.split_once("### Calls no published spec validates").expect("the README's list");
    let section = section.split("\n#").next().unwrap();
    let listed: BTreeSet<String> = section
        .split('`')
        .skip(1)
        .step_by(2)
        .filter_map(|code| code.split_once(" /api/v2/").map(|(method, path)| format!("{method} /api/v2/{path}")))
        .map(|call| call.split('/').map(|s| if s.starts_with('{') { "{}" } else { s }).collect::<Vec<_>>().join("/"))
        .collect();
    let allowed: BTreeSet<String> = UNVALIDATED.iter().map(|(method, path)| format!("{method} {path}")).collect();
    assert_eq!(listed, allowed);
}

/// Prism compiles its validators for an operation on first use, which can outlast the timeout:
/// one whole erasure of every kind through a patient client first.
async fn warm_up(sim: &Sim, url: &str) {
    let patient = HttpClient::unlimited("zendesk", Duration::from_secs(120));
    let connector = common::connector(common::config(url, TicketPolicy::Delete), patient.clone());
    connector.healthcheck().await.expect("the proxied simulator answers");
    let zd = sim.zendesk();
    let user = zd.user(Some("warm-up@example.com"), None);
    let other = zd.user(Some("warm-up-other@example.com"), None);
    zd.ticket(user, "Warm up.");
    let shared = zd.ticket(other, "Shared.");
    zd.set_ticket_status(shared, "open");
    zd.watch(shared, user, false);
    zd.comment(shared, user, "Me too.", &["a.txt"]);
    let post = zd.community_post(user, "Warm up");
    zd.post_comment(post, user, "Warm up");
    zd.article_comment(user, "Warm up");
    let ctx = Ctx::standalone(INSTANCE, patient);
    let subject = person("warm-up@example.com", None);
    assert!(connector.lookup(&ctx, &subject).await.unwrap().present);
    erased(drive(&connector, &ctx, &subject).await);
}

/// Requested tickets (one archived, found by search only), other people's tickets the person is
/// CC'd on (open: redacted and left; closed: redacted, the CC stays), a user found through a
/// secondary e-mail identity, and a purge that fails once (then `deleted_tickets` is read).
async fn tickets_of_every_kind_and_a_secondary_identity(sim: &Sim, url: &str) {
    let zd = sim.zendesk();
    let ana = zd.user(Some("ana.primary@example.com"), None);
    zd.secondary_email(ana, "ana.spec@example.com");
    let other = zd.user(Some("bo.spec@example.com"), None);
    let archived = zd.ticket(ana, "Old order.");
    zd.archive(archived);
    let stuck = zd.ticket(ana, "New order.");
    zd.fail_purge(stuck, true);
    let open = zd.ticket(other, "Printer broken.");
    zd.set_ticket_status(open, "open");
    zd.watch(open, ana, false);
    let on_open = zd.comment(open, ana, "Mine too, call me.", &["photo.png"]);
    let closed = zd.ticket(other, "Old printer.");
    zd.watch(closed, ana, true);
    let on_closed = zd.comment(closed, ana, "Same here.", &[]);

    let http = HttpClient::unlimited("zendesk", PROXIED_TIMEOUT);
    let connector = common::connector(common::config(url, TicketPolicy::Delete), http.clone());
    let ctx = Ctx::standalone(INSTANCE, http);
    let subject = person("ana.spec@example.com", None);
    let mut outcome = connector.erase(&ctx, &subject).await;
    for _ in 0..100 {
        let Outcome::Pending(pending) = &outcome else { break };
        if pending.evidence.counts.contains_key("tickets_deleted") {
            zd.fail_purge(stuck, false);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        outcome = connector.check(&ctx, &subject, pending).await;
    }
    let evidence = erased(outcome);

    assert_eq!(evidence.counts["tickets_deleted"], 2, "{evidence:?}");
    assert_eq!(evidence.counts["cc_removals"], 1);
    assert_eq!(evidence.counts["closed_tickets_left"], 1);
    assert_eq!(evidence.counts["comments_redacted"], 2);
    assert_eq!(evidence.counts["users_deleted"], 1);
    assert_eq!((zd.ticket_life(archived), zd.ticket_life(stuck)), ("purged", "purged"));
    assert_eq!(zd.watchers(open), Vec::<u64>::new());
    assert_eq!(zd.watchers(closed), [ana]);
    assert!(!zd.comment_text(on_open).unwrap().contains("Mine"));
    assert!(!zd.comment_text(on_closed).unwrap().contains("Same"));
    assert_eq!(zd.user_life(ana), "purged");
    let actions: Vec<String> = sim.calls("zendesk").iter().map(|c| c.action.clone()).collect();
    for call in [format!("GET /api/v2/users/{ana}/identities"), "GET /api/v2/deleted_tickets".into()] {
        assert!(actions.contains(&call), "{call} went through the spec");
    }
}

/// Help Center content goes before the user; afterwards, with the Zendesk id, `lookup` reads
/// the user's compliance deletion statuses.
async fn help_center_content_and_deletion_statuses(sim: &Sim, url: &str) {
    let zd = sim.zendesk();
    let cy = zd.user(Some("cy.spec@example.com"), None);
    let other = zd.user(Some("dee.spec@example.com"), None);
    zd.article_comment(cy, "Thanks, Cy from 1 Main Street");
    let post = zd.community_post(cy, "My printer");
    zd.post_comment(post, cy, "Any news?");
    let elsewhere = zd.community_post(other, "Printers");
    zd.post_comment(elsewhere, cy, "Same here");

    let http = HttpClient::unlimited("zendesk", PROXIED_TIMEOUT);
    let connector = common::connector(common::config(url, TicketPolicy::Delete), http.clone());
    let ctx = Ctx::standalone(INSTANCE, http);
    let subject = person("cy.spec@example.com", Some(cy));
    let evidence = erased(drive(&connector, &ctx, &subject).await);

    assert_eq!(evidence.counts["help_center_comments_deleted"], 1);
    assert_eq!(evidence.counts["community_posts_deleted"], 1);
    assert_eq!(evidence.counts["community_comments_deleted"], 2);
    assert_eq!(zd.help_center_content(cy), (0, 0, 0));
    assert_eq!(zd.user_life(cy), "purged");
    connector.lookup(&ctx, &subject).await.expect("lookup after the deletion");
    let compliance = format!("GET /api/v2/users/{cy}/compliance_deletion_statuses");
    assert!(sim.calls("zendesk").iter().any(|c| c.action == compliance), "the deletion statuses were read");
}

/// With `tickets = "redact"`: every comment of the person's ticket is redacted and its call's
/// recordings deleted; the ticket stays, the user goes.
async fn talk_recordings_on_redacted_tickets(sim: &Sim, url: &str) {
    let zd = sim.zendesk();
    let dan = zd.user(Some("dan.spec@example.com"), None);
    let ticket = zd.ticket(dan, "I called about my bill.");
    let call = zd.voice_comment(ticket, dan, &["call", "voicemail"]);

    let http = HttpClient::unlimited("zendesk", PROXIED_TIMEOUT);
    let connector = common::connector(common::config(url, TicketPolicy::Redact), http.clone());
    let ctx = Ctx::standalone(INSTANCE, http);
    let evidence = erased(drive(&connector, &ctx, &person("dan.spec@example.com", None)).await);

    assert_eq!(evidence.counts["call_recordings_deleted"], 1);
    assert_eq!(evidence.counts["tickets_redacted"], 1);
    assert!(zd.recordings(call).is_empty());
    assert_eq!(zd.ticket_life(ticket), "live");
    assert_eq!(zd.user_life(dan), "purged");
}

fn person(email: &str, zendesk_id: Option<u64>) -> Subject {
    Subject::new(RawSubject {
        emails: vec![email.to_string()],
        ids: zendesk_id.map(|id| [(INSTANCE.to_string(), id.to_string())].into()).unwrap_or_default(),
        ..RawSubject::default()
    })
    .unwrap()
}

async fn drive(connector: &Zendesk, ctx: &Ctx, subject: &Subject) -> Outcome {
    let mut outcome = connector.erase(ctx, subject).await;
    for _ in 0..100 {
        let Outcome::Pending(pending) = &outcome else { break };
        tokio::time::sleep(Duration::from_millis(50)).await;
        outcome = connector.check(ctx, subject, pending).await;
    }
    outcome
}

fn erased(outcome: Outcome) -> Evidence {
    match outcome {
        Outcome::Erased(evidence) => evidence,
        other => panic!("expected Erased, got {other:?}"),
    }
}

/// What the router saw: the unvalidated calls it sent around the proxies, and the redaction
/// bodies that break the spec's prose.
#[derive(Default)]
struct Seen {
    bypassed: Mutex<BTreeSet<(&'static str, &'static str)>>,
    prose_violations: Mutex<Vec<String>>,
}

/// What is wrong with a redaction body, by the spec's "Request Body Properties" table.
fn redaction_body(body: &[u8]) -> Option<String> {
    let Ok(serde_json::Value::Object(body)) = serde_json::from_slice::<serde_json::Value>(body) else {
        return Some("not a JSON object".into());
    };
    if !body.get("ticket_id").is_some_and(serde_json::Value::is_i64) {
        return Some("ticket_id is required, an integer".into());
    }
    for (key, value) in &body {
        let fits = match key.as_str() {
            "ticket_id" => true,
            "html_body" => value.is_string(),
            "external_attachment_urls" => value.as_array().is_some_and(|urls| urls.iter().all(|u| u.is_string())),
            _ => false,
        };
        if !fits {
            return Some(format!("{key} is not a property of the table, or of the wrong type"));
        }
    }
    None
}

struct Routes {
    support: String,
    help_center: String,
    sim: String,
}

impl Routes {
    /// Where a call goes, and the `UNVALIDATED` entry it matched if it goes around the proxies.
    fn base(&self, method: &str, path: &str) -> (&str, Option<(&'static str, &'static str)>) {
        if let Some(call) = UNVALIDATED.into_iter().find(|(m, pattern)| *m == method && matches(pattern, path)) {
            return (&self.sim, Some(call));
        }
        if path.starts_with("/api/v2/help_center/") || path.starts_with("/api/v2/community/") {
            (&self.help_center, None)
        } else {
            (&self.support, None)
        }
    }
}

/// `pattern` with `{}` standing for one segment of digits.
fn matches(pattern: &str, path: &str) -> bool {
    let (pattern, path): (Vec<&str>, Vec<&str>) = (pattern.split('/').collect(), path.split('/').collect());
    pattern.len() == path.len()
        && pattern.iter().zip(&path).all(|(p, s)| match *p {
            "{}" => !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()),
            p => p == *s,
        })
}

/// A router in front of the proxies (see the module's comment); records the unvalidated calls.
/// It stands where the account's Zendesk domain would: the full URLs in the simulator's answers
/// (`next_page`, `links.next`) name the router, as Zendesk's name its own domain.
async fn split(routes: Routes, seen: Arc<Seen>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let client = reqwest::Client::new();
    let routes = Arc::new(routes);
    let here = url.clone();
    let app = axum::Router::new().fallback(move |request: axum::extract::Request| {
        let (client, routes, seen, here) = (client.clone(), routes.clone(), seen.clone(), here.clone());
        async move {
            let path_and_query = request.uri().path_and_query().map(|p| p.as_str().to_string()).unwrap_or_default();
            let (base, unvalidated) = routes.base(request.method().as_str(), request.uri().path());
            let (parts, body) = request.into_parts();
            let body = axum::body::to_bytes(body, usize::MAX).await.unwrap();
            if let Some(call) = unvalidated {
                seen.bypassed.lock().unwrap().insert(call);
                if call.1 == REDACTION {
                    seen.prose_violations.lock().unwrap().extend(redaction_body(&body));
                }
            }
            let mut forward = client.request(parts.method, format!("{base}{path_and_query}")).body(body.to_vec());
            for (name, value) in parts.headers.iter().filter(|(name, _)| *name != "host") {
                forward = forward.header(name, value);
            }
            let Ok(answer) = forward.send().await else {
                return axum::http::StatusCode::BAD_GATEWAY.into_response();
            };
            let mut response = axum::http::Response::builder().status(answer.status());
            let dropped = |name: &axum::http::HeaderName| *name == "transfer-encoding" || *name == "content-length";
            for (name, value) in answer.headers().iter().filter(|(name, _)| !dropped(name)) {
                response = response.header(name, value);
            }
            let mut body = String::from_utf8_lossy(&answer.bytes().await.unwrap_or_default()).into_owned();
            for origin in [&routes.sim, &routes.support, &routes.help_center] {
                body = body.replace(origin.as_str(), &here);
            }
            response.body(axum::body::Body::from(body)).unwrap()
        }
    });
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}
