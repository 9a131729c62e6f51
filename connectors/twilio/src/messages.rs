//! The person's SMS and MMS, within the [`Scope`]: redacted (body emptied, media deleted, the
//! record stays), deleted (with their media), or kept, as `messages` says.

use crate::api::{Api, Deleted, Media, Message};
use crate::config::MessagesMode;
use crate::scope::{LeftAlone, Scope, Verdict};
use crate::sweep::checked;
use erasure_connector::Failure;
use std::collections::BTreeSet;

/// What one pass did to messages.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct MessageTally {
    pub redacted: u64,
    pub deleted: u64,
    pub media: u64,
    /// Messages not final yet (in flight, or Twilio's error 20009): looked at again later.
    pub not_yet: u64,
    pub left_alone: LeftAlone,
}

/// `SM` or `MM` and 32 hex digits.
fn message_sid(sid: String) -> Result<String, Failure> {
    if sid.starts_with("MM") {
        checked("MM", sid)
    } else {
        checked("SM", sid)
    }
}

/// The person's messages: to or from their numbers, admitted by the scope, each once.
async fn messages_of(api: &Api, scope: &Scope<'_>, left_alone: &mut LeftAlone) -> Result<Vec<Message>, Failure> {
    let mut seen = BTreeSet::new();
    let mut theirs = Vec::new();
    for phone in scope.phones {
        for field in ["To", "From"] {
            let messages: Vec<Message> = api.list("Messages.json", "messages", &[(field, phone)], false).await?;
            for message in messages {
                let (party, other) =
                    if field == "To" { (&message.to, &message.from) } else { (&message.from, &message.to) };
                let created = message.date_created.as_deref();
                let Some(verdict) = scope.judge(phone, party.as_deref(), other.as_deref(), created) else {
                    continue;
                };
                let sid = message_sid(message.sid.clone())?;
                if !seen.insert(sid.clone()) {
                    continue;
                }
                if verdict == Verdict::Theirs {
                    theirs.push(Message { sid, ..message });
                } else {
                    left_alone.add(verdict);
                }
            }
        }
    }
    Ok(theirs)
}

pub(crate) async fn erase(api: &Api, scope: &Scope<'_>, mode: MessagesMode) -> Result<MessageTally, Failure> {
    let mut tally = MessageTally::default();
    if mode == MessagesMode::Keep {
        return Ok(tally);
    }
    for message in messages_of(api, scope, &mut tally.left_alone).await? {
        if message.in_flight() {
            tally.not_yet += 1;
            continue;
        }
        match mode {
            MessagesMode::Delete => match api.delete(&format!("Messages/{}.json", message.sid)).await? {
                Deleted::Now => {
                    tally.deleted += 1;
                    tally.media += message.media();
                }
                Deleted::AlreadyGone => {}
                Deleted::NotYet => tally.not_yet += 1,
            },
            MessagesMode::Redact => {
                if message.has_body() {
                    match api.redact_message(&message.sid).await? {
                        Deleted::Now => tally.redacted += 1,
                        Deleted::AlreadyGone => continue,
                        Deleted::NotYet => {
                            tally.not_yet += 1;
                            continue;
                        }
                    }
                }
                if message.media() > 0 {
                    tally.media += delete_media(api, &message.sid).await?;
                }
            }
            MessagesMode::Keep => unreachable!("returned above"),
        }
    }
    Ok(tally)
}

/// Delete every media file of a message; returns how many went now.
async fn delete_media(api: &Api, message: &str) -> Result<u64, Failure> {
    let list = format!("Messages/{message}/Media.json");
    let media: Vec<Media> = api.list(&list, "media_list", &[], true).await?;
    let mut deleted = 0;
    for item in media {
        let sid = checked("ME", item.sid)?;
        if api.delete(&format!("Messages/{message}/Media/{sid}.json")).await? == Deleted::Now {
            deleted += 1;
        }
    }
    Ok(deleted)
}

/// What of the person's messages `mode` would still erase: bodies and media (`redact`), whole
/// messages (`delete`), nothing (`keep`).
pub(crate) async fn count(api: &Api, scope: &Scope<'_>, mode: MessagesMode) -> Result<u64, Failure> {
    if mode == MessagesMode::Keep {
        return Ok(0);
    }
    let messages = messages_of(api, scope, &mut LeftAlone::default()).await?;
    Ok(match mode {
        MessagesMode::Delete => messages.len() as u64,
        _ => messages.iter().map(|m| u64::from(m.has_body()) + m.media()).sum(),
    })
}
