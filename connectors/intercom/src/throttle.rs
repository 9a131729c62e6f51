//! Intercom's rate-limit hint. Intercom counts calls per 10-second window and answers 429 with
//! `X-RateLimit-Reset`, the Unix time (seconds) when the window reopens, instead of `Retry-After`.

use reqwest::header::HeaderMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const RESET_HEADER: &str = "x-ratelimit-reset";
/// A reset already past (clock skew) still waits this long, so a throttled task never spins.
const MIN_WAIT: Duration = Duration::from_secs(1);
/// A reset absurdly far away (a misread unit) waits no longer than this.
const MAX_WAIT: Duration = Duration::from_secs(3600);

/// How long to wait according to `X-RateLimit-Reset`; `None` when there is no readable header.
pub(crate) fn reset_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let reset: u64 = headers.get(RESET_HEADER)?.to_str().ok()?.trim().parse().ok()?;
    let at = UNIX_EPOCH + Duration::from_secs(reset);
    Some(at.duration_since(now).unwrap_or(Duration::ZERO).clamp(MIN_WAIT, MAX_WAIT))
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    const NOW: u64 = 1_784_000_000;

    fn after(reset: Option<&str>) -> Option<Duration> {
        let mut headers = HeaderMap::new();
        if let Some(value) = reset {
            headers.insert(RESET_HEADER, HeaderValue::from_str(value).unwrap());
        }
        reset_after(&headers, UNIX_EPOCH + Duration::from_millis(NOW * 1000 + 250))
    }

    #[test]
    fn the_reset_time_is_read_relative_to_now() {
        assert_eq!(after(Some(&(NOW + 42).to_string())), Some(Duration::from_millis(41_750)));
        assert_eq!(after(Some(&format!(" {} ", NOW + 10))), Some(Duration::from_millis(9_750)));
    }

    #[test]
    fn no_header_or_an_unreadable_one_gives_no_hint() {
        assert_eq!(after(None), None);
        assert_eq!(after(Some("soon")), None);
        assert_eq!(after(Some("-5")), None);
    }

    #[test]
    fn a_past_or_far_reset_is_bounded() {
        assert_eq!(after(Some(&(NOW - 30).to_string())), Some(MIN_WAIT));
        assert_eq!(after(Some(&((NOW + 42) * 1000).to_string())), Some(MAX_WAIT));
    }
}
