//! What each HubSpot CRM v3 contacts endpoint does, on the account's data.

use super::answer::Answer;
use super::data::Data;
use crate::text::{glob, percent_decode};
use axum::http::Method;
use serde_json::{json, Value};
use std::collections::HashMap;

/// CRM search limits (<https://developers.hubspot.com/docs/api/crm/search>, "Limitations"): up to
/// 5 filter groups of up to 6 filters, 18 filters in all; at most 200 records a page; no paging
/// past the first 10,000 results of a query (400).
const MAX_GROUPS: usize = 5;
const MAX_FILTERS_PER_GROUP: usize = 6;
const MAX_FILTERS: usize = 18;
const MAX_LIMIT: usize = 200;
const MAX_RESULTS: usize = 10_000;
const DEFAULT_LIMIT: usize = 10;
const SEARCHABLE: [&str; 7] =
    ["email", "phone", "firstname", "lastname", "hs_object_id", "createdate", "lastmodifieddate"];

impl Data {
    /// Answer one request at a path under `/crm/v3/objects/contacts`.
    pub(super) fn serve(
        &mut self,
        method: &Method,
        path: &str,
        query: &HashMap<String, String>,
        body: Option<Value>,
    ) -> Answer {
        let segments: Vec<String> = path.trim_matches('/').split('/').map(percent_decode).collect();
        let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
        match (method.as_str(), segments.as_slice()) {
            ("GET", ["crm", "v3", "objects", "contacts"]) => self.list(query),
            ("POST", ["crm", "v3", "objects", "contacts", "search"]) => self.search(body),
            ("POST", ["crm", "v3", "objects", "contacts", "gdpr-delete"]) => self.gdpr_delete(body),
            ("GET", ["crm", "v3", "objects", "contacts", id]) => self.read(id, query),
            _ => Answer::not_found(),
        }
    }

    /// `GET /crm/v3/objects/contacts/{contactId}`; with `idProperty=email` the path holds an
    /// address (<https://developers.hubspot.com/docs/api/crm/contacts>, "Retrieve contacts"). 404
    /// when there is no such contact, as after a GDPR deletion.
    fn read(&self, key: &str, query: &HashMap<String, String>) -> Answer {
        let id = match query.get("idProperty").map(String::as_str) {
            None | Some("hs_object_id") => key.parse().ok(),
            Some("email") => self.by_email(key),
            Some(_) => return Answer::invalid("idProperty must be a unique property."),
        };
        match id.and_then(|id| self.contacts.get(&id)) {
            Some(contact) => Answer::json(contact.json(properties(query.get("properties")).as_deref())),
            None => Answer::not_found(),
        }
    }

    /// `GET /crm/v3/objects/contacts?limit=&after=`: a page of contacts (the simulator's
    /// healthcheck target).
    fn list(&self, query: &HashMap<String, String>) -> Answer {
        let limit = query.get("limit").and_then(|l| l.parse().ok()).unwrap_or(DEFAULT_LIMIT).clamp(1, 100);
        let after: u64 = query.get("after").and_then(|a| a.parse().ok()).unwrap_or(0);
        let page: Vec<Value> =
            self.contacts.range(after + 1..).take(limit.min(self.page_size())).map(|(_, c)| c.json(None)).collect();
        let last = page.last().and_then(|c| c["id"].as_str()).and_then(|id| id.parse::<u64>().ok());
        let mut answer = json!({ "results": page });
        if let Some(last) = last.filter(|last| self.contacts.range(last + 1..).next().is_some()) {
            answer["paging"] = json!({ "next": { "after": last.to_string() } });
        }
        Answer::json(answer)
    }

    /// `POST /crm/v3/objects/contacts/search` with `filterGroups` (OR of groups, AND within one),
    /// `properties`, `limit`, `after` (<https://developers.hubspot.com/docs/api/crm/search>).
    /// Operators `EQ`, `NEQ`, `IN`, `NOT_IN`, `HAS_PROPERTY`, `NOT_HAS_PROPERTY`, and
    /// `CONTAINS_TOKEN` (with `*` wildcards, so a search may be wider than the caller meant);
    /// values compare without regard to case. The next page's cursor is `paging.next.after`,
    /// absent on the last page. A page holds at most the simulator's page size.
    fn search(&self, body: Option<Value>) -> Answer {
        let Some(request) = body.filter(Value::is_object) else { return Answer::invalid("A JSON object is required.") };
        let groups = match request.get("filterGroups") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(groups)) => groups.clone(),
            Some(_) => return Answer::invalid("filterGroups must be an array."),
        };
        let filters_in = |g: &Value| g["filters"].as_array().map_or(0, Vec::len);
        if groups.len() > MAX_GROUPS
            || groups.iter().any(|g| filters_in(g) > MAX_FILTERS_PER_GROUP)
            || groups.iter().map(filters_in).sum::<usize>() > MAX_FILTERS
        {
            return Answer::invalid("Too many filter groups or filters.");
        }
        let limit = match &request["limit"] {
            Value::Null => DEFAULT_LIMIT,
            value => match value.as_u64().map(|l| l as usize) {
                Some(limit) if (1..=MAX_LIMIT).contains(&limit) => limit,
                _ => return Answer::invalid("limit must be between 1 and 200."),
            },
        };
        let after = match &request["after"] {
            Value::Null => 0,
            Value::String(after) => match after.parse::<usize>() {
                Ok(after) => after,
                Err(_) => return Answer::invalid("after must be a paging cursor."),
            },
            Value::Number(after) => after.as_u64().unwrap_or(0) as usize,
            _ => return Answer::invalid("after must be a paging cursor."),
        };
        if after + limit > MAX_RESULTS {
            return Answer::invalid("Search results are limited to 10,000 per query.");
        }
        let asked: Option<Vec<String>> = request["properties"]
            .as_array()
            .map(|names| names.iter().filter_map(|n| n.as_str().map(str::to_string)).collect());
        // Every filter is checked, whether or not any contact reaches it.
        if let Err(message) = any_group(&groups, &|_| None) {
            return Answer::invalid(&message);
        }
        let mut found = Vec::new();
        for contact in self.contacts.values() {
            let keep = if groups.is_empty() { Ok(true) } else { any_group(&groups, &|name| contact.property(name)) };
            match keep {
                Ok(true) => found.push(contact),
                Ok(false) => {}
                Err(message) => return Answer::invalid(&message),
            }
        }
        let page: Vec<Value> =
            found.iter().skip(after).take(limit.min(self.page_size())).map(|c| c.json(asked.as_deref())).collect();
        let next = after + page.len();
        let mut answer = json!({ "total": found.len(), "results": page });
        if next < found.len() {
            answer["paging"] = json!({ "next": { "after": next.to_string() } });
        }
        Answer::json(answer)
    }

    /// `POST /crm/v3/objects/contacts/gdpr-delete` `{"objectId", "idProperty"}`: "Permanently
    /// delete a contact and all associated content to follow GDPR. Use optional property
    /// idProperty set to email to identify contact by email address. If email address is not
    /// found, the email address will be added to a blocklist and prevent it from being used in
    /// the future" (<https://developers.hubspot.com/docs/api-reference/legacy/crm/objects/contacts/gdpr/gdpr-delete-contact>).
    /// 204 with no body. The contact and its associated engagements go; its address is
    /// blocklisted ("once a contact is permanently deleted, you will not be able to add their
    /// email ... back to your account ... through HubSpot's UI or an import", while "anonymized
    /// analytics data will remain",
    /// <https://knowledge.hubspot.com/privacy-and-consent/how-do-i-perform-a-gdpr-delete-in-hubspot>).
    /// By id, an unknown contact is a 404; `idProperty` other than `email` is refused (400).
    fn gdpr_delete(&mut self, body: Option<Value>) -> Answer {
        let Some(object_id) = body.as_ref().and_then(|b| b["objectId"].as_str()).filter(|o| !o.is_empty()) else {
            return Answer::invalid("objectId is required.");
        };
        let id = match body.as_ref().and_then(|b| b["idProperty"].as_str()) {
            None => match object_id.parse::<u64>().ok().filter(|id| self.contacts.contains_key(id)) {
                Some(id) => id,
                None => return Answer::not_found(),
            },
            Some("email") => match self.by_email(object_id) {
                Some(id) => id,
                None => {
                    self.blocklist.insert(object_id.to_lowercase());
                    return Answer::no_content();
                }
            },
            Some(_) => return Answer::invalid("idProperty must be email."),
        };
        let contact = self.contacts.remove(&id).expect("found above");
        self.blocklist.extend(contact.email.map(|e| e.to_lowercase()));
        Answer::no_content()
    }
}

/// Whether any filter group matches (all its filters do); `Err` for a filter HubSpot refuses.
fn any_group(groups: &[Value], property: &dyn Fn(&str) -> Option<String>) -> Result<bool, String> {
    let mut any = false;
    for group in groups {
        let Some(filters) = group["filters"].as_array() else { return Err("A filter group needs filters.".into()) };
        let mut all = true;
        for filter in filters {
            all &= matches(filter, property)?;
        }
        any |= all;
    }
    Ok(any)
}

fn matches(filter: &Value, property: &dyn Fn(&str) -> Option<String>) -> Result<bool, String> {
    let name = filter["propertyName"].as_str().ok_or("A filter needs a propertyName.")?;
    if !SEARCHABLE.contains(&name) {
        return Err(format!("Unknown property: {name}."));
    }
    let actual = property(name).map(|v| v.to_lowercase());
    let value =
        || filter["value"].as_str().map(str::to_lowercase).ok_or_else(|| "This operator needs a value.".to_string());
    let values = || -> Result<Vec<String>, String> {
        let values = filter["values"].as_array().ok_or("This operator needs values.")?;
        Ok(values.iter().filter_map(|v| v.as_str().map(str::to_lowercase)).collect())
    };
    Ok(match filter["operator"].as_str().unwrap_or_default() {
        "EQ" => actual == Some(value()?),
        "NEQ" => actual != Some(value()?),
        "IN" => {
            let values = values()?;
            actual.is_some_and(|a| values.contains(&a))
        }
        "NOT_IN" => {
            let values = values()?;
            !actual.is_some_and(|a| values.contains(&a))
        }
        "HAS_PROPERTY" => actual.is_some(),
        "NOT_HAS_PROPERTY" => actual.is_none(),
        "CONTAINS_TOKEN" => {
            let pattern = value()?;
            actual.is_some_and(|a| {
                glob(&pattern, &a) || a.split(|c: char| !c.is_alphanumeric()).any(|token| glob(&pattern, token))
            })
        }
        other => return Err(format!("Unsupported operator: {other}.")),
    })
}

/// `properties=a,b` of a GET.
fn properties(list: Option<&String>) -> Option<Vec<String>> {
    list.map(|l| l.split(',').map(|p| p.trim().to_string()).filter(|p| !p.is_empty()).collect())
}
