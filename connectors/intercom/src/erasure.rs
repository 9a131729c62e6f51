//! An erasure: find the person's contacts, redact every message they wrote, then delete them;
//! the contacts being deleted are saved first, since a deleted contact is no longer found.

use crate::{calls, find, redact, Intercom};
use erasure_connector::{Ctx, Evidence, Failure, Outcome, Subject};
use serde::{Deserialize, Serialize};

/// What Intercom keeps, in its own words where it has them
/// (<https://www.intercom.com/help/en/articles/1815435-how-do-i-delete-users-and-leads-in-intercom>:
/// "CSAT ratings and comments from a user will not be deleted").
const NOTE: &str = "Intercom hard-deletes a contact 7 days after its deletion; \
                    redacted conversation messages keep only Intercom's deletion notice; \
                    Intercom keeps the contact's CSAT ratings and comments (it does not delete them)";

impl Intercom {
    pub(crate) async fn erase_contacts(&self, ctx: &Ctx, subject: &Subject) -> Result<Outcome, Failure> {
        let earlier: Saved = ctx.progress.get()?.unwrap_or_default();
        let mut contacts = find::contacts(&self.api, subject, &ctx.instance).await?;
        // Contacts an earlier attempt was deleting: search no longer finds a deleted contact, so
        // one gone since counts as deleted; one still there is erased like the others.
        let mut deleted = 0;
        for id in &earlier.deleting {
            if contacts.contains(id) {
                continue;
            }
            match self.api.contact(id).await? {
                Some(contact) => contacts.push(contact.id),
                None => deleted += 1,
            }
        }
        let mut tally = redact::Tally::default();
        let mut deleting = earlier.deleting.clone();
        let mut calls_with_voice = earlier.calls_with_voice;
        for contact in &contacts {
            tally.conversations.clear();
            redact::contact_messages(&self.api, contact, &mut tally).await?;
            calls_with_voice += calls::with_voice(&self.api, &tally.conversations).await?;
            deleting.push(contact.clone());
            deleting.sort();
            deleting.dedup();
            let saved =
                Saved { deleting: deleting.clone(), redacted: earlier.redacted + tally.redacted, calls_with_voice };
            ctx.progress.save(&saved).await?;
            if self.api.delete_contact(contact).await? {
                deleted += 1;
            }
        }
        let redacted = earlier.redacted + tally.redacted;
        if deleted == 0 && redacted == 0 {
            return Ok(Outcome::NothingToErase);
        }
        let mut note = NOTE.to_string();
        if calls_with_voice > 0 {
            note.push_str(&format!(
                "; {calls_with_voice} Intercom Phone calls on the contact's conversations have a recording or a \
                 transcript, which API 2.14 cannot delete and Intercom does not say its contact deletion removes: \
                 delete them in Intercom"
            ));
        }
        let mut evidence =
            Evidence::default().count("contacts", deleted).count("conversation_parts", redacted).note(note);
        if tally.not_redactable > 0 {
            tracing::warn!(parts = tally.not_redactable, "intercom refused to redact some conversation parts");
            evidence = evidence.count("conversation_parts_not_redactable", tally.not_redactable);
        }
        Ok(Outcome::Erased(evidence))
    }
}

/// Saved with `ctx.progress` before each contact deletion: a deleted contact is no longer found,
/// so the next attempt (after a worker died, or the answer was lost) counts it from here, with
/// the messages redacted before it. Intercom's contact ids only.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Saved {
    #[serde(default)]
    deleting: Vec<String>,
    #[serde(default)]
    redacted: u64,
    /// Intercom Phone calls with a recording or transcript found on the deleted contacts'
    /// conversations (which go with the contact).
    #[serde(default)]
    calls_with_voice: u64,
}
