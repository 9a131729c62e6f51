//! Twilio's Message and Media resources as the connector uses them, with the refusals Twilio
//! documents (<https://www.twilio.com/docs/messaging/api/message-resource>,
//! <https://www.twilio.com/docs/messaging/api/media-resource>):
//!
//! - `GET Messages.json?To=&From=` (exact match) pages like every list.
//! - `POST Messages/{Sid}.json` with `Body` empty redacts the body ("To redact the text content
//!   of a Message, this parameter's value must be an empty string"). A non-empty `Body`, no
//!   `Body` and no `Status`, or both at once answer 400, error 30400 ("Message body redaction
//!   request does not have empty Body parameter", <https://www.twilio.com/docs/api/errors/30400>).
//!   Redaction is documented for "post-flight" message records only; Twilio does not document
//!   the code it answers for an in-flight one, so the simulator answers its code for acting on a
//!   message "before it was completed", 20009. The redacted message keeps its media.
//! - `DELETE Messages/{Sid}.json` removes the message and its media ("Deleting a Message
//!   resource also deletes any associated Media"); in flight it answers 400, error 20009
//!   (<https://www.twilio.com/docs/api/errors/20009>: "You attempted to delete a call or message
//!   resource before it was completed").
//! - `GET Messages/{Sid}/Media.json` (key `media_list`) and `DELETE Messages/{Sid}/Media/{ME}.json`.

use super::answer::Answer;
use super::data::{account_path, default_created, parse_message_sid, parse_sid, rfc2822, sid};
use super::data::{Data, MediaRecord, MessageRecord};
use super::endpoints::{among, Listing};
use super::ACCOUNT_SID;
use serde_json::{json, Value};
use std::collections::HashMap;

impl Data {
    pub(super) fn add_message(&mut self, from: &str, to: &str, body: &str, media: usize) -> u64 {
        let message = self.next();
        let record = MessageRecord {
            from: from.to_string(),
            to: to.to_string(),
            body: body.to_string(),
            status: "delivered".into(),
            created: default_created(),
        };
        self.messages.insert(message, record);
        self.reindex_message(message);
        for _ in 0..media {
            let seq = self.next();
            self.media.insert(seq, MediaRecord { message, created: default_created() });
            self.reindex_media(seq);
        }
        message
    }

    fn message_sid(&self, seq: u64) -> String {
        let has_media = self.media_of(seq).iter().any(|m| self.media.get(m).is_some_and(|m| m.message == seq));
        sid(if has_media { "MM" } else { "SM" }, seq)
    }

    fn message_json(&self, seq: u64, message: &MessageRecord) -> Value {
        let sid = self.message_sid(seq);
        let base = account_path();
        let date = rfc2822(message.created);
        let num_media =
            self.media_of(seq).iter().filter(|m| self.media.get(m).is_some_and(|m| m.message == seq)).count();
        json!({
            "sid": sid,
            "account_sid": ACCOUNT_SID,
            "messaging_service_sid": null,
            "from": message.from,
            "to": message.to,
            "body": message.body,
            "status": message.status,
            "direction": "outbound-api",
            "num_segments": "1",
            "num_media": num_media.to_string(),
            "price": null,
            "price_unit": "USD",
            "error_code": null,
            "error_message": null,
            "api_version": "2010-04-01",
            "date_created": date,
            "date_sent": if message.in_flight() { Value::Null } else { Value::from(date.clone()) },
            "date_updated": date,
            "uri": format!("{base}/Messages/{sid}.json"),
            "subresource_uris": {
                "media": format!("{base}/Messages/{sid}/Media.json"),
                "feedback": format!("{base}/Messages/{sid}/Feedback.json"),
            },
        })
    }

    pub(super) fn list_messages(&self, query: &HashMap<String, String>, origin: &str) -> Answer {
        let to = query.get("To");
        let from = query.get("From");
        let items = among(&self.messages, self.message_candidates(to, from))
            .filter(|(_, m)| to.is_none_or(|t| *t == m.to) && from.is_none_or(|f| *f == m.from))
            .map(|(seq, m)| (*seq, self.message_json(*seq, m)))
            .collect();
        let filters = vec![("To", to), ("From", from)];
        let listing = Listing { key: "messages", prefix: "SM", path: "Messages.json".into(), filters, items };
        self.page(listing, query, origin)
    }

    pub(super) fn update_message(&mut self, message: &str, form: &HashMap<String, String>) -> Answer {
        let Some(seq) = parse_message_sid(message).filter(|seq| self.messages.contains_key(seq)) else {
            return Answer::not_found();
        };
        match (form.get("Body"), form.get("Status")) {
            (Some(body), None) if body.is_empty() => {}
            _ => return Answer::error(400, 30400, "Parameters are not valid"),
        }
        let record = self.messages.get_mut(&seq).expect("checked above");
        if record.in_flight() {
            return Answer::error(400, 20009, "Cannot redact this message before it is complete");
        }
        record.body.clear();
        let record = &self.messages[&seq];
        Answer::json(self.message_json(seq, record))
    }

    pub(super) fn delete_message(&mut self, message: &str) -> Answer {
        let Some(seq) = parse_message_sid(message).filter(|seq| self.messages.contains_key(seq)) else {
            return Answer::not_found();
        };
        if self.messages[&seq].in_flight() {
            return Answer::error(400, 20009, "Cannot delete this resource before it is complete");
        }
        self.messages.remove(&seq);
        self.reindex_message(seq);
        for media in self.media_of(seq) {
            self.media.remove(&media);
            self.reindex_media(media);
        }
        Answer::no_content()
    }

    pub(super) fn list_media(&self, message: &str, query: &HashMap<String, String>, origin: &str) -> Answer {
        let Some(seq) = parse_message_sid(message).filter(|seq| self.messages.contains_key(seq)) else {
            return Answer::not_found();
        };
        let message_sid = self.message_sid(seq);
        let items = among(&self.media, Some(self.media_of(seq)))
            .filter(|(_, m)| m.message == seq)
            .map(|(media, m)| {
                let media_sid = sid("ME", *media);
                let date = rfc2822(m.created);
                let item = json!({
                    "sid": media_sid,
                    "account_sid": ACCOUNT_SID,
                    "parent_sid": message_sid,
                    "content_type": "image/jpeg",
                    "date_created": date,
                    "date_updated": date,
                    "uri": format!("{}/Messages/{message_sid}/Media/{media_sid}.json", account_path()),
                });
                (*media, item)
            })
            .collect();
        let path = format!("Messages/{message_sid}/Media.json");
        self.page(Listing { key: "media_list", prefix: "ME", path, filters: Vec::new(), items }, query, origin)
    }

    pub(super) fn delete_media(&mut self, message: &str, media: &str) -> Answer {
        let message = parse_message_sid(message);
        match parse_sid("ME", media).filter(|m| self.media.get(m).is_some_and(|m| Some(m.message) == message)) {
            Some(media) => {
                self.media.remove(&media);
                self.reindex_media(media);
                Answer::no_content()
            }
            None => Answer::not_found(),
        }
    }
}
