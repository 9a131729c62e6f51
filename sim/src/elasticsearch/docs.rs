//! One index's documents, and which documents hold a value at a `_source` path: the lookup a
//! `term`/`terms` query uses instead of reading every document. A path's lookup is built the first
//! time a query asks for it, from `query::field_values` (and the `text` analysis), the very
//! functions `SimQuery::matches` reads a document with, and kept up to date by every insertion
//! and removal after that. Documents change only through `Docs`, so a lookup cannot go stale.

use super::mapping::{standard_tokens, Mapping};
use super::query::{field_values, SimQuery};
use crate::index::narrower;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, HashMap};

pub(crate) struct Doc {
    pub(super) source: Value,
    pub(super) seq_no: u64,
}

/// A `_source` path, and whether its values are analysed (a `text` field: its tokens).
type Path = (String, bool);

#[derive(Default)]
pub(crate) struct Docs {
    /// By id.
    docs: BTreeMap<String, Doc>,
    /// For each path asked so far: value (or token) -> the ids of the documents holding it.
    lookups: HashMap<Path, HashMap<String, BTreeSet<String>>>,
}

impl Docs {
    pub(super) fn len(&self) -> usize {
        self.docs.len()
    }

    pub(super) fn get(&self, id: &str) -> Option<&Doc> {
        self.docs.get(id)
    }

    /// Every document, in id order.
    pub(super) fn iter(&self) -> impl Iterator<Item = (&String, &Doc)> {
        self.docs.iter()
    }

    pub(super) fn values(&self) -> impl Iterator<Item = &Doc> {
        self.docs.values()
    }

    pub(super) fn insert(&mut self, id: String, doc: Doc) {
        self.remove(&id);
        for ((path, analysed), lookup) in &mut self.lookups {
            for key in keys(&doc.source, path, *analysed) {
                lookup.entry(key).or_default().insert(id.clone());
            }
        }
        self.docs.insert(id, doc);
    }

    pub(super) fn remove(&mut self, id: &str) -> Option<Doc> {
        let doc = self.docs.remove(id)?;
        for ((path, analysed), lookup) in &mut self.lookups {
            for key in keys(&doc.source, path, *analysed) {
                if let Some(ids) = lookup.get_mut(&key) {
                    ids.remove(id);
                    if ids.is_empty() {
                        lookup.remove(&key);
                    }
                }
            }
        }
        Some(doc)
    }

    /// A concurrent writer changed the document: a new sequence number, the same `_source`.
    pub(super) fn set_seq_no(&mut self, id: &str, seq_no: u64) {
        if let Some(doc) = self.docs.get_mut(id) {
            doc.seq_no = seq_no;
        }
    }

    /// The ids of the documents holding one of `values` at `path` (its tokens if `analysed`).
    pub(super) fn holding(&mut self, path: &str, analysed: bool, values: &[String]) -> BTreeSet<String> {
        let docs = &self.docs;
        let lookup = self.lookups.entry((path.to_string(), analysed)).or_insert_with(|| {
            let mut lookup: HashMap<String, BTreeSet<String>> = HashMap::new();
            for (id, doc) in docs {
                for key in keys(&doc.source, path, analysed) {
                    lookup.entry(key).or_default().insert(id.clone());
                }
            }
            lookup
        });
        values.iter().filter_map(|value| lookup.get(value)).flatten().cloned().collect()
    }
}

/// The documents of `docs` a query may match, its fields typed by `mapping` (`None`: any), in id
/// order: from its `term`/`terms` queries, as `SimQuery::matches` reads them (a field the mapping
/// lacks matches nothing). A `bool` narrows by any of its `must`/`filter` clauses, or, when at
/// least one `should` clause must match, by all of its `should` clauses together.
pub(super) fn candidates(query: &SimQuery, mapping: &Mapping, docs: &mut Docs) -> Option<BTreeSet<String>> {
    match query {
        SimQuery::All => None,
        SimQuery::None => Some(BTreeSet::new()),
        SimQuery::Terms { field, values } => Some(match mapping.get(field) {
            None => BTreeSet::new(),
            Some(mapped) => docs.holding(&mapped.source, mapped.kind == "text", values),
        }),
        SimQuery::Bool { must, should, minimum_should_match, .. } => {
            let mut found = None;
            for clause in must {
                found = narrower(found, candidates(clause, mapping, docs));
            }
            if *minimum_should_match == 0 || should.is_empty() {
                return found;
            }
            let mut any = BTreeSet::new();
            for clause in should {
                let Some(mut some) = candidates(clause, mapping, docs) else { return found };
                any.append(&mut some);
            }
            narrower(found, Some(any))
        }
    }
}

/// What a document holds at `path`: its values, or their tokens.
fn keys(source: &Value, path: &str, analysed: bool) -> Vec<String> {
    let values = field_values(source, path);
    if analysed {
        values.iter().flat_map(|v| standard_tokens(v)).collect()
    } else {
        values
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::elasticsearch::query::SimQuery;
    use serde_json::json;

    fn doc(source: Value) -> Doc {
        Doc { source, seq_no: 1 }
    }

    #[test]
    fn a_lookup_follows_insertions_and_removals_after_it_is_built() {
        let mut docs = Docs::default();
        docs.insert("d1".into(), doc(json!({ "user": { "email": "Ana@example.com" } })));
        let wanted = ["Ana@example.com".to_string()];
        assert_eq!(docs.holding("user.email", false, &wanted), BTreeSet::from(["d1".to_string()]));
        assert_eq!(docs.holding("user.email", true, &["ana".into()]), BTreeSet::from(["d1".to_string()]));
        docs.insert("d2".into(), doc(json!({ "user.email": ["x@y.io", "Ana@example.com"] })));
        assert_eq!(docs.holding("user.email", false, &wanted).len(), 2, "dotted keys and arrays too");
        docs.remove("d1");
        assert_eq!(docs.holding("user.email", false, &wanted), BTreeSet::from(["d2".to_string()]));
        docs.insert("d2".into(), doc(json!({ "user": { "email": "bo@example.com" } })));
        assert!(docs.holding("user.email", false, &wanted).is_empty(), "a replaced document's old values are gone");
        assert!(docs.holding("user.email", true, &["ana".into()]).is_empty());
        docs.remove("d2");
        assert!(docs.lookups.values().all(HashMap::is_empty), "nothing left of removed documents");
    }

    /// `Data::matching` answers what a scan of every document answers, for every query shape
    /// the simulator parses, before and after documents come and go.
    #[test]
    fn indexed_matching_answers_as_a_scan_does() {
        use crate::elasticsearch::data::Data;
        let mut data = Data::default();
        let add = |data: &mut Data, i: usize| {
            let email = format!("{}{}@{}", ["Ana", "bo"][i % 2], i % 7, ["x.io", "y.io"][i % 3 % 2]);
            let source = match i % 3 {
                0 => json!({ "user": { "email": email, "id": format!("u_{}", i % 5) }, "n": i % 4 }),
                1 => json!({ "user.email": [email, "shared@x.io"], "ok": i % 2 == 0 }),
                _ => json!({ "message": "no user" }),
            };
            data.index(["logs-1", "logs-2"][i % 2], source);
        };
        for i in 0..60 {
            add(&mut data, i);
        }
        let queries = [
            json!({ "terms": { "user.email.keyword": ["Ana3@y.io", "bo4@x.io"] } }),
            json!({ "terms": { "user.email": ["ana3", "x.io"] } }),
            json!({ "term": { "user.id": { "value": "u_2" } } }),
            json!({ "term": { "user.id.keyword": "u_2" } }),
            json!({ "term": { "n": 3 } }),
            json!({ "term": { "ok": true } }),
            json!({ "terms": { "client.phone": ["+331"] } }),
            json!({ "match_all": {} }),
            json!({ "match_none": {} }),
            json!({ "bool": { "should": [{ "terms": { "user.email.keyword": ["shared@x.io"] } },
                                         { "term": { "user.id.keyword": "u_1" } }], "minimum_should_match": 1 } }),
            json!({ "bool": { "should": [{ "terms": { "user.email.keyword": ["shared@x.io"] } },
                                         { "term": { "user.id.keyword": "u_1" } }], "minimum_should_match": 2 } }),
            json!({ "bool": { "filter": [{ "term": { "user.email.keyword": "shared@x.io" } }],
                              "must_not": [{ "term": { "ok": true } }] } }),
            json!({ "bool": { "must_not": [{ "term": { "user.id.keyword": "u_1" } }] } }),
            json!({ "bool": { "must": [{ "match_all": {} }],
                              "should": [{ "term": { "user.id.keyword": "u_1" } }] } }),
            json!({ "bool": { "should": [{ "match_all": {} }, { "term": { "n": 1 } }], "minimum_should_match": 1 } }),
        ];
        let names = vec!["logs-1".to_string(), "logs-2".to_string()];
        for round in 0..2 {
            for query in &queries {
                let query = SimQuery::parse(query).ok().unwrap();
                let mut scanned = Vec::new();
                for name in &names {
                    let mapping = data.mappings.get(name).cloned().unwrap_or_default();
                    for (id, doc) in data.indices[name].iter() {
                        if query.matches(&doc.source, Some(&mapping)) {
                            scanned.push((name.clone(), id.clone(), doc.seq_no));
                        }
                    }
                }
                assert_eq!(data.matching(&names, &query), scanned, "round {round}");
            }
            let ids: Vec<String> = data.indices["logs-1"].iter().map(|(id, _)| id.clone()).step_by(3).collect();
            for id in ids {
                data.indices.get_mut("logs-1").unwrap().remove(&id);
            }
            for i in 60..90 {
                add(&mut data, i);
            }
        }
    }
}
