//! Durations in the config block: `"31d"`, `"744h"`, `"30m"`, `"90s"`, or a number of seconds.

use serde::{de, Deserialize, Deserializer};
use std::fmt;
use std::time::Duration;

/// A whole number of seconds, written `"31d"`, `"12h"`, `"30m"`, `"90s"` or as a bare number of seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dur(pub Duration);

impl Dur {
    pub fn secs(self) -> u64 {
        self.0.as_secs()
    }
}

/// `"31d"` and the like; `None` if it is not one.
pub fn parse(text: &str) -> Option<Duration> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let n: u64 = number.parse().ok()?;
    let unit = match unit.trim() {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return None,
    };
    n.checked_mul(unit).map(Duration::from_secs)
}

impl<'de> Deserialize<'de> for Dur {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Seconds(u64),
            Text(String),
        }
        match Raw::deserialize(deserializer)? {
            Raw::Seconds(secs) => Ok(Dur(Duration::from_secs(secs))),
            Raw::Text(text) => parse(&text).map(Dur).ok_or_else(|| {
                de::Error::custom(format!("`{text}` is not a duration such as \"31d\", \"12h\", \"30m\" or \"90s\""))
            }),
        }
    }
}

impl fmt::Display for Dur {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.secs();
        match secs {
            0 => write!(f, "0s"),
            s if s % 86_400 == 0 => write!(f, "{}d", s / 86_400),
            s if s % 3600 == 0 => write!(f, "{}h", s / 3600),
            s if s % 60 == 0 => write!(f, "{}m", s / 60),
            s => write!(f, "{s}s"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms() {
        assert_eq!(parse("31d"), Some(Duration::from_secs(31 * 86_400)));
        assert_eq!(parse("720h"), Some(Duration::from_secs(720 * 3600)));
        assert_eq!(parse("90"), Some(Duration::from_secs(90)));
        assert_eq!(parse("1w"), None);
        assert_eq!(parse("d"), None);
        let d: Dur = serde_json::from_value(serde_json::json!(3600)).unwrap();
        assert_eq!(d.to_string(), "1h");
        assert!(serde_json::from_value::<Dur>(serde_json::json!("soon")).is_err());
    }
}
