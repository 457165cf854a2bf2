//! [`Deadline`]: a user-supplied timeout turned into an instant without
//! overflow. A timeout beyond what the clock can represent (e.g.
//! `Duration::MAX`) is no deadline at all: wait as long as it takes.

use std::sync::{Condvar, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// The moment a wait started with a timeout ends; never, for a timeout too
/// large to add to the clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Deadline(Option<Instant>);

impl Deadline {
    /// `timeout` from now; [`Deadline::never`] when the sum overflows.
    pub(crate) fn after(timeout: Duration) -> Self {
        Deadline(Instant::now().checked_add(timeout))
    }

    /// No deadline.
    #[cfg(test)]
    pub(crate) const fn never() -> Self {
        Deadline(None)
    }

    /// Time left; `Duration::MAX` without a deadline, zero once passed.
    pub(crate) fn remaining(self) -> Duration {
        self.0.map_or(Duration::MAX, |at| {
            at.saturating_duration_since(Instant::now())
        })
    }

    /// Whether the deadline has passed (never, without one).
    pub(crate) fn passed(self) -> bool {
        self.0.is_some_and(|at| Instant::now() >= at)
    }

    /// Waits on `condvar` until notified or the deadline passes (plain
    /// `wait` without a deadline); may wake spuriously, like any condvar.
    pub(crate) fn wait<'a, T>(
        self,
        condvar: &Condvar,
        guard: MutexGuard<'a, T>,
    ) -> MutexGuard<'a, T> {
        match self.0 {
            None => condvar.wait(guard).unwrap_or_else(PoisonError::into_inner),
            Some(_) => {
                condvar
                    .wait_timeout(guard, self.remaining())
                    .unwrap_or_else(PoisonError::into_inner)
                    .0
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duration_max_is_no_deadline() {
        let deadline = Deadline::after(Duration::MAX);
        assert_eq!(deadline, Deadline::never());
        assert!(!deadline.passed());
        assert_eq!(deadline.remaining(), Duration::MAX);
    }

    #[test]
    fn zero_timeout_has_passed_at_once() {
        let deadline = Deadline::after(Duration::ZERO);
        assert!(deadline.passed());
        assert_eq!(deadline.remaining(), Duration::ZERO);
    }
}
