//! What the engine hands a connector for one attempt.

use crate::http::HttpClient;
use crate::progress::Progress;
use chrono::{DateTime, Utc};
use uuid::Uuid;

/// The context of one attempt at one task.
#[derive(Clone)]
pub struct Ctx {
    /// The producer-chosen id of the erasure request.
    pub request_id: Uuid,
    /// The task (one per request and connector instance).
    pub task_id: i64,
    /// The connector instance name from config, e.g. `helpdesk`.
    pub instance: String,
    /// 1 for the first try; a rescue after a lost worker counts as a try.
    pub attempt: u32,
    /// When the person asked for the erasure. A system keyed by an identifier that can change
    /// hands (a phone number is reassigned) must not touch records created after it: they may be
    /// someone else's.
    pub requested_at: DateTime<Utc>,
    /// Stable across attempts of the same task: send it to systems that deduplicate.
    pub idempotency_key: String,
    /// The W3C `traceparent` of this attempt (`00-{trace}-{span}-{flags}`), for systems that
    /// take part in the trace (the webhook protocol sends it as a header). No personal data.
    pub traceparent: Option<String>,
    /// The instance's HTTP client: its rate limiter, timeout and concurrency apply.
    pub http: HttpClient,
    /// The task's durable progress document: saved before destructive calls, handed back to
    /// every later attempt (see [`crate::progress`]).
    pub progress: Progress,
}

impl Ctx {
    /// A context for tests and one-off runs (`erasure connector erase`), requested now; its
    /// progress is kept in memory, so erasing again with the same context plays the task's next
    /// attempt.
    pub fn standalone(instance: &str, http: HttpClient) -> Self {
        let request_id = Uuid::new_v4();
        Ctx {
            request_id,
            task_id: 0,
            instance: instance.to_string(),
            attempt: 1,
            requested_at: Utc::now(),
            idempotency_key: format!("{request_id}:{instance}"),
            traceparent: None,
            http,
            progress: Progress::in_memory(),
        }
    }
}
