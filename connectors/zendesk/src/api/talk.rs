//! The Talk calls: the calls of a ticket's voice comments, and the deletion of their recordings.

use super::Api;
use erasure_connector::Failure;
use serde::Deserialize;
use serde_json::Value;

/// A ticket comment as Talk reads it: a `VoiceComment` carries its call in `data.call_id`.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct TicketComment {
    #[serde(default)]
    pub author_id: Option<i64>,
    #[serde(rename = "type", default)]
    pub kind: String,
    #[serde(default)]
    pub data: Option<Value>,
}

impl TicketComment {
    /// The Talk call of a voice comment (a number, or a string of digits).
    pub fn call_id(&self) -> Option<i64> {
        if self.kind != "VoiceComment" {
            return None;
        }
        match self.data.as_ref()?.get("call_id")? {
            Value::Number(n) => n.as_i64(),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        }
    }
}

impl Api {
    /// `GET /api/v2/tickets/{id}/comments`, every page, read for their calls.
    pub async fn ticket_calls(&self, ticket: i64) -> Result<Vec<TicketComment>, Failure> {
        self.list(self.url(&format!("tickets/{ticket}/comments")), "comments").await
    }

    /// `DELETE /api/v2/channels/voice/calls/{call_id}/recordings`: every recording of the call
    /// (call and voicemail); `false` on 404 (none left).
    pub async fn delete_recordings(&self, call: i64) -> Result<bool, Failure> {
        self.delete_found(&self.url(&format!("channels/voice/calls/{call}/recordings"))).await
    }
}
