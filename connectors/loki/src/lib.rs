//! The `loki` connector: erases a person's log lines from Grafana Loki with the compactor's delete
//! API, one delete request per identifier (matched as a whole token, in the configured streams),
//! then follows the requests until Loki has processed them. The calls, in order, are in this
//! crate's README.md.

mod api;
mod count;
mod duration;
mod logql;

pub use duration::Dur;
pub use logql::Token;

use api::{Api, Auth, DeleteRequest};
use count::{Counted, Limits, Span};
use erasure_connector::{
    async_trait, Connector, Ctx, Evidence, Failure, Found, HttpClient, Outcome, Pending, Secrets, Subject,
};
use serde::Deserialize;
use serde_json::json;
use std::collections::HashSet;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Loki takes a delete request's `start` as exactly 10 digits of Unix seconds (from 2001-09-09).
const EARLIEST_START: u64 = 1_000_000_000;

/// `[connectors.NAME]` keys for `kind = "loki"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Where Loki serves `/loki/api/v1/...`, the delete endpoints included (a gateway that routes
    /// them to the compactor, or a single binary), e.g. `https://loki.internal:3100`.
    pub base_url: String,
    /// The LogQL stream selector of the streams to erase from, e.g. `{app="shop"}` or
    /// `{namespace=~"shop|billing"}`.
    pub selector: String,
    /// How far back deletion and lookups go: at least the retention period, e.g. `"31d"`.
    pub lookback: Dur,
    /// The tenant, sent as `X-Scope-OrgID`. Leave out for a single-tenant Loki, or when the Basic
    /// auth user names the tenant (Grafana Cloud, Enterprise Logs).
    #[serde(default)]
    pub tenant: Option<String>,
    /// Loki's `max_interval` for the delete requests: each is split into shards this long. Leave out
    /// for the compactor's `delete_max_interval`.
    #[serde(default)]
    pub max_interval: Option<Dur>,
    /// Basic auth user, with `password_env`.
    #[serde(default)]
    pub username: Option<String>,
    /// Environment variable holding the Basic auth password (on Grafana Cloud, an access policy
    /// token with `logs:read` and `logs:delete`).
    #[serde(default)]
    pub password_env: Option<String>,
    /// Environment variable holding a bearer token, for a Loki behind a proxy that takes one.
    #[serde(default)]
    pub token_env: Option<String>,
    /// Which identifiers are matched: any of `user_id`, `emails`, `phones`, `id` (the subject's id
    /// for this instance). One delete request per identifier.
    #[serde(default = "all_identifiers")]
    pub identifiers: Vec<IdentifierKind>,
    /// Identifiers shorter than this many characters are not matched: even as a whole token, a
    /// short id would match unrelated lines (`took 42 ms`).
    #[serde(default = "default_min_identifier_length")]
    pub min_identifier_length: usize,
    /// Lines per `query_range` page: at most Loki's `max_entries_limit_per_query` (5000 by default).
    #[serde(default = "default_page_size")]
    pub page_size: u32,
    /// The longest range one `query_range` covers: at most Loki's `max_query_length` (721h by
    /// default). The lookback is queried in windows this long.
    #[serde(default = "default_query_window")]
    pub query_window: Dur,
    /// Counting stops at this many lines per identifier (the evidence then says "at least").
    #[serde(default = "default_max_lines_counted")]
    pub max_lines_counted: u64,
    /// When to look at the delete requests again. Loki processes them once its
    /// `delete_request_cancel_period` (24h by default) has passed.
    #[serde(default = "default_check_interval")]
    pub check_interval: Dur,
}

/// A kind of identifier the connector matches in log lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IdentifierKind {
    UserId,
    Emails,
    Phones,
    Id,
}

fn all_identifiers() -> Vec<IdentifierKind> {
    vec![IdentifierKind::UserId, IdentifierKind::Emails, IdentifierKind::Phones, IdentifierKind::Id]
}

fn default_min_identifier_length() -> usize {
    5
}

fn default_page_size() -> u32 {
    1000
}

fn default_query_window() -> Dur {
    Dur(Duration::from_secs(720 * 3600))
}

fn default_max_lines_counted() -> u64 {
    10_000
}

fn default_check_interval() -> Dur {
    Dur(Duration::from_secs(3600))
}

pub struct Loki {
    api: Api,
    selector: String,
    lookback: Dur,
    max_interval: Option<u64>,
    identifiers: Vec<IdentifierKind>,
    min_identifier_length: usize,
    limits: Limits,
    check_interval: Duration,
}

impl Loki {
    pub fn new(config: Config, secrets: &Secrets, http: HttpClient) -> Result<Self, String> {
        let url = url::Url::parse(&config.base_url).map_err(|e| format!("base_url is not a URL: {e}"))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err("base_url must be http or https".into());
        }
        let selector = config.selector.trim().to_string();
        if !(selector.starts_with('{') && selector.ends_with('}') && selector.len() > 2) || selector.contains('\n') {
            return Err("selector must be a LogQL stream selector such as {app=\"shop\"}, without a pipeline".into());
        }
        if let Some(tenant) = &config.tenant {
            let printable = tenant.chars().all(|c| c.is_ascii_graphic() && c != '|');
            if tenant.is_empty() || !printable {
                return Err("tenant must be one tenant id: printable ASCII without spaces or `|`".into());
            }
        }
        if config.lookback.secs() == 0 {
            return Err("lookback must be at least one second".into());
        }
        if let Some(max) = config.max_interval {
            if max.secs() == 0 || max.0 > config.lookback.0 {
                return Err("max_interval must be at least one second and at most the lookback".into());
            }
        }
        let auth = match (&config.token_env, &config.username, &config.password_env) {
            (None, None, None) => Auth::None,
            (Some(_), None, None) => Auth::Bearer(secrets.get("token_env")?.clone()),
            (None, Some(user), Some(_)) => {
                Auth::Basic { user: user.clone(), password: secrets.get("password_env")?.clone() }
            }
            (None, _, _) => return Err("username and password_env go together".into()),
            (Some(_), _, _) => return Err("use token_env or username and password_env, not both".into()),
        };
        if config.identifiers.is_empty() {
            return Err("identifiers must name at least one of user_id, emails, phones, id".into());
        }
        if config.page_size == 0 || config.query_window.secs() == 0 || config.max_lines_counted == 0 {
            return Err("page_size, query_window and max_lines_counted must be above zero".into());
        }
        let api = Api { base: url, tenant: config.tenant, auth, http };
        Ok(Loki {
            api,
            selector,
            lookback: config.lookback,
            max_interval: config.max_interval.map(Dur::secs),
            identifiers: config.identifiers,
            min_identifier_length: config.min_identifier_length,
            limits: Limits {
                window_ns: i64::try_from(config.query_window.0.as_nanos()).unwrap_or(i64::MAX),
                page_size: config.page_size,
                max_lines: config.max_lines_counted,
            },
            check_interval: config.check_interval.0,
        })
    }

    /// The subject's identifiers of the configured kinds, long enough to match safely; `Err` when
    /// every one is too short. The count is of identifiers left out for their length.
    fn tokens(&self, ctx: &Ctx, subject: &Subject) -> Result<(Vec<Token>, usize), String> {
        let mut all: Vec<Token> = Vec::new();
        for kind in &self.identifiers {
            match kind {
                IdentifierKind::UserId => all.extend(subject.user_id().map(|id| Token::new(id, false))),
                IdentifierKind::Emails => all.extend(subject.emails().iter().map(|e| Token::new(e, true))),
                IdentifierKind::Phones => all.extend(subject.phones().iter().map(|p| Token::new(p, false))),
                IdentifierKind::Id => all.extend(subject.id_in(&ctx.instance).map(|id| Token::new(id, false))),
            }
        }
        let mut tokens: Vec<Token> = Vec::new();
        let mut short = 0;
        for token in all {
            if token.len() < self.min_identifier_length {
                short += 1;
            } else if !tokens.contains(&token) {
                tokens.push(token);
            }
        }
        if tokens.is_empty() && short > 0 {
            return Err(format!(
                "every identifier of the subject is shorter than {} characters: too short to match log lines safely",
                self.min_identifier_length
            ));
        }
        Ok((tokens, short))
    }

    /// Now, the delete requests' `start` (Unix seconds) and the span to count lines in.
    fn times(&self) -> (u64, Span) {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
        let start = now.as_secs().saturating_sub(self.lookback.secs()).max(EARLIEST_START);
        let end = i64::try_from(now.as_nanos()).unwrap_or(i64::MAX).saturating_add(1);
        (start, Span { start: start as i64 * 1_000_000_000, end })
    }

    /// Count every identifier's lines, distinct lines across identifiers.
    async fn count_all(&self, tokens: &[Token], span: Span) -> Result<(Vec<Counted>, u64), Failure> {
        let mut seen = HashSet::new();
        let mut counts = Vec::with_capacity(tokens.len());
        let mut lines = 0;
        for token in tokens {
            let counted =
                count::count(&self.api, &token.query(&self.selector), token, span, &self.limits, &mut seen).await?;
            lines += counted.new_lines;
            counts.push(counted);
        }
        Ok((counts, lines))
    }

    async fn try_erase(&self, ctx: &Ctx, subject: &Subject) -> Result<Outcome, Failure> {
        let (tokens, short) = match self.tokens(ctx, subject) {
            Ok(found) => found,
            Err(reason) => return Ok(Outcome::failed(reason)),
        };
        let existing = self.api.delete_requests().await?;
        let (start, span) = self.times();
        let (counts, lines) = self.count_all(&tokens, span).await?;
        let mut tracked: Vec<String> = Vec::new();
        let mut created: Vec<String> = Vec::new();
        for (token, counted) in tokens.iter().zip(&counts) {
            let query = token.query(&self.selector);
            // A request not yet processed hides its lines from queries already: after a crash
            // between sending it and recording it, it is found here and followed, not sent again.
            tracked
                .extend(existing.iter().filter(|r| r.query == query && !r.processed()).map(|r| r.request_id.clone()));
            if counted.matched > 0 {
                self.api.create_delete_request(&query, start, self.max_interval).await?;
                created.push(query);
            }
        }
        if !created.is_empty() {
            let listed = self.api.delete_requests().await?;
            for query in &created {
                match newest(&listed, query) {
                    Some(request) => tracked.push(request.request_id.clone()),
                    None => return Err(Failure::transient("loki does not list a delete request it just accepted")),
                }
            }
        }
        tracked.sort();
        tracked.dedup();
        if tracked.is_empty() {
            return Ok(Outcome::NothingToErase);
        }
        tracing::debug!(requests = tracked.len(), created = created.len(), "loki delete requests sent");
        let mut evidence = Evidence::default().count("log_lines", lines);
        for id in &tracked {
            evidence = evidence.vendor_ref(format!("loki delete request {id}"));
        }
        let mut note = format!(
            "{} delete request(s), one per identifier matched as a whole token, over the last {} of {}; \
             Loki removes the lines once its cancellation period has passed",
            tracked.len(),
            self.lookback,
            self.selector
        );
        if counts.iter().any(|c| c.capped) {
            note.push_str(&format!("; counting stopped at {} lines per identifier", self.limits.max_lines));
        }
        if short > 0 {
            note.push_str(&format!(
                "; {short} identifier(s) shorter than {} characters not matched",
                self.min_identifier_length
            ));
        }
        Ok(Outcome::Pending(Pending {
            check_after: self.check_interval,
            state: json!({ "delete_requests": tracked }),
            evidence: evidence.note(note),
        }))
    }

    async fn try_check(&self, pending: &Pending) -> Result<Outcome, Failure> {
        let ids: Vec<&str> = pending
            .state
            .get("delete_requests")
            .and_then(|r| r.as_array())
            .map(|ids| ids.iter().filter_map(|id| id.as_str()).collect())
            .unwrap_or_default();
        if ids.is_empty() {
            return Ok(Outcome::failed("the stored state names no loki delete request"));
        }
        let listed = self.api.delete_requests().await?;
        let mut processed = 0;
        for id in &ids {
            match listed.iter().find(|r| r.request_id == *id) {
                None => {
                    return Ok(Outcome::failed(format!(
                        "loki no longer lists delete request {id}: it was cancelled, and the lines it matched \
                         remain; erase again"
                    )))
                }
                Some(request) if request.processed() => processed += 1,
                Some(_) => {}
            }
        }
        if processed < ids.len() {
            return Ok(Outcome::Pending(Pending { check_after: self.check_interval, ..pending.clone() }));
        }
        let mut evidence = pending.evidence.clone();
        let note = evidence.note.take().unwrap_or_default();
        Ok(Outcome::Erased(evidence.note(format!("{note}; every delete request is processed"))))
    }
}

/// The request for `query` that was just accepted: the newest one not processed, else the newest.
fn newest<'a>(listed: &'a [DeleteRequest], query: &str) -> Option<&'a DeleteRequest> {
    let newest_of = |processed: bool| {
        listed
            .iter()
            .filter(|r| r.query == query && r.processed() == processed)
            .max_by(|a, b| a.created_at.total_cmp(&b.created_at))
    };
    newest_of(false).or_else(|| newest_of(true))
}

#[async_trait]
impl Connector for Loki {
    fn kind(&self) -> &'static str {
        "loki"
    }

    async fn erase(&self, ctx: &Ctx, subject: &Subject) -> Outcome {
        self.try_erase(ctx, subject).await.unwrap_or_else(Outcome::from)
    }

    async fn check(&self, _ctx: &Ctx, _subject: &Subject, pending: &Pending) -> Outcome {
        self.try_check(pending).await.unwrap_or_else(Outcome::from)
    }

    async fn lookup(&self, ctx: &Ctx, subject: &Subject) -> Result<Found, Failure> {
        let (tokens, _) = self.tokens(ctx, subject).map_err(Failure::permanent)?;
        let (_, span) = self.times();
        let (_, lines) = self.count_all(&tokens, span).await?;
        Ok(Found { present: lines > 0, count: Some(lines) })
    }

    async fn healthcheck(&self) -> Result<(), Failure> {
        self.api.delete_requests().await.map(|_| ())
    }
}
