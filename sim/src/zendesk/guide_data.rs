//! What the simulated Help Center and Talk hold (the paths are in `help_center.rs` and
//! `talk.rs`), and how a voice comment shows on a ticket.

use crate::index::Keys;
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// What the account's Help Center holds. Records are added and removed through the methods
/// below only, which keep them indexed by author (`crate::index`).
pub(crate) struct HelpCenter {
    pub(super) enabled: bool,
    /// Article comments by id.
    pub(super) article_comments: BTreeMap<u64, ArticleComment>,
    pub(super) posts: BTreeMap<u64, Post>,
    pub(super) post_comments: BTreeMap<u64, PostComment>,
    authors: Authors,
}

/// The ids of each kind of record, by author.
#[derive(Default)]
struct Authors {
    article_comments: Keys<u64, u64>,
    posts: Keys<u64, u64>,
    post_comments: Keys<u64, u64>,
}

impl Default for HelpCenter {
    fn default() -> Self {
        HelpCenter {
            enabled: true,
            article_comments: BTreeMap::new(),
            posts: BTreeMap::new(),
            post_comments: BTreeMap::new(),
            authors: Authors::default(),
        }
    }
}

impl HelpCenter {
    pub(super) fn add_article_comment(&mut self, id: u64, comment: ArticleComment) {
        self.authors.article_comments.set(&id, [comment.author_id]);
        self.article_comments.insert(id, comment);
    }

    pub(super) fn add_post(&mut self, id: u64, post: Post) {
        self.authors.posts.set(&id, [post.author_id]);
        self.posts.insert(id, post);
    }

    pub(super) fn add_post_comment(&mut self, id: u64, comment: PostComment) {
        self.authors.post_comments.set(&id, [comment.author_id]);
        self.post_comments.insert(id, comment);
    }

    pub(super) fn remove_article_comment(&mut self, id: u64) {
        self.article_comments.remove(&id);
        self.authors.article_comments.set(&id, []);
    }

    pub(super) fn remove_post(&mut self, id: u64) {
        self.posts.remove(&id);
        self.authors.posts.set(&id, []);
    }

    pub(super) fn remove_post_comment(&mut self, id: u64) {
        self.post_comments.remove(&id);
        self.authors.post_comments.set(&id, []);
    }

    /// `author`'s article comments, in id order.
    pub(super) fn article_comments_by(&self, author: u64) -> impl Iterator<Item = (&u64, &ArticleComment)> {
        self.authors.article_comments.get(&author).filter_map(|id| self.article_comments.get_key_value(id))
    }

    /// `author`'s posts, in id order.
    pub(super) fn posts_by(&self, author: u64) -> impl Iterator<Item = (&u64, &Post)> {
        self.authors.posts.get(&author).filter_map(|id| self.posts.get_key_value(id))
    }

    /// `author`'s post comments (on posts deleted or not), in id order.
    pub(super) fn post_comments_by(&self, author: u64) -> impl Iterator<Item = (&u64, &PostComment)> {
        self.authors.post_comments.get(&author).filter_map(|id| self.post_comments.get_key_value(id))
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
