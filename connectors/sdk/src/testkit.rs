//! The conformance kit: the same checks for every connector, run against a mock of its vendor's
//! API (the vendor simulator, usually behind the vendor's own OpenAPI spec with `SpecProxy`).
//!
//! A connector author implements [`Mock`] for the simulator's part that plays the vendor, then:
//!
//! ```ignore
//! #[tokio::test]
//! async fn conformance() {
//!     let (connector, mock) = setup().await;
//!     Kit::new(connector, mock).run().await;
//! }
//! ```
//!
//! Each check uses its own subject, so the order does not matter; a failing check panics with
//! its name.

use crate::{Connector, Ctx, Failure, FailureKind, HttpClient, Outcome, Subject};
use async_trait::async_trait;
use std::sync::Arc;
use std::time::Duration;

/// A fault the mock serves to the next call it receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MockFault {
    /// 429, with the vendor's hint of when to come back (`Retry-After`, a reset header).
    ThrottleWithHint { seconds: u64 },
    /// 429 without any hint.
    ThrottleWithoutHint,
    /// 500 or 503.
    ServerError,
    /// No answer for longer than the kit's HTTP timeout (500 ms).
    Timeout,
    /// 401 (bad credentials).
    Unauthorized,
}

/// The vendor API's mock, as the kit drives it.
#[async_trait]
pub trait Mock: Send + Sync {
    /// Make the vendor hold `records` records about the subject (users, tickets, calls, log lines:
    /// whatever this vendor holds); with `records` above the vendor's page size, listing them
    /// takes several pages.
    async fn seed(&self, subject: &Subject, records: u64);
    /// How many of those records the vendor still holds (not erased, not soft-deleted).
    async fn remaining(&self, subject: &Subject) -> u64;
    /// The next call the vendor receives answers with `fault`.
    async fn inject(&self, fault: MockFault);
    /// Whether this vendor erases asynchronously (the connector must answer `Pending` first).
    fn is_async(&self) -> bool;
    /// More records than fit in one page of the vendor's listing.
    fn more_than_a_page(&self) -> u64;
}

pub struct Kit {
    pub connector: Arc<dyn Connector>,
    pub mock: Arc<dyn Mock>,
    pub http: HttpClient,
    /// A tag making this run's subjects unique.
    pub tag: String,
}

/// The HTTP timeout connectors get in the kit: `MockFault::Timeout` must outlast it.
pub const KIT_HTTP_TIMEOUT: Duration = Duration::from_millis(500);

impl Kit {
    /// `http` must be the client the connector was built with.
    pub fn new(connector: Arc<dyn Connector>, mock: Arc<dyn Mock>, http: HttpClient) -> Kit {
        let tag = format!(
            "{:08x}",
            std::process::id() ^ (std::time::SystemTime::now().elapsed().map(|d| d.subsec_nanos()).unwrap_or(0))
        );
        Kit { connector, mock, http, tag }
    }

    /// Every check, in turn.
    pub async fn run(&self) {
        self.erases_when_present().await;
        self.nothing_to_erase_when_absent().await;
        self.a_second_erase_is_harmless().await;
        self.pagination_beyond_one_page().await;
        self.throttling_with_and_without_a_hint().await;
        self.server_errors_and_timeouts_retry().await;
        self.bad_credentials_fail_clearly().await;
        self.lookup_sees_data_then_none().await;
        self.hostile_identifiers_never_widen_the_erasure().await;
    }

    pub fn subject(&self, name: &str) -> Subject {
        crate::subject::Subject::new(crate::subject::RawSubject {
            user_id: Some(format!("u_{name}_{}", self.tag)),
            emails: vec![format!("{name}.{}@example.com", self.tag)],
            phones: vec![format!("+3361{:07}", fnv(name, &self.tag) % 10_000_000)],
            ..Default::default()
        })
        .expect("kit subjects are valid")
    }

    fn ctx(&self) -> Ctx {
        Ctx::standalone("kit", self.http.clone())
    }

    /// Erase, then follow `Pending` with `check` until the erasure finishes (at most 60 checks).
    pub async fn drive(&self, ctx: &Ctx, subject: &Subject) -> (Outcome, bool) {
        let mut outcome = self.connector.erase(ctx, subject).await;
        let mut saw_pending = false;
        for _ in 0..60 {
            let Outcome::Pending(pending) = &outcome else { break };
            saw_pending = true;
            tokio::time::sleep(pending.check_after.min(Duration::from_millis(250))).await;
            outcome = self.connector.check(ctx, subject, pending).await;
        }
        (outcome, saw_pending)
    }

    pub async fn erases_when_present(&self) {
        let subject = self.subject("present");
        self.mock.seed(&subject, 3).await;
        let (outcome, saw_pending) = self.drive(&self.ctx(), &subject).await;
        assert!(matches!(outcome, Outcome::Erased(_)), "erases_when_present: got {outcome:?}");
        assert_eq!(self.mock.remaining(&subject).await, 0, "erases_when_present: the vendor still holds data");
        if self.mock.is_async() {
            assert!(saw_pending, "erases_when_present: an async vendor's erasure must be Pending, then checked");
        }
    }

    pub async fn nothing_to_erase_when_absent(&self) {
        let (outcome, _) = self.drive(&self.ctx(), &self.subject("absent")).await;
        assert_eq!(outcome, Outcome::NothingToErase, "nothing_to_erase_when_absent");
    }

    pub async fn a_second_erase_is_harmless(&self) {
        let subject = self.subject("twice");
        self.mock.seed(&subject, 2).await;
        let ctx = self.ctx();
        let (first, _) = self.drive(&ctx, &subject).await;
        assert!(matches!(first, Outcome::Erased(_)), "a_second_erase_is_harmless (first): {first:?}");
        let (second, _) = self.drive(&ctx, &subject).await;
        assert!(
            matches!(second, Outcome::Erased(_) | Outcome::NothingToErase),
            "a_second_erase_is_harmless (second): {second:?}"
        );
        assert_eq!(self.mock.remaining(&subject).await, 0);
    }

    pub async fn pagination_beyond_one_page(&self) {
        let subject = self.subject("many");
        let many = self.mock.more_than_a_page();
        self.mock.seed(&subject, many).await;
        let (outcome, _) = self.drive(&self.ctx(), &subject).await;
        assert!(matches!(outcome, Outcome::Erased(_)), "pagination_beyond_one_page: {outcome:?}");
        assert_eq!(self.mock.remaining(&subject).await, 0, "pagination_beyond_one_page: records left on later pages");
    }

    pub async fn throttling_with_and_without_a_hint(&self) {
        let subject = self.subject("throttled");
        self.mock.seed(&subject, 1).await;
        self.mock.inject(MockFault::ThrottleWithHint { seconds: 42 }).await;
        match self.connector.erase(&self.ctx(), &subject).await {
            Outcome::Retry { throttled: true, after: Some(after), .. } => {
                assert!(
                    after >= Duration::from_secs(40) && after <= Duration::from_secs(43),
                    "the hint, read: {after:?}"
                )
            }
            other => panic!("throttling_with_a_hint: expected a throttled retry after ~42 s, got {other:?}"),
        }
        self.mock.inject(MockFault::ThrottleWithoutHint).await;
        match self.connector.erase(&self.ctx(), &subject).await {
            Outcome::Retry { throttled: true, .. } => {}
            other => panic!("throttling_without_a_hint: expected a throttled retry, got {other:?}"),
        }
    }

    pub async fn server_errors_and_timeouts_retry(&self) {
        let subject = self.subject("flaky");
        self.mock.seed(&subject, 1).await;
        for fault in [MockFault::ServerError, MockFault::Timeout] {
            self.mock.inject(fault).await;
            match self.connector.erase(&self.ctx(), &subject).await {
                Outcome::Retry { throttled: false, .. } => {}
                other => panic!("{fault:?} must be a transient retry, got {other:?}"),
            }
        }
    }

    pub async fn bad_credentials_fail_clearly(&self) {
        let subject = self.subject("denied");
        self.mock.seed(&subject, 1).await;
        self.mock.inject(MockFault::Unauthorized).await;
        match self.connector.erase(&self.ctx(), &subject).await {
            Outcome::Failed { reason } => assert!(reason.contains("401"), "the reason names the status: {reason}"),
            other => panic!("bad credentials must fail, never retry forever: got {other:?}"),
        }
        assert_eq!(self.mock.remaining(&subject).await, 1);
    }

    /// `lookup` finds seeded data and none after the erasure; and it agrees with `verify_after`:
    /// a connector that schedules no check must answer not verifiable (the default `lookup`),
    /// and one that schedules checks must answer them.
    pub async fn lookup_sees_data_then_none(&self) {
        let subject = self.subject("looked-up");
        self.mock.seed(&subject, 2).await;
        let answer = self.connector.lookup(&self.ctx(), &subject).await;
        let schedules_checks = !self.connector.verify_after().is_empty();
        let found = match answer {
            Err(Failure { kind: FailureKind::NotVerifiable, .. }) if !schedules_checks => return,
            Err(Failure { kind: FailureKind::NotVerifiable, reason }) => panic!(
                "lookup_sees_data_then_none: verify_after() schedules checks but lookup is not verifiable ({reason}): \
                 write lookup, or keep the default verify_after (no check)"
            ),
            Ok(_) if !schedules_checks => panic!(
                "lookup_sees_data_then_none: lookup answers but verify_after() is empty, so no check is ever \
                 scheduled: override verify_after (at least vec![Duration::ZERO])"
            ),
            Ok(found) => found,
            Err(failure) => panic!("lookup_sees_data_then_none: lookup failed: {failure:?}"),
        };
        assert!(found.present, "lookup finds seeded data");
        let (outcome, _) = self.drive(&self.ctx(), &subject).await;
        assert!(matches!(outcome, Outcome::Erased(_)), "lookup_sees_data_then_none (erase): {outcome:?}");
        let found = self.connector.lookup(&self.ctx(), &subject).await.expect("lookup works");
        assert!(!found.present, "lookup after erasure: {found:?}");
    }

    pub async fn hostile_identifiers_never_widen_the_erasure(&self) {
        let victim = self.subject("victim");
        self.mock.seed(&victim, 2).await;
        for (i, local) in ["*", "a\"b", "x'y", "{}", "a\\b", "%", "a|b", "(victim)"].iter().enumerate() {
            let hostile = crate::subject::Subject::new(crate::subject::RawSubject {
                user_id: Some(format!("*{i}\" OR \"\"=\"")),
                emails: vec![format!("{local}@example.com"), format!("victim*@example.com")],
                ..Default::default()
            })
            .expect("hostile but valid identifiers");
            let (outcome, _) = self.drive(&self.ctx(), &hostile).await;
            assert!(
                matches!(outcome, Outcome::NothingToErase | Outcome::Erased(_)),
                "hostile identifiers: {outcome:?}"
            );
        }
        assert_eq!(self.mock.remaining(&victim).await, 2, "a hostile identifier erased someone else's data");
    }
}

fn fnv(a: &str, b: &str) -> u64 {
    a.bytes().chain(b.bytes()).fold(0xcbf2_9ce4_8422_2325u64, |h, c| (h ^ u64::from(c)).wrapping_mul(0x100_0000_01b3))
}

/// A vendor's OpenAPI spec in front of the simulator: Stoplight Prism in proxy mode, which
/// answers 422 to any request that breaks the spec (and checks the simulator's answers too).
/// `ERASURE_PRISM` names the prism binary and `ERASURE_VENDOR_SPECS` the specs folder;
/// `scripts/test` sets both.
pub struct SpecProxy {
    child: std::process::Child,
    pub url: String,
    log: std::path::PathBuf,
}

impl SpecProxy {
    pub async fn start(spec_file: &str, upstream: &str) -> SpecProxy {
        // The port is chosen free and released, so another process may take it before Prism
        // does: Prism then exits, and we try another port.
        for _ in 0..5 {
            if let Some(proxy) = Self::try_start(spec_file, upstream).await {
                return proxy;
            }
        }
        panic!("prism could not start on a free port in 5 tries");
    }

    async fn try_start(spec_file: &str, upstream: &str) -> Option<SpecProxy> {
        let prism = std::env::var("ERASURE_PRISM").expect("ERASURE_PRISM is not set: run the tests with scripts/test");
        let specs = std::env::var("ERASURE_VENDOR_SPECS")
            .expect("ERASURE_VENDOR_SPECS is not set: run the tests with scripts/test");
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let log = std::env::temp_dir().join(format!("prism-{port}-{}.log", std::process::id()));
        let out = std::fs::File::create(&log).unwrap();
        let child = std::process::Command::new(prism)
            .args([
                "proxy",
                &format!("{specs}/{spec_file}"),
                upstream,
                "--host",
                "127.0.0.1",
                "--port",
                &port.to_string(),
                "--errors",
            ])
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .expect("start prism");
        let mut proxy = SpecProxy { child, url: format!("http://127.0.0.1:{port}"), log };
        // Prism takes up to a few minutes to load a large spec on a busy machine. Ready means
        // Prism itself says it listens on our port: a bare TCP connect could reach another process.
        let ready = format!("Prism is listening on http://127.0.0.1:{port}");
        let deadline = std::time::Instant::now() + Duration::from_secs(420);
        loop {
            if proxy.log_text().contains(&ready) && tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
                return Some(proxy);
            }
            assert!(std::time::Instant::now() < deadline, "prism did not start: {}", proxy.log_text());
            if let Ok(Some(_)) = proxy.child.try_wait() {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// What Prism found against the spec, from its log: requests that break it (422), answers of
    /// the simulator that break it ("Request terminated with error"), and any other violation —
    /// except a status the spec does not declare: the vendor specs declare no 404 and no 429,
    /// which real vendors send and the kit must exercise.
    pub fn violations(&self) -> Vec<String> {
        self.log_text()
            .lines()
            .filter(|l| {
                let lower = l.to_lowercase();
                let undeclared_status = lower.contains("unable to match the returned status code");
                (lower.contains("violation") && !undeclared_status)
                    || lower.contains("request terminated with error")
                    || lower.contains("unprocessable_entity")
                    || lower.contains("no_path_matched")
                    || lower.contains(" 422")
            })
            .map(str::to_string)
            .collect()
    }
}

impl Drop for SpecProxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Evidence, Found, Pending};

    /// Erases nothing it holds; `lookup` and `verify_after` as each test sets them.
    struct Fake {
        looks_up: bool,
        checks: Vec<Duration>,
    }

    #[async_trait]
    impl Connector for Fake {
        fn kind(&self) -> &'static str {
            "fake"
        }

        async fn erase(&self, _: &Ctx, _: &Subject) -> Outcome {
            Outcome::Erased(Evidence::default())
        }

        async fn check(&self, _: &Ctx, _: &Subject, _: &Pending) -> Outcome {
            Outcome::Erased(Evidence::default())
        }

        async fn lookup(&self, _: &Ctx, _: &Subject) -> Result<Found, Failure> {
            match self.looks_up {
                true => Ok(Found { present: true, count: Some(1) }),
                false => Err(Failure::not_verifiable("fake: no lookup")),
            }
        }

        fn verify_after(&self) -> Vec<Duration> {
            self.checks.clone()
        }
    }

    struct Nothing;

    #[async_trait]
    impl Mock for Nothing {
        async fn seed(&self, _: &Subject, _: u64) {}
        async fn remaining(&self, _: &Subject) -> u64 {
            0
        }
        async fn inject(&self, _: MockFault) {}
        fn is_async(&self) -> bool {
            false
        }
        fn more_than_a_page(&self) -> u64 {
            2
        }
    }

    fn kit(looks_up: bool, checks: Vec<Duration>) -> Kit {
        let http = HttpClient::unlimited("fake", KIT_HTTP_TIMEOUT);
        Kit::new(Arc::new(Fake { looks_up, checks }), Arc::new(Nothing), http)
    }

    #[tokio::test]
    async fn a_connector_that_cannot_look_up_and_schedules_no_check_passes() {
        kit(false, vec![]).lookup_sees_data_then_none().await;
    }

    #[tokio::test]
    #[should_panic(expected = "verify_after() schedules checks but lookup is not verifiable")]
    async fn checks_scheduled_for_a_connector_that_cannot_look_up_fail() {
        kit(false, vec![Duration::ZERO]).lookup_sees_data_then_none().await;
    }

    #[tokio::test]
    #[should_panic(expected = "lookup answers but verify_after() is empty")]
    async fn a_lookup_no_check_ever_uses_fails() {
        kit(true, vec![]).lookup_sees_data_then_none().await;
    }
}
