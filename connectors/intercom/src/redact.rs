//! The subject's own words in Intercom conversations: every message a contact wrote (the source
//! that started a conversation, and its later parts) is redacted. This runs before the contact is
//! deleted, because the contact's id is how its conversations are found.
//!
//! Only messages whose author is the contact are touched: teammates' and bots' replies, and the
//! messages of other people in a group conversation, stay as they are.

use crate::api::{addressable, every_page, Api, Redaction, Target};
use crate::wire::Pages;
use erasure_connector::Failure;

/// What the redactions of one erasure did.
#[derive(Debug, Default)]
pub(crate) struct Tally {
    pub redacted: u64,
    /// Messages Intercom refused to redact (`conversation_part_not_redactable`).
    pub not_redactable: u64,
    /// The contacts' conversations, for their Intercom Phone calls.
    pub conversations: Vec<String>,
}

/// Redact every message `contact_id` wrote that still shows its body.
pub(crate) async fn contact_messages(api: &Api, contact_id: &str, tally: &mut Tally) -> Result<(), Failure> {
    let listed = every_page("conversation search", |cursor| async move {
        let page = api.search_conversations(contact_id, cursor.as_deref()).await?;
        Ok((page.conversations, Pages::cursor(&page.pages)))
    })
    .await?;
    for listed in listed.iter().filter(|c| c.may_involve(contact_id) && addressable(&c.id)) {
        // A search result carries no parts: the retrieval does (the 500 most recent).
        let Some(conversation) = api.conversation(&listed.id).await? else { continue };
        if !tally.conversations.contains(&listed.id) {
            tally.conversations.push(listed.id.clone());
        }
        let parts = conversation.conversation_parts.map(|p| p.conversation_parts).unwrap_or_default();
        let source = conversation.source.filter(|s| s.unredacted_by(contact_id));
        let targets = source.iter().filter_map(|s| s.id.as_deref().map(Target::Source)).chain(
            parts.iter().filter(|p| p.unredacted_by(contact_id)).filter_map(|p| p.id.as_deref().map(Target::Part)),
        );
        for target in targets {
            match api.redact(&listed.id, &target).await? {
                Redaction::Done => tally.redacted += 1,
                Redaction::Gone => {}
                Redaction::NotRedactable => tally.not_redactable += 1,
            }
        }
    }
    Ok(())
}
