//! How often, and after how long, a failed handler runs again.

use std::time::Duration;

/// Retries with exponential backoff: attempt `n` (from 2) waits
/// `initial × 2^(n-2)`, capped at `max`. After `attempts` runs in all the
/// event goes to the dead-letter topic.
///
/// ```
/// use onex_events::consume::RetryPolicy;
/// use std::time::Duration;
///
/// let policy = RetryPolicy::new(4, Duration::from_millis(100), Duration::from_millis(250));
/// assert_eq!(policy.delay_before(2), Duration::from_millis(100));
/// assert_eq!(policy.delay_before(3), Duration::from_millis(200));
/// assert_eq!(policy.delay_before(4), Duration::from_millis(250));
/// assert_eq!(policy.worst_case_delay(), Duration::from_millis(550));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Runs in all, the first included (at least 1).
    pub attempts: u32,
    /// The wait before the second run.
    pub initial: Duration,
    /// The longest wait between two runs.
    pub max: Duration,
}

impl RetryPolicy {
    /// The default: 3 runs, waiting 100 ms then 200 ms (at most 10 s each).
    pub const DEFAULT: RetryPolicy =
        RetryPolicy::new(3, Duration::from_millis(100), Duration::from_secs(10));

    /// `attempts` runs in all (0 is taken as 1), waits from `initial` doubling up to `max`.
    pub const fn new(attempts: u32, initial: Duration, max: Duration) -> Self {
        RetryPolicy {
            attempts: if attempts == 0 { 1 } else { attempts },
            initial,
            max,
        }
    }

    /// No retry: a failure goes to the dead-letter topic at once.
    pub const fn none() -> Self {
        RetryPolicy::new(1, Duration::ZERO, Duration::ZERO)
    }

    /// The wait before run `attempt` (2 for the first retry).
    pub fn delay_before(&self, attempt: u32) -> Duration {
        let doublings = attempt.saturating_sub(2).min(31);
        self.initial.saturating_mul(1u32 << doublings).min(self.max)
    }

    /// The sum of every wait: with the handler's time limit, how long one
    /// failing event can hold up the events of its key.
    pub fn worst_case_delay(&self) -> Duration {
        (2..=self.attempts).map(|a| self.delay_before(a)).sum()
    }
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy::DEFAULT
    }
}
