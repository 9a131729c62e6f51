//! Zendesk's Help Center (Guide): article comments, community posts and post comments, listed per
//! user and deleted one by one, as Zendesk documents them.
//!
//! - `GET /api/v2/help_center/users/{user_id}/comments`: "Lists the comments created by a specific
//!   user" (developer.zendesk.com/api-reference/help_center/help-center-api/article_comments/,
//!   List Comments). "End-users can only list their own comments. If listing comments by user,
//!   they must specify `me` as the id": a caller that is an end user gets 403 for another user.
//! - `GET /api/v2/community/users/{user_id}/posts` and `.../comments`: the posts and post comments
//!   of a user (developer.zendesk.com/api-reference/help_center/help-center-api/posts/, List Posts;
//!   .../post_comments/, List Comments: "Lists all comments on a specific post or all the comments
//!   created by a specific user").
//! - Listings page as the rest of the API (offset: `page`, `per_page`, `next_page` a full URL):
//!   "The Help Center API is part of the Zendesk v2 API. Any general mechanisms and conventions,
//!   such as pagination and authentication, work as described in the Zendesk v2 API documentation"
//!   (developer.zendesk.com/api-reference/help_center/help-center-api/introduction/).
//! - `DELETE /api/v2/help_center[/{locale}]/articles/{article_id}/comments/{comment_id}`,
//!   `DELETE /api/v2/community/posts/{post_id}`,
//!   `DELETE /api/v2/community/posts/{post_id}/comments/{post_comment_id}`: "Allowed for: Agents;
//!   The end user who created the comment" (the post, for Delete Post); 204 "Default success
//!   response" (`../shared/vendor-specs/zendesk-helpcenter-oas.yaml`, DeleteComment, DeletePost,
//!   DeletePostComment). An end user deleting someone else's content gets 403. A record that is
//!   not (or no longer) there, or not under the article or post named in the path, is 404
//!   `RecordNotFound`, as for every Zendesk record.
//! - The article comment's `{locale}`: "The `{locale}` is required only for end users and
//!   anonymous users. Admins and agents can omit it" (OAS, Show Comment). The simulator accepts
//!   both forms; what Zendesk does with a locale other than the comment's is not documented, so it
//!   is not checked.
//! - An account without Help Center (Guide), or without its community: Zendesk does not document
//!   the answer. Clients report 404 on the Help Center paths of such accounts
//!   (github.com/blakmatrix/node-zendesk/issues/253, github.com/ethyca/fidesops/issues/649); the
//!   simulator answers 404 `RecordNotFound` to all of them with `Zendesk::set_help_center(false)`.
//! - Deleting a post makes its comments unreachable (their path names the post); whether Zendesk
//!   deletes them with the post is not documented.

use super::data::Data;
use super::guide_data::{ArticleComment, Post, PostComment};
use super::routes::{error, not_found, Answer, Link};
use super::{Zendesk, AGENT_ID};
use serde_json::{json, Value};

impl Zendesk<'_> {
    /// A comment by `author` on a new article (locale `en-us`); returns (article id, comment id).
    pub fn article_comment(&self, author: u64, text: &str) -> (u64, u64) {
        self.with(|d| {
            let article = d.new_id();
            let comment = d.new_id();
            let body = text.to_string();
            d.help_center.add_article_comment(comment, ArticleComment { article_id: article, author_id: author, body });
            (article, comment)
        })
    }

    /// A community post by `author`; returns its id.
    pub fn community_post(&self, author: u64, title: &str) -> u64 {
        self.with(|d| {
            let id = d.new_id();
            d.help_center.add_post(id, Post { author_id: author, title: title.to_string() });
            id
        })
    }

    /// A comment by `author` on community post `post`; returns its id.
    pub fn post_comment(&self, post: u64, author: u64, text: &str) -> u64 {
        self.with(|d| {
            let id = d.new_id();
            let body = text.to_string();
            d.help_center.add_post_comment(id, PostComment { post_id: post, author_id: author, body });
            id
        })
    }

    /// How many article comments, posts and post comments (reachable) `author` still has.
    pub fn help_center_content(&self, author: u64) -> (usize, usize, usize) {
        self.with(|d| {
            let hc = &d.help_center;
            (
                hc.article_comments_by(author).filter(|(_, c)| c.author_id == author).count(),
                hc.posts_by(author).filter(|(_, p)| p.author_id == author).count(),
                hc.post_comments_by(author)
                    .filter(|(_, c)| c.author_id == author && hc.posts.contains_key(&c.post_id))
                    .count(),
            )
        })
    }

    /// Turn the account's Help Center (Guide) on or off (on by default).
    pub fn set_help_center(&self, enabled: bool) {
        self.with(|d| d.help_center.enabled = enabled)
    }

    /// The role of the user the API credentials belong to (`admin` by default; `agent`,
    /// `end-user`): Zendesk's permissions follow it.
    pub fn set_caller_role(&self, role: &str) {
        self.with(|d| d.users.get_mut(&AGENT_ID).expect("the API user").role = role.to_string())
    }
}

impl Data {
    /// Seed: `article_comments` comments by `user` on new articles, and `community_posts` posts
    /// by `user`, each with a comment of theirs.
    pub(super) fn seed_help_center(&mut self, user: u64, article_comments: u32, community_posts: u32) {
        for _ in 0..article_comments {
            let (article, comment) = (self.new_id(), self.new_id());
            let body = "Thanks, this fixed my sign-in problem.".to_string();
            self.help_center
                .add_article_comment(comment, ArticleComment { article_id: article, author_id: user, body });
        }
        for _ in 0..community_posts {
            let (post, comment) = (self.new_id(), self.new_id());
            self.help_center.add_post(post, Post { author_id: user, title: "Printer offline".into() });
            let body = "Still broken on my side.".to_string();
            self.help_center.add_post_comment(comment, PostComment { post_id: post, author_id: user, body });
        }
    }

    pub(super) fn caller_role(&self) -> &str {
        &self.users[&AGENT_ID].role
    }

    fn caller_is_staff(&self) -> bool {
        matches!(self.caller_role(), "admin" | "agent")
    }

    /// The Help Center paths; `None` for any other path.
    pub(super) fn help_center(&mut self, method: &str, segments: &[&str], link: &Link) -> Option<Answer> {
        let id = |s: &str| s.parse::<u64>().ok();
        let answer = match (method, segments) {
            ("GET", ["help_center", "users", user, "comments"]) => self.guarded(id(user), |d, u| {
                let items = d.help_center.article_comments_by(u).filter(|(_, c)| c.author_id == u);
                let items = items.map(|(cid, c)| article_comment_json(*cid, c, &link.api)).collect();
                d.page("comments", items, link)
            }),
            ("GET", ["community", "users", user, "posts"]) => self.guarded(id(user), |d, u| {
                let items = d.help_center.posts_by(u).filter(|(_, p)| p.author_id == u);
                let items = items.map(|(pid, p)| post_json(*pid, p, &link.api)).collect();
                d.page("posts", items, link)
            }),
            ("GET", ["community", "users", user, "comments"]) => self.guarded(id(user), |d, u| {
                let hc = &d.help_center;
                let items =
                    hc.post_comments_by(u).filter(|(_, c)| c.author_id == u && hc.posts.contains_key(&c.post_id));
                let items = items.map(|(cid, c)| post_comment_json(*cid, c, &link.api)).collect();
                d.page("comments", items, link)
            }),
            ("DELETE", ["help_center", "articles", article, "comments", comment])
            | ("DELETE", ["help_center", _, "articles", article, "comments", comment]) => {
                self.delete_article_comment(id(article), id(comment))
            }
            ("DELETE", ["community", "posts", post]) => self.delete_post(id(post)),
            ("DELETE", ["community", "posts", post, "comments", comment]) => {
                self.delete_post_comment(id(post), id(comment))
            }
            _ => return None,
        };
        Some(answer)
    }

    /// A listing by user: 404 without Help Center or for an unknown user; 403 for an end user
    /// asking about someone else.
    fn guarded(&mut self, user: Option<u64>, list: impl FnOnce(&mut Data, u64) -> Answer) -> Answer {
        let Some(user) = user.filter(|u| self.help_center.enabled && self.users.contains_key(u)) else {
            return not_found();
        };
        if !self.caller_is_staff() && user != AGENT_ID {
            return forbidden();
        }
        list(self, user)
    }

    fn delete_article_comment(&mut self, article: Option<u64>, comment: Option<u64>) -> Answer {
        let found = comment.filter(|c| {
            self.help_center.enabled
                && self.help_center.article_comments.get(c).is_some_and(|c| Some(c.article_id) == article)
        });
        let Some(comment) = found else { return not_found() };
        if !self.may_delete(self.help_center.article_comments[&comment].author_id) {
            return forbidden();
        }
        self.help_center.remove_article_comment(comment);
        no_content()
    }

    fn delete_post(&mut self, post: Option<u64>) -> Answer {
        let Some(post) = post.filter(|p| self.help_center.enabled && self.help_center.posts.contains_key(p)) else {
            return not_found();
        };
        if !self.may_delete(self.help_center.posts[&post].author_id) {
            return forbidden();
        }
        self.help_center.remove_post(post);
        no_content()
    }

    fn delete_post_comment(&mut self, post: Option<u64>, comment: Option<u64>) -> Answer {
        let hc = &self.help_center;
        let found = comment.filter(|c| {
            hc.enabled
                && post.is_some_and(|p| hc.posts.contains_key(&p))
                && hc.post_comments.get(c).is_some_and(|c| Some(c.post_id) == post)
        });
        let Some(comment) = found else { return not_found() };
        if !self.may_delete(self.help_center.post_comments[&comment].author_id) {
            return forbidden();
        }
        self.help_center.remove_post_comment(comment);
        no_content()
    }

    /// "Allowed for: Agents; The end user who created the comment."
    fn may_delete(&self, author: u64) -> bool {
        self.caller_is_staff() || author == AGENT_ID
    }
}

pub(super) fn forbidden() -> Answer {
    error(403, "Forbidden", "You do not have access to this page")
}

pub(super) fn no_content() -> Answer {
    Answer::no_content()
}

fn article_comment_json(id: u64, c: &ArticleComment, api: &str) -> Value {
    json!({ "id": id, "url": format!("{api}/help_center/en-us/articles/{}/comments/{id}.json", c.article_id),
            "html_url": format!("https://sim.invalid/hc/en-us/articles/{}/comments/{id}", c.article_id),
            "body": c.body, "author_id": c.author_id, "source_id": c.article_id, "source_type": "Article",
            "locale": "en-us", "vote_sum": 0, "vote_count": 0,
            "created_at": "2024-01-01T00:00:00Z", "updated_at": "2024-01-01T00:00:00Z" })
}

fn post_json(id: u64, p: &Post, api: &str) -> Value {
    json!({ "id": id, "url": format!("{api}/community/posts/{id}.json"),
            "html_url": format!("https://sim.invalid/hc/en-us/community/posts/{id}"), "title": p.title,
            "details": "<p>Details</p>", "author_id": p.author_id, "topic_id": 1, "closed": false,
            "comment_count": 0, "status": "none", "created_at": "2024-01-01T00:00:00Z",
            "updated_at": "2024-01-01T00:00:00Z" })
}

fn post_comment_json(id: u64, c: &PostComment, api: &str) -> Value {
    json!({ "id": id, "url": format!("{api}/community/posts/{}/comments/{id}.json", c.post_id),
            "html_url": format!("https://sim.invalid/hc/en-us/community/posts/{}/comments/{id}", c.post_id),
            "body": c.body, "author_id": c.author_id, "post_id": c.post_id, "official": false,
            "vote_sum": 0, "vote_count": 0, "created_at": "2024-01-01T00:00:00Z",
            "updated_at": "2024-01-01T00:00:00Z" })
}
