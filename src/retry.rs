//! The one retry policy. Durable retries (a task, an outbox row, a message to the person) wait
//! `retry_delay` and are stored as a row's next attempt; in-process retries (a statement, a
//! connection) go through `backon`, built here: `in_process()` for a statement that may meet a
//! blip, `while_unavailable(..)` for a dependency that is starting or down, and `until_shutdown`
//! to keep calling one until it answers or the process stops.

use crate::shutdown::Shutdown;
use backon::{ExponentialBuilder, Retryable};
use chrono::{DateTime, Utc};
use std::future::Future;
use std::time::Duration;

/// The retry policy: exponential from `base`, capped at `cap`, with jitter.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    pub base: Duration,
    pub cap: Duration,
}

impl RetryPolicy {
    /// When row `id`, claimed `attempts` times, is tried again.
    pub fn retry_at(self, attempts: i32, id: i64, now: DateTime<Utc>) -> DateTime<Utc> {
        let delay = retry_delay(self, attempts.max(1) as u32, id);
        now + chrono::Duration::from_std(delay).unwrap_or_default()
    }
}

/// The delay before retry number `attempt` (1 for the first retry) of task `task_id`:
/// `min(cap, base * 2^(attempt-1))`, of which the upper half is jittered by a hash of the task
/// and attempt, in whole milliseconds. Pure: the same inputs always give the same delay.
pub fn retry_delay(policy: RetryPolicy, attempt: u32, task_id: i64) -> Duration {
    let exponent = attempt.saturating_sub(1).min(32);
    let full = policy.base.saturating_mul(1u32 << exponent.min(31)).min(policy.cap);
    let half = full / 2;
    let delay = half + half.mul_f64(unit_fraction(task_id as u64, attempt));
    Duration::from_millis(delay.as_millis() as u64)
}

/// A number in [0, 1) from a hash of the inputs (splitmix64).
fn unit_fraction(a: u64, b: u32) -> f64 {
    let mut z = a.wrapping_mul(0x9E37_79B9_7F4A_7C15).wrapping_add(u64::from(b)).wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 53) as f64
}

/// A few quick retries of one statement, with jitter (50 ms, doubling, five times): for a
/// database blip, not an outage.
pub fn in_process() -> ExponentialBuilder {
    ExponentialBuilder::default().with_min_delay(Duration::from_millis(50)).with_max_times(5).with_jitter()
}

/// Retries of a dependency that is still starting or is down: from `first`, doubling up to
/// `cap`, `times` times (`None`: until it answers or shutdown), no jitter.
pub fn while_unavailable(first: Duration, cap: Duration, times: Option<usize>) -> ExponentialBuilder {
    let builder = ExponentialBuilder::default().with_min_delay(first).with_max_delay(cap);
    match times {
        Some(times) => builder.with_max_times(times),
        None => builder.without_max_times(),
    }
}

/// Call `call` until it succeeds (`Some`), `backoff` runs out or shutdown comes (`None`), waiting
/// `backoff`'s delays in between; a wait ends early at shutdown, and no call starts after it.
/// `on_error` sees each failure that will be retried.
pub async fn until_shutdown<T, E, Fut>(
    backoff: ExponentialBuilder,
    shutdown: &Shutdown,
    mut call: impl FnMut() -> Fut,
    mut on_error: impl FnMut(&E),
) -> Option<T>
where
    Fut: Future<Output = Result<T, E>>,
{
    // `None`: shutdown came before the call.
    let attempt = || {
        let started = (!shutdown.is_triggered()).then(&mut call);
        async move {
            match started {
                Some(call) => call.await.map_err(Some),
                None => Err(None),
            }
        }
    };
    let stop = shutdown.clone();
    attempt
        .retry(backoff)
        .sleep(move |delay| {
            let stop = stop.clone();
            async move {
                tokio::select! {
                    _ = tokio::time::sleep(delay) => {}
                    _ = stop.wait() => {}
                }
            }
        })
        .when(|error| error.is_some() && !shutdown.is_triggered())
        .notify(|error, _| error.iter().for_each(&mut on_error))
        .await
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use backon::BackoffBuilder;

    const POLICY: RetryPolicy = RetryPolicy { base: Duration::from_secs(30), cap: Duration::from_secs(3600) };

    #[test]
    fn delays_grow_exponentially_within_jitter_and_cap() {
        for attempt in 1..=10u32 {
            let full = (POLICY.base * 2u32.pow(attempt - 1)).min(POLICY.cap);
            let d = retry_delay(POLICY, attempt, 7);
            assert!(d >= full / 2 && d <= full, "attempt {attempt}: {d:?}");
            assert_eq!(d, retry_delay(POLICY, attempt, 7), "pure");
        }
        assert_ne!(retry_delay(POLICY, 3, 7), retry_delay(POLICY, 3, 8), "jitter spreads tasks");
        assert!(retry_delay(POLICY, 200, 7) <= POLICY.cap);
    }

    #[test]
    fn a_row_is_retried_after_the_delay_of_its_claims_so_far() {
        let now: DateTime<Utc> = "2026-11-24T03:00:00Z".parse().unwrap();
        let at = POLICY.retry_at(2, 9, now);
        assert_eq!(at, now + chrono::Duration::from_std(retry_delay(POLICY, 2, 9)).unwrap());
        assert_eq!(POLICY.retry_at(0, 9, now), POLICY.retry_at(1, 9, now), "an unclaimed row counts as one");
    }

    #[test]
    fn waiting_for_a_dependency_doubles_up_to_the_cap() {
        let delays: Vec<Duration> =
            while_unavailable(Duration::from_millis(200), Duration::from_secs(1), Some(5)).build().collect();
        let ms: Vec<u128> = delays.iter().map(Duration::as_millis).collect();
        assert_eq!(ms, [200, 400, 800, 1000, 1000]);
        assert_eq!(in_process().build().count(), 5);
    }

    #[tokio::test]
    async fn calls_stop_at_success_or_at_shutdown() {
        let fast = while_unavailable(Duration::from_millis(1), Duration::from_millis(1), None);
        let mut calls = 0;
        let mut seen = 0;
        let answer = until_shutdown(
            fast,
            &Shutdown::default(),
            || {
                calls += 1;
                let n = calls;
                async move {
                    if n < 3 {
                        Err("down")
                    } else {
                        Ok(n)
                    }
                }
            },
            |_: &&str| seen += 1,
        )
        .await;
        assert_eq!((answer, seen), (Some(3), 2));

        let shutdown = Shutdown::default();
        shutdown.trigger();
        let never = until_shutdown(fast, &shutdown, || async { Ok::<_, &str>(1) }, |_| {}).await;
        assert_eq!(never, None, "no call starts after shutdown");
    }
}
