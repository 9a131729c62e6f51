//! The receipts' Ed25519 keys: the signing key from the environment (`receipts.signing_key_env`,
//! its 32-byte seed in base64url), its id (`receipts.key_id`), and the public keys published as
//! a JWK set (RFC 8037: `kty` OKP, `crv` Ed25519) at `/.well-known/erasure-keys`, the retired
//! ones (`receipts.retired_keys`) included so that older receipts still verify. Read at start-up
//! like every secret (this impl of `Settings` lives here, as TLS's does: config imports nothing
//! of this). The signing key is never printed.

use crate::config::{secret_from_env, ConfigError, Settings};
use base64::engine::general_purpose::{URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine;
use ed25519_dalek::{SigningKey, VerifyingKey};
use secrecy::ExposeSecret;
use serde_json::{json, Value};

/// The key that signs receipts, and its id.
pub struct Signer {
    pub key_id: String,
    key: SigningKey,
}

impl Signer {
    pub fn new(key_id: String, seed: [u8; 32]) -> Signer {
        Signer { key_id, key: SigningKey::from_bytes(&seed) }
    }

    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        use ed25519_dalek::Signer as _;
        self.key.sign(message).to_bytes()
    }

    pub fn public(&self) -> VerifyingKey {
        self.key.verifying_key()
    }
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer").field("key_id", &self.key_id).finish_non_exhaustive()
    }
}

/// What the worker signs with (if `receipts.signing_key_env` names a set variable) and publishes.
#[derive(Debug, Default)]
pub struct ReceiptKeys {
    pub signer: Option<Signer>,
    /// Every public key, the signer's first.
    pub published: Vec<(String, VerifyingKey)>,
}

impl ReceiptKeys {
    /// The JWK set of `/.well-known/erasure-keys`.
    pub fn jwk_set(&self) -> Value {
        let keys: Vec<Value> = self.published.iter().map(|(key_id, key)| jwk(key_id, key)).collect();
        json!({ "keys": keys })
    }
}

/// One public key as a JWK (RFC 8037 §2).
pub fn jwk(key_id: &str, key: &VerifyingKey) -> Value {
    json!({
        "kty": "OKP",
        "crv": "Ed25519",
        "x": URL_SAFE_NO_PAD.encode(key.as_bytes()),
        "kid": key_id,
        "alg": "EdDSA",
        "use": "sig",
    })
}

/// 32 bytes from base64url (padded or not; standard base64 too, since keys get pasted).
pub fn key_bytes(text: &str) -> Option<[u8; 32]> {
    let text = text.trim();
    let bytes = URL_SAFE_NO_PAD
        .decode(text.trim_end_matches('='))
        .or_else(|_| URL_SAFE.decode(text))
        .or_else(|_| base64::engine::general_purpose::STANDARD.decode(text))
        .ok()?;
    bytes.try_into().ok()
}

/// A public key from base64url.
pub fn public_key(text: &str) -> Option<VerifyingKey> {
    VerifyingKey::from_bytes(&key_bytes(text)?).ok()
}

impl Settings {
    /// The receipt keys: no signer when `receipts.signing_key_env` names an unset variable
    /// (receipts are then not served; `check-config` says so); a malformed key or public key
    /// stops start-up, naming the key.
    pub fn receipt_keys(&self) -> Result<ReceiptKeys, ConfigError> {
        let settings = &self.receipts;
        let mut keys = ReceiptKeys::default();
        if std::env::var_os(&settings.signing_key_env).is_some() {
            let seed = secret_from_env("receipts.signing_key_env", &settings.signing_key_env)?;
            let seed = key_bytes(seed.expose_secret()).ok_or_else(|| {
                self.key_error(
                    "receipts.signing_key_env",
                    format!(
                        "the environment variable {} does not hold an Ed25519 key: 32 bytes in base64url",
                        settings.signing_key_env
                    ),
                )
            })?;
            if settings.key_id.trim().is_empty() {
                return Err(self.key_error("receipts.key_id", "a signing key needs a key id".into()));
            }
            let signer = Signer::new(settings.key_id.clone(), seed);
            keys.published.push((signer.key_id.clone(), signer.public()));
            keys.signer = Some(signer);
        }
        for (i, retired) in settings.retired_keys.iter().enumerate() {
            let key = public_key(&retired.public_key).ok_or_else(|| {
                self.key_error(
                    &format!("receipts.retired_keys[{i}].public_key"),
                    "not an Ed25519 public key: 32 bytes in base64url".into(),
                )
            })?;
            if keys.published.iter().any(|(id, _)| *id == retired.key_id) {
                return Err(self.key_error(
                    &format!("receipts.retired_keys[{i}].key_id"),
                    "this key id is already published".into(),
                ));
            }
            keys.published.push((retired.key_id.clone(), key));
        }
        Ok(keys)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 8032 §7.1, test 1: the seed, its public key and the signature of the empty message.
    #[test]
    fn signs_as_rfc_8032_says() {
        let seed = hex::decode("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60").unwrap();
        let signer = Signer::new("k".into(), seed.try_into().unwrap());
        assert_eq!(
            hex::encode(signer.public().as_bytes()),
            "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
        );
        assert_eq!(
            hex::encode(signer.sign(b"")),
            "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
        );
        assert!(!format!("{signer:?}").contains("9d61"), "the key never prints");
    }

    #[test]
    fn keys_read_from_base64url_with_or_without_padding() {
        let bytes = [7u8; 32];
        assert_eq!(key_bytes(&URL_SAFE_NO_PAD.encode(bytes)), Some(bytes));
        assert_eq!(key_bytes(&format!("{}\n", URL_SAFE.encode(bytes))), Some(bytes));
        assert_eq!(key_bytes(&URL_SAFE_NO_PAD.encode([7u8; 31])), None);
        assert_eq!(key_bytes("not base64!"), None);
    }
}
