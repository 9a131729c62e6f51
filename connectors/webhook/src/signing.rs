//! Request signing: `X-Erasure-Signature: v1=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`
//! with `X-Erasure-Timestamp: <unix seconds>`. A service recomputes it over the raw body,
//! compares in constant time, and refuses timestamps more than five minutes away.

use hmac::{Hmac, Mac};
use sha2::Sha256;

pub const SIGNATURE_HEADER: &str = "x-erasure-signature";
pub const TIMESTAMP_HEADER: &str = "x-erasure-timestamp";
/// How far a timestamp may be from the receiver's clock.
pub const TOLERANCE_SECS: u64 = 300;

pub fn sign(secret: &[u8], timestamp: u64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("v1={}", hex::encode(mac.finalize().into_bytes()))
}

/// Check a signature as a receiving service must: right key, body and a fresh timestamp.
pub fn verify(secret: &[u8], timestamp: &str, signature: &str, body: &[u8], now_unix: u64) -> bool {
    let Ok(ts) = timestamp.parse::<u64>() else {
        return false;
    };
    if ts.abs_diff(now_unix) > TOLERANCE_SECS {
        return false;
    }
    let Some(hex_sig) = signature.strip_prefix("v1=") else {
        return false;
    };
    let Ok(given) = hex::decode(hex_sig) else {
        return false;
    };
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    mac.verify_slice(&given).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_verifies_only_with_its_key_body_and_a_fresh_timestamp() {
        let sig = sign(b"k", 1_000, b"{}");
        assert!(verify(b"k", "1000", &sig, b"{}", 1_100));
        assert!(!verify(b"other", "1000", &sig, b"{}", 1_100));
        assert!(!verify(b"k", "1000", &sig, b"{ }", 1_100));
        assert!(!verify(b"k", "1000", &sig, b"{}", 1_000 + TOLERANCE_SECS + 1));
        assert!(!verify(b"k", "999", &sig, b"{}", 1_000));
    }
}
