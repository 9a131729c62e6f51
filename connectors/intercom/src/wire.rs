//! The parts of Intercom's JSON (API 2.14) the connector reads. Every field is optional or
//! defaulted: a field Intercom leaves out or sends as `null` never fails an erasure.

use serde::Deserialize;

/// A contact (user or lead), as a search, a retrieval or a lookup by external id returns it.
#[derive(Debug, Deserialize)]
pub(crate) struct Contact {
    pub id: String,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub external_id: Option<String>,
}

/// One page of `POST /contacts/search`.
#[derive(Debug, Deserialize)]
pub(crate) struct ContactPage {
    #[serde(default)]
    pub data: Vec<Contact>,
    #[serde(default)]
    pub pages: Option<Pages>,
}

/// One page of `POST /conversations/search` (without the conversations' parts).
#[derive(Debug, Deserialize)]
pub(crate) struct ConversationPage {
    #[serde(default)]
    pub conversations: Vec<Conversation>,
    #[serde(default)]
    pub pages: Option<Pages>,
}

/// Cursor pagination: `pages.next.starting_after` is present while more results follow.
#[derive(Debug, Deserialize)]
pub(crate) struct Pages {
    #[serde(default)]
    pub next: Option<Next>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Next {
    #[serde(default)]
    pub starting_after: Option<String>,
}

impl Pages {
    pub fn cursor(pages: &Option<Pages>) -> Option<String> {
        pages.as_ref()?.next.as_ref()?.starting_after.clone().filter(|c| !c.is_empty())
    }
}

/// A conversation: its contacts, the message that started it and, when retrieved one by one,
/// its parts (Intercom returns at most the 500 most recent).
#[derive(Debug, Deserialize)]
pub(crate) struct Conversation {
    pub id: String,
    #[serde(default)]
    pub contacts: Option<ContactRefs>,
    #[serde(default)]
    pub source: Option<Message>,
    #[serde(default)]
    pub conversation_parts: Option<Parts>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ContactRefs {
    #[serde(default)]
    pub contacts: Vec<ContactRef>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ContactRef {
    pub id: String,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Parts {
    #[serde(default)]
    pub conversation_parts: Vec<Message>,
}

/// A conversation's source or one of its parts.
#[derive(Debug, Deserialize)]
pub(crate) struct Message {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub body: Option<String>,
    #[serde(default)]
    pub author: Option<Author>,
    #[serde(default)]
    pub redacted: Option<bool>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Author {
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub id: Option<String>,
}

/// Intercom's error body: `{"type": "error.list", "errors": [{"code": ..., "message": ...}]}`.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct ErrorList {
    #[serde(default)]
    pub errors: Vec<ErrorItem>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ErrorItem {
    #[serde(default)]
    pub code: Option<String>,
}

impl ErrorList {
    pub fn has_code(&self, code: &str) -> bool {
        self.errors.iter().any(|e| e.code.as_deref() == Some(code))
    }
}

impl Conversation {
    /// Whether the conversation lists the contact; a listing without contacts cannot rule it out.
    pub fn may_involve(&self, contact_id: &str) -> bool {
        self.contacts.as_ref().is_none_or(|refs| refs.contacts.iter().any(|c| c.id == contact_id))
    }
}

impl Message {
    /// Written by this contact (a user or a lead, never a teammate or a bot) and still readable.
    pub fn unredacted_by(&self, contact_id: &str) -> bool {
        let by_contact = self.author.as_ref().is_some_and(|a| {
            a.id.as_deref() == Some(contact_id) && matches!(a.kind.as_deref(), Some("user" | "lead" | "contact"))
        });
        let has_body = self.body.as_deref().is_some_and(|b| !b.trim().is_empty());
        by_contact && has_body && self.redacted != Some(true) && self.id.is_some()
    }
}

/// `POST /calls/search`'s answer: Intercom Phone calls.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct CallList {
    #[serde(default)]
    pub data: Vec<Call>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Call {
    #[serde(default)]
    pub recording_url: Option<String>,
    #[serde(default)]
    pub transcription_url: Option<String>,
    #[serde(default)]
    pub transcript: Vec<serde_json::Value>,
}

impl Call {
    /// A recording or a transcript of the call exists at Intercom.
    pub fn holds_voice(&self) -> bool {
        self.recording_url.is_some() || self.transcription_url.is_some() || !self.transcript.is_empty()
    }
}
