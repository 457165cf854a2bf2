//! The outbox's clock: [`now_ms`], Unix milliseconds as stored in its
//! rows, and deadlines from user-given durations that never overflow
//! ([`deadline_after`], [`millis`]).

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Now, in Unix milliseconds.
pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, millis)
}

/// `now + wait` as an [`Instant`], saturating: a wait too long for an
/// `Instant` (such as `Duration::MAX`, "as long as it takes") ends a
/// century from now, never panics. For the relay's and committer's
/// deadlines, which are compared and combined as instants; a plain
/// timeout uses `crate::deadline::Deadline`.
pub(crate) fn deadline_after(wait: Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(wait)
        .or_else(|| now.checked_add(CENTURY))
        .unwrap_or(now)
}

/// The deadline of a wait without end.
const CENTURY: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

/// `d` in milliseconds, saturating at `i64::MAX`: for Unix-ms arithmetic.
pub(crate) fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deadline_after_any_duration_is_in_the_future() {
        assert!(deadline_after(Duration::MAX) > Instant::now());
        assert!(deadline_after(Duration::ZERO) <= Instant::now());
        assert_eq!(millis(Duration::MAX), i64::MAX);
    }
}
