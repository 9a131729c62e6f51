//! An erasure: find the person's contacts, redact every message they wrote, then delete them;
//! the contacts being deleted are saved first, since a deleted contact is no longer found.

use crate::{find, redact, Intercom};
use erasure_connector::{Ctx, Evidence, Failure, Outcome, Subject};
use serde::{Deserialize, Serialize};

const NOTE: &str = "Intercom hard-deletes a contact 7 days after its deletion; \
                    redacted conversation messages keep only Intercom's deletion notice";

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
        for contact in &contacts {
            redact::contact_messages(&self.api, contact, &mut tally).await?;
            deleting.push(contact.clone());
            deleting.sort();
            deleting.dedup();
            ctx.progress
                .save(&Saved { deleting: deleting.clone(), redacted: earlier.redacted + tally.redacted })
                .await?;
            if self.api.delete_contact(contact).await? {
                deleted += 1;
            }
        }
        let redacted = earlier.redacted + tally.redacted;
        if deleted == 0 && redacted == 0 {
            return Ok(Outcome::NothingToErase);
        }
        let mut evidence =
            Evidence::default().count("contacts", deleted).count("conversation_parts", redacted).note(NOTE);
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
}
