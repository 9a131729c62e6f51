//! What the simulated Help Center and Talk hold (the paths are in `help_center.rs` and
//! `talk.rs`), and how a voice comment shows on a ticket.

use serde_json::{json, Value};
use std::collections::BTreeMap;

/// What the account's Help Center holds.
pub(crate) struct HelpCenter {
    pub(super) enabled: bool,
    /// Article comments by id.
    pub(super) article_comments: BTreeMap<u64, ArticleComment>,
    pub(super) posts: BTreeMap<u64, Post>,
    pub(super) post_comments: BTreeMap<u64, PostComment>,
}

impl Default for HelpCenter {
    fn default() -> Self {
        HelpCenter {
            enabled: true,
            article_comments: BTreeMap::new(),
            posts: BTreeMap::new(),
            post_comments: BTreeMap::new(),
        }
    }
}

pub(super) struct ArticleComment {
    pub(super) article_id: u64,
    pub(super) author_id: u64,
    pub(super) body: String,
}

pub(super) struct Post {
    pub(super) author_id: u64,
    pub(super) title: String,
}

pub(super) struct PostComment {
    pub(super) post_id: u64,
    pub(super) author_id: u64,
    pub(super) body: String,
}

/// The account's Talk recordings: call id -> recording types still stored (`call`, `voicemail`).
#[derive(Default)]
pub(crate) struct Talk {
    pub(super) recordings: BTreeMap<u64, Vec<String>>,
}

/// A voice comment is `type` `VoiceComment` with the call in `data`; other comments are unchanged.
pub(super) fn with_voice(mut comment: Value, voice: &Option<Value>) -> Value {
    if let Some(data) = voice {
        comment["type"] = json!("VoiceComment");
        comment["data"] = data.clone();
    }
    comment
}
