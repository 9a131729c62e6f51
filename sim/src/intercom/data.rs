//! What the simulated Intercom workspace holds, and the JSON shapes Intercom writes it in.

use super::answer::Headers;
use super::query::Field;
use super::{ADMIN_ID, DEFAULT_PAGE_SIZE, REDACTED_BODY, WINDOW_SECS};
use crate::harness::now_ms;
use crate::index::Keys;
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// What the simulated Intercom workspace holds.
#[derive(Default)]
pub(crate) struct Data {
    /// By id; ids are fixed-width hex of a counter, so the map's order is creation order.
    pub(super) contacts: BTreeMap<String, Contact>,
    pub(super) conversations: BTreeMap<u64, Conversation>,
    /// Intercom Phone calls, by id.
    pub(super) calls: BTreeMap<u64, Call>,
    pub(super) next_id: u64,
    pub(super) page_size: Option<usize>,
    pub(super) rate_limit: Option<Window>,
    /// Contacts, conversations and calls by the keys searches ask for (`index.rs`).
    pub(super) index: Index,
}

pub(super) struct Contact {
    pub(super) id: String,
    pub(super) role: String,
    pub(super) email: Option<String>,
    pub(super) external_id: Option<String>,
    pub(super) phone: Option<String>,
    pub(super) name: Option<String>,
    pub(super) created_at: u64,
    pub(super) deleted: bool,
}

pub(super) struct Conversation {
    pub(super) id: u64,
    pub(super) created_at: u64,
    pub(super) contact_ids: Vec<String>,
    pub(super) source: Message,
    pub(super) parts: Vec<Message>,
}

/// An Intercom Phone call, attached to a conversation and a contact.
pub(super) struct Call {
    pub(super) conversation_id: u64,
    pub(super) contact_id: String,
    pub(super) recording: bool,
    pub(super) transcript: bool,
    pub(super) created_at: u64,
}

/// A conversation's source or one of its parts.
pub(super) struct Message {
    pub(super) id: String,
    pub(super) part_type: &'static str,
    pub(super) author_type: String,
    pub(super) author_id: String,
    pub(super) body: Option<String>,
    pub(super) redacted: bool,
    pub(super) created_at: u64,
}

pub(super) struct Window {
    pub(super) limit: u32,
    pub(super) start: u64,
    pub(super) used: u32,
}

impl Call {
    /// The call as `/calls/search` lists it, with its transcript (empty when there is none).
    pub(super) fn json(&self, id: u64) -> serde_json::Value {
        let url = |what: &str| format!("https://api.intercom.io/calls/{id}/{what}");
        serde_json::json!({
            "type": "call",
            "id": id.to_string(),
            "conversation_id": self.conversation_id.to_string(),
            "admin_id": null,
            "contact_id": self.contact_id,
            "state": "completed",
            "initiated_at": self.created_at,
            "answered_at": self.created_at + 3,
            "ended_at": self.created_at + 93,
            "created_at": self.created_at,
            "updated_at": self.created_at + 94,
            "recording_url": if self.recording { serde_json::Value::from(url("recording")) } else { serde_json::Value::Null },
            "transcription_url": if self.transcript { serde_json::Value::from(url("transcript")) } else { serde_json::Value::Null },
            "call_type": "phone",
            "direction": "inbound",
            "ended_reason": "answered",
            "phone": null,
            "fin_recording_url": null,
            "fin_transcription_url": null,
            "transcript": if self.transcript { serde_json::json!([{ "speaker": "contact", "text": "(simulated)" }]) } else { serde_json::json!([]) },
            "transcript_status": if self.transcript { serde_json::Value::from("completed") } else { serde_json::Value::Null },
        })
    }
}

impl Data {
    /// An Intercom Phone call on a conversation, by its first contact; `None` if there is no
    /// such conversation.
    pub(super) fn add_call(&mut self, conversation_id: u64, recording: bool, transcript: bool) -> Option<u64> {
        let conversation = self.conversations.get(&conversation_id)?;
        let call = Call {
            conversation_id,
            contact_id: conversation.contact_ids.first().cloned().unwrap_or_default(),
            recording,
            transcript,
            created_at: conversation.created_at,
        };
        let id = self.next_id();
        self.calls.insert(id, call);
        self.reindex_call(id);
        Some(id)
    }

    pub(super) fn next_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    pub(super) fn add_contact(&mut self, role: &str, email: Option<&str>, external_id: Option<&str>) -> String {
        let id = format!("6762f0cd{:016x}", self.next_id());
        let contact = Contact {
            id: id.clone(),
            role: role.to_string(),
            email: email.map(str::to_string),
            external_id: external_id.map(str::to_string),
            phone: None,
            name: None,
            created_at: now_secs(),
            deleted: false,
        };
        self.contacts.insert(id.clone(), contact);
        self.reindex_contact(&id);
        id
    }

    /// A conversation started by the first contact; each contact adds `replies` messages, then a
    /// teammate replies and closes it.
    pub(super) fn add_conversation(&mut self, contact_ids: &[&str], replies: usize) -> u64 {
        let id = self.next_id() + 1000;
        let author = contact_ids.first().copied().unwrap_or_default();
        let source = self.message("comment", self.author_type(author), author, Some("<p>I need help</p>"));
        let mut parts = Vec::new();
        for contact in contact_ids {
            for _ in 0..replies {
                parts.push(self.message("comment", self.author_type(contact), contact, Some("<p>More details</p>")));
            }
        }
        parts.push(self.message("comment", "admin".into(), ADMIN_ID, Some("<p>Thanks, done</p>")));
        parts.push(self.message("close", "admin".into(), ADMIN_ID, None));
        let contact_ids = contact_ids.iter().map(|c| c.to_string()).collect();
        self.conversations.insert(id, Conversation { id, created_at: now_secs(), contact_ids, source, parts });
        self.reindex_conversation(id);
        id
    }

    pub(super) fn message(
        &mut self,
        part_type: &'static str,
        author_type: String,
        author_id: &str,
        body: Option<&str>,
    ) -> Message {
        Message {
            id: self.next_id().to_string(),
            part_type,
            author_type,
            author_id: author_id.to_string(),
            body: body.map(str::to_string),
            redacted: false,
            created_at: now_secs(),
        }
    }

    pub(super) fn author_type(&self, contact_id: &str) -> String {
        self.contacts.get(contact_id).map(|c| c.role.clone()).unwrap_or_else(|| "user".into())
    }

    pub(super) fn live(&self, id: &str) -> Option<&Contact> {
        self.contacts.get(id).filter(|c| !c.deleted)
    }

    pub(super) fn page_size(&self) -> usize {
        self.page_size.unwrap_or(DEFAULT_PAGE_SIZE)
    }

    /// Messages `contact_id` wrote that still show their body.
    pub(super) fn unredacted_by(&self, contact_id: &str) -> u64 {
        let by = |m: &&Message| m.author_id == contact_id && m.body.is_some() && !m.redacted;
        self.conversations.values().map(|c| std::iter::once(&c.source).chain(&c.parts).filter(by).count() as u64).sum()
    }

    /// Count one call against the window: `Err` with the headers of a 429 when over the limit.
    pub(super) fn take_slot(&mut self, now: u64) -> Result<Headers, Headers> {
        let Some(window) = &mut self.rate_limit else { return Ok(Vec::new()) };
        if now >= window.start + WINDOW_SECS {
            window.start = now - now % WINDOW_SECS;
            window.used = 0;
        }
        let over = window.used >= window.limit;
        window.used = (window.used + 1).min(window.limit);
        let headers = vec![
            ("x-ratelimit-limit", window.limit.to_string()),
            ("x-ratelimit-remaining", (window.limit - window.used).to_string()),
            ("x-ratelimit-reset", (window.start + WINDOW_SECS).to_string()),
        ];
        if over {
            Err(headers)
        } else {
            Ok(headers)
        }
    }
}

impl Contact {
    pub(super) fn json(&self) -> Value {
        // Intercom also sends `tags`, `notes` and `companies` lists whose relative `url`s break the
        // spec's `format: uri`; the connector reads none of them.
        let mut contact = json!({
            "type": "contact",
            "id": self.id,
            "workspace_id": "simworkspace",
            "external_id": self.external_id,
            "role": self.role,
            "phone": self.phone,
            "name": self.name,
            "has_hard_bounced": false,
            "marked_email_as_spam": false,
            "unsubscribed_from_emails": false,
            "created_at": self.created_at,
            "updated_at": self.created_at,
            "custom_attributes": {},
        });
        if let Some(email) = &self.email {
            contact["email"] = json!(email);
            contact["email_domain"] = json!(email.rsplit_once('@').map(|(_, d)| d).unwrap_or_default());
        }
        contact
    }

    /// Searchable fields: their values, and whether they compare case-insensitively.
    pub(super) fn field(&self, field: &str) -> Field {
        let one = |v: &Option<String>| v.iter().cloned().collect::<Vec<_>>();
        Some(match field {
            "id" => (vec![self.id.clone()], false),
            "email" => (self.email.iter().map(|e| e.to_lowercase()).collect(), true),
            "external_id" => (one(&self.external_id), false),
            "phone" => (one(&self.phone), false),
            "name" => (one(&self.name), false),
            "role" => (vec![self.role.clone()], false),
            _ => return None,
        })
    }
}

impl Conversation {
    pub(super) fn contacts_json(&self, data: &Data) -> Value {
        let contacts: Vec<Value> = self
            .contact_ids
            .iter()
            .map(|id| {
                let external_id = data.contacts.get(id).and_then(|c| c.external_id.clone());
                json!({ "type": "contact", "id": id, "external_id": external_id })
            })
            .collect();
        json!({ "type": "contact.list", "contacts": contacts })
    }

    /// The shape of a listing or a search: no parts.
    pub(super) fn list_item(&self, data: &Data) -> Value {
        json!({
            "type": "conversation",
            "id": self.id.to_string(),
            "created_at": self.created_at,
            "updated_at": self.created_at,
            "open": false,
            "state": "closed",
            "read": true,
            "priority": "not_priority",
            "admin_assignee_id": null,
            "team_assignee_id": null,
            "source": self.source_json(),
            "contacts": self.contacts_json(data),
        })
    }

    /// The shape of a retrieval: with every part.
    pub(super) fn full(&self, data: &Data) -> Value {
        let mut conversation = self.list_item(data);
        let parts: Vec<Value> = self.parts.iter().map(Message::part_json).collect();
        conversation["conversation_parts"] =
            json!({ "type": "conversation_part.list", "total_count": parts.len(), "conversation_parts": parts });
        conversation
    }

    pub(super) fn source_json(&self) -> Value {
        let m = &self.source;
        json!({
            "type": "conversation",
            "id": m.id,
            "delivered_as": if m.author_type == "admin" { "admin_initiated" } else { "customer_initiated" },
            "subject": "",
            "body": m.body.clone().unwrap_or_default(),
            "author": m.author_json(),
            "attachments": [],
            "url": null,
            "redacted": m.redacted,
        })
    }

    pub(super) fn field(&self, field: &str) -> Field {
        Some(match field {
            "id" => (vec![self.id.to_string()], false),
            "contact_ids" => (self.contact_ids.clone(), false),
            _ => return None,
        })
    }
}

impl Message {
    pub(super) fn author_json(&self) -> Value {
        json!({ "type": self.author_type, "id": self.author_id })
    }

    pub(super) fn part_json(&self) -> Value {
        json!({
            "type": "conversation_part",
            "id": self.id,
            "part_type": self.part_type,
            "body": self.body,
            "created_at": self.created_at,
            "updated_at": self.created_at,
            "notified_at": self.created_at,
            "author": self.author_json(),
            "attachments": [],
            "redacted": self.redacted,
        })
    }

    pub(super) fn redact(&mut self) {
        self.body = Some(REDACTED_BODY.into());
        self.redacted = true;
    }
}

pub(super) fn now_secs() -> u64 {
    now_ms() / 1000
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_admits_its_limit_then_answers_with_its_reset() {
        let mut data = Data { rate_limit: Some(Window { limit: 2, start: 0, used: 0 }), ..Data::default() };
        assert!(data.take_slot(1_000_003).is_ok());
        assert!(data.take_slot(1_000_004).is_ok());
        let refused = data.take_slot(1_000_009).unwrap_err();
        assert!(refused.contains(&("x-ratelimit-reset", "1000010".to_string())), "{refused:?}");
        assert!(data.take_slot(1_000_010).is_ok(), "a new window");
    }
}

/// The secondary indexes of this vendor's records, kept by `index.rs`.
#[derive(Default)]
pub(crate) struct Index {
    pub(super) emails: Keys<String, String>,
    pub(super) external_ids: Keys<String, String>,
    pub(super) phones: Keys<String, String>,
    pub(super) conversations_by_contact: Keys<String, u64>,
    pub(super) calls_by_conversation: Keys<u64, u64>,
}
