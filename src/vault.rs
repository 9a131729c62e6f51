//! Encryption at rest of what identifies a person (a request's subject and `reply_to`, a dead
//! letter's body, an event's `reply_to` queue): AES-256-GCM with a random 96-bit nonce per
//! encryption, under data keys read from the environment (`[encryption] keys_env`).
//!
//! Each ciphertext is stored with the id of the key that sealed it (its own column), and is
//! bound to its row and column by the associated data: a ciphertext copied to another row or
//! column does not open. The first key of the list seals; every key listed opens, so
//! `erasure keys rotate` can re-seal old rows after a new key is put first.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use std::collections::BTreeMap;
use std::fmt;

const NONCE_BYTES: usize = 12;
const KEY_BYTES: usize = 32;

/// The data keys by id; the first listed seals.
#[derive(Clone, Default)]
pub struct Vault {
    current: Option<String>,
    keys: BTreeMap<String, Aes256Gcm>,
}

/// A ciphertext (`nonce || ciphertext || tag`) and the id of the key that sealed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    pub key_id: String,
    pub bytes: Vec<u8>,
}

/// Why a value could not be sealed or opened. Never holds the value or a key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VaultError {
    #[error("no data key is configured ([encryption] keys_env)")]
    NoKey,
    #[error("the data key `{0}` that sealed this value is not configured")]
    UnknownKey(String),
    #[error("a sealed value does not open: wrong key, another row's value, or damaged")]
    Unreadable,
}

impl fmt::Debug for Vault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Vault").field("current", &self.current).field("key_ids", &self.key_ids()).finish()
    }
}

impl Vault {
    /// `id:base64key[,id:base64key...]`, the first sealing. Each key is 32 bytes (standard
    /// base64); ids are short printable names without `:` or `,`. The message never quotes a key.
    pub fn parse(spec: &str) -> Result<Vault, String> {
        let mut vault = Vault::default();
        for entry in spec.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let Some((id, key)) = entry.split_once(':') else {
                return Err("each entry must be `id:base64key` (32-byte key)".into());
            };
            let id = id.trim();
            if id.is_empty() || id.len() > 64 || !id.chars().all(|c| c.is_ascii_graphic()) {
                return Err("a key id must be 1 to 64 printable characters".into());
            }
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(key.trim())
                .map_err(|_| format!("the key `{id}` is not valid base64"))?;
            if bytes.len() != KEY_BYTES {
                return Err(format!("the key `{id}` must be {KEY_BYTES} bytes, it has {}", bytes.len()));
            }
            let cipher = Aes256Gcm::new_from_slice(&bytes).expect("a 32-byte key");
            if vault.keys.insert(id.to_string(), cipher).is_some() {
                return Err(format!("the key id `{id}` is listed twice"));
            }
            vault.current.get_or_insert_with(|| id.to_string());
        }
        if vault.current.is_none() {
            return Err("no key is listed".into());
        }
        Ok(vault)
    }

    /// The id of the key that seals.
    pub fn current_key_id(&self) -> Option<&str> {
        self.current.as_deref()
    }

    pub fn key_ids(&self) -> Vec<&str> {
        self.keys.keys().map(String::as_str).collect()
    }

    /// Seal `plaintext` for column `column` of the row `row` (its primary key's bytes).
    pub fn seal(&self, row: &[u8], column: &str, plaintext: &[u8]) -> Result<Sealed, VaultError> {
        let key_id = self.current.as_ref().ok_or(VaultError::NoKey)?;
        let cipher = &self.keys[key_id];
        let nonce: [u8; NONCE_BYTES] = rand::random();
        let aad = associated_data(row, column);
        let ciphertext = cipher
            .encrypt(Nonce::from_slice(&nonce), Payload { msg: plaintext, aad: &aad })
            .map_err(|_| VaultError::Unreadable)?;
        let mut bytes = Vec::with_capacity(NONCE_BYTES + ciphertext.len());
        bytes.extend_from_slice(&nonce);
        bytes.extend_from_slice(&ciphertext);
        Ok(Sealed { key_id: key_id.clone(), bytes })
    }

    /// Open what `seal` made for the same row and column.
    pub fn open(&self, key_id: &str, row: &[u8], column: &str, bytes: &[u8]) -> Result<Vec<u8>, VaultError> {
        let cipher = self.keys.get(key_id).ok_or_else(|| VaultError::UnknownKey(key_id.to_string()))?;
        if bytes.len() < NONCE_BYTES {
            return Err(VaultError::Unreadable);
        }
        let (nonce, ciphertext) = bytes.split_at(NONCE_BYTES);
        let aad = associated_data(row, column);
        cipher
            .decrypt(Nonce::from_slice(nonce), Payload { msg: ciphertext, aad: &aad })
            .map_err(|_| VaultError::Unreadable)
    }
}

/// The row's key, a separator no column name holds, and the column (`table.column`).
fn associated_data(row: &[u8], column: &str) -> Vec<u8> {
    let mut aad = Vec::with_capacity(row.len() + 1 + column.len());
    aad.extend_from_slice(row);
    aad.push(0);
    aad.extend_from_slice(column.as_bytes());
    aad
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> String {
        base64::engine::general_purpose::STANDARD.encode([byte; KEY_BYTES])
    }

    #[test]
    fn a_sealed_value_opens_only_for_its_row_and_column_with_a_listed_key() {
        let vault = Vault::parse(&format!("k2:{},k1:{}", key(2), key(1))).unwrap();
        assert_eq!(vault.current_key_id(), Some("k2"));
        let sealed = vault.seal(b"row-1", "requests.identifiers", b"alice@example.com").unwrap();
        assert_eq!(sealed.key_id, "k2");
        assert!(!sealed.bytes.windows(5).any(|w| w == b"alice"));
        let opened = vault.open("k2", b"row-1", "requests.identifiers", &sealed.bytes).unwrap();
        assert_eq!(opened, b"alice@example.com");
        assert_eq!(vault.open("k2", b"row-2", "requests.identifiers", &sealed.bytes), Err(VaultError::Unreadable));
        assert_eq!(vault.open("k2", b"row-1", "dead_letters.sealed", &sealed.bytes), Err(VaultError::Unreadable));
        assert_eq!(vault.open("k1", b"row-1", "requests.identifiers", &sealed.bytes), Err(VaultError::Unreadable));
        let only_k1 = Vault::parse(&format!("k1:{}", key(1))).unwrap();
        assert_eq!(
            only_k1.open("k2", b"row-1", "requests.identifiers", &sealed.bytes),
            Err(VaultError::UnknownKey("k2".into()))
        );
    }

    #[test]
    fn each_sealing_draws_a_new_nonce() {
        let vault = Vault::parse(&format!("k1:{}", key(1))).unwrap();
        let (a, b) = (vault.seal(b"r", "c", b"same").unwrap(), vault.seal(b"r", "c", b"same").unwrap());
        assert_ne!(a.bytes, b.bytes);
    }

    #[test]
    fn a_bad_key_list_is_refused_without_quoting_a_key() {
        let short = base64::engine::general_purpose::STANDARD.encode([7u8; 16]);
        for spec in ["", "nokey", &format!("k1:{short}"), "k1:not base64!", &format!("k1:{},k1:{}", key(1), key(2))] {
            let error = Vault::parse(spec).unwrap_err();
            assert!(!error.contains(&short) && !error.contains(&key(1)), "{error}");
        }
        assert!(Vault::default().seal(b"r", "c", b"x").is_err());
    }
}
