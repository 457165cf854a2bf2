//! Counters of a [`StdoutSink`](super::StdoutSink), read with
//! [`StdoutSink::stats`](super::StdoutSink::stats).

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
