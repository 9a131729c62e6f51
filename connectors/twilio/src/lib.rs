//! The `twilio` connector. (Scaffold: to be written.)

use erasure_connector::{async_trait, Connector, Ctx, Failure, Found, HttpClient, Outcome, Pending, Secrets, Subject};
use serde::Deserialize;

/// `[connectors.NAME]` keys for `kind = "twilio"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub base_url: String,
}

pub struct Twilio {
    #[allow(dead_code)]
    http: HttpClient,
}

impl Twilio {
    pub fn new(_config: Config, _secrets: &Secrets, http: HttpClient) -> Result<Self, String> {
        Ok(Twilio { http })
    }
}

#[async_trait]
impl Connector for Twilio {
    fn kind(&self) -> &'static str {
        "twilio"
    }

    async fn erase(&self, _ctx: &Ctx, _subject: &Subject) -> Outcome {
        Outcome::failed("the twilio connector is not written yet")
    }

    async fn check(&self, _ctx: &Ctx, _subject: &Subject, _pending: &Pending) -> Outcome {
        Outcome::failed("the twilio connector is not written yet")
    }

    async fn lookup(&self, _ctx: &Ctx, _subject: &Subject) -> Result<Found, Failure> {
        Err(Failure::permanent("the twilio connector is not written yet"))
    }

    async fn healthcheck(&self) -> Result<(), Failure> {
        Err(Failure::permanent("the twilio connector is not written yet"))
    }
}
