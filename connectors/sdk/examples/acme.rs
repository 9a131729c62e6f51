//! The connector guide's example (`connectors/README.md`): a whole connector for an imaginary
//! vendor, Acme, laid out as a connector crate is. In a crate each `mod` below is its own file:
//! `config.rs`, `api.rs`, `erasure.rs`, and `lib.rs` for the rest. It is built by
//! `cargo build -p erasure-connector --examples`, so the guide cannot drift from the SDK.

/// `config.rs`: the `[connectors.NAME]` keys and their checks.
mod config {
    use erasure_connector::{ConfigDuration, ConfigError, SecretString, Secrets};
    use serde::Deserialize;

    /// `[connectors.NAME]` keys for `kind = "acme"`.
    #[derive(Debug, Clone, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Config {
        /// The API's base URL, e.g. `https://api.acme.example`.
        pub base_url: String,
        /// Environment variable holding the API token.
        pub api_token_env: String,
        /// When to ask again about a deletion Acme finishes later, e.g. `"1m"`.
        #[serde(default = "default_check_after")]
        pub check_after: ConfigDuration,
    }

    fn default_check_after() -> ConfigDuration {
        ConfigDuration::from_secs(60)
    }

    impl Config {
        /// The base URL and the token, checked; a refusal names the key at fault.
        pub fn check(&self, secrets: &Secrets) -> Result<(reqwest::Url, SecretString), ConfigError> {
            let base = reqwest::Url::parse(&self.base_url)
                .map_err(|e| ConfigError::key("base_url", format!("base_url is not a URL: {e}")))?;
            if !matches!(base.scheme(), "http" | "https") {
                return Err(ConfigError::key("base_url", "base_url must be http or https"));
            }
            Ok((base, secrets.get("api_token_env")?.clone()))
        }
    }
}

/// `api.rs`: one method per vendor call, every answer classified.
mod api {
    use erasure_connector::{classify, ExposeSecret, Failure, HttpClient, SecretString};
    use reqwest::{Method, StatusCode};
    use serde::Deserialize;
    use std::time::SystemTime;

    pub struct Api {
        pub http: HttpClient,
        pub base: reqwest::Url,
        pub token: SecretString,
    }

    #[derive(Deserialize)]
    pub struct Person {
        pub id: u64,
        pub email: String,
    }

    impl Api {
        /// `GET /people?email=`: an identifier is data, a query parameter, never spliced into a
        /// query language.
        pub async fn people(&self, email: &str) -> Result<Vec<Person>, Failure> {
            let mut url = self.base.join("people").map_err(|_| Failure::permanent("acme: bad base_url"))?;
            url.query_pairs_mut().append_pair("email", email);
            let find = self.http.request(Method::GET, url.as_str()).bearer_auth(self.token.expose_secret());
            let response = self.http.send(find).await?; // 429 throttled, 5xx retry, other 4xx failed
            response.json().await.map_err(|_| Failure::permanent("acme answered an unreadable body"))
        }

        /// `DELETE /people/{id}`: `false` when it was already gone.
        pub async fn delete(&self, id: u64) -> Result<bool, Failure> {
            let url = self.base.join(&format!("people/{id}")).map_err(|_| Failure::permanent("acme: bad base_url"))?;
            let delete = self.http.request(Method::DELETE, url.as_str()).bearer_auth(self.token.expose_secret());
            let response = self.http.send_any(delete).await?;
            match response.status() {
                status if status.is_success() => Ok(true),
                StatusCode::NOT_FOUND => Ok(false),
                status => Err(self.http.failure(status, classify(status, response.headers(), SystemTime::now()))),
            }
        }
    }
}

/// `erasure.rs`: the steps of an erasure, and what they add up to.
mod erasure {
    use crate::Acme;
    use erasure_connector::{Ctx, Evidence, Failure, Outcome, Subject};
    use serde::{Deserialize, Serialize};

    /// Saved with `ctx.progress` before a step that makes records unfindable before they are
    /// gone: Acme's ids only, never an identifier.
    #[derive(Default, Serialize, Deserialize)]
    struct Saved {
        deleting: Vec<u64>,
    }

    impl Acme {
        pub(crate) async fn erase_people(&self, ctx: &Ctx, subject: &Subject) -> Result<Outcome, Failure> {
            let mut saved: Saved = ctx.progress.get()?.unwrap_or_default(); // what earlier attempts saved
            let mut erased = 0;
            for id in std::mem::take(&mut saved.deleting) {
                if self.api.delete(id).await? {
                    erased += 1;
                }
            }
            for email in subject.emails() {
                let people = self.api.people(email).await?;
                let ids: Vec<u64> = people.iter().filter(|p| p.email == *email).map(|p| p.id).collect(); // exact matches only
                saved.deleting.extend(&ids);
                ctx.progress.save(&saved).await?; // durable before the call; on Err, do not make it
                for id in ids {
                    if self.api.delete(id).await? {
                        erased += 1;
                    }
                }
            }
            Ok(if erased == 0 {
                Outcome::NothingToErase
            } else {
                Outcome::Erased(Evidence::default().count("people", erased))
            })
        }
    }
}

// `lib.rs`: the module list, the connector's state, its constructor and the `Connector` impl.
use config::Config;
use erasure_connector::{
    async_trait, ConfigError, Connector, Ctx, Failure, Found, HttpClient, Outcome, Secrets, Subject,
};
use std::time::Duration;

pub struct Acme {
    api: api::Api,
    #[allow(dead_code)] // what a `Pending` of this connector would carry
    check_after: Duration,
}

impl Acme {
    pub fn new(config: Config, secrets: &Secrets, http: HttpClient) -> Result<Self, ConfigError> {
        let (base, token) = config.check(secrets)?;
        Ok(Acme { api: api::Api { http, base, token }, check_after: config.check_after.get() })
    }
}

#[async_trait]
impl Connector for Acme {
    fn kind(&self) -> &'static str {
        "acme"
    }

    async fn erase(&self, ctx: &Ctx, subject: &Subject) -> Outcome {
        self.erase_people(ctx, subject).await.unwrap_or_else(Outcome::from)
    }

    // `check` keeps the default (erase again): Acme erases at once, `erase` never answers `Pending`.

    /// Acme deletes for good when it answers: verified once, at once.
    fn verify_after(&self) -> Vec<Duration> {
        vec![Duration::ZERO]
    }

    async fn lookup(&self, _ctx: &Ctx, subject: &Subject) -> Result<Found, Failure> {
        let mut count = 0;
        for email in subject.emails() {
            count += self.api.people(email).await?.iter().filter(|p| p.email == *email).count() as u64;
        }
        Ok(Found { present: count > 0, count: Some(count) })
    }

    async fn healthcheck(&self) -> Result<(), Failure> {
        self.api.people("healthcheck@acme.invalid").await.map(|_| ())
    }
}

/// The constructor refuses a wrong block with the key at fault.
fn main() {
    let http = HttpClient::unlimited("acme", Duration::from_secs(5));
    let secrets = Secrets::one("api_token_env", "token");
    let config = |base_url: &str| Config {
        base_url: base_url.into(),
        api_token_env: "ACME_TOKEN".into(),
        check_after: erasure_connector::ConfigDuration::from_secs(60),
    };
    assert!(Acme::new(config("https://api.acme.example/"), &secrets, http.clone()).is_ok());
    let refused = Acme::new(config("ftp://acme"), &secrets, http).err().expect("refused");
    assert_eq!(refused.key.as_deref(), Some("base_url"));
}
