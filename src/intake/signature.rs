//! Signed intake: the product signs each message with HMAC-SHA256 under a key id
//! (`x-erasure-key-id`, `x-erasure-signature`). Several keys can be active at once, so keys rotate
//! without downtime. There is no freshness window: the queue is durable and the `request_id`
//! makes a replayed message harmless.
//!
//! `v2=<hex>` signs the `reply_to` property and the body, so a captured message cannot be sent
//! with its events redirected: the HMAC input is the ASCII bytes `erasure-v2`, a newline, the
//! length of `reply_to` in bytes as two big-endian bytes (0 when absent), `reply_to` itself, then
//! the body, byte for byte. `v1=<hex>` signs the body alone; it is accepted while
//! `intake.accept_signature_v1` is on, and counted (`erasure_intake_signature_v1_total`). A
//! producer may send both, comma-separated (`v1=…,v2=…`); then only `v2` is checked.

use super::message::{Reason, Rejection};
use crate::config::{secret_from_env, ConfigError, IntakeSettings};
use hmac::{Hmac, Mac};
use lapin::types::FieldTable;
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;

pub const KEY_ID_HEADER: &str = "x-erasure-key-id";
pub const SIGNATURE_HEADER: &str = "x-erasure-signature";

/// The key that vouched for a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedBy {
    pub key_id: String,
    /// The key may cancel requests admitted under any key (see `intake.signing_keys`).
    pub can_cancel_any: bool,
}

struct Key {
    id: String,
    secret: SecretString,
    can_cancel_any: bool,
}

pub struct Verifier {
    required: bool,
    accept_v1: bool,
    keys: Vec<Key>,
}

impl Verifier {
    pub fn from_settings(settings: &IntakeSettings) -> Result<Verifier, ConfigError> {
        let mut keys = Vec::new();
        for (i, key) in settings.signing_keys.iter().enumerate() {
            let secret = secret_from_env(&format!("intake.signing_keys[{i}].secret_env"), &key.secret_env)?;
            keys.push(Key { id: key.id.clone(), secret, can_cancel_any: key.can_cancel_any });
        }
        if settings.require_signature && keys.is_empty() {
            return Err(ConfigError::Key {
                key: "intake.signing_keys".into(),
                origin: "settings".into(),
                message: "require_signature is on but no signing key is configured".into(),
            });
        }
        Ok(Verifier { required: settings.require_signature, accept_v1: settings.accept_signature_v1, keys })
    }

    /// The key of a correctly signed message; `None` for an unsigned one when signatures are not
    /// required (a signed one is still checked).
    pub fn check(
        &self,
        headers: Option<&FieldTable>,
        reply_to: Option<&str>,
        body: &[u8],
    ) -> Result<Option<SignedBy>, Rejection> {
        let header = |name| headers.and_then(|h| crate::amqp::header_text(h, name));
        let (key_id, signature) = match (header(KEY_ID_HEADER), header(SIGNATURE_HEADER)) {
            (None, None) if !self.required => return Ok(None),
            (Some(key_id), Some(signature)) => (key_id, signature),
            _ => return Err(refuse("the message is not signed (x-erasure-key-id and x-erasure-signature)")),
        };
        let Some(key) = self.keys.iter().find(|k| k.id == key_id) else {
            return Err(refuse("the message is signed with an unknown key id"));
        };
        let secret = key.secret.expose_secret().as_bytes();
        let signatures = Signatures::parse(&signature);
        let verified = match (signatures.v2, signatures.v1) {
            (Some(v2), _) => mac(secret, &v2_input(reply_to, body)).verify_slice(&v2).is_ok(),
            (None, Some(_)) if !self.accept_v1 => {
                return Err(refuse(
                    "v1 signatures are no longer accepted (intake.accept_signature_v1 = false); sign with v2",
                ))
            }
            (None, Some(v1)) => {
                let ok = mac(secret, body).verify_slice(&v1).is_ok();
                if ok {
                    metrics::counter!("erasure_intake_signature_v1_total").increment(1);
                }
                ok
            }
            (None, None) => false,
        };
        if verified {
            Ok(Some(SignedBy { key_id: key.id.clone(), can_cancel_any: key.can_cancel_any }))
        } else {
            Err(refuse("the signature does not match the message"))
        }
    }
}

/// The signatures a header carries, by scheme.
#[derive(Default)]
struct Signatures {
    v1: Option<Vec<u8>>,
    v2: Option<Vec<u8>>,
}

impl Signatures {
    fn parse(header: &str) -> Signatures {
        let mut found = Signatures::default();
        for part in header.split(',') {
            let Some((scheme, value)) = part.trim().split_once('=') else { continue };
            let Ok(bytes) = hex::decode(value) else { continue };
            match scheme {
                "v1" => found.v1 = Some(bytes),
                "v2" => found.v2 = Some(bytes),
                _ => {}
            }
        }
        found
    }
}

/// `v2=` + hex of HMAC-SHA256 over the v2 layout (module docs): what a producer sends.
pub fn sign(secret: &[u8], reply_to: Option<&str>, body: &[u8]) -> String {
    format!("v2={}", hex::encode(mac(secret, &v2_input(reply_to, body)).finalize().into_bytes()))
}

/// `v1=` + hex of HMAC-SHA256 of the body alone (the older scheme).
pub fn sign_v1(secret: &[u8], body: &[u8]) -> String {
    format!("v1={}", hex::encode(mac(secret, body).finalize().into_bytes()))
}

fn v2_input(reply_to: Option<&str>, body: &[u8]) -> Vec<u8> {
    let reply_to = reply_to.unwrap_or("").as_bytes();
    // AMQP's reply_to is a short string (at most 255 bytes); a longer one cannot verify.
    let length = u16::try_from(reply_to.len()).unwrap_or(u16::MAX);
    let mut input = Vec::with_capacity(13 + reply_to.len() + body.len());
    input.extend_from_slice(b"erasure-v2\n");
    input.extend_from_slice(&length.to_be_bytes());
    input.extend_from_slice(reply_to);
    input.extend_from_slice(body);
    input
}

fn mac(secret: &[u8], input: &[u8]) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(input);
    mac
}

fn refuse(detail: &str) -> Rejection {
    // The request id of an unauthenticated message is not trusted: no event is sent for it.
    Rejection { reason: Reason::BadSignature, detail: detail.into(), request_id: None }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lapin::types::AMQPValue;

    fn verifier(required: bool, accept_v1: bool) -> Verifier {
        let key = |id: &str, secret: &str, can_cancel_any| Key {
            id: id.into(),
            secret: SecretString::from(secret.to_string()),
            can_cancel_any,
        };
        Verifier { required, accept_v1, keys: vec![key("k1", "old-secret", false), key("k2", "new-secret", true)] }
    }

    fn headers(key_id: &str, signature: &str) -> FieldTable {
        let mut h = FieldTable::default();
        h.insert(KEY_ID_HEADER.into(), AMQPValue::LongString(key_id.into()));
        h.insert(SIGNATURE_HEADER.into(), AMQPValue::LongString(signature.into()));
        h
    }

    const BODY: &[u8] = br#"{"version":1}"#;

    #[test]
    fn either_active_key_verifies_and_anything_else_is_refused() {
        let v = verifier(true, true);
        let reply = Some("product.replies");
        let k1 = v.check(Some(&headers("k1", &sign(b"old-secret", reply, BODY))), reply, BODY).unwrap().unwrap();
        assert_eq!(k1, SignedBy { key_id: "k1".into(), can_cancel_any: false });
        let k2 = v.check(Some(&headers("k2", &sign(b"new-secret", None, BODY))), None, BODY).unwrap().unwrap();
        assert!(k2.can_cancel_any);
        let refused = |h: FieldTable, reply_to| v.check(Some(&h), reply_to, BODY).unwrap_err().reason;
        assert_eq!(refused(headers("k1", &sign(b"new-secret", None, BODY)), None), Reason::BadSignature, "wrong key");
        assert_eq!(refused(headers("k3", &sign(b"old-secret", None, BODY)), None), Reason::BadSignature, "unknown id");
        assert_eq!(refused(headers("k1", &sign(b"old-secret", None, b"other")), None), Reason::BadSignature);
        assert_eq!(v.check(None, None, BODY).unwrap_err().reason, Reason::BadSignature, "unsigned");
        assert_eq!(verifier(false, true).check(None, None, BODY), Ok(None), "unsigned only when not required");
        assert!(verifier(false, true).check(Some(&headers("k1", "v2=00")), None, BODY).is_err(), "bad is never ok");
    }

    /// The v2 signature covers `reply_to`: the same signed body with its events sent elsewhere, or
    /// with a `reply_to` added or removed, is refused. Bytes moved between `reply_to` and the body
    /// do not verify either (the length prefix).
    #[test]
    fn v2_binds_the_reply_to_property() {
        let v = verifier(true, true);
        let signed = headers("k1", &sign(b"old-secret", Some("product.replies"), BODY));
        assert!(v.check(Some(&signed), Some("product.replies"), BODY).is_ok());
        for other in [Some("attacker.replies"), Some("product.replies\0"), None] {
            assert_eq!(v.check(Some(&signed), other, BODY).unwrap_err().reason, Reason::BadSignature, "{other:?}");
        }
        let moved = headers("k1", &sign(b"old-secret", Some("ab"), b"c"));
        assert!(v.check(Some(&moved), Some("a"), b"bc").is_err());
    }

    #[test]
    fn v1_is_accepted_only_while_allowed_and_v2_wins_when_both_are_sent() {
        let v1 = headers("k1", &sign_v1(b"old-secret", BODY));
        assert!(verifier(true, true).check(Some(&v1), Some("anything"), BODY).is_ok());
        let off = verifier(true, false).check(Some(&v1), None, BODY).unwrap_err();
        assert_eq!(off.reason, Reason::BadSignature);
        assert!(off.detail.contains("accept_signature_v1"), "{}", off.detail);

        // A good v1 next to a wrong v2 is refused: v2 is the one checked.
        let both = format!("{},{}", sign_v1(b"old-secret", BODY), sign(b"old-secret", Some("elsewhere"), BODY));
        assert!(verifier(true, true).check(Some(&headers("k1", &both)), None, BODY).is_err());
        assert!(verifier(true, false).check(Some(&headers("k1", &both)), Some("elsewhere"), BODY).is_ok());
    }

    /// The documented layout, pinned so a producer in another language can test against it:
    /// HMAC-SHA256("secret", "erasure-v2\n" 0x00 0x01 "q" "{}").
    #[test]
    fn the_v2_layout_is_the_documented_one() {
        let mut mac = Hmac::<Sha256>::new_from_slice(b"secret").unwrap();
        mac.update(b"erasure-v2\n\x00\x01q{}");
        let expected = format!("v2={}", hex::encode(mac.finalize().into_bytes()));
        assert_eq!(sign(b"secret", Some("q"), b"{}"), expected);
        assert_eq!(
            sign(b"secret", None, b"{}"),
            sign(b"secret", Some(""), b"{}"),
            "an absent reply_to is signed as an empty one"
        );
    }
}
