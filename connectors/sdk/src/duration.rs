//! Durations in connector config: one type for every connector's duration keys.

use serde::{de, Deserialize, Deserializer};
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// A duration written `"250ms"`, `"90s"`, `"30m"`, `"12h"`, `"31d"`, or several of those
/// (`"1h 30m"`), or a bare number of seconds (`90` or `"90"`, the form of the deprecated
/// `*_seconds` keys). A space may sit between a number and its unit. Weeks, months and words
/// (`"30 days"`) are refused.
#[derive(Debug, Clone)]
pub struct ConfigDuration {
    value: Duration,
    /// The text as the config wrote it, when it was text.
    written: Option<String>,
}

impl ConfigDuration {
    pub const fn from_secs(secs: u64) -> Self {
        ConfigDuration { value: Duration::from_secs(secs), written: None }
    }

    pub fn get(&self) -> Duration {
        self.value
    }

    pub fn secs(&self) -> u64 {
        self.value.as_secs()
    }

    /// The text as written in config (`"720h"` stays `"720h"`); the canonical form otherwise.
    pub fn as_written(&self) -> String {
        self.written.clone().unwrap_or_else(|| self.to_string())
    }
}

/// The duration `text` writes, or `None` if it is not one.
pub fn parse(text: &str) -> Option<Duration> {
    let text = text.trim();
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        return text.parse().ok().map(Duration::from_secs);
    }
    let mut rest = text;
    let mut total = Duration::ZERO;
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
        let n: u64 = rest[..digits].parse().ok()?;
        let after = rest[digits..].trim_start();
        let unit_len = after.find(|c: char| !c.is_ascii_alphabetic()).unwrap_or(after.len());
        let secs = |k: u64| n.checked_mul(k).map(Duration::from_secs);
        let part = match &after[..unit_len] {
            "ms" => Some(Duration::from_millis(n)),
            "s" => secs(1),
            "m" => secs(60),
            "h" => secs(3600),
            "d" => secs(86_400),
            _ => None,
        }?;
        total = total.checked_add(part)?;
        rest = after[unit_len..].trim_start();
    }
    (!text.is_empty()).then_some(total)
}

impl FromStr for ConfigDuration {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        parse(text).map(|value| ConfigDuration { value, written: Some(text.to_string()) }).ok_or_else(|| {
            format!("`{text}` is not a duration such as \"250ms\", \"90s\", \"30m\", \"12h\", \"31d\" or \"1h 30m\"")
        })
    }
}

impl<'de> Deserialize<'de> for ConfigDuration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Seconds(u64),
            Text(String),
        }
        match Raw::deserialize(deserializer)? {
            Raw::Seconds(secs) => Ok(ConfigDuration::from_secs(secs)),
            Raw::Text(text) => text.parse().map_err(de::Error::custom),
        }
    }
}

/// A number of seconds, as a bare number in config is.
impl From<u64> for ConfigDuration {
    fn from(secs: u64) -> Self {
        ConfigDuration::from_secs(secs)
    }
}

impl PartialEq for ConfigDuration {
    fn eq(&self, other: &Self) -> bool {
        self.value == other.value
    }
}

impl Eq for ConfigDuration {}

/// The largest whole unit: `31d`, `12h`, `30m`, `90s`, `250ms`, `0s`.
impl fmt::Display for ConfigDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let millis = self.value.as_millis();
        if millis % 1000 != 0 {
            return write!(f, "{millis}ms");
        }
        match self.secs() {
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

    fn secs(n: u64) -> Option<Duration> {
        Some(Duration::from_secs(n))
    }

    /// The forms the three parsers this type replaced accepted: the engine's (`500ms`, `10s`,
    /// `15m`, `6h`, `30d`, a space before the unit), Loki's (`31d`, `744h`, `90s`, a bare number
    /// of seconds as text or as a number) and Zendesk's `hard_delete_after` (`30d`, `720h`,
    /// `15m`, `10s`, `500ms`).
    #[test]
    fn every_form_the_old_parsers_took() {
        assert_eq!(parse("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(parse("10s"), secs(10));
        assert_eq!(parse("15m"), secs(15 * 60));
        assert_eq!(parse("6h"), secs(6 * 3600));
        assert_eq!(parse("30d"), secs(30 * 86_400));
        assert_eq!(parse(" 10 s "), secs(10));
        assert_eq!(parse("31d"), secs(31 * 86_400));
        assert_eq!(parse("744h"), secs(744 * 3600));
        assert_eq!(parse("720h"), secs(720 * 3600));
        assert_eq!(parse("90"), secs(90));
        let number: ConfigDuration = serde_json::from_value(serde_json::json!(3600)).unwrap();
        assert_eq!(number.get(), Duration::from_secs(3600));
        assert_eq!(ConfigDuration::from(3600), number);
    }

    #[test]
    fn several_parts_add_up() {
        assert_eq!(parse("1h 30m"), secs(5400));
        assert_eq!(parse("1h30m"), secs(5400));
        assert_eq!(parse("1m 250ms"), Some(Duration::from_millis(60_250)));
    }

    #[test]
    fn what_the_old_parsers_refused_is_refused() {
        for text in ["", " ", "1w", "d", "ms", "30 days", "soon", "-5s", "1.5h", "10x", "1h,30m"] {
            assert_eq!(parse(text), None, "{text:?}");
        }
        assert_eq!(parse("99999999999999999999d"), None, "overflow");
        assert!(serde_json::from_value::<ConfigDuration>(serde_json::json!("soon")).is_err());
        assert!(serde_json::from_value::<ConfigDuration>(serde_json::json!(-1)).is_err());
    }

    #[test]
    fn it_prints_in_its_largest_whole_unit_and_keeps_the_text_as_written() {
        let shown = |text: &str| text.parse::<ConfigDuration>().unwrap().to_string();
        assert_eq!(shown("744h"), "31d");
        assert_eq!(shown("90"), "90s");
        assert_eq!(shown("120m"), "2h");
        assert_eq!(shown("250ms"), "250ms");
        assert_eq!(shown("0s"), "0s");
        assert_eq!(ConfigDuration::from_secs(3600).to_string(), "1h");
        assert_eq!("720h".parse::<ConfigDuration>().unwrap().as_written(), "720h");
        assert_eq!(ConfigDuration::from_secs(60).as_written(), "1m");
    }
}
