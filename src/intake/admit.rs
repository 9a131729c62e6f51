//! Admission: the one path by which a request enters, whatever carried it (the queue, an HTTP
//! submission, a dead letter's replay). Signature, decoding and validation, the tasks to create,
//! then one transaction that stores the request and applies the mass-deletion brake and the
//! legal holds that match it (`Store::insert_request`). Callers only turn the answer into their
//! own terms: ack or dead-letter, an HTTP status.

use super::message::{self, CancelMessage, IntakeMessage, Reason, Rejection, Rules};
use super::properties::{self, Properties};
use super::signature::SignedBy;
use crate::app::App;
use crate::model::RequestState;
use crate::store::actions::Refused;
use crate::store::requests::{Brake, Inserted, NewRequest, NewTask};
use crate::store::StoreError;
use chrono::{DateTime, Months, Utc};
use uuid::Uuid;

/// What carried the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The intake queue: the producer's signature is checked, and cancellations are accepted.
    Queue,
    /// `POST /v1/requests`: the caller is authenticated by its bearer token (scope submit).
    Http,
    /// `POST /v1/dead-letters/{id}/replay` by an operator (scope operate): the signature the
    /// message came with is checked again, as on the queue.
    Replay,
}

impl Source {
    fn checks_signature(self) -> bool {
        self != Source::Http
    }

    fn accepts_cancellations(self) -> bool {
        self == Source::Queue
    }
}

/// A message and what came with it.
pub struct Envelope<'a> {
    pub body: &'a [u8],
    /// The AMQP properties as they came (checked by `admit`): `reply_to`, where the product wants
    /// its events, and the headers, where the signature is. None over HTTP.
    pub properties: Properties<'a>,
}

impl Envelope<'_> {
    /// The `reply_to` if it is a valid one, for a refusal's event: an invalid one is never used.
    pub fn valid_reply_to(&self) -> Option<String> {
        properties::reply_to(self.properties.reply_to).ok().flatten()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admitted {
    /// A new request was stored; `held` when the mass-deletion brake holds it.
    Created { request_id: Uuid, deadline_at: DateTime<Utc>, held: bool },
    /// The same request id with the same body: a redelivery, nothing changed.
    Duplicate { request_id: Uuid, deadline_at: DateTime<Utc> },
    /// A cancellation stopped an open request.
    Cancelled { request_id: Uuid },
    /// A cancellation of a request already cancelled: nothing changed.
    AlreadyCancelled { request_id: Uuid },
}

impl Admitted {
    pub fn request_id(self) -> Uuid {
        match self {
            Admitted::Created { request_id, .. }
            | Admitted::Duplicate { request_id, .. }
            | Admitted::Cancelled { request_id }
            | Admitted::AlreadyCancelled { request_id } => request_id,
        }
    }

    /// What the HTTP API answers in `status`.
    pub fn status(self) -> &'static str {
        match self {
            Admitted::Created { held: false, .. } => "received",
            Admitted::Created { held: true, .. } => "held",
            Admitted::Duplicate { .. } | Admitted::AlreadyCancelled { .. } => "duplicate",
            Admitted::Cancelled { .. } => "cancelled",
        }
    }
}

#[derive(Debug)]
pub enum Refusal {
    /// The message itself is refused: the same message would be refused again.
    Rejected(Rejection),
    /// The database could not answer; the message was not judged.
    Unavailable(StoreError),
}

impl From<StoreError> for Refusal {
    fn from(error: StoreError) -> Self {
        Refusal::Unavailable(error)
    }
}

impl From<Rejection> for Refusal {
    fn from(rejection: Rejection) -> Self {
        Refusal::Rejected(rejection)
    }
}

/// Judge one message and, if it is good, store what it asks for.
pub async fn admit(app: &App, envelope: &Envelope<'_>, source: Source) -> Result<Admitted, Refusal> {
    judge(app, envelope, source).await.map_err(|refusal| match refusal {
        Refusal::Unavailable(error) if error.is_refused_value() => Refusal::Rejected(unstorable(&error)),
        other => other,
    })
}

/// The refusal of a message the database will not take (a refused value, or a server error that
/// keeps repeating for this one message), logged by its SQLSTATE only.
pub fn unstorable(error: &StoreError) -> Rejection {
    let sqlstate = error.sqlstate().unwrap_or("?");
    tracing::warn!(sqlstate, "The database refuses this message; it is dead-lettered as unstorable, not retried.");
    Rejection {
        reason: Reason::Unstorable,
        detail: format!("the database refused this message (SQLSTATE {sqlstate})"),
        request_id: None,
    }
}

async fn judge(app: &App, envelope: &Envelope<'_>, source: Source) -> Result<Admitted, Refusal> {
    let now = app.clock.now();
    let rules = rules(app, now);
    let props = &envelope.properties;
    props.check()?;
    let signed = match source.checks_signature() {
        true => app.verifier.check(props.headers, props.reply_to, envelope.body)?,
        false => None,
    };
    if source.accepts_cancellations() {
        match message::decode_cancel(envelope.body, &rules) {
            Some(Ok(cancel)) => return cancel_request(app, &cancel, signed.as_ref()).await,
            Some(Err(rejection)) => return Err(rejection.into()),
            None => {}
        }
    }
    let reply_to = properties::reply_to(props.reply_to)?;
    let message = message::decode(envelope.body, &rules)?;
    let new = new_request(app, &message, reply_to, signed.map(|s| s.key_id));
    let (request_id, deadline_at) = (message.request_id, new.deadline_at);
    if new.tasks.is_empty() {
        return Err(Rejection {
            reason: Reason::NoEnabledSystem,
            detail: "no enabled connector instance would erase anything for this request".into(),
            request_id: Some(request_id),
        }
        .into());
    }
    match app.store.insert_request(&new, app.clock.now()).await? {
        Inserted::Created => {
            tracing::info!(%request_id, subject = %new.subject_hash, tasks = new.tasks.len(), ?source, "Erasure request received.");
            Ok(Admitted::Created { request_id, deadline_at, held: false })
        }
        Inserted::Braked => {
            braked(&request_id);
            Ok(Admitted::Created { request_id, deadline_at, held: true })
        }
        Inserted::Duplicate => {
            tracing::info!(%request_id, ?source, "Duplicate of a known request; nothing changed.");
            Ok(Admitted::Duplicate { request_id, deadline_at })
        }
        Inserted::Conflict => Err(Rejection {
            reason: Reason::RequestIdConflict,
            detail: "this request_id was already used for a different request".into(),
            request_id: Some(request_id),
        }
        .into()),
    }
}

/// A cancellation stops a request still open; a repeat of one that worked changes nothing; any
/// other is refused. Only the key that admitted the request (or one that may cancel any) can
/// cancel it; an unsigned cancellation only an unsigned request.
async fn cancel_request(app: &App, cancel: &CancelMessage, signed: Option<&SignedBy>) -> Result<Admitted, Refusal> {
    let request_id = cancel.request_id;
    if let Some(admitted_by) = app.store.request_signer(request_id).await? {
        let allowed = match signed {
            Some(key) => key.can_cancel_any || admitted_by.as_deref() == Some(key.key_id.as_str()),
            None => admitted_by.is_none(),
        };
        if !allowed {
            tracing::warn!(%request_id, "A cancellation signed by another key than the request's was refused.");
            return Err(Rejection {
                reason: Reason::BadSignature,
                detail: "the cancellation is not signed by the key that admitted the request (nor by one that may cancel any)".into(),
                request_id: None,
            }
            .into());
        }
    }
    let refused = match app.store.cancel(request_id, "intake", &cancel.reason, app.clock.now()).await? {
        Ok(()) => {
            tracing::info!(%request_id, "Erasure request cancelled by message.");
            return Ok(Admitted::Cancelled { request_id });
        }
        Err(refused) => refused,
    };
    let state = app.store.request_state(request_id).await?;
    if state.as_deref().and_then(RequestState::parse) == Some(RequestState::Cancelled) {
        tracing::info!(%request_id, "Repeated cancellation of a cancelled request; nothing changed.");
        return Ok(Admitted::AlreadyCancelled { request_id });
    }
    let detail = match refused {
        Refused::NotFound => "no request has this request_id".to_string(),
        Refused::Conflict(why) => why,
    };
    // No `request_id`: a rejection event would tell the product that its request was rejected,
    // when only the cancellation was.
    Err(Rejection { reason: Reason::CancelNotApplicable, detail, request_id: None }.into())
}

/// The decoder's rules from the settings, at `now`.
fn rules(app: &App, now: DateTime<Utc>) -> Rules<'_> {
    Rules {
        max_bytes: app.settings.intake.max_message_bytes,
        known_systems: &app.known_systems,
        now,
        max_clock_skew: chrono::Duration::from_std(app.settings.intake.max_clock_skew.0).unwrap_or_default(),
    }
}

/// The request and its tasks (one per enabled instance among the requested systems).
fn new_request(
    app: &App,
    message: &IntakeMessage,
    reply_to: Option<String>,
    signing_key_id: Option<String>,
) -> NewRequest {
    let systems = message.systems.clone().unwrap_or_else(|| app.settings.enabled_instances());
    let tasks = systems
        .iter()
        .filter(|name| app.settings.connectors[*name].enabled)
        .map(|name| {
            let connector = &app.settings.connectors[name];
            NewTask {
                connector: name.clone(),
                kind: connector.kind.clone(),
                max_attempts: connector.max_attempts.unwrap_or(app.settings.runner.max_attempts) as i32,
            }
        })
        .collect();
    let months = Months::new(app.settings.requests.response_period_months);
    NewRequest {
        id: message.request_id,
        body_sha256: message.fingerprint(),
        subject: serde_json::to_value(&message.subject).expect("a subject serialises"),
        subject_hash: app.hasher.subject(&message.subject),
        identifier_hashes: app.hasher.identifiers(&message.subject),
        hash_key_ids: app.hasher.key_ids(),
        locale: message.locale.clone(),
        reply_to,
        signing_key_id,
        requested_at: message.requested_at,
        deadline_at: message.requested_at.checked_add_months(months).unwrap_or(message.requested_at),
        starts_at: grace_end(app, message.requested_at),
        tasks,
        brake: (app.settings.intake.brake_max_requests > 0).then(|| Brake {
            max_requests: i64::from(app.settings.intake.brake_max_requests),
            window: app.settings.intake.brake_window.0,
        }),
    }
}

/// When a request's grace period ends, if one is configured.
fn grace_end(app: &App, requested_at: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let grace = app.settings.requests.grace_period.0;
    if grace.is_zero() {
        return None;
    }
    chrono::Duration::from_std(grace).ok().and_then(|g| requested_at.checked_add_signed(g))
}

/// The one place the brake is reported: an error-level alert and a metric.
fn braked(request_id: &Uuid) {
    metrics::counter!("erasure_brake_holds_total").increment(1);
    tracing::error!(
        alert = "mass_deletion_brake",
        %request_id,
        "Mass-deletion brake: too many requests recently; this one is held until an operator releases it."
    );
}
