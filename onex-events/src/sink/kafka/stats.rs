//! Counters of a [`KafkaSink`](super::KafkaSink), read with
//! [`KafkaSink::stats`](super::KafkaSink::stats); outcomes and the retry
//! buffer recorded as metrics too (see [`crate::metrics`]).

use crate::kafka::Outcome;
use crate::metrics::record;
use std::sync::atomic::{AtomicU64, Ordering::Acquire, Ordering::Relaxed, Ordering::Release};

/// A snapshot of a sink's counters since it was built. Every published
/// event ends up in exactly one of `delivered`, `failed`, `overflowed`,
/// `expired` or `lost`, or is still `pending`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct KafkaStats {
    /// Events handed to the sink.
    pub published: u64,
    /// Acknowledged by the cluster.
    pub delivered: u64,
    /// Rejected for good (see [`Outcome::Failed`](super::Outcome::Failed)).
    pub failed: u64,
    /// Not taken because the retry buffer was full.
    pub overflowed: u64,
    /// Given up after the buffer's time-to-live.
    pub expired: u64,
    /// Undelivered when the sink was dropped.
    pub lost: u64,
    /// Times an event was put in the retry buffer (queue full, broker down).
    pub retried: u64,
    /// Events published while Kafka was unavailable that the fallback log
    /// took ([`FallbackLog`](crate::kafka::FallbackLog)): each logged on a
    /// line of its own or counted in a summary line; 0 with
    /// [`FallbackLog::Off`](crate::kafka::FallbackLog::Off).
    pub fallback_logged: u64,
    /// Events in the retry buffer now.
    pub buffered: u64,
    /// Events in a producer's queue or in flight now, or between the retry
    /// buffer and a producer: published, not buffered, with no outcome yet.
    pub in_flight: u64,
    /// Whether the cluster is believed reachable now.
    pub available: bool,
}

impl KafkaStats {
    /// Events with no outcome yet: buffered or in flight.
    pub fn pending(&self) -> u64 {
        self.buffered + self.in_flight
    }

    /// Events given up: failed, overflowed, expired or lost.
    pub fn undelivered(&self) -> u64 {
        self.failed + self.overflowed + self.expired + self.lost
    }
}

/// The `sink` label of the metrics.
const SINK: &str = "kafka";

#[derive(Debug, Default)]
pub(crate) struct Counters {
    /// Bumped by `publish`.
    pub published: Line,
    /// Bumped by the delivery thread: on its own cache line, so the two
    /// threads do not contend for one.
    pub delivered: Line,
    pub failed: AtomicU64,
    pub overflowed: AtomicU64,
    pub expired: AtomicU64,
    pub lost: AtomicU64,
    pub retried: AtomicU64,
    pub fallback_logged: AtomicU64,
}

/// An atomic counter alone on its cache line.
#[derive(Debug, Default)]
#[repr(align(64))]
pub(crate) struct Line(AtomicU64);

impl std::ops::Deref for Line {
    type Target = AtomicU64;

    fn deref(&self) -> &AtomicU64 {
        &self.0
    }
}

impl Counters {
    pub fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Relaxed);
    }

    /// Counts an event's final outcome, after its report was delivered.
    /// `Release`: whoever sees the count also sees the event's `published`
    /// bump, which happened before (see `unsettled`).
    pub fn settle(outcome: &AtomicU64) {
        outcome.fetch_add(1, Release);
    }

    /// Counts an event delivered, after its report was delivered: see
    /// [`Counters::settle`]. The metric first, so that a `flush` that sees
    /// the count sees the metric too.
    #[inline]
    pub fn delivered(&self) {
        record::delivered(SINK, 1);
        Self::settle(&self.delivered);
    }

    /// Records an event's final outcome as a metric (it is counted with
    /// [`Counters::settle`]).
    pub fn record(outcome: &Outcome) {
        let reason = match outcome {
            Outcome::Delivered { .. } => return record::delivered(SINK, 1),
            Outcome::Failed { .. } => "failed",
            Outcome::Overflowed => "overflowed",
            Outcome::Expired => "expired",
            Outcome::Lost => "lost",
        };
        record::failed(SINK, reason, 1);
    }

    /// `n` events more in the retry buffer, as a metric.
    pub fn buffered(n: usize) {
        record::buffered(SINK, n);
    }

    /// `n` events fewer in the retry buffer, as a metric.
    pub fn unbuffered(n: usize) {
        record::unbuffered(SINK, n);
    }

    /// Events with no final outcome yet, wherever they are: a producer
    /// (current or replaced), the retry buffer, or a thread moving them
    /// between the two. 0 means that every event published before the call
    /// has had its report.
    pub fn unsettled(&self) -> u64 {
        // Outcomes first: each one seen also makes its event's `published`
        // bump visible, so the difference is never below the truth.
        let settled = self.delivered.load(Acquire)
            + self.failed.load(Acquire)
            + self.overflowed.load(Acquire)
            + self.expired.load(Acquire)
            + self.lost.load(Acquire);
        self.published.load(Acquire).saturating_sub(settled)
    }

    pub fn snapshot(&self, buffered: u64, available: bool) -> KafkaStats {
        let in_flight = self.unsettled().saturating_sub(buffered);
        KafkaStats {
            published: self.published.load(Relaxed),
            delivered: self.delivered.load(Relaxed),
            failed: self.failed.load(Relaxed),
            overflowed: self.overflowed.load(Relaxed),
            expired: self.expired.load(Relaxed),
            lost: self.lost.load(Relaxed),
            retried: self.retried.load(Relaxed),
            fallback_logged: self.fallback_logged.load(Relaxed),
            buffered,
            in_flight,
            available,
        }
    }
}
