//! `application/x-www-form-urlencoded`, both ways: the dashboard's form bodies in, the query
//! strings of its links out.

/// The value of field `name` in a form body (the first one); `None` when absent or not UTF-8.
pub fn field(body: &[u8], name: &str) -> Option<String> {
    body.split(|b| *b == b'&').find_map(|pair| {
        let (key, value) = match pair.iter().position(|b| *b == b'=') {
            Some(i) => (&pair[..i], &pair[i + 1..]),
            None => (pair, &[][..]),
        };
        (decode(key)? == name).then(|| decode(value)).flatten()
    })
}

/// `+` is a space, `%XY` a byte; a stray `%` stays as it is.
fn decode(text: &[u8]) -> Option<String> {
    let mut bytes = Vec::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        match text[i] {
            b'+' => bytes.push(b' '),
            b'%' if i + 2 < text.len() => match (hex(text[i + 1]), hex(text[i + 2])) {
                (Some(high), Some(low)) => {
                    bytes.push(high << 4 | low);
                    i += 2;
                }
                _ => bytes.push(b'%'),
            },
            b => bytes.push(b),
        }
        i += 1;
    }
    String::from_utf8(bytes).ok()
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// `name=value&…` for a link, skipping absent values.
pub fn query(pairs: &[(&str, Option<&str>)]) -> String {
    pairs
        .iter()
        .filter_map(|(name, value)| value.map(|v| format!("{}={}", encode(name), encode(v))))
        .collect::<Vec<_>>()
        .join("&")
}

fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b as char),
            b => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_fields_are_percent_and_plus_decoded() {
        let body = b"other=1&token=abc%2Bdef+ghi%3D%3D&token=second";
        assert_eq!(field(body, "token").as_deref(), Some("abc+def ghi=="));
        assert_eq!(field(body, "other").as_deref(), Some("1"));
        assert_eq!(field(body, "missing"), None);
        assert_eq!(field(b"identifier=Ana%40Example.com", "identifier").as_deref(), Some("Ana@Example.com"));
        assert_eq!(field(b"flag", "flag").as_deref(), Some(""));
        assert_eq!(field(b"t=%E2%82%AC%zz%4", "t").as_deref(), Some("€%zz%4"), "stray % are kept");
        assert_eq!(field(b"t=%FF", "t"), None, "not UTF-8");
    }

    #[test]
    fn queries_encode_what_a_url_cannot_hold() {
        assert_eq!(
            query(&[
                ("state", Some("in_progress")),
                ("connector", None),
                ("due_before", Some("2026-12-01T00:00:00+00:00"))
            ]),
            "state=in_progress&due_before=2026-12-01T00%3A00%3A00%2B00%3A00"
        );
    }
}
