//! Keyed hashes of identifiers: what logs, events and search use instead of an e-mail or phone.

use erasure_connector::Subject;
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;

#[derive(Clone)]
pub struct Hasher {
    key: SecretString,
}

impl Hasher {
    pub fn new(key: SecretString) -> Self {
        Hasher { key }
    }

    /// The hash of one normalised identifier of one kind (`email`, `phone`, `user_id`, `id`).
    /// Private: identifiers reach it only from a `Subject`, so only normalised ones are hashed.
    fn identifier(&self, kind: &str, value: &str) -> String {
        self.digest(&[kind.as_bytes(), b":", value.as_bytes()])
    }

    /// One hash per identifier of the subject, for finding a person's requests.
    pub fn identifiers(&self, subject: &Subject) -> Vec<String> {
        subject.identifiers().into_iter().map(|(kind, value)| self.identifier(kind, value)).collect()
    }

    /// A short hash of the whole subject, for log lines.
    pub fn subject(&self, subject: &Subject) -> String {
        let mut all = self.identifiers(subject);
        all.sort();
        self.digest(&[all.join(",").as_bytes()])[..16].to_string()
    }

    fn digest(&self, parts: &[&[u8]]) -> String {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(self.key.expose_secret().as_bytes()).expect("HMAC takes any key length");
        for part in parts {
            mac.update(part);
        }
        hex::encode(mac.finalize().into_bytes())
    }
}
