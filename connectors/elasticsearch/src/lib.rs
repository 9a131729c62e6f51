//! The `elasticsearch` connector. (Scaffold: to be written.)

use erasure_connector::{async_trait, Connector, Ctx, Failure, Found, HttpClient, Outcome, Pending, Secrets, Subject};
use serde::Deserialize;

/// `[connectors.NAME]` keys for `kind = "elasticsearch"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub base_url: String,
}

pub struct Elasticsearch {
    #[allow(dead_code)]
    http: HttpClient,
}

impl Elasticsearch {
    pub fn new(_config: Config, _secrets: &Secrets, http: HttpClient) -> Result<Self, String> {
        Ok(Elasticsearch { http })
    }
}

#[async_trait]
impl Connector for Elasticsearch {
    fn kind(&self) -> &'static str {
        "elasticsearch"
    }

    async fn erase(&self, _ctx: &Ctx, _subject: &Subject) -> Outcome {
        Outcome::failed("the elasticsearch connector is not written yet")
    }

    async fn check(&self, _ctx: &Ctx, _subject: &Subject, _pending: &Pending) -> Outcome {
        Outcome::failed("the elasticsearch connector is not written yet")
    }

    async fn lookup(&self, _ctx: &Ctx, _subject: &Subject) -> Result<Found, Failure> {
        Err(Failure::permanent("the elasticsearch connector is not written yet"))
    }

    async fn healthcheck(&self) -> Result<(), Failure> {
        Err(Failure::permanent("the elasticsearch connector is not written yet"))
    }
}
