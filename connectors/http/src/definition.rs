//! The definition format, as serde reads it: every key of a definition file (or inline table).
//! Unknown keys are refused; the meaning of each key is in this crate's README.md. What serde
//! cannot check (placeholders, pointers, set names) is checked by `validate`.

use erasure_connector::{ConfigDuration, KindLabel};
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;

/// A whole definition.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Definition {
    /// What kind of system this is, in the person's words (`[label] en`, `fr`): the e-mail
    /// names the system by it. Absent: "Other system" / "Autre système".
    #[serde(default)]
    pub label: Option<KindLabel>,
    /// The API's base URL; the instance's `base_url` overrides it.
    #[serde(default)]
    pub base_url: Option<String>,
    /// Headers sent with every request (placeholders: `{vars.x}` only).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    #[serde(default)]
    pub auth: Option<Auth>,
    #[serde(default)]
    pub rate_limit: Option<RateLimitHint>,
    pub find: Vec<Find>,
    #[serde(default)]
    pub erase: Vec<Erase>,
    /// Vendor error codes mapped onto retry, permanent or gone, before the SDK's table.
    #[serde(default)]
    pub errors: Vec<ErrorMapping>,
    #[serde(default)]
    pub evidence: EvidenceSpec,
    /// The record set whose presence `lookup` reports; the first find step's set by default.
    #[serde(default)]
    pub lookup: Option<String>,
    /// When to verify, by default (the instance's `verify_after` overrides it).
    #[serde(default)]
    pub verify_after: Option<Vec<ConfigDuration>>,
    /// One request that proves the credentials work (e.g. `GET /me`).
    #[serde(default)]
    pub healthcheck: Option<Request>,
}

impl Definition {
    /// The set `lookup` reports on: `lookup`, else the first find step's set that is not scope-only.
    pub fn lookup_set(&self) -> String {
        let first = self.find.iter().find(|f| !f.scope_only).or(self.find.first());
        self.lookup.clone().or_else(|| first.map(|f| f.name.clone())).unwrap_or_default()
    }
}

/// How requests authenticate. Each secret is named by an instance key ending in `_env`.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Auth {
    /// `Authorization: Bearer <token>`.
    Bearer { token: String },
    /// HTTP basic: a fixed `username` (or one from the instance key `username_secret`) and a password.
    Basic {
        #[serde(default)]
        username: Option<String>,
        #[serde(default)]
        username_secret: Option<String>,
        password: String,
    },
    /// An API key in a header (with an optional prefix) or a query parameter.
    ApiKey {
        key: String,
        #[serde(default)]
        header: Option<String>,
        #[serde(default)]
        prefix: Option<String>,
        #[serde(default)]
        query: Option<String>,
    },
    /// OAuth 2.0 client credentials (RFC 6749 §4.4).
    #[serde(rename = "oauth2_client_credentials")]
    OAuth2 {
        token_url: String,
        client_id: String,
        client_secret: String,
        #[serde(default)]
        scopes: Vec<String>,
    },
}

/// A vendor's own header saying when a throttled client may come back, read on 429 when
/// there is no `Retry-After`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitHint {
    pub reset_header: String,
    /// `unix` (the header holds a Unix time in seconds) or `seconds` (a delay).
    #[serde(default)]
    pub reset: ResetUnit,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResetUnit {
    #[default]
    Unix,
    Seconds,
}

/// One request: method, path (after the base URL), query, JSON body, headers.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Request {
    #[serde(default = "get")]
    pub method: String,
    pub path: String,
    #[serde(default)]
    pub query: BTreeMap<String, String>,
    #[serde(default)]
    pub body: Option<Value>,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
}

fn get() -> String {
    "GET".into()
}

/// A find step: one request per identifier of a kind, or per record of an earlier set (or no
/// request at all: records read out of each record of the earlier set).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Find {
    /// The record set this step adds to (several steps may add to one set).
    pub name: String,
    /// `email`, `phone`, `user_id`, `id`, or an earlier set's name.
    pub for_each: String,
    #[serde(default)]
    pub method: Option<String>,
    #[serde(default)]
    pub path: Option<String>,
    #[serde(default)]
    pub query: BTreeMap<String, String>,
    #[serde(default)]
    pub body: Option<Value>,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// JSON pointer to the records: an array, or one object (`""`: the whole answer).
    #[serde(default)]
    pub records: String,
    /// JSON pointer to a record's id.
    #[serde(default = "slash_id")]
    pub id: String,
    /// The exact-match rule: every condition must hold for a record to be kept.
    #[serde(default, rename = "match", deserialize_with = "one_or_many")]
    pub matches: Vec<Condition>,
    #[serde(default)]
    pub pagination: Option<Pagination>,
    /// Statuses that mean "no records" (e.g. 404 on a GET by id).
    #[serde(default)]
    pub gone: Vec<u16>,
    /// The set only scopes later steps (e.g. the audiences that hold an address): it is never
    /// erased or looked up, so it needs no exact-match rule; the steps run per its records do.
    #[serde(default)]
    pub scope_only: bool,
}

fn slash_id() -> String {
    "/id".into()
}

impl Find {
    /// The request, when the step makes one.
    pub fn request(&self) -> Option<Request> {
        Some(Request {
            method: self.method.clone().unwrap_or_else(get),
            path: self.path.clone()?,
            query: self.query.clone(),
            body: self.body.clone(),
            headers: self.headers.clone(),
        })
    }
}

/// One condition on a record or an answer.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Condition {
    /// JSON pointer; a `*` segment means "any element of this array".
    #[serde(alias = "pointer")]
    pub field: String,
    /// A template: `{email}` compares the field normalised as an e-mail, `{contacts./id}` an
    /// earlier record's field, plain text itself.
    #[serde(default)]
    pub equals: Option<String>,
    #[serde(default, rename = "in")]
    pub one_of: Option<Vec<Value>>,
    #[serde(default)]
    pub not_in: Option<Vec<Value>>,
    /// `true`: the field holds something (not null, not an empty or blank string).
    #[serde(default)]
    pub present: Option<bool>,
}

/// How a find step's listing continues.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Pagination {
    /// The next cursor at a JSON pointer of the answer, sent as a query parameter or at a
    /// pointer of the body; no cursor (or the same one) ends the listing.
    Cursor {
        next: String,
        #[serde(default)]
        query: Option<String>,
        #[serde(default)]
        body: Option<String>,
    },
    /// The `Link` header's `rel="next"` URL (same origin as the base URL only).
    Link,
    /// A page number, from `start`; a page with fewer than `size` records (or none) ends it.
    Page {
        #[serde(default)]
        query: Option<String>,
        #[serde(default)]
        body: Option<String>,
        #[serde(default = "one")]
        start: u64,
        #[serde(default)]
        size: Option<u64>,
    },
    /// An offset in records, from 0; a page with fewer than `size` records (or none) ends it.
    Offset {
        #[serde(default)]
        query: Option<String>,
        #[serde(default)]
        body: Option<String>,
        size: u64,
    },
}

fn one() -> u64 {
    1
}

/// An erase step: one request per record of a set, or bulk requests carrying many records.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Erase {
    #[serde(default)]
    pub for_each: Option<String>,
    /// A set erased in bulk: the body's `"{batch}"` string becomes the array of the chunk's
    /// records, each rendered from `each` (the record's id by default).
    #[serde(default)]
    pub bulk: Option<String>,
    #[serde(default)]
    pub each: Option<Value>,
    #[serde(default)]
    pub max_batch: Option<usize>,
    #[serde(default = "get_delete")]
    pub method: String,
    pub path: String,
    #[serde(default)]
    pub query: BTreeMap<String, String>,
    #[serde(default)]
    pub body: Option<Value>,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Statuses that mean "already erased".
    #[serde(default)]
    pub gone: Vec<u16>,
    /// The evidence count this step adds to (one per record erased).
    #[serde(default)]
    pub count: Option<String>,
    /// Save the records' ids with `ctx.progress` before the call: it makes them unfindable.
    #[serde(default)]
    pub save_before: bool,
    /// For a saved id no longer found: a request that tells "still there" from "gone".
    #[serde(default)]
    pub recheck: Option<Recheck>,
    /// JSON pointer of a vendor reference in the answer (a batch id), kept in the evidence.
    #[serde(default)]
    pub vendor_ref: Option<String>,
    #[serde(default)]
    pub job: Option<Job>,
}

fn get_delete() -> String {
    "DELETE".into()
}

impl Erase {
    pub fn set(&self) -> &str {
        self.for_each.as_deref().or(self.bulk.as_deref()).unwrap_or("")
    }

    pub fn request(&self) -> Request {
        Request {
            method: self.method.clone(),
            path: self.path.clone(),
            query: self.query.clone(),
            body: self.body.clone(),
            headers: self.headers.clone(),
        }
    }
}

/// A request for one saved id (`{saved.id}`): 2xx = still there (the answer is the record),
/// a `gone` status = erased.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Recheck {
    #[serde(default = "get")]
    pub method: String,
    pub path: String,
    #[serde(default)]
    pub gone: Vec<u16>,
}

/// An asynchronous job started by an erase call.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Job {
    /// JSON pointer of the job id in the erase call's answer.
    pub id: String,
    /// The status request (`{job.id}` is the job's id).
    #[serde(default = "get")]
    pub method: String,
    pub path: String,
    #[serde(default, deserialize_with = "one_or_many")]
    pub done: Vec<Condition>,
    #[serde(default, deserialize_with = "one_or_many")]
    pub failed: Vec<Condition>,
    #[serde(default = "thirty_seconds")]
    pub check_after: ConfigDuration,
}

fn thirty_seconds() -> ConfigDuration {
    ConfigDuration::from_secs(30)
}

/// A vendor error code mapped onto what it means for the erasure.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErrorMapping {
    #[serde(deserialize_with = "one_or_many")]
    pub status: Vec<u16>,
    /// A condition on the error's JSON body; without it, the status alone decides.
    #[serde(default)]
    pub field: Option<String>,
    #[serde(default)]
    pub equals: Option<String>,
    #[serde(rename = "as")]
    pub class: ErrorClass,
    /// For `gone`: an evidence count of the records the vendor refused this way.
    #[serde(default)]
    pub count: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorClass {
    Permanent,
    Retry,
    Gone,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvidenceSpec {
    /// What the vendor keeps after the erasure, with the documentation that says so.
    #[serde(default)]
    pub note: Option<String>,
    /// Records found but not erased (the vendor offers no call that erases them), reported.
    #[serde(default)]
    pub found: Vec<FoundNote>,
}

/// A sentence added to the note when a set holds records: `{count}` is how many (distinct ids).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FoundNote {
    pub set: String,
    pub note: String,
}

/// One table or a list of them (or one status or a list). Read through a JSON value, so an error
/// inside (an unknown key of a condition) keeps serde's own message.
fn one_or_many<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::de::DeserializeOwned,
{
    use serde::de::Error;
    match Value::deserialize(deserializer)? {
        Value::Array(items) => items
            .into_iter()
            .enumerate()
            .map(|(n, item)| serde_json::from_value(item).map_err(|e| D::Error::custom(format!("[{n}]: {e}"))))
            .collect(),
        one => serde_json::from_value(one).map(|item| vec![item]).map_err(D::Error::custom),
    }
}
