//! Keyed hashes of identifiers: what logs, events and search use instead of an e-mail or phone.
//!
//! The hash key can be rotated: the current key (`[security] hash_key_env`) hashes what is new,
//! and retired keys (`[security] retired_hash_keys_env`) keep hashing for lookups until nothing
//! depends on them. A request stores its identifiers' hashes under every live key, so a legal
//! hold entry or a forgotten request's tombstone hashed under a retired key still matches. Each
//! key is known by an id derived from it (a fingerprint that cannot be turned back into the key),
//! stored beside the hashes it made.

use erasure_connector::Subject;
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;

#[derive(Clone)]
pub struct Hasher {
    /// The current key first, then the retired ones.
    keys: Vec<HashKey>,
}

#[derive(Clone)]
struct HashKey {
    id: String,
    key: SecretString,
}

impl HashKey {
    fn new(key: SecretString) -> HashKey {
        let id = digest(&key, &[b"erasure-worker hash key id"])[..12].to_string();
        HashKey { id, key }
    }
}

impl Hasher {
    pub fn new(key: SecretString) -> Self {
        Hasher { keys: vec![HashKey::new(key)] }
    }

    /// Add retired keys: they hash for lookups only. A retired key equal to the current one is
    /// dropped.
    pub fn with_retired(mut self, retired: Vec<SecretString>) -> Self {
        for key in retired.into_iter().map(HashKey::new) {
            if self.keys.iter().all(|k| k.id != key.id) {
                self.keys.push(key);
            }
        }
        self
    }

    /// The id of the key that hashes new values.
    pub fn key_id(&self) -> &str {
        &self.keys[0].id
    }

    /// Every live key's id, the current one first.
    pub fn key_ids(&self) -> Vec<String> {
        self.keys.iter().map(|k| k.id.clone()).collect()
    }

    /// One hash per identifier of the subject under every live key (the current key's first),
    /// for storing with a request and for finding a person's requests, tombstones included.
    pub fn identifiers(&self, subject: &Subject) -> Vec<String> {
        self.keys.iter().flat_map(|key| identifier_hashes(key, subject)).collect()
    }

    /// The hash of the subject's one identifier under the current key, with that key's id: what a
    /// legal hold entry stores.
    pub fn single_identifier(&self, subject: &Subject) -> Option<(String, String)> {
        let key = &self.keys[0];
        match identifier_hashes(key, subject).as_slice() {
            [hash] => Some((key.id.clone(), hash.clone())),
            _ => None,
        }
    }

    /// A short hash of the whole subject under the current key, for log lines.
    pub fn subject(&self, subject: &Subject) -> String {
        let key = &self.keys[0];
        let mut all = identifier_hashes(key, subject);
        all.sort();
        digest(&key.key, &[all.join(",").as_bytes()])[..16].to_string()
    }
}

/// The hash of each normalised identifier (`kind:value`) of the subject under one key. Only a
/// `Subject`'s identifiers reach it, so only normalised ones are hashed.
fn identifier_hashes(key: &HashKey, subject: &Subject) -> Vec<String> {
    subject
        .identifiers()
        .into_iter()
        .map(|(kind, value)| digest(&key.key, &[kind.as_bytes(), b":", value.as_bytes()]))
        .collect()
}

fn digest(key: &SecretString, parts: &[&[u8]]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key.expose_secret().as_bytes()).expect("HMAC takes any key length");
    for part in parts {
        mac.update(part);
    }
    hex::encode(mac.finalize().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use erasure_connector::subject::RawSubject;

    fn subject(emails: &[&str]) -> Subject {
        Subject::new(RawSubject { emails: emails.iter().map(|e| e.to_string()).collect(), ..RawSubject::default() })
            .unwrap()
    }

    fn key(s: &str) -> SecretString {
        SecretString::from(s.to_string())
    }

    #[test]
    fn a_retired_key_adds_its_hashes_after_the_current_keys() {
        let old = Hasher::new(key("the-old-hash-key-0123456789"));
        let new = Hasher::new(key("the-new-hash-key-0123456789"));
        let both =
            Hasher::new(key("the-new-hash-key-0123456789")).with_retired(vec![key("the-old-hash-key-0123456789")]);
        let s = subject(&["a@example.com", "b@example.com"]);
        let expected: Vec<String> = new.identifiers(&s).into_iter().chain(old.identifiers(&s)).collect();
        assert_eq!(both.identifiers(&s), expected);
        assert_eq!(both.key_ids(), vec![new.key_id().to_string(), old.key_id().to_string()]);
        assert_eq!(both.subject(&s), new.subject(&s), "log lines use the current key only");
    }

    #[test]
    fn key_ids_are_stable_distinct_and_never_the_key() {
        let a = Hasher::new(key("hash-key-a-0123456789abcdef"));
        assert_eq!(a.key_id(), Hasher::new(key("hash-key-a-0123456789abcdef")).key_id());
        assert_ne!(a.key_id(), Hasher::new(key("hash-key-b-0123456789abcdef")).key_id());
        assert_eq!(a.key_id().len(), 12);
        assert!(!"hash-key-a-0123456789abcdef".contains(a.key_id()));
    }

    #[test]
    fn the_current_key_listed_again_as_retired_adds_nothing() {
        let h = Hasher::new(key("hash-key-a-0123456789abcdef")).with_retired(vec![key("hash-key-a-0123456789abcdef")]);
        assert_eq!(h.key_ids().len(), 1);
        assert_eq!(h.identifiers(&subject(&["a@example.com"])).len(), 1);
    }

    #[test]
    fn a_legal_hold_entry_is_hashed_under_the_current_key_only() {
        let h = Hasher::new(key("hash-key-a-0123456789abcdef")).with_retired(vec![key("hash-key-b-0123456789abcdef")]);
        let (id, hash) = h.single_identifier(&subject(&["a@example.com"])).unwrap();
        assert_eq!(id, h.key_id());
        assert_eq!(hash, h.identifiers(&subject(&["a@example.com"]))[0]);
        assert!(h.single_identifier(&subject(&["a@example.com", "b@example.com"])).is_none());
    }
}
