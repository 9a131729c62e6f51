//! The `zendesk` connector. (Scaffold: to be written.)

use erasure_connector::{async_trait, Connector, Ctx, Failure, Found, HttpClient, Outcome, Pending, Secrets, Subject};
use serde::Deserialize;

/// `[connectors.NAME]` keys for `kind = "zendesk"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub base_url: String,
}

pub struct Zendesk {
    #[allow(dead_code)]
    http: HttpClient,
}

impl Zendesk {
    pub fn new(_config: Config, _secrets: &Secrets, http: HttpClient) -> Result<Self, String> {
        Ok(Zendesk { http })
    }
}

#[async_trait]
impl Connector for Zendesk {
    fn kind(&self) -> &'static str {
        "zendesk"
    }

    async fn erase(&self, _ctx: &Ctx, _subject: &Subject) -> Outcome {
        Outcome::failed("the zendesk connector is not written yet")
    }

    async fn check(&self, _ctx: &Ctx, _subject: &Subject, _pending: &Pending) -> Outcome {
        Outcome::failed("the zendesk connector is not written yet")
    }

    async fn lookup(&self, _ctx: &Ctx, _subject: &Subject) -> Result<Found, Failure> {
        Err(Failure::permanent("the zendesk connector is not written yet"))
    }

    async fn healthcheck(&self) -> Result<(), Failure> {
        Err(Failure::permanent("the zendesk connector is not written yet"))
    }
}
