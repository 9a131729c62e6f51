//! Signed intake: the product signs each message body with HMAC-SHA256 under a key id
//! (`x-erasure-key-id`, `x-erasure-signature: v1=<hex>`). Several keys can be active at once, so
//! keys rotate without downtime. There is no freshness window: the queue is durable and the
//! `request_id` makes a replayed message harmless.

use super::message::{Reason, Rejection};
use crate::config::{secret_from_env, ConfigError, IntakeSettings};
use hmac::{Hmac, Mac};
use lapin::types::FieldTable;
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;

pub const KEY_ID_HEADER: &str = "x-erasure-key-id";
pub const SIGNATURE_HEADER: &str = "x-erasure-signature";

pub struct Verifier {
    required: bool,
    keys: Vec<(String, SecretString)>,
}

impl Verifier {
    pub fn from_settings(settings: &IntakeSettings) -> Result<Verifier, ConfigError> {
        let mut keys = Vec::new();
        for (i, key) in settings.signing_keys.iter().enumerate() {
            keys.push((
                key.id.clone(),
                secret_from_env(&format!("intake.signing_keys[{i}].secret_env"), &key.secret_env)?,
            ));
        }
        if settings.require_signature && keys.is_empty() {
            return Err(ConfigError::Key {
                key: "intake.signing_keys".into(),
                origin: "settings".into(),
                message: "require_signature is on but no signing key is configured".into(),
            });
        }
        Ok(Verifier { required: settings.require_signature, keys })
    }

    /// Accept a correctly signed message; when signatures are not required, also an unsigned one
    /// (a signed one is still checked).
    pub fn check(&self, headers: Option<&FieldTable>, body: &[u8]) -> Result<(), Rejection> {
        let header = |name| headers.and_then(|h| crate::amqp::header_text(h, name));
        let (key_id, signature) = match (header(KEY_ID_HEADER), header(SIGNATURE_HEADER)) {
            (None, None) if !self.required => return Ok(()),
            (Some(key_id), Some(signature)) => (key_id, signature),
            _ => return Err(refuse("the message is not signed (x-erasure-key-id and x-erasure-signature)")),
        };
        let Some((_, secret)) = self.keys.iter().find(|(id, _)| *id == key_id) else {
            return Err(refuse("the message is signed with an unknown key id"));
        };
        if verify(secret.expose_secret().as_bytes(), &signature, body) {
            Ok(())
        } else {
            Err(refuse("the signature does not match the body"))
        }
    }
}

/// `v1=` + hex of HMAC-SHA256(secret, body): what a producer sends.
pub fn sign(secret: &[u8], body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(body);
    format!("v1={}", hex::encode(mac.finalize().into_bytes()))
}

fn verify(secret: &[u8], signature: &str, body: &[u8]) -> bool {
    let Some(given) = signature.trim().strip_prefix("v1=").and_then(|h| hex::decode(h).ok()) else { return false };
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(body);
    mac.verify_slice(&given).is_ok()
}

fn refuse(detail: &str) -> Rejection {
    // The request id of an unauthenticated message is not trusted: no event is sent for it.
    Rejection { reason: Reason::BadSignature, detail: detail.into(), request_id: None }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lapin::types::AMQPValue;

    fn verifier(required: bool) -> Verifier {
        Verifier {
            required,
            keys: vec![
                ("k1".into(), SecretString::from("old-secret")),
                ("k2".into(), SecretString::from("new-secret")),
            ],
        }
    }

    fn headers(key_id: &str, signature: &str) -> FieldTable {
        let mut h = FieldTable::default();
        h.insert(KEY_ID_HEADER.into(), AMQPValue::LongString(key_id.into()));
        h.insert(SIGNATURE_HEADER.into(), AMQPValue::LongString(signature.into()));
        h
    }

    #[test]
    fn either_active_key_verifies_and_anything_else_is_refused() {
        let body = br#"{"version":1}"#;
        let v = verifier(true);
        assert!(v.check(Some(&headers("k1", &sign(b"old-secret", body))), body).is_ok());
        assert!(v.check(Some(&headers("k2", &sign(b"new-secret", body))), body).is_ok());
        assert!(v.check(Some(&headers("k1", &sign(b"new-secret", body))), body).is_err(), "wrong key for the id");
        assert!(v.check(Some(&headers("k3", &sign(b"old-secret", body))), body).is_err(), "unknown key id");
        assert!(v.check(Some(&headers("k1", &sign(b"old-secret", b"other"))), body).is_err(), "another body");
        assert!(v.check(None, body).is_err(), "unsigned");
        assert_eq!(v.check(None, body).unwrap_err().reason, Reason::BadSignature);
        assert!(verifier(false).check(None, body).is_ok(), "unsigned is allowed only when not required");
        assert!(
            verifier(false).check(Some(&headers("k1", "v1=00")), body).is_err(),
            "a bad signature is never allowed"
        );
    }
}
