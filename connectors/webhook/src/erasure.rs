//! What the connector asks the service, and what the service's answers mean.

use crate::protocol::{Action, Answer, CallBody, SubjectBody};
use crate::Webhook;
use erasure_connector::{Ctx, Evidence, Outcome, Pending, Subject};
use serde_json::json;
use std::time::Duration;

impl Webhook {
    pub(crate) fn body<'a>(&self, action: Action, ctx: &'a Ctx, subject: &'a Subject) -> CallBody<'a> {
        CallBody {
            action,
            request_id: Some(ctx.request_id),
            idempotency_key: &ctx.idempotency_key,
            subject: Some(SubjectBody::of(subject, &ctx.instance)),
            traceparent: ctx.traceparent.as_deref(),
        }
    }

    pub(crate) fn outcome(&self, answer: Answer) -> Outcome {
        match answer {
            Answer::Erased { counts, reference } => {
                let mut evidence = Evidence::default();
                for (what, n) in counts {
                    evidence = evidence.count(&what, n);
                }
                if let Some(reference) = reference {
                    evidence = evidence.vendor_ref(reference);
                }
                Outcome::Erased(evidence)
            }
            Answer::NothingToErase {} => Outcome::NothingToErase,
            Answer::Pending { check_url, check_after_seconds, reference } => {
                let Some(check_url) = self.same_origin(&check_url) else {
                    return Outcome::failed(
                        "the service's check_url is not on the configured host; refusing to follow it",
                    );
                };
                let mut evidence = Evidence::default();
                if let Some(reference) = reference {
                    evidence = evidence.vendor_ref(reference);
                }
                Outcome::Pending(Pending {
                    check_after: check_after_seconds.map(Duration::from_secs).unwrap_or(self.default_check_after),
                    state: json!({ "check_url": check_url.as_str() }),
                    evidence,
                })
            }
        }
    }

    /// A check answer; an `Erased` one also carries the references of the pending answer.
    pub(crate) fn checked(&self, answer: Answer, pending: &Pending) -> Outcome {
        let mut outcome = self.outcome(answer);
        if let Outcome::Erased(evidence) = &mut outcome {
            evidence.vendor_refs.extend(pending.evidence.vendor_refs.iter().cloned());
        }
        outcome
    }
}
