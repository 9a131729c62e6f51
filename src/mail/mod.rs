//! The mail sender: sends the messages to the person queued in `mail_outbox` (completed, failed,
//! deadline extended, cancelled) over SMTP, at least once, with a Message-ID derived from the
//! outbox message id so a repeat is recognisable. A temporary failure (4xx, no connection) is
//! retried with the `[mail]` backoff; a permanent refusal (5xx) is recorded, alerted, and never
//! retried. Which events are mailed is decided when they are queued (`store::mail`).

pub mod counts;
pub mod lang;
pub mod smtp;
pub mod templates;

use crate::app::App;
use crate::config::{ConfigError, Recipients};
use crate::poll::{self, Pass, Poller};
use crate::retry::RetryPolicy;
use crate::shutdown::Shutdown;
use crate::store::mail::MailRow;
use crate::store::queue::Queue;
use crate::store::Channel;
use lang::Lang;
use lettre::message::Mailbox;
use smtp::{Outcome, Transport};
use std::sync::Arc;
use std::time::Duration;

/// How long a claimed message stays invisible to other senders (an SMTP exchange included).
const CLAIM_LEASE: Duration = Duration::from_secs(120);

/// The transport and sender, built before the loops start so a bad `[mail]` stops start-up.
pub struct Sender {
    transport: Transport,
    from: Mailbox,
}

impl Sender {
    pub fn from_settings(app_settings: &crate::config::Settings) -> Result<Sender, ConfigError> {
        let settings = &app_settings.mail;
        Ok(Sender { transport: smtp::transport(settings)?, from: smtp::from(settings)? })
    }
}

pub async fn run(app: Arc<App>, sender: Sender, shutdown: Shutdown) {
    let poller = Poller::listen(&app, "mail", Channel::Mail, app.settings.mail.poll_interval.0, &shutdown);
    let mut last = Pass::Busy;
    while poller.again(last).await {
        last = pass(&app, &sender).await;
    }
    drop(poller);
    tracing::info!("Mail sender stopped.");
}

/// Claim a batch of messages and send them.
async fn pass(app: &App, sender: &Sender) -> Pass {
    let claim =
        app.store.claim_queued::<MailRow>(i64::from(app.settings.mail.batch), CLAIM_LEASE, app.clock.now()).await;
    let Some(rows) = poll::claimed("Mail sender", claim) else {
        return Pass::Idle;
    };
    for row in &rows {
        deliver(app, sender, row).await;
    }
    Pass::Busy
}

async fn deliver(app: &App, sender: &Sender, row: &MailRow) {
    let lang = Lang::from_locale(row.locale.as_deref());
    let Some(rendered) = templates::render(&row.event_type, &row.payload, lang) else {
        refused(app, row, "no message exists for this event").await;
        return;
    };
    let to = recipients(&row.subject, app.settings.mail.recipients);
    if to.is_empty() {
        tracing::info!(event = %row.event_type, message_id = %row.message_id, "The request has no e-mail address; no message is sent.");
        crate::metrics::record_mail("no_address");
        if let Err(error) =
            app.store.mark_mail_refused(row.id, "the request has no e-mail address", app.clock.now()).await
        {
            tracing::warn!(%error, "Could not record a message without an address; it will be looked at again.");
        }
        return;
    }
    // One copy per address; a temporary failure retries them all (same Message-IDs), else a
    // refusal is recorded once the others went out.
    let mut refusal = None;
    for (index, address) in to.iter().enumerate() {
        let message_id = smtp::message_id(row.message_id, index);
        match smtp::send(&sender.transport, &sender.from, address, message_id, &rendered).await {
            Outcome::Sent => {}
            Outcome::Temporary(why) => return retry(app, row, &why).await,
            Outcome::Refused(why) => refusal = Some(why),
        }
    }
    match refusal.map_or(Outcome::Sent, Outcome::Refused) {
        Outcome::Sent => {
            tracing::info!(event = %row.event_type, message_id = %row.message_id, recipients = to.len(), "Sent a message to the person.");
            crate::metrics::record_mail("sent");
            if let Err(error) = app.store.mark_sent(Queue::Mail, &[row.id], app.clock.now()).await {
                tracing::warn!(%error, "A sent message could not be marked sent; it will be sent again (same Message-ID).");
            }
        }
        Outcome::Temporary(why) => retry(app, row, &why).await,
        Outcome::Refused(why) => refused(app, row, &why).await,
    }
}

/// The first e-mail of the request, or all of them.
fn recipients(subject: &serde_json::Value, which: Recipients) -> Vec<String> {
    let emails = subject["emails"].as_array().into_iter().flatten().filter_map(|e| e.as_str()).map(str::to_string);
    match which {
        Recipients::First => emails.take(1).collect(),
        Recipients::All => emails.collect(),
    }
}

async fn retry(app: &App, row: &MailRow, why: &str) {
    let policy = RetryPolicy { base: app.settings.mail.retry_base.0, cap: app.settings.mail.retry_cap.0 };
    let now = app.clock.now();
    let retry_at = policy.retry_at(row.attempts, row.id, now);
    tracing::warn!(
        event = %row.event_type,
        message_id = %row.message_id,
        attempts = row.attempts,
        retry_at = %retry_at,
        error = why,
        "A message to the person could not be sent yet; it will be retried."
    );
    crate::metrics::record_mail("retry");
    if let Err(error) = app.store.postpone(Queue::Mail, row.id, why, retry_at, now).await {
        tracing::warn!(%error, "Could not record an unsent message; its claim will lapse and it will be retried.");
    }
}

async fn refused(app: &App, row: &MailRow, why: &str) {
    tracing::error!(
        alert = "mail_refused",
        event = %row.event_type,
        message_id = %row.message_id,
        reason = why,
        "A message to the person was refused; it will not be retried. Check the request's address."
    );
    crate::metrics::record_mail("refused");
    if let Err(error) = app.store.mark_mail_refused(row.id, why, app.clock.now()).await {
        tracing::warn!(%error, "Could not record a refused message; its claim will lapse and it will be tried again.");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn recipients_are_the_first_or_every_email() {
        let subject = json!({ "user_id": "u1", "emails": ["a@example.com", "b@example.com"], "phones": ["+331"] });
        assert_eq!(recipients(&subject, Recipients::First), ["a@example.com"]);
        assert_eq!(recipients(&subject, Recipients::All), ["a@example.com", "b@example.com"]);
        assert!(recipients(&json!(null), Recipients::All).is_empty());
    }
}
