//! Typed settings: the schema. `load` reads `config/default.toml` (compiled in), the environment
//! file given with `--config`, then `ERASURE__SECTION__KEY` environment variables, in that order,
//! and remembers where each key came from. `secrets` resolves the `*_env` keys.
//!
//! Unknown keys and invalid values stop start-up with the key and the file (or variable) named.
//! Secrets never sit in these files: a `*_env` field names the environment variable that holds one.

mod load;
pub mod reference;
mod secrets;
mod warnings;

#[cfg(test)]
pub(crate) use load::testing::load as load_for_tests;
pub use load::{default_config_path, DEFAULT_TOML};
pub use secrets::secret_from_env;

use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// PostgreSQL, which holds every piece of state.
    pub database: DatabaseSettings,
    /// RabbitMQ: the intake queue, its dead-letter queue and the events exchange.
    pub amqp: AmqpSettings,
    /// How intake messages are read, checked and admitted.
    pub intake: IntakeSettings,
    /// The runner: claims due tasks, calls the connectors, retries.
    pub runner: RunnerSettings,
    /// The outbox relay, which publishes events after their transaction committed.
    pub outbox: OutboxSettings,
    /// Deadlines and the grace period of requests.
    pub requests: RequestSettings,
    /// The keyed hashes of identifiers.
    pub security: SecuritySettings,
    /// Encryption at rest of identifiers (the data keys).
    pub encryption: EncryptionSettings,
    /// Logs, on standard error.
    pub log: LogSettings,
    /// Traces exported over OTLP/HTTP (off unless an endpoint is set).
    #[serde(default)]
    pub telemetry: TelemetrySettings,
    /// The HTTP API, the dashboard and `/metrics`.
    pub api: ApiSettings,
    /// The small listener of `/healthz`, `/readyz` and `/metrics` that every process serves,
    /// whatever its `--only` set.
    #[serde(default)]
    pub probes: ProbesSettings,
    /// Messages to the person (e-mail over SMTP).
    #[serde(default)]
    pub mail: MailSettings,
    /// Signed receipts of settled requests (README, "Proof of erasure").
    pub receipts: ReceiptSettings,
    /// Verification after erasure (`lookup` at the vendors' hard-delete windows).
    #[serde(default)]
    pub verification: VerificationSettings,
    /// What stays after an erasure and how long: copies no API reaches (`[[retention.copies]]`),
    /// and how long what identifies a person, and sent messages, are kept.
    pub retention: RetentionSettings,
    /// Connector instances by name; the name is what messages use in `systems` and `ids`.
    #[serde(default)]
    pub connectors: BTreeMap<String, ConnectorSettings>,
    /// Where each key came from, to name it in later errors.
    #[serde(skip)]
    origins: load::Origins,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSettings {
    /// PostgreSQL URL without the password, e.g. `postgres://erasure@db:5432/erasure?sslmode=require`.
    /// `sslmode`: `disable` (no TLS), `prefer` (TLS when the server offers it), `require` (TLS or
    /// no connection). Absent: `require` when a host is not loopback (127.0.0.0/8, `::1`,
    /// `localhost`, a Unix socket path), else `prefer`. Whenever TLS is used, the server's certificate must
    /// chain to the trusted roots and name the URL's host (libpq's `verify-full`).
    pub url: String,
    /// Environment variable holding the password, if the URL has none.
    #[serde(default)]
    pub password_env: Option<String>,
    /// PEM bundle of the CA certificates that vouch for the database server. It replaces the
    /// system's roots for PostgreSQL connections. A relative path is taken from the working
    /// directory.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// Connections in this process's pool.
    pub pool_size: usize,
    /// A URL that reaches PostgreSQL itself, not through a pooler in transaction mode
    /// (PgBouncer), for what needs one session: LISTEN (wake-ups) and the migrations' advisory
    /// lock. Same form, `password_env` and `sslmode` rules as `url`. Absent: `url`.
    #[serde(default)]
    pub direct_url: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AmqpSettings {
    /// Broker URLs, tried in order (one per cluster node), e.g. `amqp://erasure@mq1:5672/%2f`.
    pub urls: Vec<String>,
    /// Environment variable holding the password, if the URLs have none.
    #[serde(default)]
    pub password_env: Option<String>,
    /// PEM bundle of extra CA certificates for `amqps://` URLs (a private CA), added to the
    /// system's roots. A relative path is taken from the working directory.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// The intake quorum queue.
    pub requests_queue: String,
    /// Invalid messages land here with an `x-erasure-reason` header.
    pub dead_letter_queue: String,
    /// How long the dead-letter queue keeps a message (it can hold personal data).
    pub dead_letter_ttl: Dur,
    /// The topic exchange events are published to.
    pub events_exchange: String,
    /// Deliveries after which the broker dead-letters a message that keeps crashing consumers.
    pub delivery_limit: u32,
    /// Unacknowledged intake messages per consumer.
    pub prefetch: u16,
    /// Wait between reconnection attempts grows up to this.
    pub reconnect_max_delay: Dur,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IntakeSettings {
    /// Messages larger than this are dead-lettered as `too_large`.
    pub max_message_bytes: usize,
    /// Messages decoded and committed at once.
    pub concurrency: usize,
    /// A `requested_at` further in the future than this is refused.
    pub max_clock_skew: Dur,
    /// The mass-deletion brake: more requests than this within `brake_window` are accepted but
    /// held (hold `brake`) until an operator releases them; 0 turns the brake off. Each process
    /// reads the window's count once a second and counts its own intakes in between.
    pub brake_max_requests: u32,
    /// The window of `brake_max_requests`.
    pub brake_window: Dur,
    /// Refuse (dead-letter as `bad_signature`) every message not signed with an active key.
    pub require_signature: bool,
    /// Also accept `v1` signatures (the body alone, without `reply_to`); each is counted in
    /// `erasure_intake_signature_v1_total`. On for one release while producers move to `v2`.
    pub accept_signature_v1: bool,
    /// Active signing keys; two at once while rotating.
    #[serde(default)]
    pub signing_keys: Vec<SigningKey>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SigningKey {
    /// The key id producers send in `x-erasure-key-id`.
    pub id: String,
    /// Environment variable holding the HMAC secret.
    pub secret_env: String,
    /// A cancellation is accepted only when signed by the key that admitted the request, unless
    /// it is signed by a key with this flag (an operator's or a support tool's key).
    #[serde(default)]
    pub can_cancel_any: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunnerSettings {
    /// A claimed task belongs to its worker for this long; heartbeats renew it.
    pub lease: Dur,
    /// Fallback polling when no notification arrives.
    pub poll_interval: Dur,
    /// Tasks claimed per query.
    pub claim_batch: u32,
    /// On SIGTERM, in-flight work gets this long before its leases are released.
    pub drain_timeout: Dur,
    /// Default attempts per task before it fails (a connector may set its own).
    pub max_attempts: u32,
    /// First retry delay; doubles per attempt.
    pub retry_base: Dur,
    /// Longest retry delay.
    pub retry_cap: Dur,
    /// One attempt (one `erase` or `check` call) may take this long.
    pub attempt_timeout: Dur,
    /// A due task whose connector instance is not configured here fails after this long.
    pub orphan_grace: Dur,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutboxSettings {
    /// Fallback polling when no notification arrives.
    pub poll_interval: Dur,
    /// Rows published per transaction.
    pub batch: u32,
    /// Unroutable or refused publications wait this long, doubling, up to `retry_cap`.
    pub retry_base: Dur,
    /// The longest wait between two publications of one event.
    pub retry_cap: Dur,
}

/// `[retention]`: see config/default.toml.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetentionSettings {
    /// A `failed` or `cancelled` request keeps its (encrypted) identifiers this long after it
    /// settled, so an operator can still retry it; then they are deleted. A `closed` request's
    /// are deleted at the next sweep.
    pub settled_identifiers: Dur,
    /// Sent events (`outbox`) and sent or refused messages to the person (`mail_outbox`) are
    /// deleted this long after they were sent.
    pub sent_messages: Dur,
    /// Copies of the person's data that no API can reach and that expire on their own (backups,
    /// archives): the person is told the date by which each is overwritten.
    #[serde(default)]
    pub copies: Vec<ExpiringCopy>,
}

/// One `[[retention.copies]]` entry.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ExpiringCopy {
    /// What the copy is, in the words the person reads (English, and the default).
    pub name: String,
    /// The same in French, for a person whose locale is French.
    #[serde(default)]
    pub name_fr: Option<String>,
    /// How long after the erasure the copy is overwritten or deleted.
    pub expires_after: Dur,
}

/// How messages to the person are sent; see `[mail]` in config/default.toml.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MailSettings {
    /// Send messages to the person (the `mail` component); off, nothing needs an SMTP server.
    pub enabled: bool,
    /// `smtp://host:port`.
    pub smtp_url: String,
    /// `off`, `opportunistic` or `required`. Absent: `required` when the `smtp_url` host is not
    /// loopback, else `opportunistic` (see [`MailSettings::starttls`]).
    #[serde(rename = "starttls")]
    pub starttls_setting: Option<StartTls>,
    /// Implicit TLS from the first byte (port 465); `starttls` is then ignored.
    pub tls: bool,
    /// The SMTP user name, if the server wants credentials.
    pub username: Option<String>,
    /// Environment variable holding the SMTP password.
    pub password_env: Option<String>,
    /// The sender the person sees and can answer.
    pub from: String,
    /// Which of the subject's e-mails get the message.
    pub recipients: Recipients,
    /// Also publish these events to the intake message's `reply_to` (false: the e-mail replaces it).
    pub also_reply: bool,
    /// Messages sent per pass.
    pub batch: u32,
    /// Fallback polling when no notification arrives.
    pub poll_interval: Dur,
    /// A temporary failure (4xx, no connection) waits this long, doubling, up to `retry_cap`.
    pub retry_base: Dur,
    /// The longest wait between two attempts of one message.
    pub retry_cap: Dur,
}

impl Default for MailSettings {
    fn default() -> Self {
        MailSettings {
            enabled: false,
            smtp_url: "smtp://127.0.0.1:25".into(),
            starttls_setting: None,
            tls: false,
            username: None,
            password_env: None,
            from: "Privacy team <privacy@example.com>".into(),
            recipients: Recipients::First,
            also_reply: true,
            batch: 16,
            poll_interval: Dur(Duration::from_secs(1)),
            retry_base: Dur(Duration::from_secs(5)),
            retry_cap: Dur(Duration::from_secs(600)),
        }
    }
}

impl MailSettings {
    /// The STARTTLS policy in force: the configured one, else `required` beyond loopback (a
    /// message to the person crosses the network) and `opportunistic` on loopback.
    pub fn starttls(&self) -> StartTls {
        self.starttls_setting.unwrap_or_else(|| {
            let host = url::Url::parse(&self.smtp_url).ok().and_then(|u| u.host_str().map(str::to_string));
            match host {
                Some(host) if !erasure_connector::transport::is_loopback_host(&host) => StartTls::Required,
                _ => StartTls::Opportunistic,
            }
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StartTls {
    Off,
    Opportunistic,
    Required,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Recipients {
    /// The first e-mail of the request's subject.
    First,
    /// Every e-mail of the request's subject.
    All,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestSettings {
    /// The legal response period, in calendar months (GDPR art. 12(3): one).
    pub response_period_months: u32,
    /// How long a new request waits `scheduled`, cancellable, before it starts (`0s`: none).
    pub grace_period: Dur,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecuritySettings {
    /// Environment variable holding the key for the keyed hashes of identifiers (32+ bytes).
    pub hash_key_env: String,
    /// Environment variable holding retired hash keys, comma-separated: they still hash for
    /// lookups (legal hold entries and forgotten requests hashed under them keep matching) until
    /// `erasure keys hashes` shows that nothing depends on them.
    #[serde(default)]
    pub retired_hash_keys_env: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EncryptionSettings {
    /// Environment variable holding the data keys, `id:base64key[,id:base64key...]` (32-byte
    /// AES-256 keys): the first seals new values, every one listed opens old ones.
    pub keys_env: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProbesSettings {
    /// Address of the probes and metrics listener (`0.0.0.0:9090` in a container); absent: none
    /// (a process running the API still serves all three on `api.listen`).
    #[serde(default)]
    pub listen: Option<String>,
    /// `/readyz` answers 503 when one of this process's loops (intake consuming, runner, outbox
    /// and mail polling) has not shown life for this long (polling loops: plus their interval).
    #[serde(default = "probes_stale_after")]
    pub stale_after: Dur,
}

fn probes_stale_after() -> Dur {
    Dur(Duration::from_secs(30))
}

impl Default for ProbesSettings {
    fn default() -> Self {
        ProbesSettings { listen: None, stale_after: probes_stale_after() }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiSettings {
    /// Address the HTTP API listens on.
    pub listen: String,
    /// Bearer tokens and their scopes (`read`, `submit`, `operate`, `legal`, `suppression`).
    #[serde(default)]
    pub tokens: Vec<ApiToken>,
    /// Where `/metrics` is served on its own (then not on `listen`); absent: on `listen`.
    #[serde(default)]
    pub metrics_listen: Option<String>,
    /// The URL operators reach the API at; `https://...` makes the dashboard cookie `Secure`.
    #[serde(default)]
    pub public_url: Option<String>,
    /// A client has this long to send a request's headers, else the connection is closed.
    #[serde(default = "api_header_timeout")]
    pub header_read_timeout: Dur,
    /// A request (body included) is answered within this, else 408.
    #[serde(default = "api_request_timeout")]
    pub request_timeout: Dur,
    /// The largest request body, in bytes (413 beyond).
    #[serde(default = "api_max_body_bytes")]
    pub max_body_bytes: usize,
    /// Requests handled at once per listener; one more is answered 503 at once.
    #[serde(default = "api_max_concurrent")]
    pub max_concurrent_requests: usize,
    /// Failed dashboard sign-ins per client address per minute, beyond which it is refused (429).
    #[serde(default = "api_login_failures")]
    pub login_failures_per_minute: u32,
    /// Searches by identifier per caller (token or dashboard session) per minute (429 beyond).
    #[serde(default = "api_searches")]
    pub searches_per_minute: u32,
}

fn api_header_timeout() -> Dur {
    Dur(Duration::from_secs(10))
}

fn api_request_timeout() -> Dur {
    Dur(Duration::from_secs(30))
}

fn api_max_body_bytes() -> usize {
    256 * 1024
}

fn api_max_concurrent() -> usize {
    64
}

fn api_login_failures() -> u32 {
    10
}

fn api_searches() -> u32 {
    30
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiToken {
    /// Who holds it; actions are audited as `api:<name>`.
    pub name: String,
    /// Environment variable holding the token.
    pub token_env: String,
    /// What the token may do (see `Scope`).
    pub scopes: Vec<Scope>,
}

/// What an API token may do: `read` (status), `submit` (products send requests), `operate`
/// (actions), `legal` (the legal hold list: list, add, release; `operate` does not include it),
/// `suppression` (products ask whether a person asked to be erased; no other scope includes it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    Read,
    Submit,
    Operate,
    Legal,
    Suppression,
}

/// The receipts' Ed25519 keys (read in `receipt::keys`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReceiptSettings {
    /// Environment variable holding the signing key: its 32-byte seed in base64url. While the
    /// variable is unset, receipts are not served (503) and `check-config` says so.
    pub signing_key_env: String,
    /// The signing key's id, in every receipt's signature and in `/.well-known/erasure-keys`.
    pub key_id: String,
    /// Public keys of earlier signing keys, still published so that their receipts verify.
    #[serde(default)]
    pub retired_keys: Vec<RetiredKey>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetiredKey {
    /// The retired key's id, as its receipts name it.
    pub key_id: String,
    /// The Ed25519 public key, 32 bytes in base64url.
    pub public_key: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSettings {
    /// `json` or `text`.
    pub format: LogFormat,
    /// A tracing filter such as `info` or `info,erasure_worker=debug`.
    pub level: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Json,
    Text,
}

/// `[telemetry]`: OpenTelemetry traces of intake and of every attempt, exported over OTLP/HTTP
/// (JSON encoding). Off unless `otlp_endpoint` is set here or `OTEL_EXPORTER_OTLP_ENDPOINT`
/// (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is in the environment.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TelemetrySettings {
    /// The collector's base URL, e.g. `http://otel-collector:4318`; traces go to
    /// `{otlp_endpoint}/v1/traces`, as with `OTEL_EXPORTER_OTLP_ENDPOINT`.
    #[serde(default)]
    pub otlp_endpoint: Option<String>,
    /// The `service.name` resource attribute.
    #[serde(default = "default_service_name")]
    pub service_name: String,
    /// The share of new traces sampled, 0.0 to 1.0; a trace started upstream follows the
    /// sampled flag of its `traceparent`.
    #[serde(default = "default_sample_ratio")]
    pub sample_ratio: f64,
}

fn default_service_name() -> String {
    "erasure-worker".into()
}

fn default_sample_ratio() -> f64 {
    1.0
}

impl Default for TelemetrySettings {
    fn default() -> Self {
        TelemetrySettings { otlp_endpoint: None, service_name: default_service_name(), sample_ratio: 1.0 }
    }
}

/// `[verification]`: after a task ends, look the subject up again (`Connector::lookup`) at each
/// of its instance's `verify_after` delays; a subject found again reopens the request, and a
/// completed request whose checks all passed becomes `closed`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerificationSettings {
    /// false: no check is scheduled and completed requests stay completed (the behaviour before
    /// verification existed).
    #[serde(default = "yes")]
    pub enabled: bool,
}

impl Default for VerificationSettings {
    fn default() -> Self {
        VerificationSettings { enabled: true }
    }
}

/// One connector instance. Kind-specific keys are checked by the kind's own config type.
#[derive(Debug, Clone, Deserialize)]
pub struct ConnectorSettings {
    /// The connector kind (`webhook`, ...), as listed in `src/registry.rs`.
    pub kind: String,
    /// A disabled instance gets no new tasks; its existing tasks still run.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// HTTP calls per second across all worker processes; absent means unlimited.
    #[serde(default)]
    pub requests_per_second: Option<f64>,
    /// Tasks of this instance running at once in one process.
    #[serde(default = "default_concurrency")]
    pub concurrency: usize,
    /// Timeout of one HTTP call.
    #[serde(default = "default_timeout")]
    pub timeout: Dur,
    /// Overrides `runner.max_attempts`.
    #[serde(default)]
    pub max_attempts: Option<u32>,
    /// When to verify an erasure with a lookup, counted from when the task ended, e.g.
    /// `["0s", "30d"]`. Absent: the kind's default, from the vendor's documented hard-delete
    /// window (`Connector::verify_after`). `[]`: never looked up; the system is recorded as not
    /// verified.
    #[serde(default)]
    pub verify_after: Option<Vec<Dur>>,
    /// The kind of system in English, as the e-mail to the person names it (e.g. `Newsletter`),
    /// with `label_fr`: set both or neither. Absent: the kind's own wording (an `http`
    /// definition's `[label]`, else the worker's word for the kind, else "Other system").
    #[serde(default)]
    pub label_en: Option<String>,
    /// The same in French (e.g. `Lettre d'information`), with `label_en`.
    #[serde(default)]
    pub label_fr: Option<String>,
    /// Everything else belongs to the kind.
    #[serde(flatten)]
    pub options: BTreeMap<String, serde_json::Value>,
}

impl ConnectorSettings {
    /// The instance's own `label_en`/`label_fr`, when set (both, as validated at load).
    pub fn label(&self) -> Option<erasure_connector::KindLabel> {
        match (&self.label_en, &self.label_fr) {
            (Some(en), Some(fr)) => Some(erasure_connector::KindLabel { en: en.clone(), fr: fr.clone() }),
            _ => None,
        }
    }
}

fn yes() -> bool {
    true
}

fn default_concurrency() -> usize {
    4
}

fn default_timeout() -> Dur {
    Dur(Duration::from_secs(10))
}

/// A duration written as `500ms`, `10s`, `15m`, `6h`, `30d` or `1h 30m`, read by the SDK's one
/// parser (`erasure_connector::duration`, which connectors' keys use too); here a unit is required.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dur(pub Duration);

impl<'de> Deserialize<'de> for Dur {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        parse_duration(&text).map(Dur).ok_or_else(|| {
            serde::de::Error::custom(format!("`{text}` is not a duration such as 500ms, 10s, 15m, 6h or 30d"))
        })
    }
}

pub fn parse_duration(text: &str) -> Option<Duration> {
    let bare_number = text.trim().bytes().all(|b| b.is_ascii_digit());
    if bare_number {
        return None;
    }
    erasure_connector::duration::parse(text)
}

/// A start-up error that names the key and where it was set.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {file}: {message}")]
    File { file: String, message: String },
    #[error("config key `{key}` ({origin}): {message}")]
    Key { key: String, origin: String, message: String },
}

impl ConfigError {
    pub fn with_message(self, message: String) -> ConfigError {
        match self {
            ConfigError::Key { key, origin, .. } => ConfigError::Key { key, origin, message },
            ConfigError::File { file, .. } => ConfigError::File { file, message },
        }
    }
}

pub fn valid_instance_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
}

impl Settings {
    /// Enabled connector instance names, sorted.
    pub fn enabled_instances(&self) -> Vec<String> {
        self.connectors.iter().filter(|(_, c)| c.enabled).map(|(n, _)| n.clone()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(parse_duration("30d"), Some(Duration::from_secs(30 * 86_400)));
        assert_eq!(parse_duration("10"), None);
        assert_eq!(parse_duration("1w"), None);
    }

    #[test]
    fn starttls_is_required_beyond_loopback_unless_set() {
        let mail = |url: &str, setting: Option<StartTls>| MailSettings {
            smtp_url: url.into(),
            starttls_setting: setting,
            ..MailSettings::default()
        };
        assert_eq!(mail("smtp://mail.example.com:587", None).starttls(), StartTls::Required);
        assert_eq!(mail("smtp://192.0.2.2:25", None).starttls(), StartTls::Required);
        assert_eq!(mail("smtp://127.0.0.1:25", None).starttls(), StartTls::Opportunistic);
        assert_eq!(mail("smtp://localhost:25", None).starttls(), StartTls::Opportunistic);
        assert_eq!(mail("smtp://[::1]:25", None).starttls(), StartTls::Opportunistic);
        // Decided on the host as written, never through DNS: a name that happens to resolve to
        // loopback (here, or only on some machines) still requires STARTTLS.
        assert_eq!(mail("smtp://localhost.localdomain:25", None).starttls(), StartTls::Required);
        assert_eq!(mail("smtp://mail.example.com", Some(StartTls::Off)).starttls(), StartTls::Off);
        assert_eq!(mail("smtp://127.0.0.1", Some(StartTls::Required)).starttls(), StartTls::Required);
        // The built-in defaults set no policy: the host decides.
        let defaults =
            crate::config::load_for_tests("[mail]\nsmtp_url = \"smtp://mail.example.com:587\"\n", &[]).unwrap();
        assert_eq!(defaults.mail.starttls(), StartTls::Required);
    }
}
