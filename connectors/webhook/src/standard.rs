//! The Standard Webhooks signature, sent beside `X-Erasure-Signature` so a service can verify our
//! calls with a ready-made verifier (spec: <https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md>,
//! "Signature scheme" and "Webhook headers"): `webhook-id`, `webhook-timestamp` (Unix seconds)
//! and `webhook-signature: v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`.
//!
//! The key: a secret written as the spec serialises one, `whsec_` and base64, is the decoded
//! bytes (give the verifier the same `whsec_…` text); any other secret is its own bytes (give the
//! verifier `whsec_` + base64 of the secret).

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use uuid::Uuid;

pub const ID_HEADER: &str = "webhook-id";
pub const TIMESTAMP_HEADER: &str = "webhook-timestamp";
pub const SIGNATURE_HEADER: &str = "webhook-signature";

const SECRET_PREFIX: &str = "whsec_";

/// The HMAC key of `secret`; `None` when it starts with `whsec_` but the rest is not base64.
pub fn key_of(secret: &str) -> Option<Vec<u8>> {
    match secret.strip_prefix(SECRET_PREFIX) {
        Some(encoded) => STANDARD.decode(encoded).ok(),
        None => Some(secret.as_bytes().to_vec()),
    }
}

/// A call's `webhook-id`: the spec's id stays the same when a failed delivery is retried, so an
/// erase's is derived from its Idempotency-Key (every attempt of one erasure); a check, lookup or
/// ping is a new question each time and gets a new id. Never contains a `.` (the signed content
/// is delimited by them).
pub fn message_id(idempotency_key: Option<&str>) -> String {
    let id = match idempotency_key {
        Some(key) => Uuid::new_v5(&Uuid::NAMESPACE_OID, key.as_bytes()),
        None => Uuid::new_v4(),
    };
    format!("msg_{}", id.simple())
}

/// `v1,<base64 HMAC-SHA256(key, "{id}.{timestamp}.{body}")>`.
pub fn sign(key: &[u8], id: &str, timestamp: u64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    // Both vectors were computed with the `standardwebhooks` package from PyPI (1.1.0):
    // `Webhook(secret).sign(msg_id, datetime.fromtimestamp(1674087231, timezone.utc), body)`, the
    // plain secret given as `"whsec_" + base64(secret)`.
    #[test]
    fn a_whsec_secret_signs_with_its_decoded_bytes() {
        let key = key_of("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        assert_eq!(key.len(), 24);
        let signature = sign(&key, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1674087231, br#"{"test": 2432232314}"#);
        assert_eq!(signature, "v1,AQG81rX2n4rTN1fkXoqILSHO9gAOcwya9dP41rhrQDI=");
    }

    #[test]
    fn a_plain_secret_signs_with_its_own_bytes() {
        let key = key_of("shared-secret").unwrap();
        assert_eq!(key, b"shared-secret");
        let signature = sign(&key, "msg_1", 1674087231, b"{}");
        assert_eq!(signature, "v1,XtEKjayCpbPcGXyc6aBm018Q4U6XsA0VaAge8o7+Mu0=");
    }

    #[test]
    fn a_whsec_secret_that_is_not_base64_has_no_key() {
        assert_eq!(key_of("whsec_not base64!"), None);
    }

    #[test]
    fn an_erase_keeps_its_id_across_attempts_and_other_calls_get_new_ones() {
        let erase = message_id(Some("5b0c1f9e-8a7d-4c1e-9f3a-2b6d8e0a1c4f:accounts"));
        assert_eq!(erase, message_id(Some("5b0c1f9e-8a7d-4c1e-9f3a-2b6d8e0a1c4f:accounts")));
        assert_ne!(erase, message_id(Some("5b0c1f9e-8a7d-4c1e-9f3a-2b6d8e0a1c4f:accounts:2")));
        assert_ne!(message_id(None), message_id(None));
        assert!(erase.starts_with("msg_") && !erase.contains('.'));
    }
}
