//! [`BoundedLog`]: events of a few kinds logged in a bounded way — the
//! first ones of a round each on a line of their own, the rest counted and
//! summarized at most once per [`SUMMARY_EVERY`]: never a line per event
//! in a flood, never silence. The sinks' shared shape for what they log per
//! event (the stdout sink's losses; the Kafka sink's fallback and losses).

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

/// The shortest time between two summaries.
pub(crate) const SUMMARY_EVERY: Duration = Duration::from_secs(10);

/// Per kind of event (`K` kinds), how many were logged one by one and how
/// many wait for the next summary.
#[derive(Debug)]
// Without the `kafka` feature, only the stdout sink's summaries are used.
#[cfg_attr(not(feature = "kafka"), allow(dead_code))]
pub(crate) struct BoundedLog<const K: usize> {
    /// Events logged one by one per round.
    budget: u64,
    /// Events that asked for a line of their own this round.
    admitted: AtomicU64,
    /// Per kind: events not logged one by one since the last summary.
    unshown: [AtomicU64; K],
    epoch: Instant,
    /// Nanoseconds after `epoch` before which no summary is due (0: the
    /// first is due at once), so that the hot path checks with one load.
    next_at: AtomicU64,
    summaries: AtomicU64,
}

/// Counts for one summary line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Summary<const K: usize> {
    /// Per kind: events not logged one by one since the previous summary.
    pub(crate) counts: [u64; K],
    /// This log's first summary.
    pub(crate) first: bool,
}

impl<const K: usize> Summary<K> {
    pub(crate) fn total(&self) -> u64 {
        self.counts.iter().sum()
    }
}

impl<const K: usize> BoundedLog<K> {
    /// A log that gives the first `budget` events of each round a line of
    /// their own (`u64::MAX`: every event; 0: summaries only).
    pub(crate) fn new(budget: u64) -> Self {
        BoundedLog {
            budget,
            admitted: AtomicU64::new(0),
            unshown: std::array::from_fn(|_| AtomicU64::new(0)),
            epoch: Instant::now(),
            next_at: AtomicU64::new(0),
            summaries: AtomicU64::new(0),
        }
    }

    /// Whether an event of `kind` gets a line of its own: true for the
    /// first `budget` of the round; otherwise it is counted for the next
    /// summary.
    #[inline]
    #[cfg_attr(not(feature = "kafka"), allow(dead_code))]
    pub(crate) fn admit(&self, kind: usize) -> bool {
        if self.admitted.load(Relaxed) < self.budget
            && self.admitted.fetch_add(1, Relaxed) < self.budget
        {
            return true;
        }
        self.count(kind, 1);
        false
    }

    /// Counts `n` events of `kind` for the next summary, without a line.
    #[inline]
    pub(crate) fn count(&self, kind: usize, n: u64) {
        self.unshown[kind].fetch_add(n, Relaxed);
    }

    /// A new round (e.g. a new outage): the next `budget` events get a line
    /// of their own again.
    #[cfg_attr(not(feature = "kafka"), allow(dead_code))]
    pub(crate) fn restart(&self) {
        self.admitted.store(0, Relaxed);
    }

    fn now(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    /// Whether a summary may be due: one clock read and one load, for hot
    /// paths.
    #[inline]
    pub(crate) fn due(&self) -> bool {
        self.now() >= self.next_at.load(Relaxed)
    }

    /// The counts for a summary line, taken (reset) from the log, when
    /// events wait for one and a summary is due, or `now` says so (a flush,
    /// the end of an outage, the sink going away). Concurrent callers never
    /// both get the same events.
    pub(crate) fn summary(&self, now: bool) -> Option<Summary<K>> {
        if self.unshown.iter().all(|c| c.load(Relaxed) == 0) {
            return None;
        }
        let at = self.next_at.load(Relaxed);
        let t = self.now();
        let next = t.saturating_add(u64::try_from(SUMMARY_EVERY.as_nanos()).unwrap_or(u64::MAX));
        if now {
            self.next_at.store(next, Relaxed);
        } else if t < at
            || self
                .next_at
                .compare_exchange(at, next, Relaxed, Relaxed)
                .is_err()
        {
            return None;
        }
        let counts = std::array::from_fn(|k| self.unshown[k].swap(0, Relaxed));
        let summary = Summary {
            counts,
            first: false,
        };
        if summary.total() == 0 {
            return None;
        }
        Some(Summary {
            first: self.summaries.fetch_add(1, Relaxed) == 0,
            ..summary
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_of_a_round_get_lines_the_rest_a_summary() {
        let log = BoundedLog::<2>::new(3);
        let admitted = (0..10).filter(|i| log.admit(i % 2)).count();
        assert_eq!(admitted, 3);
        // The first summary is due at once.
        let summary = log.summary(false).unwrap();
        assert_eq!((summary.counts, summary.first), ([3, 4], true));
        // The next waits for SUMMARY_EVERY, or `now`.
        log.count(1, 5);
        assert_eq!(log.summary(false), None);
        let summary = log.summary(true).unwrap();
        assert_eq!((summary.counts, summary.first), ([0, 5], false));
        assert_eq!(log.summary(true), None, "nothing left to summarize");
        log.restart();
        assert!(log.admit(0));
    }

    #[test]
    fn a_zero_budget_summarizes_everything_and_max_shows_everything() {
        let quiet = BoundedLog::<1>::new(0);
        assert!(!quiet.admit(0));
        assert_eq!(quiet.summary(false).map(|s| s.counts), Some([1]));
        let full = BoundedLog::<1>::new(u64::MAX);
        assert!((0..1000).all(|_| full.admit(0)));
        assert_eq!(full.summary(true), None);
    }
}
