//! The `Connector` trait's defaults, on a connector that writes only `kind` and `erase`.

use crate::{async_trait, Connector, Ctx, Evidence, FailureKind, HttpClient, Outcome, Pending, Subject};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

/// Counts its erasures; writes nothing else.
struct Minimal(AtomicU32);

#[async_trait]
impl Connector for Minimal {
    fn kind(&self) -> &'static str {
        "minimal"
    }

    async fn erase(&self, _ctx: &Ctx, _subject: &Subject) -> Outcome {
        self.0.fetch_add(1, Ordering::SeqCst);
        Outcome::Erased(Evidence::default().count("records", 1))
    }
}

fn subject() -> Subject {
    Subject::new(crate::subject::RawSubject { emails: vec!["a@example.com".into()], ..Default::default() }).unwrap()
}

#[tokio::test]
async fn check_erases_again_and_lookup_verify_after_and_healthcheck_claim_nothing() {
    let connector = Minimal(AtomicU32::new(0));
    let ctx = Ctx::standalone("minimal", HttpClient::unlimited("minimal", Duration::from_secs(1)));
    let pending =
        Pending { check_after: Duration::from_secs(1), state: serde_json::Value::Null, evidence: Evidence::default() };

    let checked = connector.check(&ctx, &subject(), &pending).await;
    assert!(matches!(checked, Outcome::Erased(_)), "{checked:?}");
    assert_eq!(connector.0.load(Ordering::SeqCst), 1, "the default check is one more erase");

    let looked_up = connector.lookup(&ctx, &subject()).await.unwrap_err();
    assert_eq!(looked_up.kind, FailureKind::NotVerifiable);
    assert!(looked_up.reason.contains("minimal"), "{}", looked_up.reason);
    assert!(connector.verify_after().is_empty(), "the default lookup gets no check scheduled");
    assert_eq!(connector.label(), None, "the worker words the kind");

    let health = connector.healthcheck().await.unwrap_err();
    assert_eq!(health.kind, FailureKind::NotVerifiable, "nothing was called, so nothing is claimed healthy");
    assert_eq!(connector.0.load(Ordering::SeqCst), 1, "neither lookup nor healthcheck erased");
}
