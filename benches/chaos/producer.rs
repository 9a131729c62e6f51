//! The product side of the soak: signed requests at a steady rate, a few invalid messages mixed
//! in, published with confirms to whichever RabbitMQ node answers, republished until confirmed.

use lapin::options::{BasicPublishOptions, ConfirmSelectOptions};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties};
use std::time::Duration;
use uuid::Uuid;

pub const SIGNING_KEY_ID: &str = "chaos";
pub const SIGNING_KEY: &str = "chaos-signing-key-0123456789abcdef";

/// What was published, for the final checks.
#[derive(Default)]
pub struct Sent {
    /// Valid requests: (request id, the person's e-mail).
    pub requests: Vec<(Uuid, String)>,
    /// Invalid messages by message id, with the dead-letter reason each must get.
    pub invalid: Vec<(String, &'static str)>,
    /// Invalid messages that carry a readable request id: each gets an `erasure.rejected` event.
    pub rejected_ids: Vec<Uuid>,
    /// Publications repeated because the broker did not confirm them (a node went away).
    pub republished: u64,
}

/// One message to publish: body, headers, message id.
pub struct Message {
    pub body: Vec<u8>,
    pub headers: FieldTable,
    pub message_id: String,
}

fn signed(body: Vec<u8>, message_id: String, key: &str) -> Message {
    let mut headers = FieldTable::default();
    headers.insert("x-erasure-key-id".into(), AMQPValue::LongString(SIGNING_KEY_ID.into()));
    let signature = erasure_worker::intake::signature::sign(key.as_bytes(), None, &body);
    headers.insert("x-erasure-signature".into(), AMQPValue::LongString(signature.as_str().into()));
    Message { body, headers, message_id }
}

/// A valid, signed request for `email`.
pub fn request(id: Uuid, email: &str) -> Message {
    let body = serde_json::to_vec(&serde_json::json!({
        "version": 1,
        "request_id": id,
        "subject": { "user_id": format!("u_{}", id.simple()), "emails": [email] },
        "requested_at": chrono::Utc::now(),
        "locale": "en"
    }))
    .unwrap();
    signed(body, id.to_string(), SIGNING_KEY)
}

/// The `n`th invalid message: four kinds in turn. Returns the message, the reason it must be
/// dead-lettered with and, if it has a readable request id, that id.
pub fn invalid(n: u64) -> (Message, &'static str, Option<Uuid>) {
    let id = Uuid::new_v4();
    let message_id = format!("invalid-{n}");
    let valid_body = request(id, &format!("forged{n}@example.com")).body;
    match n % 4 {
        0 => (Message { body: valid_body, headers: FieldTable::default(), message_id }, "bad_signature", None),
        1 => (signed(valid_body, message_id, "a-key-the-worker-does-not-have"), "bad_signature", None),
        2 => (signed(b"{\"version\": 1, \"request_id\": ".to_vec(), message_id, SIGNING_KEY), "not_json", None),
        _ => {
            let body = serde_json::to_vec(&serde_json::json!({
                "version": 1, "request_id": id, "subject": { "emails": ["not an address"] },
                "requested_at": chrono::Utc::now()
            }))
            .unwrap();
            (signed(body, message_id, SIGNING_KEY), "invalid_subject", Some(id))
        }
    }
}

/// Publishes to the first node of `urls` that answers; on any failure, moves to the next.
pub struct Publisher {
    urls: Vec<String>,
    next: usize,
    open: Option<(Connection, Channel)>,
}

impl Publisher {
    pub fn new(urls: Vec<String>) -> Publisher {
        Publisher { urls, next: 0, open: None }
    }

    /// Publish until the broker confirms the message was routed; returns how many extra tries
    /// it took.
    pub async fn publish(&mut self, queue: &str, message: &Message) -> u64 {
        let mut retries = 0;
        loop {
            if self.open.is_none() {
                self.open = self.connect().await;
            }
            if let Some((_, channel)) = &self.open {
                let properties = BasicProperties::default()
                    .with_delivery_mode(2)
                    .with_content_type("application/json".into())
                    .with_message_id(message.message_id.as_str().into())
                    .with_headers(message.headers.clone());
                let options = BasicPublishOptions { mandatory: true, ..BasicPublishOptions::default() };
                // Bounded as a whole: on a broker that went away, publishing itself can hang.
                let attempt = async {
                    let pending = channel
                        .basic_publish("".into(), queue.into(), options, &message.body, properties)
                        .await
                        .ok()?;
                    pending.await.ok()
                };
                let confirm = tokio::time::timeout(Duration::from_secs(10), attempt).await.ok().flatten();
                if matches!(confirm, Some(lapin::Confirmation::Ack(None))) {
                    return retries;
                }
                if let Some((connection, _)) = self.open.take() {
                    let close = connection.close(200, "moving to another node".into());
                    let _ = tokio::time::timeout(Duration::from_secs(2), close).await;
                }
                self.next += 1;
            }
            retries += 1;
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    async fn connect(&mut self) -> Option<(Connection, Channel)> {
        let url = &self.urls[self.next % self.urls.len()];
        let connect = async {
            let connection = Connection::connect(url, ConnectionProperties::default()).await.ok()?;
            let channel = connection.create_channel().await.ok()?;
            channel.confirm_select(ConfirmSelectOptions::default()).await.ok()?;
            Some((connection, channel))
        };
        let open = tokio::time::timeout(Duration::from_secs(10), connect).await.ok().flatten();
        if open.is_none() {
            self.next += 1;
        }
        open
    }
}
