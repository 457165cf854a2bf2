//! Counters of a [`StdoutSink`](super::StdoutSink), read with
//! [`StdoutSink::stats`](super::StdoutSink::stats); lines written and lost
//! recorded as metrics too (see [`crate::metrics`]).

use crate::metrics::record;
use std::sync::atomic::{AtomicU64, Ordering::Acquire, Ordering::Release};

/// A snapshot of a stdout sink's counters since it was built. Every
/// published event ends up in exactly one of `written`, `dropped` or
/// `failed`, or is still `queued`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct StdoutStats {
    /// Events handed to the sink.
    pub published: u64,
    /// Lines written (and flushed) to the writer.
    pub written: u64,
    /// Not taken because the queue was full: the reader was too slow.
    pub dropped: u64,
    /// Lost to a failed write (e.g. a closed pipe or file descriptor), or
    /// still queued when the sink was dropped and could not wait longer.
    pub failed: u64,
    /// Taken, not written yet.
    pub queued: u64,
}

impl StdoutStats {
    /// Events that could not be written: `dropped + failed`.
    pub fn lost(&self) -> u64 {
        self.dropped + self.failed
    }
}

/// The `sink` label of the metrics.
const SINK: &str = "stdout";

/// The live counters. `published` is bumped before the outcome.
#[derive(Debug, Default)]
pub(super) struct Counters {
    pub(super) published: AtomicU64,
    pub(super) written: AtomicU64,
    pub(super) dropped: AtomicU64,
    pub(super) failed: AtomicU64,
}

impl Counters {
    pub(super) fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Release);
    }

    /// Adds `n` lines written to `written`. The metric first, so that a
    /// `flush` that sees the count sees the metric too.
    pub(super) fn written(written: &AtomicU64, n: u64) {
        if n > 0 {
            record::delivered(SINK, n);
        }
        Self::add(written, n);
    }

    /// Adds `n` events lost for `reason` to `counter` (metric first).
    pub(super) fn lost(counter: &AtomicU64, reason: &'static str, n: u64) {
        record::failed(SINK, reason, n);
        Self::add(counter, n);
    }

    pub(super) fn snapshot(&self) -> StdoutStats {
        // Outcomes first: each is bumped after `published`, so `queued`
        // never underflows.
        let written = self.written.load(Acquire);
        let dropped = self.dropped.load(Acquire);
        let failed = self.failed.load(Acquire);
        let published = self.published.load(Acquire);
        StdoutStats {
            published,
            written,
            dropped,
            failed,
            queued: published.saturating_sub(written + dropped + failed),
        }
    }
}
