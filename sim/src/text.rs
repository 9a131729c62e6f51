//! Small text helpers more than one vendor needs.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

/// The value of an `Authorization: Basic` header for `user` and `password`.
pub(crate) fn basic_auth(user: &str, password: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{user}:{password}")))
}

/// Percent-encoding for a query string value: everything but RFC 3986's unreserved characters
/// (`+` becomes `%2B`).
pub(crate) fn percent_encode(value: &str) -> String {
    let mut out = String::new();
    for byte in value.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(byte as char),
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

/// Undo percent-encoding in a path segment (`%40` becomes `@`); a `%` not followed by two hex
/// digits stays as it is.
pub(crate) fn percent_decode(segment: &str) -> String {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (bytes[i], bytes.get(i + 1).copied().and_then(hex), bytes.get(i + 2).copied().and_then(hex)) {
            (b'%', Some(high), Some(low)) => {
                out.push((high * 16 + low) as u8);
                i += 3;
            }
            (byte, _, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `*` matches any run of characters; nothing else is special.
pub(crate) fn glob(pattern: &str, text: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == text,
        Some((head, rest)) => {
            let Some(tail) = text.strip_prefix(head) else { return false };
            (0..=tail.len()).filter(|i| tail.is_char_boundary(*i)).any(|i| glob(rest, &tail[i..]))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_auth_encodes_as_http_basic_writes_it() {
        let encoded = |user_password: &str| {
            let (user, password) = user_password.split_once(':').unwrap_or((user_password, ""));
            basic_auth(user, password).strip_prefix("Basic ").unwrap().to_string()
        };
        assert_eq!(encoded("a/token:b"), "YS90b2tlbjpi");
        assert_eq!(encoded("AC1:sim-token"), "QUMxOnNpbS10b2tlbg==");
        assert_eq!(encoded("elastic:sim-password"), "ZWxhc3RpYzpzaW0tcGFzc3dvcmQ=");
        assert_eq!(encoded("sim-user:sim-password"), "c2ltLXVzZXI6c2ltLXBhc3N3b3Jk");
    }

    #[test]
    fn percent_decoding_undoes_percent_encoding_and_leaves_stray_percents() {
        assert_eq!(percent_decode("ana%40example.com"), "ana@example.com");
        assert_eq!(percent_decode(&percent_encode("a b/c%d")), "a b/c%d");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz"), "%zz");
    }

    #[test]
    fn base64_pads_like_the_standard() {
        assert_eq!(STANDARD.encode(b"f"), "Zg==");
        assert_eq!(STANDARD.encode(b"fo"), "Zm8=");
        assert_eq!(STANDARD.encode(b"foo"), "Zm9v");
        assert_eq!(STANDARD.encode(b"ab"), "YWI=");
        assert_eq!(STANDARD.encode(b"abcd"), "YWJjZA==");
    }

    #[test]
    fn percent_encoding_keeps_only_unreserved_characters() {
        assert_eq!(percent_encode("+33 6"), "%2B33%206");
    }

    #[test]
    fn globs() {
        assert!(glob("logs-*", "logs-app-1"));
        assert!(glob("*", "x"));
        assert!(glob("a*c*e", "abcde"));
        assert!(!glob("logs-*", "metrics-1"));
    }
}
