//! The person's Help Center (Guide) content, deleted before their user: their community comments,
//! then their community posts, then their article comments (`help_center = "delete"`, the
//! default). With `keep` nothing is asked and the evidence note says the content stays.
//!
//! Zendesk does not document what an account without Help Center (or without its community)
//! answers; clients report 404. A listing answered with 404 is skipped, not failed, and the
//! evidence note names it.

use crate::api::{ArticleComment, Post, PostComment};
use crate::config::HelpCenterPolicy;
use crate::Zendesk;
use erasure_connector::{Evidence, Failure};

/// What the evidence note says when `help_center = "keep"`.
pub(crate) const KEPT: &str = "Help Center content (article comments, community posts and community comments) \
     is kept, as configured (help_center = \"keep\").";

impl Zendesk {
    /// Delete `user`'s community comments, community posts and article comments, each once.
    pub(crate) async fn erase_help_center(&self, user: i64, evidence: &mut Evidence) -> Result<(), Failure> {
        if self.help_center == HelpCenterPolicy::Keep {
            return Ok(());
        }
        let mut unavailable = Vec::new();
        match self.api.post_comments(user).await? {
            Some(comments) => {
                let deleted = self.delete_each(&comments, |c: &PostComment| self.api.delete_post_comment(c)).await?;
                count(evidence, "community_comments_deleted", deleted);
            }
            None => unavailable.push("community comments"),
        }
        match self.api.posts(user).await? {
            Some(posts) => {
                let deleted = self.delete_each(&posts, |p: &Post| self.api.delete_post(p)).await?;
                count(evidence, "community_posts_deleted", deleted);
            }
            None => unavailable.push("community posts"),
        }
        match self.api.article_comments(user).await? {
            Some(comments) => {
                let deleted =
                    self.delete_each(&comments, |c: &ArticleComment| self.api.delete_article_comment(c)).await?;
                count(evidence, "help_center_comments_deleted", deleted);
            }
            None => unavailable.push("article comments"),
        }
        if !unavailable.is_empty() {
            let note = format!(
                "Zendesk answered 404 to the listing of the person's Help Center {}: the account has no Help Center \
                 (Guide) or community there, so nothing was deleted in it.",
                unavailable.join(" and ")
            );
            evidence.note = Some(note);
        }
        Ok(())
    }

    /// Delete each record; one already gone (404) is not counted.
    async fn delete_each<'a, T, F, Fut>(&self, records: &'a [T], delete: F) -> Result<u64, Failure>
    where
        F: Fn(&'a T) -> Fut,
        Fut: std::future::Future<Output = Result<bool, Failure>>,
    {
        let mut deleted = 0;
        for record in records {
            if delete(record).await? {
                deleted += 1;
            }
        }
        Ok(deleted)
    }
}

fn count(evidence: &mut Evidence, what: &str, n: u64) {
    if n > 0 {
        *evidence = std::mem::take(evidence).count(what, n);
    }
}
