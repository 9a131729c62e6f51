//! Per-key fixed-window counters for the API's rate limits (failed dashboard sign-ins per client
//! address, searches by identifier per caller). Kept in this process's memory: with N worker
//! processes behind a balancer a key gets at most N times the limit.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Windows kept before stale ones are dropped (bounds the memory a flood of addresses takes).
const MAX_KEYS: usize = 10_000;

pub struct RateLimit {
    max: u32,
    window: Duration,
    seen: Mutex<HashMap<String, (Instant, u32)>>,
}

impl RateLimit {
    pub fn new(max: u32, window: Duration) -> RateLimit {
        RateLimit { max, window, seen: Mutex::new(HashMap::new()) }
    }

    /// Count one for `key`; `Err(seconds)` when the key had already reached the limit in this
    /// window (then nothing is counted), with the seconds until the window ends.
    pub fn hit(&self, key: &str) -> Result<(), u64> {
        self.check(key)?;
        let now = Instant::now();
        let mut seen = self.seen.lock().expect("the rate-limit map is never poisoned");
        if seen.len() >= MAX_KEYS {
            seen.retain(|_, (start, _)| now.duration_since(*start) < self.window);
        }
        let entry = seen.entry(key.to_string()).or_insert((now, 0));
        if now.duration_since(entry.0) >= self.window {
            *entry = (now, 0);
        }
        entry.1 += 1;
        Ok(())
    }

    /// `Err(seconds)` when `key` reached the limit in the current window; counts nothing.
    pub fn check(&self, key: &str) -> Result<(), u64> {
        let now = Instant::now();
        let seen = self.seen.lock().expect("the rate-limit map is never poisoned");
        match seen.get(key) {
            Some((start, n)) if *n >= self.max && now.duration_since(*start) < self.window => {
                Err((self.window - now.duration_since(*start)).as_secs().max(1))
            }
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_refused_once_it_reached_the_limit_and_others_are_not() {
        let limit = RateLimit::new(2, Duration::from_secs(60));
        assert!(limit.hit("a").is_ok());
        assert!(limit.hit("a").is_ok());
        let wait = limit.hit("a").unwrap_err();
        assert!((1..=60).contains(&wait));
        assert!(limit.check("a").is_err());
        assert!(limit.hit("b").is_ok());
        let short = RateLimit::new(1, Duration::from_millis(1));
        assert!(short.hit("a").is_ok());
        std::thread::sleep(Duration::from_millis(5));
        assert!(short.hit("a").is_ok(), "a new window");
    }
}
