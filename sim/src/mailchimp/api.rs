//! What each Mailchimp endpoint does, on the account's data. Paths are the API's own, relative to
//! `https://<dc>.api.mailchimp.com/3.0`; batch operations run through the same dispatch.

use super::answer::Answer;
use super::data::{subscriber_hash, Data};
use super::MAX_PAGE;
use crate::text::percent_decode;
use axum::http::Method;
use serde_json::{json, Value};
use std::collections::HashMap;

impl Data {
    /// Answer one request. `origin` is the scheme and host the account is served at (for the
    /// batch results URL; empty inside a batch).
    pub(super) fn serve(
        &mut self,
        method: &Method,
        path: &str,
        query: &HashMap<String, String>,
        body: Option<Value>,
        origin: &str,
    ) -> Answer {
        let segments: Vec<String> = path.trim_matches('/').split('/').map(percent_decode).collect();
        let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
        let m = method.as_str();
        match segments.as_slice() {
            ["ping"] => only(m, "GET", ping),
            ["lists"] => only(m, "GET", || self.get_lists(query)),
            ["lists", list, "members"] => only(m, "POST", || self.add_member_request(list, body)),
            ["lists", list, "members", key] => only(m, "GET", || self.get_member(list, key)),
            ["lists", list, "members", hash, "actions", "delete-permanent"] => {
                only(m, "POST", || self.delete_permanent(list, hash))
            }
            ["search-members"] => only(m, "GET", || self.search_members(query)),
            ["batches"] => only(m, "POST", || self.create_batch(body)),
            ["batches", id] => only(m, "GET", || self.poll_batch(id, origin)),
            ["batch-results", id] => only(m, "GET", || self.batch_results(id)),
            _ => Answer::not_found(),
        }
    }

    /// `GET /lists?count=&offset=&email=`: the account's audiences, `count` of them (default 10,
    /// "Maximum is 1000") from `offset`, with `total_items`; `email` restricts them to "lists that
    /// include a specific subscriber's email address"
    /// (<https://mailchimp.com/developer/marketing/api/lists/get-lists-info/>). A `count` over 1000
    /// is refused (400; what Mailchimp answers is not documented).
    fn get_lists(&self, query: &HashMap<String, String>) -> Answer {
        let number = |key: &str, default: usize| query.get(key).map_or(Ok(default), |v| v.parse::<usize>());
        let (Ok(count), Ok(offset)) = (number("count", 10), number("offset", 0)) else {
            return Answer::bad_request("count and offset must be numbers.");
        };
        if count > MAX_PAGE {
            return Answer::bad_request("count must be at most 1000.");
        }
        let holding = |list: &super::data::List| {
            query.get("email").is_none_or(|e| list.members.contains_key(&subscriber_hash(e)))
        };
        let matching: Vec<&super::data::List> = self.lists.values().filter(|l| holding(l)).collect();
        let lists: Vec<Value> = matching
            .iter()
            .skip(offset)
            .take(count)
            .map(|l| json!({ "id": l.id, "web_id": 0, "name": l.name, "stats": { "member_count": l.members.len() } }))
            .collect();
        Answer::json(json!({ "lists": lists, "total_items": matching.len() }))
    }

    /// `GET /lists/{list_id}/members/{subscriber_hash}`: 404 when the list or the member is
    /// unknown ("If the call returns a 404 response, the contact is not subscribed to the
    /// list/audience", <https://mailchimp.com/developer/marketing/guides/manage-subscribers-with-the-mailchimp-api/>).
    /// The hash, or the member's e-mail address, which the endpoint also accepts
    /// (<https://mailchimp.com/developer/marketing/api/list-members/get-member-info/>).
    fn get_member(&self, list: &str, key: &str) -> Answer {
        match self.member(list, key) {
            Some((hash, member)) => Answer::json(member.json(list, hash)),
            None => Answer::not_found(),
        }
    }

    /// `POST /lists/{list_id}/members` `{"email_address", "status"}`. Refused: an address already
    /// on the list (400 Member Exists), and one permanently deleted from it ("After this
    /// operation, it will be impossible to re-import the list member",
    /// <https://mailchimp.com/developer/marketing/api/list-members/delete-list-member-permanent/>);
    /// the title, "Forgotten Email Not Subscribed", is the one public client code checks for (the
    /// reference documents the refusal, not its title).
    fn add_member_request(&mut self, list: &str, body: Option<Value>) -> Answer {
        if !self.lists.contains_key(list) {
            return Answer::not_found();
        }
        let Some(email) = body.as_ref().and_then(|b| b["email_address"].as_str()).filter(|e| e.contains('@')) else {
            return Answer::bad_request("An email_address is required.");
        };
        match self.add_member(list, email, 0) {
            Ok(hash) => {
                let member = self.member(list, &hash).expect("just added").1;
                Answer::json(member.json(list, &hash))
            }
            Err("exists") => Answer::error(400, "Member Exists", "This address is already a list member."),
            Err(_) => Answer::error(
                400,
                "Forgotten Email Not Subscribed",
                "This contact was permanently deleted and cannot be re-imported.",
            ),
        }
    }

    /// `POST /lists/{list_id}/members/{subscriber_hash}/actions/delete-permanent`: "Delete all
    /// personally identifiable information related to a list member, and remove them from a
    /// list. This will make it impossible to re-import the list member"
    /// (<https://mailchimp.com/developer/marketing/api/list-members/delete-list-member-permanent/>).
    /// 204 with no body; the member (and its notes) are gone, a GET answers 404, and the hash is
    /// kept only to refuse a re-import. Unknown list or member: 404. Only the hash is accepted.
    fn delete_permanent(&mut self, list: &str, hash: &str) -> Answer {
        let Some(list) = self.lists.get_mut(list) else { return Answer::not_found() };
        if list.members.remove(hash).is_none() {
            return Answer::not_found();
        }
        list.forgotten.insert(hash.to_string());
        Answer::no_content()
    }

    /// `GET /search-members?query=&list_id=`: "Search for list members. This search can be
    /// restricted to a specific list, or can be used to search across all lists in an account"
    /// (<https://mailchimp.com/developer/marketing/api/search-members/search-members/>). The query
    /// is fuzzy: `exact_matches` holds members whose address is the query (any case),
    /// `full_search` every member whose address or name contains it, so a caller must check what
    /// it got. `query` is required (400 without it).
    fn search_members(&self, query: &HashMap<String, String>) -> Answer {
        let Some(text) = query.get("query").map(|q| q.trim().to_lowercase()).filter(|q| !q.is_empty()) else {
            return Answer::bad_request("The query parameter is required.");
        };
        let only_list = query.get("list_id");
        if only_list.is_some_and(|l| !self.lists.contains_key(l)) {
            return Answer::not_found();
        }
        let mut exact = Vec::new();
        let mut full = Vec::new();
        for list in self.lists.values().filter(|l| only_list.is_none_or(|o| *o == l.id)) {
            for (hash, member) in &list.members {
                let email = member.email.to_lowercase();
                if email == text {
                    exact.push(member.json(&list.id, hash));
                }
                if email.contains(&text) || member.full_name.to_lowercase().contains(&text) {
                    full.push(member.json(&list.id, hash));
                }
            }
        }
        Answer::json(json!({
            "exact_matches": { "members": exact, "total_items": exact.len() },
            "full_search": { "members": full, "total_items": full.len() },
        }))
    }
}

/// `GET /ping`: "A health check for the API that won't return any account-specific information"
/// (<https://mailchimp.com/developer/marketing/api/ping/ping/>).
fn ping() -> Answer {
    Answer::json(json!({ "health_status": "Everything's Chimpy!" }))
}

/// The answer when the method is `allowed`, else 405 Method Not Allowed.
fn only(method: &str, allowed: &str, answer: impl FnOnce() -> Answer) -> Answer {
    if method == allowed {
        answer()
    } else {
        Answer::method_not_allowed()
    }
}
