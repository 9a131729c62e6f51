//! The `twilio` connector: deletes a person's voice recordings and their transcriptions from a
//! Twilio account, found through the calls to and from the person's phone numbers, and the call
//! records too if configured. The API calls, what stays and the limits are in this crate's
//! README.md.

mod api;
mod sweep;

use api::Api;
use erasure_connector::Subject;
use erasure_connector::{async_trait, Connector, Ctx, Evidence, Failure, Found, HttpClient, Outcome, Pending, Secrets};
use serde::Deserialize;
use serde_json::json;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use sweep::Tally;

/// `[connectors.NAME]` keys for `kind = "twilio"`. Authenticate with the account's Auth Token
/// (`auth_token_env`) or with an API key (`api_key_sid` and `api_key_secret_env`), not both.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Twilio's API root, `https://api.twilio.com`.
    pub base_url: String,
    /// The account whose calls are searched: `AC` and 32 hex digits.
    pub account_sid: String,
    /// Environment variable holding the account's Auth Token (Basic auth as the account).
    #[serde(default)]
    pub auth_token_env: Option<String>,
    /// An API key of the account (`SK` and 32 hex digits), instead of the Auth Token.
    #[serde(default)]
    pub api_key_sid: Option<String>,
    /// Environment variable holding the API key's secret.
    #[serde(default)]
    pub api_key_secret_env: Option<String>,
    /// Also delete the call records (the call log). Off: they stay, with both phone numbers.
    #[serde(default)]
    pub delete_calls: bool,
    /// `PageSize` of every list call, 1 to 1000 (Twilio's maximum).
    #[serde(default = "default_page_size")]
    pub page_size: u32,
    /// When a call is still in progress (it cannot be deleted yet), look again after this long.
    #[serde(default = "default_in_progress_check_after")]
    pub in_progress_check_after_seconds: u64,
}

fn default_page_size() -> u32 {
    1000
}

fn default_in_progress_check_after() -> u64 {
    600
}

/// Calls last 24 hours at most (Twilio's longest time limit): a call still in progress after
/// this long will not end by waiting.
const GIVE_UP_AFTER: Duration = Duration::from_secs(25 * 3600);

pub struct Twilio {
    api: Api,
    delete_calls: bool,
    in_progress_check_after: Duration,
}

impl Twilio {
    pub fn new(config: Config, secrets: &Secrets, http: HttpClient) -> Result<Self, String> {
        let base = url::Url::parse(&config.base_url).map_err(|e| format!("base_url is not a URL: {e}"))?;
        if !matches!(base.scheme(), "http" | "https") || base.query().is_some() {
            return Err("base_url must be an http or https URL without a query".into());
        }
        if !api::is_sid("AC", &config.account_sid) {
            return Err("account_sid must be AC and 32 hex digits".into());
        }
        if !(1..=1000).contains(&config.page_size) {
            return Err("page_size must be between 1 and 1000".into());
        }
        let (user, password) = match (&config.auth_token_env, &config.api_key_sid, &config.api_key_secret_env) {
            (Some(_), None, None) => (config.account_sid.clone(), secrets.get("auth_token_env")?.clone()),
            (None, Some(key), Some(_)) if api::is_sid("SK", key) => {
                (key.clone(), secrets.get("api_key_secret_env")?.clone())
            }
            (None, Some(_), Some(_)) => return Err("api_key_sid must be SK and 32 hex digits".into()),
            _ => return Err("set either auth_token_env, or both api_key_sid and api_key_secret_env".into()),
        };
        Ok(Twilio {
            api: Api::new(http, &config.base_url, config.account_sid, user, password, config.page_size),
            delete_calls: config.delete_calls,
            in_progress_check_after: Duration::from_secs(config.in_progress_check_after_seconds),
        })
    }

    /// One erase pass; `earlier` is what earlier passes of the same erasure deleted, and
    /// `waiting_since` when calls were first found in progress (Unix seconds).
    async fn pass(&self, subject: &Subject, earlier: &Evidence, waiting_since: Option<u64>) -> Outcome {
        let tally = match sweep::erase(&self.api, subject.phones(), self.delete_calls).await {
            Ok(tally) => tally,
            Err(failure) => return failure.into(),
        };
        tracing::debug!(
            transcriptions = tally.transcriptions,
            recordings = tally.recordings,
            calls = tally.calls,
            not_yet = tally.not_yet,
            "twilio erase pass"
        );
        let evidence = self.evidence(tally, earlier);
        if tally.not_yet > 0 {
            let now = unix_now();
            let since = waiting_since.unwrap_or(now);
            if now.saturating_sub(since) > GIVE_UP_AFTER.as_secs() {
                return Outcome::failed(format!(
                    "{} twilio call records stayed in progress for more than {} hours and cannot be deleted",
                    tally.not_yet,
                    GIVE_UP_AFTER.as_secs() / 3600
                ));
            }
            return Outcome::Pending(Pending {
                check_after: self.in_progress_check_after,
                state: json!({ "calls_in_progress": tally.not_yet, "waiting_since": since }),
                evidence,
            });
        }
        if evidence.counts.values().sum::<u64>() == 0 {
            Outcome::NothingToErase
        } else {
            Outcome::Erased(evidence)
        }
    }

    fn evidence(&self, tally: Tally, earlier: &Evidence) -> Evidence {
        let mut evidence =
            earlier.clone().count("recordings", tally.recordings).count("transcriptions", tally.transcriptions);
        if self.delete_calls {
            evidence = evidence.count("calls", tally.calls);
        }
        let account = format!("account {}", self.api.account());
        if !evidence.vendor_refs.contains(&account) {
            evidence = evidence.vendor_ref(account);
        }
        let kept = if self.delete_calls { "" } else { "call records are kept (delete_calls is off); " };
        evidence.note(format!("{kept}Twilio keeps deleted recordings' metadata for 40 days"))
    }
}

fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_secs()
}

#[async_trait]
impl Connector for Twilio {
    fn kind(&self) -> &'static str {
        "twilio"
    }

    async fn erase(&self, _ctx: &Ctx, subject: &Subject) -> Outcome {
        self.pass(subject, &Evidence::default(), None).await
    }

    /// Calls were in progress: walk everything again (an ended call may have left new
    /// recordings), adding to what the earlier passes deleted.
    async fn check(&self, _ctx: &Ctx, subject: &Subject, pending: &Pending) -> Outcome {
        let since = pending.state.get("waiting_since").and_then(|s| s.as_u64());
        self.pass(subject, &pending.evidence, since).await
    }

    async fn lookup(&self, _ctx: &Ctx, subject: &Subject) -> Result<Found, Failure> {
        let count = sweep::count(&self.api, subject.phones(), self.delete_calls).await?;
        Ok(Found { present: count > 0, count: Some(count) })
    }

    async fn healthcheck(&self) -> Result<(), Failure> {
        self.api.ping().await
    }
}
