//! When a failed job runs again: exponential backoff with jitter. The randomness is an
//! input (docs/decisions/0003), so the rule is tested exactly.

use chrono::Duration;

/// The first retry waits about this long.
pub const BASE_DELAY_SECONDS: i64 = 10;

/// No retry waits longer than this.
pub const MAX_DELAY_SECONDS: i64 = 3600;

/// The delay before attempt `attempt + 1` after attempt `attempt` (1-based) failed:
/// `BASE · 2^(attempt−1)`, capped at [`MAX_DELAY_SECONDS`], plus up to half of it again
/// by `jitter` (0.0 ≤ jitter < 1.0), so workers that failed together do not retry together.
pub fn retry_delay(attempt: u32, jitter: f64) -> Duration {
    let exponent = attempt.saturating_sub(1).min(20);
    let base = BASE_DELAY_SECONDS
        .saturating_mul(1_i64 << exponent)
        .min(MAX_DELAY_SECONDS);
    let jitter = jitter.clamp(0.0, 1.0);
    // Millisecond precision keeps the jitter meaningful for short delays.
    let extra_ms = ((base * 1000) as f64 * 0.5 * jitter) as i64;
    Duration::milliseconds(base * 1000 + extra_ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_and_caps() {
        let cases = [
            (1, 0.0, 10_000),
            (2, 0.0, 20_000),
            (3, 0.0, 40_000),
            (1, 0.5, 12_500),
            (1, 0.999_999, 14_999),
            (10, 0.0, 3_600_000),
            (40, 0.0, 3_600_000),
            (40, 1.0, 5_400_000),
            (0, 0.0, 10_000),
        ];
        for (attempt, jitter, ms) in cases {
            assert_eq!(
                retry_delay(attempt, jitter).num_milliseconds(),
                ms,
                "{attempt} {jitter}"
            );
        }
    }

    proptest::proptest! {
        #[test]
        fn never_shorter_than_the_base_nor_longer_than_one_and_a_half_caps(
            attempt in 0u32..100, jitter in 0.0f64..1.0
        ) {
            let d = retry_delay(attempt, jitter).num_seconds();
            proptest::prop_assert!(d >= BASE_DELAY_SECONDS);
            proptest::prop_assert!(d <= MAX_DELAY_SECONDS * 3 / 2);
        }

        #[test]
        fn later_attempts_never_wait_less(attempt in 1u32..30) {
            proptest::prop_assert!(retry_delay(attempt + 1, 0.0) >= retry_delay(attempt, 0.0));
        }
    }
}
