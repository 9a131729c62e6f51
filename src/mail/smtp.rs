//! The SMTP side: the transport built from `[mail]`, the e-mail built from a rendered message,
//! and an SMTP answer sorted into sent, retry later, or refused for good.

use super::templates::Rendered;
use crate::config::{secret_from_env, ConfigError, MailSettings, StartTls};
use lettre::message::header::ContentType;
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::ExposeSecret;
use std::time::Duration;
use uuid::Uuid;

pub type Transport = AsyncSmtpTransport<Tokio1Executor>;

/// What became of one message.
#[derive(Debug)]
pub enum Outcome {
    Sent,
    /// A 4xx answer or no answer: try again later.
    Temporary(String),
    /// A 5xx answer, or an address that cannot be sent to: never retried.
    Refused(String),
}

fn invalid(key: &str, message: String) -> ConfigError {
    ConfigError::Key { key: format!("mail.{key}"), origin: "settings".into(), message }
}

/// The transport for `[mail]`; checked at start-up so a bad setting stops the worker.
pub fn transport(settings: &MailSettings) -> Result<Transport, ConfigError> {
    let url = url::Url::parse(&settings.smtp_url).map_err(|e| invalid("smtp_url", format!("not a URL: {e}")))?;
    if url.scheme() != "smtp" {
        return Err(invalid("smtp_url", "use smtp://host:port".into()));
    }
    let host = url.host_str().ok_or_else(|| invalid("smtp_url", "the URL has no host".into()))?.to_string();
    let port = url.port().unwrap_or(if settings.tls { 465 } else { 25 });
    let parameters = || TlsParameters::new(host.clone()).map_err(|e| invalid("smtp_url", format!("TLS: {e}")));
    let tls = if settings.tls {
        Tls::Wrapper(parameters()?)
    } else {
        match settings.starttls() {
            StartTls::Off => Tls::None,
            StartTls::Opportunistic => Tls::Opportunistic(parameters()?),
            StartTls::Required => Tls::Required(parameters()?),
        }
    };
    let mut builder =
        Transport::builder_dangerous(host.as_str()).port(port).tls(tls).timeout(Some(Duration::from_secs(30)));
    if let Some(username) = settings.username.as_deref().filter(|u| !u.is_empty()) {
        let password = match settings.password_env.as_deref().filter(|v| !v.is_empty()) {
            Some(var) => secret_from_env("mail.password_env", var)?.expose_secret().to_string(),
            None => String::new(),
        };
        builder = builder.credentials(Credentials::new(username.to_string(), password));
    }
    Ok(builder.build())
}

/// The sender mailbox, checked at start-up.
pub fn from(settings: &MailSettings) -> Result<Mailbox, ConfigError> {
    settings.from.parse().map_err(|e| invalid("from", format!("not a mailbox: {e}")))
}

/// The Message-ID of the copy for the `index`-th recipient: derived from the outbox message id,
/// so a retry is recognisable.
pub fn message_id(message_id: Uuid, index: usize) -> String {
    match index {
        0 => format!("<{message_id}@erasure-worker>"),
        n => format!("<{message_id}.{n}@erasure-worker>"),
    }
}

/// Send one copy to one address: no copy shows another address.
pub async fn send(transport: &Transport, from: &Mailbox, to: &str, message_id: String, rendered: &Rendered) -> Outcome {
    let Ok(to) = to.parse::<Mailbox>() else {
        return Outcome::Refused("an address of the request is not a valid e-mail address".into());
    };
    let builder =
        Message::builder().from(from.clone()).to(to).subject(rendered.subject.clone()).message_id(Some(message_id));
    let body = MultiPart::alternative()
        .singlepart(SinglePart::builder().header(ContentType::TEXT_PLAIN).body(rendered.text.clone()))
        .singlepart(SinglePart::builder().header(ContentType::TEXT_HTML).body(rendered.html.clone()));
    let email = match builder.multipart(body) {
        Ok(email) => email,
        Err(e) => return Outcome::Refused(format!("the e-mail cannot be built: {}", scrub(&e.to_string()))),
    };
    match transport.send(email).await {
        Ok(_) => Outcome::Sent,
        Err(error) if error.is_permanent() => Outcome::Refused(describe(&error)),
        Err(error) => Outcome::Temporary(describe(&error)),
    }
}

/// The SMTP code and the server's words, with any address taken out (servers quote them).
fn describe(error: &lettre::transport::smtp::Error) -> String {
    let text = scrub(&error.to_string());
    match error.status() {
        Some(code) => format!("SMTP {code}: {text}"),
        None => text,
    }
}

fn scrub(text: &str) -> String {
    text.split(' ').map(|word| if word.contains('@') { "[address]" } else { word }).collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    #[test]
    fn addresses_are_taken_out_of_server_answers() {
        assert_eq!(super::scrub("5.1.1 <ana@example.com>: Recipient unknown"), "5.1.1 [address] Recipient unknown");
    }
}
