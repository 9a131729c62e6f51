//! The simulated Help Center and Talk: each rule with the page of Zendesk's documentation it
//! plays, and Zendesk's refusals.

use super::data::Data;
use super::guide_data::{ArticleComment, Post, PostComment};
use super::routes::{Answer, Link};
use super::AGENT_ID;
use std::collections::HashMap;

fn call(data: &mut Data, method: &str, path: &str) -> Answer {
    let link = Link { api: "http://sim/api/v2".into(), path: path.into(), query: HashMap::new() };
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    data.help_center(method, &segments, &link).or_else(|| data.talk(method, &segments)).expect("a guide or talk path")
}

fn with_content() -> (Data, u64) {
    let mut data = Data::default();
    let ana = data.add_user("Ana", Some("ana@example.com"), None, "end-user");
    let hc = &mut data.help_center;
    hc.add_article_comment(10, ArticleComment { article_id: 7, author_id: ana, body: "Thanks".into() });
    hc.add_post(20, Post { author_id: ana, title: "My printer".into() });
    hc.add_post_comment(30, PostComment { post_id: 20, author_id: ana, body: "Me too".into() });
    (data, ana)
}

/// List Comments "Lists the comments created by a specific user"; Delete Comment answers 204
/// (developer.zendesk.com/api-reference/help_center/help-center-api/article_comments/; OAS
/// DeleteComment); the locale may be omitted by agents and admins; once deleted, 404.
#[test]
fn article_comments_are_listed_per_user_and_deleted_under_their_article() {
    let (mut data, ana) = with_content();
    let listed = call(&mut data, "GET", &format!("/help_center/users/{ana}/comments"));
    assert_eq!((listed.status, listed.document()["comments"][0]["source_id"].as_u64()), (200, Some(7)));
    assert_eq!(listed.document()["comments"][0]["locale"], "en-us");
    assert_eq!(call(&mut data, "DELETE", "/help_center/en-us/articles/8/comments/10").status, 404, "not its article");
    assert_eq!(call(&mut data, "DELETE", "/help_center/en-us/articles/7/comments/10").status, 204);
    assert_eq!(call(&mut data, "DELETE", "/help_center/articles/7/comments/10").status, 404, "already deleted");
    assert_eq!(call(&mut data, "GET", "/help_center/users/999/comments").status, 404, "unknown user");
}

/// Posts and post comments are listed per user and deleted (OAS DeletePost, DeletePostComment:
/// 204); a comment is reached under its own post only.
#[test]
fn community_posts_and_comments_are_listed_per_user_and_deleted() {
    let (mut data, ana) = with_content();
    let posts = call(&mut data, "GET", &format!("/community/users/{ana}/posts"));
    assert_eq!(posts.document()["posts"][0]["id"], 20);
    let comments = call(&mut data, "GET", &format!("/community/users/{ana}/comments"));
    assert_eq!(comments.document()["comments"][0]["post_id"], 20);
    assert_eq!(call(&mut data, "DELETE", "/community/posts/21/comments/30").status, 404);
    assert_eq!(call(&mut data, "DELETE", "/community/posts/20/comments/30").status, 204);
    assert_eq!(call(&mut data, "DELETE", "/community/posts/20").status, 204);
    assert_eq!(call(&mut data, "DELETE", "/community/posts/20").status, 404);
}

/// "Allowed for: Agents; The end user who created the comment" (OAS DeleteComment, DeletePost,
/// DeletePostComment) and "End-users can only list their own comments" (List Comments): an end
/// user's credentials are refused (403) on someone else's content.
#[test]
fn an_end_user_cannot_list_or_delete_someone_elses_content() {
    let (mut data, ana) = with_content();
    data.users.get_mut(&AGENT_ID).unwrap().role = "end-user".into();
    assert_eq!(call(&mut data, "GET", &format!("/help_center/users/{ana}/comments")).status, 403);
    assert_eq!(call(&mut data, "DELETE", "/help_center/articles/7/comments/10").status, 403);
    assert_eq!(call(&mut data, "DELETE", "/community/posts/20").status, 403);
    assert_eq!(call(&mut data, "DELETE", "/community/posts/20/comments/30").status, 403);
    data.users.get_mut(&AGENT_ID).unwrap().role = "agent".into();
    assert_eq!(call(&mut data, "DELETE", "/community/posts/20").status, 204, "agents may");
}

/// Not documented by Zendesk; clients report 404 on the Help Center paths of an account without
/// it (github.com/blakmatrix/node-zendesk/issues/253).
#[test]
fn an_account_without_help_center_answers_404() {
    let (mut data, ana) = with_content();
    data.help_center.enabled = false;
    for path in [format!("/help_center/users/{ana}/comments"), format!("/community/users/{ana}/posts")] {
        assert_eq!(call(&mut data, "GET", &path).status, 404);
    }
    assert_eq!(call(&mut data, "DELETE", "/community/posts/20").status, 404);
}

/// Delete Recording: "Allowed For: Admins"; "This endpoint deletes all recordings associated
/// with the call ID" (developer.zendesk.com/api-reference/voice/talk-api/recordings/). An agent
/// is refused (403); a call with nothing left is 404.
#[test]
fn only_admins_delete_a_calls_recordings_all_at_once() {
    let mut data = Data::default();
    data.talk.recordings.insert(40, vec!["call".into(), "voicemail".into()]);
    data.users.get_mut(&AGENT_ID).unwrap().role = "agent".into();
    assert_eq!(call(&mut data, "DELETE", "/channels/voice/calls/40/recordings").status, 403);
    assert_eq!(data.talk.recordings[&40].len(), 2);
    data.users.get_mut(&AGENT_ID).unwrap().role = "admin".into();
    assert_eq!(call(&mut data, "DELETE", "/channels/voice/calls/40/recordings").status, 204);
    assert!(data.talk.recordings[&40].is_empty(), "the call and the voicemail");
    assert_eq!(call(&mut data, "DELETE", "/channels/voice/calls/40/recordings").status, 404);
    assert_eq!(call(&mut data, "DELETE", "/channels/voice/calls/41/recordings").status, 404);
}
