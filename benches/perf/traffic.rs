//! The product's side: signed requests published with confirms (all at once, or paced), and the
//! outcomes read from the events exchange (`erasure.completed`, `erasure.failed`,
//! `erasure.rejected`), each timed from its publication.

use crate::people::Person;
use futures_util::StreamExt;
use lapin::options::*;
use lapin::types::{AMQPValue, FieldTable};
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use uuid::Uuid;

pub const SIGNING_KEY_ID: &str = "bench";
pub const SIGNING_KEY: &str = "bench-signing-key-0123456789abcdef";

/// The signed v1 intake message for `person`.
fn message(person: &Person) -> (Vec<u8>, FieldTable) {
    let body = serde_json::to_vec(&serde_json::json!({
        "version": 1,
        "request_id": person.request_id,
        "subject": { "user_id": person.user_id, "emails": [person.email], "phones": [person.phone] },
        "requested_at": chrono::Utc::now(),
        "locale": "en"
    }))
    .expect("a request serialises");
    let mut headers = FieldTable::default();
    headers.insert("x-erasure-key-id".into(), AMQPValue::LongString(SIGNING_KEY_ID.into()));
    let signature = erasure_worker::intake::signature::sign(SIGNING_KEY.as_bytes(), None, &body);
    headers.insert("x-erasure-signature".into(), AMQPValue::LongString(signature.as_str().into()));
    (body, headers)
}

pub async fn connect(url: &str) -> Connection {
    Connection::connect(url, ConnectionProperties::default()).await.expect("connect to RabbitMQ")
}

/// Publishes persistent, mandatory, confirmed messages to the intake queue.
pub struct Publisher {
    _connection: Connection,
    channel: Channel,
    queue: String,
}

impl Publisher {
    pub async fn new(url: &str, queue: &str) -> Publisher {
        let connection = connect(url).await;
        let channel = connection.create_channel().await.expect("a channel");
        channel.confirm_select(ConfirmSelectOptions::default()).await.expect("publisher confirms");
        Publisher { _connection: connection, channel, queue: queue.to_string() }
    }

    async fn send(&self, person: &Person) -> lapin::PublisherConfirm {
        let (body, headers) = message(person);
        let properties = BasicProperties::default()
            .with_delivery_mode(2)
            .with_content_type("application/json".into())
            .with_message_id(person.request_id.to_string().into())
            .with_headers(headers);
        let options = BasicPublishOptions { mandatory: true, ..BasicPublishOptions::default() };
        self.channel
            .basic_publish("".into(), self.queue.as_str().into(), options, &body, properties)
            .await
            .expect("publish a request")
    }

    /// Publish every request as fast as confirms allow (at most `window` unconfirmed); each
    /// request's publication time goes into `sent`.
    pub async fn burst(&self, people: &[Person], sent: &Sent) {
        let window = 2000;
        let mut pending = std::collections::VecDeque::new();
        for person in people {
            sent.mark(person.request_id);
            pending.push_back(self.send(person).await);
            if pending.len() >= window {
                confirmed(pending.pop_front().expect("not empty")).await;
            }
        }
        for confirm in pending {
            confirmed(confirm).await;
        }
    }

    /// Publish one request every `1 / rate` seconds.
    pub async fn paced(&self, people: &[Person], rate: f64, sent: &Sent) {
        let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / rate));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
        let mut confirms = Vec::with_capacity(people.len());
        for person in people {
            tick.tick().await;
            sent.mark(person.request_id);
            confirms.push(tokio::spawn(confirmed(self.send(person).await)));
        }
        for confirm in confirms {
            confirm.await.expect("a confirm task");
        }
    }
}

async fn confirmed(confirm: lapin::PublisherConfirm) {
    let confirmation = confirm.await.expect("a publisher confirm");
    assert!(
        confirmation.is_ack() && confirmation.take_message().is_none(),
        "the broker refused or could not route a request"
    );
}

/// When each request was published.
#[derive(Clone, Default)]
pub struct Sent(Arc<Mutex<HashMap<Uuid, Instant>>>);

impl Sent {
    fn mark(&self, id: Uuid) {
        self.0.lock().unwrap().insert(id, Instant::now());
    }

    pub fn at(&self, id: &Uuid) -> Option<Instant> {
        self.0.lock().unwrap().get(id).copied()
    }
}

/// One outcome as the product received it.
#[derive(Clone)]
pub struct Outcome {
    pub event: String,
    pub at: Instant,
}

/// Outcomes by request id, filled by a consumer of the events exchange.
#[derive(Clone, Default)]
pub struct Outcomes(Arc<Mutex<HashMap<Uuid, Outcome>>>);

impl Outcomes {
    /// A queue bound to the outcome events; consumed in the background from now on.
    pub async fn listen(url: &str, exchange: &str) -> Outcomes {
        let outcomes = Outcomes::default();
        let connection = connect(url).await;
        let channel = connection.create_channel().await.expect("a channel");
        let queue = channel
            .queue_declare(
                "".into(),
                QueueDeclareOptions { exclusive: true, ..Default::default() },
                FieldTable::default(),
            )
            .await
            .expect("declare the outcomes queue");
        for key in ["erasure.completed", "erasure.failed", "erasure.rejected"] {
            channel
                .queue_bind(
                    queue.name().clone(),
                    exchange.into(),
                    key.into(),
                    QueueBindOptions::default(),
                    FieldTable::default(),
                )
                .await
                .expect("bind the outcomes queue");
        }
        let mut consumer = channel
            .basic_consume(
                queue.name().clone(),
                "bench-outcomes".into(),
                BasicConsumeOptions { no_ack: true, ..Default::default() },
                FieldTable::default(),
            )
            .await
            .expect("consume outcomes");
        let into = outcomes.clone();
        tokio::spawn(async move {
            let _connection = connection;
            while let Some(Ok(delivery)) = consumer.next().await {
                let at = Instant::now();
                let body: serde_json::Value = serde_json::from_slice(&delivery.data).unwrap_or_default();
                let id = body["request_id"].as_str().and_then(|s| s.parse::<Uuid>().ok());
                if let Some(id) = id {
                    let event = delivery.routing_key.as_str().to_string();
                    into.0.lock().unwrap().entry(id).or_insert(Outcome { event, at });
                }
            }
        });
        outcomes
    }

    pub fn len(&self) -> usize {
        self.0.lock().unwrap().len()
    }

    pub fn get(&self, id: &Uuid) -> Option<Outcome> {
        self.0.lock().unwrap().get(id).cloned()
    }

    /// Wait until every one of `ids` has an outcome, or until nothing new arrived for `quiet`.
    pub async fn wait_for(&self, ids: &[Uuid], quiet: Duration) -> bool {
        let (mut last, mut since) = (0, Instant::now());
        loop {
            let n = ids.iter().filter(|id| self.0.lock().unwrap().contains_key(id)).count();
            if n == ids.len() {
                return true;
            }
            if n != last {
                (last, since) = (n, Instant::now());
            } else if since.elapsed() > quiet {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}
