//! RFC 8785 (JSON Canonicalization Scheme) over `serde_json::Value`: no whitespace, object
//! members sorted by the UTF-16 code units of their names, strings escaped as RFC 8785 §3.2.2.2
//! says (`\"`, `\\`, `\b \t \n \f \r`, other controls as `\u00xx`, everything else as is), numbers
//! as ECMAScript prints them. Receipts hold integers only: an integer prints in decimal, a
//! non-integer is refused rather than risk printing it another way than a verifier would.

use serde_json::Value;
use std::fmt::Write;

/// The largest integer every JSON reader holds exactly (ECMAScript's `Number.MAX_SAFE_INTEGER`).
const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CanonicalError {
    #[error("a number is not an integer, or beyond 2^53 - 1: receipts hold integers only")]
    Number,
}

/// The canonical bytes of `value`.
pub fn canonical(value: &Value) -> Result<Vec<u8>, CanonicalError> {
    let mut out = String::new();
    write_value(&mut out, value)?;
    Ok(out.into_bytes())
}

fn write_value(out: &mut String, value: &Value) -> Result<(), CanonicalError> {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => write_number(out, n)?,
        Value::String(s) => write_string(out, s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(out, item)?;
            }
            out.push(']');
        }
        Value::Object(members) => {
            let mut sorted: Vec<(&String, &Value)> = members.iter().collect();
            sorted.sort_by(|(a, _), (b, _)| a.encode_utf16().cmp(b.encode_utf16()));
            out.push('{');
            for (i, (name, member)) in sorted.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_string(out, name);
                out.push(':');
                write_value(out, member)?;
            }
            out.push('}');
        }
    }
    Ok(())
}

fn write_number(out: &mut String, n: &serde_json::Number) -> Result<(), CanonicalError> {
    if let Some(i) = n.as_i64() {
        if i.unsigned_abs() > MAX_SAFE_INTEGER {
            return Err(CanonicalError::Number);
        }
        let _ = write!(out, "{i}");
    } else if let Some(u) = n.as_u64() {
        if u > MAX_SAFE_INTEGER {
            return Err(CanonicalError::Number);
        }
        let _ = write!(out, "{u}");
    } else {
        // A float: ECMAScript prints an integral one below 2^53 without a fraction ("1.0" is "1").
        let f = n.as_f64().ok_or(CanonicalError::Number)?;
        if !(f.is_finite() && f.fract() == 0.0 && f.abs() <= MAX_SAFE_INTEGER as f64) {
            return Err(CanonicalError::Number);
        }
        // -0 prints as 0 in ECMAScript.
        let _ = write!(out, "{}", if f == 0.0 { 0 } else { f as i64 });
    }
    Ok(())
}

fn write_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\u{c}' => out.push_str("\\f"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn jcs(text: &str) -> String {
        String::from_utf8(canonical(&serde_json::from_str(text).unwrap()).unwrap()).unwrap()
    }

    /// RFC 8785 §3.2.3: names sort by UTF-16 code units, so the emoji (a surrogate pair, 0xD83D
    /// first) comes before U+FB33, unlike an order by code points.
    #[test]
    fn members_sort_by_utf16_code_units() {
        let input = r#"{"\u20ac": "Euro Sign", "\r": "Carriage Return", "\ufb33": "Hebrew Letter Dalet With Dagesh",
                        "1": "One", "\ud83d\ude00": "Emoji: Grinning Face", "\u0080": "Control",
                        "\u00f6": "Latin Small Letter O With Diaeresis"}"#;
        let expected = "{\"\\r\":\"Carriage Return\",\"1\":\"One\",\"\u{80}\":\"Control\",\
                        \"\u{f6}\":\"Latin Small Letter O With Diaeresis\",\"\u{20ac}\":\"Euro Sign\",\
                        \"\u{1f600}\":\"Emoji: Grinning Face\",\"\u{fb33}\":\"Hebrew Letter Dalet With Dagesh\"}";
        assert_eq!(jcs(input), expected);
    }

    /// RFC 8785 §3.2.2.2: the short escapes, `\u00xx` in lower case for other controls, and
    /// every other character as is (no `\u` for non-ASCII, `/` not escaped).
    #[test]
    fn strings_escape_as_the_rfc_says() {
        let value = json!({ "s": "\u{0}\u{8}\t\n\u{c}\r\u{1f}\"\\/\u{7f}é€😀" });
        let out = String::from_utf8(canonical(&value).unwrap()).unwrap();
        assert_eq!(out, "{\"s\":\"\\u0000\\b\\t\\n\\f\\r\\u001f\\\"\\\\/\u{7f}é€😀\"}");
    }

    #[test]
    fn no_whitespace_nested_values_and_literals() {
        assert_eq!(
            jcs(r#" { "b" : [ 1 , true , null , { "z": {}, "a": [] } ], "a" : "x" } "#),
            r#"{"a":"x","b":[1,true,null,{"a":[],"z":{}}]}"#
        );
    }

    #[test]
    fn integers_print_in_decimal_and_non_integers_are_refused() {
        assert_eq!(jcs(r#"[0, -7, 9007199254740991, 1.0, -0.0, 1e3]"#), "[0,-7,9007199254740991,1,0,1000]");
        for refused in ["[1.5]", "[9007199254740992]", "[1e300]", "[-9007199254740992]"] {
            assert_eq!(canonical(&serde_json::from_str(refused).unwrap()), Err(CanonicalError::Number), "{refused}");
        }
    }
}
