//! The `webhook` connector: a signed HTTP call to an internal service that erases the subject
//! and answers `erased`, `nothing_to_erase` or `pending` (with a check URL). The protocol is in
//! this crate's README.md, for the teams who implement it.

mod protocol;
mod signing;

pub use protocol::{Action, Answer, CallBody, LookupAnswer, SubjectBody};
pub use signing::{sign, verify, SIGNATURE_HEADER, TIMESTAMP_HEADER};

use erasure_connector::{
    async_trait, Connector, Ctx, Evidence, ExposeSecret, Failure, Found, HttpClient, Outcome, Pending, SecretString,
    Secrets, Subject,
};
use reqwest::Method;
use serde::Deserialize;
use serde_json::json;
use std::time::Duration;

/// `[connectors.NAME]` keys for `kind = "webhook"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The service's erasure endpoint, e.g. `https://accounts.internal/privacy/erasure`.
    pub url: String,
    /// Environment variable holding the shared HMAC secret.
    pub secret_env: String,
    /// When a `pending` answer gives no `check_after_seconds`.
    #[serde(default = "default_check_after")]
    pub default_check_after_seconds: u64,
}

fn default_check_after() -> u64 {
    30
}

pub struct Webhook {
    url: url::Url,
    secret: SecretString,
    http: HttpClient,
    default_check_after: Duration,
}

impl Webhook {
    pub fn new(config: Config, secrets: &Secrets, http: HttpClient) -> Result<Self, String> {
        let secret = secrets.get("secret_env")?.clone();
        let url = url::Url::parse(&config.url).map_err(|e| format!("not a URL: {e}"))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err("the URL must be http or https".into());
        }
        Ok(Webhook { url, secret, http, default_check_after: Duration::from_secs(config.default_check_after_seconds) })
    }

    async fn call<T: serde::de::DeserializeOwned>(&self, url: &url::Url, body: &CallBody<'_>) -> Result<T, Failure> {
        let bytes = serde_json::to_vec(body).expect("the call body serialises");
        let timestamp =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_secs();
        let signature = sign(self.secret.expose_secret().as_bytes(), timestamp, &bytes);
        let request = self
            .http
            .request(Method::POST, url.as_str())
            .header("content-type", "application/json")
            .header(TIMESTAMP_HEADER, timestamp.to_string())
            .header(SIGNATURE_HEADER, signature)
            .header("idempotency-key", body.idempotency_key)
            .body(bytes);
        let response = self.http.send(request).await?;
        let status = response.status();
        response.json().await.map_err(|_| {
            Failure::permanent(format!(
                "{} answered {status} with a body that is not the webhook protocol",
                self.url_host()
            ))
        })
    }

    fn url_host(&self) -> String {
        self.url.host_str().unwrap_or("the service").to_string()
    }

    fn body<'a>(&self, action: Action, ctx: &'a Ctx, subject: &'a Subject) -> CallBody<'a> {
        CallBody {
            action,
            request_id: Some(ctx.request_id),
            idempotency_key: &ctx.idempotency_key,
            subject: Some(SubjectBody::of(subject, &ctx.instance)),
        }
    }

    fn outcome(&self, answer: Answer) -> Outcome {
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

    /// A check URL must stay on the configured origin: a signed call never goes elsewhere.
    fn same_origin(&self, candidate: &str) -> Option<url::Url> {
        let resolved = self.url.join(candidate).ok()?;
        (resolved.origin() == self.url.origin()).then_some(resolved)
    }
}

#[async_trait]
impl Connector for Webhook {
    fn kind(&self) -> &'static str {
        "webhook"
    }

    async fn erase(&self, ctx: &Ctx, subject: &Subject) -> Outcome {
        match self.call::<Answer>(&self.url, &self.body(Action::Erase, ctx, subject)).await {
            Ok(answer) => self.outcome(answer),
            Err(failure) => failure.into(),
        }
    }

    async fn check(&self, ctx: &Ctx, subject: &Subject, pending: &Pending) -> Outcome {
        let Some(url) = pending.state.get("check_url").and_then(|u| u.as_str()).and_then(|u| self.same_origin(u))
        else {
            return Outcome::failed("the stored check URL is missing or not on the configured host");
        };
        match self.call::<Answer>(&url, &self.body(Action::Check, ctx, subject)).await {
            Ok(answer) => {
                let mut outcome = self.outcome(answer);
                if let Outcome::Erased(evidence) = &mut outcome {
                    evidence.vendor_refs.extend(pending.evidence.vendor_refs.iter().cloned());
                }
                outcome
            }
            Err(failure) => failure.into(),
        }
    }

    async fn lookup(&self, ctx: &Ctx, subject: &Subject) -> Result<Found, Failure> {
        let answer: LookupAnswer = self.call(&self.url, &self.body(Action::Lookup, ctx, subject)).await?;
        Ok(Found { present: answer.found, count: answer.count })
    }

    async fn healthcheck(&self) -> Result<(), Failure> {
        let body = CallBody { action: Action::Ping, request_id: None, idempotency_key: "ping", subject: None };
        self.call::<serde_json::Value>(&self.url, &body).await.map(|_| ())
    }
}
