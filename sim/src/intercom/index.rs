//! The workspace's secondary indexes (`crate::index`): contacts by e-mail (lower case), external
//! id and phone; conversations by contact; Intercom Phone calls by conversation. A search's
//! candidates come from the `=` and `IN` filters on those fields; every candidate is still
//! checked with the search's own filter (`query::matches`).

use super::data::{Contact, Conversation, Data};
use super::query::matches;
use crate::index::narrower;
use serde_json::Value;
use std::collections::BTreeSet;

impl Data {
    /// Index contact `id` as it now is (deleted contacts stay: the searches skip them).
    pub(super) fn reindex_contact(&mut self, id: &str) {
        let id = id.to_string();
        let contact = self.contacts.get(&id);
        self.index.emails.set(&id, contact.and_then(|c| c.email.as_ref()).map(|e| e.to_lowercase()));
        self.index.external_ids.set(&id, contact.and_then(|c| c.external_id.clone()));
        self.index.phones.set(&id, contact.and_then(|c| c.phone.clone()));
    }

    /// Index conversation `id` as it now is.
    pub(super) fn reindex_conversation(&mut self, id: u64) {
        let contacts = self.conversations.get(&id).map(|c| c.contact_ids.clone()).unwrap_or_default();
        self.index.conversations_by_contact.set(&id, contacts);
    }

    /// Index call `id` as it now is.
    pub(super) fn reindex_call(&mut self, id: u64) {
        let conversation = self.calls.get(&id).map(|c| c.conversation_id);
        self.index.calls_by_conversation.set(&id, conversation);
    }

    /// The live contacts a contact search's filter matches, in id order, or why the filter is
    /// refused (once there is a live contact to try it on, as Intercom's search did when it went
    /// through every contact). The candidates come from the index when the filter is valid:
    /// whether `matches` refuses a filter depends on the filter only, every contact having every
    /// searchable field, so trying it on one contact tells; a refused filter goes through every
    /// contact and is refused the same way.
    pub(super) fn contacts_matching(&self, filter: &Value) -> Result<Vec<&Contact>, String> {
        let valid = self.contacts.values().next().is_some_and(|c| matches(filter, &|f| c.field(f)).is_ok());
        let contacts: Box<dyn Iterator<Item = &Contact>> = match self.contact_candidates(filter).filter(|_| valid) {
            Some(ids) => Box::new(ids.into_iter().filter_map(|id| self.contacts.get(&id))),
            None => Box::new(self.contacts.values()),
        };
        let mut found = Vec::new();
        for contact in contacts.filter(|c| !c.deleted) {
            if matches(filter, &|f| contact.field(f))? {
                found.push(contact);
            }
        }
        Ok(found)
    }

    /// The conversations a conversation search's filter matches, in id order, or why the filter
    /// is refused: as `contacts_matching`, every conversation having every searchable field.
    pub(super) fn conversations_matching(&self, filter: &Value) -> Result<Vec<&Conversation>, String> {
        let valid = self.conversations.values().next().is_some_and(|c| matches(filter, &|f| c.field(f)).is_ok());
        let conversations: Box<dyn Iterator<Item = &Conversation>> =
            match self.conversation_candidates(filter).filter(|_| valid) {
                Some(ids) => Box::new(ids.into_iter().filter_map(|id| self.conversations.get(&id))),
                None => Box::new(self.conversations.values()),
            };
        let mut found = Vec::new();
        for conversation in conversations {
            if matches(filter, &|f| conversation.field(f))? {
                found.push(conversation);
            }
        }
        Ok(found)
    }

    /// The contacts a contact search with this filter may find (`None`: any), in id order.
    fn contact_candidates(&self, filter: &Value) -> Option<BTreeSet<String>> {
        candidates(filter, &|field, values| match field {
            "id" => Some(values.iter().filter(|v| self.contacts.contains_key(*v)).cloned().collect()),
            "email" => Some(self.index.emails.any(values.iter().map(|v| v.to_lowercase()).collect::<Vec<_>>().iter())),
            "external_id" => Some(self.index.external_ids.any(values.iter())),
            "phone" => Some(self.index.phones.any(values.iter())),
            _ => None,
        })
    }

    /// The conversations a conversation search with this filter may find (`None`: any), in order.
    fn conversation_candidates(&self, filter: &Value) -> Option<BTreeSet<u64>> {
        candidates(filter, &|field, values| match field {
            "id" => Some(
                values.iter().filter_map(|v| v.parse().ok()).filter(|id| self.conversations.contains_key(id)).collect(),
            ),
            "contact_ids" => Some(self.index.conversations_by_contact.any(values.iter())),
            _ => None,
        })
    }

    /// The calls of conversations with these ids (as numbers; the caller checks the text), in order.
    pub(super) fn calls_of(&self, conversation_ids: &[String]) -> BTreeSet<u64> {
        let numbers: Vec<u64> = conversation_ids.iter().filter_map(|id| id.parse().ok()).collect();
        self.index.calls_by_conversation.any(numbers.iter())
    }

    /// The contacts with exactly this external id, in id order.
    pub(super) fn contacts_with_external_id(&self, external_id: &str) -> impl Iterator<Item = &String> {
        self.index.external_ids.get(external_id)
    }
}

/// The items holding one of these values in this field (`None`: a field without an index).
type Lookup<'a, Id> = dyn Fn(&str, &[String]) -> Option<BTreeSet<Id>> + 'a;

/// The items a filter may match, from its `=` and `IN` leaves on the fields `lookup` knows
/// (`lookup(field, values)`: the items holding one of the values); `None` when it cannot narrow.
/// `AND` narrows by any of its filters, `OR` only when every one of its filters does. Whatever
/// else a filter says is left to `query::matches`, which checks every candidate.
fn candidates<Id: Ord>(filter: &Value, lookup: &Lookup<'_, Id>) -> Option<BTreeSet<Id>> {
    let operator = filter["operator"].as_str()?;
    match operator {
        "AND" => filter["value"].as_array()?.iter().fold(None, |found, f| narrower(found, candidates(f, lookup))),
        "OR" => {
            let mut union = BTreeSet::new();
            for f in filter["value"].as_array()? {
                union.append(&mut candidates(f, lookup)?);
            }
            Some(union)
        }
        "=" | "IN" => {
            let values: Vec<String> = match &filter["value"] {
                Value::String(s) => vec![s.clone()],
                Value::Array(items) if operator == "IN" => {
                    items.iter().map(|i| i.as_str().map(str::to_string)).collect::<Option<_>>()?
                }
                _ => return None,
            };
            lookup(filter["field"].as_str()?, &values)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn filters_narrow_by_their_equalities_only() {
        let lookup = |field: &str, values: &[String]| {
            (field == "email").then(|| values.iter().map(|v| v.len()).collect::<BTreeSet<usize>>())
        };
        let eq = |value: &str| json!({ "field": "email", "operator": "=", "value": value });
        assert_eq!(candidates(&eq("a@x.io"), &lookup), Some(BTreeSet::from([6])));
        let any = json!({ "field": "email", "operator": "IN", "value": ["a@x.io", "bb@x.io"] });
        assert_eq!(candidates(&any, &lookup), Some(BTreeSet::from([6, 7])));
        let fuzzy = json!({ "field": "email", "operator": "~", "value": "x.io" });
        assert_eq!(candidates(&fuzzy, &lookup), None);
        let role = json!({ "field": "role", "operator": "=", "value": "user" });
        let both = json!({ "operator": "AND", "value": [role, eq("a@x.io")] });
        assert_eq!(candidates(&both, &lookup), Some(BTreeSet::from([6])));
        let either = json!({ "operator": "OR", "value": [role, eq("a@x.io")] });
        assert_eq!(candidates(&either, &lookup), None, "one side narrows nothing");
        let either = json!({ "operator": "OR", "value": [eq("bb@x.io"), eq("a@x.io")] });
        assert_eq!(candidates(&either, &lookup), Some(BTreeSet::from([6, 7])));
    }
}
