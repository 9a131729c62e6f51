//! The `intercom` connector. (Scaffold: to be written.)

use erasure_connector::{async_trait, Connector, Ctx, Failure, Found, HttpClient, Outcome, Pending, Secrets, Subject};
use serde::Deserialize;

/// `[connectors.NAME]` keys for `kind = "intercom"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub base_url: String,
}

pub struct Intercom {
    #[allow(dead_code)]
    http: HttpClient,
}

impl Intercom {
    pub fn new(_config: Config, _secrets: &Secrets, http: HttpClient) -> Result<Self, String> {
        Ok(Intercom { http })
    }
}

#[async_trait]
impl Connector for Intercom {
    fn kind(&self) -> &'static str {
        "intercom"
    }

    async fn erase(&self, _ctx: &Ctx, _subject: &Subject) -> Outcome {
        Outcome::failed("the intercom connector is not written yet")
    }

    async fn check(&self, _ctx: &Ctx, _subject: &Subject, _pending: &Pending) -> Outcome {
        Outcome::failed("the intercom connector is not written yet")
    }

    async fn lookup(&self, _ctx: &Ctx, _subject: &Subject) -> Result<Found, Failure> {
        Err(Failure::permanent("the intercom connector is not written yet"))
    }

    async fn healthcheck(&self) -> Result<(), Failure> {
        Err(Failure::permanent("the intercom connector is not written yet"))
    }
}
