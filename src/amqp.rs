//! RabbitMQ: connecting (with fail-over between node URLs), the topology the worker declares,
//! and publishing with confirms.

use crate::config::AmqpSettings;
use crate::shutdown::Shutdown;
use lapin::options::{BasicPublishOptions, ConfirmSelectOptions, ExchangeDeclareOptions, QueueDeclareOptions};
use lapin::tcp::OwnedTLSConfig;
use lapin::types::{AMQPValue, FieldTable, ShortString};
use lapin::{BasicProperties, Channel, Confirmation, Connection, ConnectionProperties, ExchangeKind};
use secrecy::{ExposeSecret, SecretString};
use std::time::Duration;

#[derive(Clone)]
pub struct Broker {
    urls: Vec<SecretString>,
    settings: AmqpSettings,
    /// Extra roots for `amqps://` URLs (`amqp.ca_file`); lapin ignores it for `amqp://`.
    tls: OwnedTLSConfig,
}

/// No node answered this round (or shutdown came first).
#[derive(Debug)]
struct NoNode;

/// What the broker said about one publication.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Published {
    /// Routed and confirmed.
    Confirmed,
    /// Confirmed but returned: no queue is bound for it (published `mandatory`).
    Unroutable,
    /// The broker refused it (nack).
    Refused,
}

impl Broker {
    pub fn new(urls: Vec<SecretString>, settings: AmqpSettings) -> Self {
        Broker { urls, settings, tls: OwnedTLSConfig::default() }
    }

    /// Verify `amqps://` nodes with these roots (see `tls::amqp_tls`).
    pub fn with_tls(mut self, tls: OwnedTLSConfig) -> Self {
        self.tls = tls;
        self
    }

    pub fn settings(&self) -> &AmqpSettings {
        &self.settings
    }

    /// Connect to the first node that answers, trying each in turn with a growing delay;
    /// `None` only if shutdown was triggered first.
    pub async fn connect(&self, name: &str, shutdown: &Shutdown) -> Option<Connection> {
        crate::metrics::set_amqp_connected(name, false);
        let cap = self.settings.reconnect_max_delay.0;
        let backoff = crate::retry::while_unavailable(Duration::from_millis(200), cap, None);
        let connection =
            crate::retry::until_shutdown(backoff, shutdown, || self.connect_any(name, shutdown), |_| {}).await;
        crate::metrics::set_amqp_connected(name, connection.is_some());
        connection
    }

    /// One round over the nodes, in order; `Err` when none answered or shutdown came.
    async fn connect_any(&self, name: &str, shutdown: &Shutdown) -> Result<Connection, NoNode> {
        for (i, url) in self.urls.iter().enumerate() {
            if shutdown.is_triggered() {
                return Err(NoNode);
            }
            let properties = ConnectionProperties::default().with_connection_name(format!("erasure-{name}").into());
            match self.connect_one(url, properties).await {
                Ok(connection) => {
                    tracing::info!(component = name, node = i, "Connected to RabbitMQ.");
                    return Ok(connection);
                }
                Err(error) => {
                    tracing::warn!(component = name, node = i, error = %redact(&error.to_string()), "Cannot connect to RabbitMQ.")
                }
            }
        }
        Err(NoNode)
    }

    async fn connect_one(&self, url: &SecretString, properties: ConnectionProperties) -> lapin::Result<Connection> {
        let runtime = lapin::runtime::default_runtime()?;
        Connection::connect_with_config(url.expose_secret(), properties, self.tls.clone(), runtime).await
    }

    /// Declare the intake quorum queue (with its dead-letter route and delivery limit), the
    /// dead-letter queue (with a TTL: it can hold personal data) and the events exchange.
    /// Both queues are quorum queues, replicated over the cluster: a classic queue lives on one
    /// node, and while that node is down it can be neither declared nor written to.
    pub async fn declare_topology(&self, channel: &Channel) -> lapin::Result<()> {
        let s = &self.settings;
        let mut dlq_args = FieldTable::default();
        dlq_args.insert("x-queue-type".into(), AMQPValue::LongString("quorum".into()));
        dlq_args.insert("x-message-ttl".into(), AMQPValue::LongLongInt(s.dead_letter_ttl.0.as_millis() as i64));
        channel.queue_declare(s.dead_letter_queue.as_str().into(), QueueDeclareOptions::durable(), dlq_args).await?;
        let mut args = FieldTable::default();
        args.insert("x-queue-type".into(), AMQPValue::LongString("quorum".into()));
        args.insert("x-delivery-limit".into(), AMQPValue::LongLongInt(i64::from(s.delivery_limit)));
        args.insert("x-dead-letter-exchange".into(), AMQPValue::LongString("".into()));
        args.insert("x-dead-letter-routing-key".into(), AMQPValue::LongString(s.dead_letter_queue.as_str().into()));
        channel.queue_declare(s.requests_queue.as_str().into(), QueueDeclareOptions::durable(), args).await?;
        self.declare_events_exchange(channel).await
    }

    pub async fn declare_events_exchange(&self, channel: &Channel) -> lapin::Result<()> {
        let options = ExchangeDeclareOptions { durable: true, ..ExchangeDeclareOptions::default() };
        channel
            .exchange_declare(
                self.settings.events_exchange.as_str().into(),
                ExchangeKind::Topic,
                options,
                FieldTable::default(),
            )
            .await
    }
}

/// A channel in confirm mode.
pub async fn confirm_channel(connection: &Connection) -> lapin::Result<Channel> {
    let channel = connection.create_channel().await?;
    channel.confirm_select(ConfirmSelectOptions::default()).await?;
    Ok(channel)
}

/// Publish persistently and `mandatory`, and wait for the broker's confirm.
pub async fn publish(
    channel: &Channel,
    exchange: &str,
    routing_key: &str,
    body: &[u8],
    properties: BasicProperties,
) -> lapin::Result<Published> {
    let options = BasicPublishOptions { mandatory: true, ..BasicPublishOptions::default() };
    let confirmation = channel
        .basic_publish(exchange.into(), routing_key.into(), options, body, properties.with_delivery_mode(2))
        .await?
        .await?;
    Ok(match confirmation {
        Confirmation::Ack(None) => Published::Confirmed,
        Confirmation::Ack(Some(_)) | Confirmation::Nack(Some(_)) => Published::Unroutable,
        Confirmation::Nack(None) => Published::Refused,
        Confirmation::NotRequested => Published::Confirmed,
    })
}

/// A header value as text, if it is one.
pub fn header_text(headers: &FieldTable, name: &str) -> Option<String> {
    match headers.inner().get(&ShortString::from(name))? {
        AMQPValue::LongString(s) => Some(String::from_utf8_lossy(s.as_bytes()).into_owned()),
        AMQPValue::ShortString(s) => Some(s.as_str().to_string()),
        _ => None,
    }
}

/// The port a broker URL names, else its scheme's (AMQP 0-9-1 URI spec: 5672, and 5671 for
/// `amqps`); the `url` crate knows no default for these schemes.
pub fn port_of(url: &url::Url) -> u16 {
    url.port().unwrap_or(if url.scheme() == "amqps" { 5671 } else { 5672 })
}

/// Broker errors can quote the URL; never print its password.
pub fn redact(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for word in text.split_inclusive(|c: char| c.is_whitespace() || c == '"') {
        if let Some(scheme_end) = word.find("://") {
            if let Some(at) = word[scheme_end..].find('@') {
                out.push_str(&word[..scheme_end + 3]);
                out.push_str("***");
                out.push_str(&word[scheme_end + at..]);
                continue;
            }
        }
        out.push_str(word);
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn credentials_in_urls_are_redacted() {
        assert_eq!(super::redact("cannot reach amqp://u:pw@h:5672/%2f now"), "cannot reach amqp://***@h:5672/%2f now");
        assert_eq!(super::redact("plain"), "plain");
    }

    #[test]
    fn a_url_without_a_port_gets_its_schemes() {
        let port = |u: &str| super::port_of(&url::Url::parse(u).unwrap());
        assert_eq!(port("amqps://mq.internal/%2f"), 5671);
        assert_eq!(port("amqp://mq.internal/%2f"), 5672);
        assert_eq!(port("amqps://mq.internal:5700/%2f"), 5700);
    }
}
