//! [`LossLog`]: what the stdout sink could not write, logged in a bounded
//! way: the first loss at once, with its cause, then at most one summary
//! with counts per [`SUMMARY_EVERY`]; never a line per event, never
//! silence.

use super::stats::Counters;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// The shortest time between two summaries.
pub(super) const SUMMARY_EVERY: Duration = Duration::from_secs(10);

#[derive(Debug)]
pub(super) struct LossLog {
    epoch: Instant,
    /// Nanoseconds after `epoch` before which no summary is due: lets a
    /// publisher that drops an event skip the log with one atomic load.
    next_at: AtomicU64,
    /// The losses logged so far: (dropped, failed).
    logged: Mutex<(u64, u64)>,
}

impl LossLog {
    pub(super) fn new() -> Self {
        LossLog {
            epoch: Instant::now(),
            next_at: AtomicU64::new(0),
            logged: Mutex::new((0, 0)),
        }
    }

    fn now(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    /// Whether a summary may be due: cheap, for the publish path.
    pub(super) fn due(&self) -> bool {
        self.now() >= self.next_at.load(Ordering::Relaxed)
    }

    /// Logs the losses not logged yet, if a summary is due or `now` says
    /// so (the sink is going away). `cause` describes the last loss.
    pub(super) fn report(&self, counters: &Counters, cause: &dyn Fn() -> String, now: bool) {
        if !now && !self.due() {
            return;
        }
        // Another thread reporting will include these losses, or the next
        // report will.
        let mut logged = if now {
            self.logged.lock().unwrap_or_else(PoisonError::into_inner)
        } else {
            match self.logged.try_lock() {
                Ok(logged) => logged,
                Err(std::sync::TryLockError::Poisoned(e)) => e.into_inner(),
                Err(std::sync::TryLockError::WouldBlock) => return,
            }
        };
        let stats = counters.snapshot();
        let (dropped, failed) = (stats.dropped - logged.0, stats.failed - logged.1);
        if dropped == 0 && failed == 0 {
            return;
        }
        let first = *logged == (0, 0);
        *logged = (stats.dropped, stats.failed);
        let next = self
            .now()
            .saturating_add(u64::try_from(SUMMARY_EVERY.as_nanos()).unwrap_or(u64::MAX));
        self.next_at.store(next, Ordering::Relaxed);
        drop(logged);
        let cause = cause();
        if first {
            tracing::warn!(
                target: "onex_events::stdout",
                dropped,
                failed,
                cause = %cause,
                "events not written to stdout; further losses are summarized at most every {SUMMARY_EVERY:?}"
            );
        } else {
            tracing::warn!(
                target: "onex_events::stdout",
                dropped,
                failed,
                total_dropped = stats.dropped,
                total_failed = stats.failed,
                cause = %cause,
                "more events not written to stdout"
            );
        }
    }
}
