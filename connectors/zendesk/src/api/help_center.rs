//! The Help Center (Guide) calls: the person's article comments, community posts and community
//! comments, listed per user, then deleted one by one. A listing Zendesk answers with 404 is
//! `None`: the account has no Help Center (or no community) there.

use super::Api;
use erasure_connector::Failure;
use reqwest::Method;
use serde::Deserialize;
use url::Url;

/// An article comment: its article is `source_id`, its translation `locale`.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct ArticleComment {
    pub id: i64,
    pub source_id: i64,
    #[serde(default)]
    pub locale: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Post {
    pub id: i64,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct PostComment {
    pub id: i64,
    pub post_id: i64,
}

impl Api {
    /// `GET /api/v2/help_center/users/{id}/comments`, every page.
    pub async fn article_comments(&self, user: i64) -> Result<Option<Vec<ArticleComment>>, Failure> {
        self.pages(self.url(&format!("help_center/users/{user}/comments")), "comments", true).await
    }

    /// `GET /api/v2/community/users/{id}/posts`, every page.
    pub async fn posts(&self, user: i64) -> Result<Option<Vec<Post>>, Failure> {
        self.pages(self.url(&format!("community/users/{user}/posts")), "posts", true).await
    }

    /// `GET /api/v2/community/users/{id}/comments`, every page.
    pub async fn post_comments(&self, user: i64) -> Result<Option<Vec<PostComment>>, Failure> {
        self.pages(self.url(&format!("community/users/{user}/comments")), "comments", true).await
    }

    /// `DELETE /api/v2/help_center/{locale}/articles/{article_id}/comments/{comment_id}` (the
    /// path of Zendesk's OAS; without the locale when the comment has none); `false` on 404.
    pub async fn delete_article_comment(&self, comment: &ArticleComment) -> Result<bool, Failure> {
        let mut url = self.url("help_center");
        {
            let mut path = url.path_segments_mut().expect("an http(s) base URL");
            if let Some(locale) = comment.locale.as_deref().filter(|l| !l.trim().is_empty()) {
                path.push(locale);
            }
            path.push("articles").push(&comment.source_id.to_string());
            path.push("comments").push(&comment.id.to_string());
        }
        self.delete_found(&url).await
    }

    /// `DELETE /api/v2/community/posts/{post_id}`; `false` on 404.
    pub async fn delete_post(&self, post: &Post) -> Result<bool, Failure> {
        self.delete_found(&self.url(&format!("community/posts/{}", post.id))).await
    }

    /// `DELETE /api/v2/community/posts/{post_id}/comments/{comment_id}`; `false` on 404.
    pub async fn delete_post_comment(&self, comment: &PostComment) -> Result<bool, Failure> {
        let path = format!("community/posts/{}/comments/{}", comment.post_id, comment.id);
        self.delete_found(&self.url(&path)).await
    }

    /// `DELETE` of one record: `true` when Zendesk deleted it, `false` when it was not there.
    pub(crate) async fn delete_found(&self, url: &Url) -> Result<bool, Failure> {
        Ok(self.send_found(self.request(Method::DELETE, url)).await?.is_some())
    }
}
