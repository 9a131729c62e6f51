//! The public keys `erasure receipt verify --public-key KEY` is given: a key in base64url, or a
//! file holding one, a JWK, or a JWK set (what `/.well-known/erasure-keys` serves), whose keys
//! are then matched by key id.

use super::keys::public_key;
use ed25519_dalek::VerifyingKey;
use serde_json::Value;

/// `(key id if known, key)` pairs, or why `argument` gives none.
pub fn public_keys(argument: &str) -> Result<Vec<(Option<String>, VerifyingKey)>, String> {
    let path = std::path::Path::new(argument);
    if !path.is_file() {
        return public_key(argument)
            .map(|key| vec![(None, key)])
            .ok_or_else(|| "--public-key is neither a file nor an Ed25519 public key in base64url".to_string());
    }
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    match serde_json::from_str::<Value>(&text) {
        Ok(Value::Object(object)) => {
            let jwks: Vec<&Value> = match object.get("keys").and_then(Value::as_array) {
                Some(keys) => keys.iter().collect(),
                None => vec![],
            };
            let object = Value::Object(object.clone());
            let jwks = if jwks.is_empty() { vec![&object] } else { jwks };
            let keys: Vec<_> = jwks.into_iter().filter_map(from_jwk).collect();
            if keys.is_empty() {
                return Err(format!("{} holds no Ed25519 public key (OKP JWK)", path.display()));
            }
            Ok(keys)
        }
        _ => public_key(&text).map(|key| vec![(None, key)]).ok_or_else(|| {
            format!("{} holds neither a JWK set nor an Ed25519 public key in base64url", path.display())
        }),
    }
}

fn from_jwk(jwk: &Value) -> Option<(Option<String>, VerifyingKey)> {
    let field = |name| jwk.get(name).and_then(Value::as_str);
    if field("kty") != Some("OKP") || field("crv") != Some("Ed25519") {
        return None;
    }
    Some((field("kid").map(str::to_string), public_key(field("x")?)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::receipt::keys::{ReceiptKeys, Signer};

    #[test]
    fn a_key_a_jwk_set_file_or_a_key_file() {
        let signer = Signer::new("receipts-1".into(), [3; 32]);
        let public = signer.public();
        let keys = ReceiptKeys { published: vec![("receipts-1".into(), public)], signer: Some(signer) };
        let x = keys.jwk_set()["keys"][0]["x"].as_str().unwrap().to_string();
        assert_eq!(public_keys(&x).unwrap(), vec![(None, public)]);

        let dir = std::env::temp_dir().join(format!("receipt-keys-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let set = dir.join("keys.json");
        std::fs::write(&set, keys.jwk_set().to_string()).unwrap();
        assert_eq!(public_keys(set.to_str().unwrap()).unwrap(), vec![(Some("receipts-1".into()), public)]);
        let raw = dir.join("key.txt");
        std::fs::write(&raw, format!("{x}\n")).unwrap();
        assert_eq!(public_keys(raw.to_str().unwrap()).unwrap(), vec![(None, public)]);
        assert!(public_keys("nope").is_err());
        std::fs::remove_dir_all(dir).unwrap();
    }
}
