//! Secondary indexes of a vendor's records: which records hold a key (an e-mail address, a phone
//! number, an external id, an author), or a text containing a given run of characters, so that a
//! lookup reads the few records concerned instead of every record the vendor holds.
//!
//! An index only narrows the candidates: the vendor still checks each candidate with its own
//! predicate, so an answer is exactly what a scan of every record gives. A record's entries are
//! always replaced as a whole (`set`) from the record as it is after a change, so an index cannot
//! keep a key the record no longer has.

use std::borrow::Borrow;
use std::collections::{BTreeSet, HashMap};
use std::hash::Hash;

/// The records holding one key: most keys (an e-mail, an external id) belong to one record, which
/// needs no set of its own (a `BTreeSet` allocates a node of eleven entries for one).
enum Ids<Id> {
    One(Id),
    Many(BTreeSet<Id>),
}

impl<Id: Ord + Clone> Ids<Id> {
    fn insert(&mut self, id: Id) {
        match self {
            Ids::One(one) if *one == id => {}
            Ids::One(one) => *self = Ids::Many(BTreeSet::from([one.clone(), id])),
            Ids::Many(ids) => {
                ids.insert(id);
            }
        }
    }

    /// Take `id` out; `true` when none is left.
    fn remove(&mut self, id: &Id) -> bool {
        match self {
            Ids::One(one) => one == id,
            Ids::Many(ids) => {
                ids.remove(id);
                ids.is_empty()
            }
        }
    }

    /// In order.
    fn iter(&self) -> impl Iterator<Item = &Id> {
        let (one, many) = match self {
            Ids::One(id) => (Some(id), None),
            Ids::Many(ids) => (None, Some(ids)),
        };
        one.into_iter().chain(many.into_iter().flatten())
    }
}

/// Records by exact key.
pub(crate) struct Keys<K, Id> {
    by_key: HashMap<K, Ids<Id>>,
    of: HashMap<Id, Vec<K>>,
}

impl<K, Id> Default for Keys<K, Id> {
    fn default() -> Self {
        Keys { by_key: HashMap::new(), of: HashMap::new() }
    }
}

impl<K: Hash + Eq + Clone, Id: Hash + Ord + Clone> Keys<K, Id> {
    /// `id` now holds exactly `keys` (none: it is forgotten).
    pub(crate) fn set(&mut self, id: &Id, keys: impl IntoIterator<Item = K>) {
        for key in self.of.remove(id).unwrap_or_default() {
            if self.by_key.get_mut(&key).is_some_and(|ids| ids.remove(id)) {
                self.by_key.remove(&key);
            }
        }
        let keys: Vec<K> = keys.into_iter().collect();
        for key in &keys {
            match self.by_key.get_mut(key) {
                Some(ids) => ids.insert(id.clone()),
                None => {
                    self.by_key.insert(key.clone(), Ids::One(id.clone()));
                }
            }
        }
        if !keys.is_empty() {
            self.of.insert(id.clone(), keys);
        }
    }

    /// The records holding `key`, in order.
    pub(crate) fn get<Q>(&self, key: &Q) -> impl Iterator<Item = &Id>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.by_key.get(key).into_iter().flat_map(Ids::iter)
    }

    /// The records holding any of `keys`, each once, in order.
    pub(crate) fn any<'a, Q>(&self, keys: impl IntoIterator<Item = &'a Q>) -> BTreeSet<Id>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized + 'a,
    {
        keys.into_iter().flat_map(|key| self.get(key)).cloned().collect()
    }
}

/// Records by the runs of three characters of their texts: the candidates for "the text
/// contains this" (a fuzzy search), for a run of at least three characters.
pub(crate) struct Substrings<Id> {
    by_gram: HashMap<[char; 3], BTreeSet<Id>>,
    of: HashMap<Id, Vec<[char; 3]>>,
}

impl<Id> Default for Substrings<Id> {
    fn default() -> Self {
        Substrings { by_gram: HashMap::new(), of: HashMap::new() }
    }
}

impl<Id: Hash + Ord + Clone> Substrings<Id> {
    /// `id`'s texts are now exactly `texts` (none: it is forgotten).
    pub(crate) fn set<'a>(&mut self, id: &Id, texts: impl IntoIterator<Item = &'a str>) {
        for gram in self.of.remove(id).unwrap_or_default() {
            if let Some(ids) = self.by_gram.get_mut(&gram) {
                ids.remove(id);
                if ids.is_empty() {
                    self.by_gram.remove(&gram);
                }
            }
        }
        let mut grams: Vec<[char; 3]> = texts.into_iter().flat_map(grams).collect();
        grams.sort_unstable();
        grams.dedup();
        for gram in &grams {
            self.by_gram.entry(*gram).or_default().insert(id.clone());
        }
        if !grams.is_empty() {
            self.of.insert(id.clone(), grams);
        }
    }

    /// Every record one of whose texts may contain `needle` (a superset: the caller checks), in
    /// order; `None` when `needle` is shorter than three characters and narrows nothing.
    pub(crate) fn candidates(&self, needle: &str) -> Option<BTreeSet<Id>> {
        let wanted = grams(needle);
        if wanted.is_empty() {
            return None;
        }
        let mut lists = Vec::with_capacity(wanted.len());
        for gram in &wanted {
            match self.by_gram.get(gram) {
                Some(ids) => lists.push(ids),
                None => return Some(BTreeSet::new()),
            }
        }
        lists.sort_by_key(|ids| ids.len());
        let (fewest, others) = lists.split_first().expect("at least one run");
        Some(fewest.iter().filter(|id| others.iter().all(|ids| ids.contains(*id))).cloned().collect())
    }
}

/// The runs of three characters of `text`.
fn grams(text: &str) -> Vec<[char; 3]> {
    let chars: Vec<char> = text.chars().collect();
    chars.windows(3).map(|w| [w[0], w[1], w[2]]).collect()
}

/// The smaller of two candidate sets, `None` standing for every record.
pub(crate) fn narrower<Id>(a: Option<BTreeSet<Id>>, b: Option<BTreeSet<Id>>) -> Option<BTreeSet<Id>> {
    match (a, b) {
        (Some(a), Some(b)) => Some(if b.len() < a.len() { b } else { a }),
        (a, b) => a.or(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_follow_each_record_as_it_changes() {
        let mut keys: Keys<String, u64> = Keys::default();
        keys.set(&1, ["a@x.io".to_string(), "b@x.io".to_string()]);
        keys.set(&2, ["a@x.io".to_string()]);
        assert_eq!(keys.get("a@x.io").copied().collect::<Vec<_>>(), [1, 2]);
        keys.set(&1, ["c@x.io".to_string()]);
        assert_eq!(keys.get("a@x.io").copied().collect::<Vec<_>>(), [2]);
        assert_eq!(keys.get("b@x.io").count(), 0, "a key the record lost is gone");
        assert_eq!(keys.any(["c@x.io", "a@x.io"]), BTreeSet::from([1, 2]));
        keys.set(&2, []);
        assert_eq!(keys.get("a@x.io").count(), 0);
        assert!(keys.by_key.len() == 1 && keys.of.len() == 1, "nothing left of a forgotten record");
    }

    #[test]
    fn substrings_give_every_text_that_may_contain_a_run() {
        let mut texts: Substrings<u64> = Substrings::default();
        texts.set(&1, ["joann@x.io"]);
        texts.set(&2, ["ann@x.io", "ann.other@y.io"]);
        texts.set(&3, ["bob@x.io"]);
        assert_eq!(texts.candidates("ann@x.io"), Some(BTreeSet::from([1, 2])));
        assert_eq!(texts.candidates("@x.io"), Some(BTreeSet::from([1, 2, 3])));
        assert_eq!(texts.candidates("zzz"), Some(BTreeSet::new()));
        assert_eq!(texts.candidates("an"), None, "too short to narrow");
        texts.set(&2, ["ann.other@y.io"]);
        assert_eq!(texts.candidates("ann@x"), Some(BTreeSet::from([1])));
        texts.set(&1, []);
        texts.set(&2, []);
        texts.set(&3, []);
        assert!(texts.by_gram.is_empty() && texts.of.is_empty());
    }

    #[test]
    fn narrower_keeps_the_smaller_set() {
        let small = Some(BTreeSet::from([1]));
        assert_eq!(narrower(small.clone(), Some(BTreeSet::from([1, 2]))), small);
        assert_eq!(narrower(None, small.clone()), small);
        assert_eq!(narrower::<u64>(None, None), None);
    }
}
