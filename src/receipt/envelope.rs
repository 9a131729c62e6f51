//! The signed envelope `{"receipt": {...}, "signature": {"alg": "Ed25519", "key_id": "...",
//! "value": "<base64url>"}}`: the signature covers the RFC 8785 bytes of `receipt`, so any
//! re-indented copy verifies and any changed value does not.

use super::jcs::{canonical, CanonicalError};
use super::keys::Signer;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ed25519_dalek::{Signature, VerifyingKey};
use serde_json::{json, Value};

pub const ALGORITHM: &str = "Ed25519";

/// `receipt` signed by `signer`.
pub fn sign(receipt: Value, signer: &Signer) -> Result<Value, CanonicalError> {
    let signature = signer.sign(&canonical(&receipt)?);
    Ok(json!({
        "receipt": receipt,
        "signature": { "alg": ALGORITHM, "key_id": signer.key_id, "value": URL_SAFE_NO_PAD.encode(signature) },
    }))
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum VerifyError {
    #[error("not a signed receipt: {0}")]
    Malformed(&'static str),
    #[error("no public key given for key id {0:?}")]
    UnknownKey(String),
    #[error("the receipt cannot be canonicalised: {0}")]
    Canonical(#[from] CanonicalError),
    #[error("the signature does not match the receipt: it was changed, or signed by another key")]
    Mismatch,
}

/// A verified receipt's key id.
#[derive(Debug, PartialEq, Eq)]
pub struct Verified {
    pub key_id: String,
}

/// Check `envelope` against `keys` (key id, public key; a key without an id is tried for any).
pub fn verify(envelope: &Value, keys: &[(Option<String>, VerifyingKey)]) -> Result<Verified, VerifyError> {
    let receipt =
        envelope.get("receipt").filter(|r| r.is_object()).ok_or(VerifyError::Malformed("no receipt object"))?;
    let signature = envelope.get("signature").ok_or(VerifyError::Malformed("no signature"))?;
    if signature.get("alg").and_then(Value::as_str) != Some(ALGORITHM) {
        return Err(VerifyError::Malformed("the signature's alg is not Ed25519"));
    }
    let key_id = signature.get("key_id").and_then(Value::as_str).ok_or(VerifyError::Malformed("no key_id"))?;
    let value = signature
        .get("value")
        .and_then(Value::as_str)
        .and_then(|v| URL_SAFE_NO_PAD.decode(v).ok())
        .and_then(|bytes| <[u8; 64]>::try_from(bytes).ok())
        .ok_or(VerifyError::Malformed("the signature's value is not 64 bytes in base64url"))?;
    let candidates: Vec<&VerifyingKey> =
        keys.iter().filter(|(id, _)| id.as_deref().is_none_or(|id| id == key_id)).map(|(_, k)| k).collect();
    if candidates.is_empty() {
        return Err(VerifyError::UnknownKey(key_id.to_string()));
    }
    let message = canonical(receipt)?;
    let signature = Signature::from_bytes(&value);
    if candidates.iter().any(|key| key.verify_strict(&message, &signature).is_ok()) {
        Ok(Verified { key_id: key_id.to_string() })
    } else {
        Err(VerifyError::Mismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signer() -> Signer {
        Signer::new("receipts-test".into(), [42; 32])
    }

    #[test]
    fn a_signed_receipt_verifies_reindented_and_fails_after_any_change() {
        let signer = signer();
        let envelope = sign(json!({ "state": "completed", "systems": [{ "attempts": 1 }] }), &signer).unwrap();
        let keys = [(Some("receipts-test".to_string()), signer.public())];
        assert_eq!(verify(&envelope, &keys), Ok(Verified { key_id: "receipts-test".into() }));
        let pretty: Value = serde_json::from_str(&serde_json::to_string_pretty(&envelope).unwrap()).unwrap();
        assert!(verify(&pretty, &keys).is_ok());

        let mut changed = envelope.clone();
        changed["receipt"]["systems"][0]["attempts"] = json!(2);
        assert_eq!(verify(&changed, &keys), Err(VerifyError::Mismatch));
        let other = Signer::new("receipts-test".into(), [7; 32]);
        assert_eq!(verify(&envelope, &[(None, other.public())]), Err(VerifyError::Mismatch));
        assert_eq!(
            verify(&envelope, &[(Some("another".into()), signer.public())]),
            Err(VerifyError::UnknownKey("receipts-test".into()))
        );
    }
}
