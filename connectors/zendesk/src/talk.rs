//! Talk: the recordings and voicemails of calls on tickets that stay (the tickets the person is
//! only CC'd on, and with `tickets = "redact"` the tickets they requested). A call is found in
//! the ticket's voice comments (`data.call_id`); `DELETE .../calls/{call_id}/recordings` deletes
//! all its recordings. Deleted tickets are left to the ticket deletion.

use crate::Zendesk;
use erasure_connector::{Evidence, Failure, FailureKind};

impl Zendesk {
    /// Delete the recordings of the calls on `ticket` (only those of voice comments by `author`
    /// when given). A call with nothing left (404) is not counted.
    pub(crate) async fn delete_call_recordings(
        &self,
        ticket: i64,
        author: Option<i64>,
        evidence: &mut Evidence,
    ) -> Result<(), Failure> {
        let mut deleted = 0;
        for comment in self.api.ticket_calls(ticket).await? {
            if author.is_some_and(|a| comment.author_id != Some(a)) {
                continue;
            }
            let Some(call) = comment.call_id() else { continue };
            if self.api.delete_recordings(call).await.map_err(refused_recording)? {
                deleted += 1;
            }
        }
        if deleted > 0 {
            *evidence = std::mem::take(evidence).count("call_recordings_deleted", deleted);
        }
        Ok(())
    }
}

/// Only admins may delete recordings: a permanent failure says so.
fn refused_recording(failure: Failure) -> Failure {
    match failure.kind {
        FailureKind::Permanent => Failure::permanent(format!(
            "{} on deleting a Talk call recording (Zendesk allows it to admins only)",
            failure.reason
        )),
        _ => failure,
    }
}
