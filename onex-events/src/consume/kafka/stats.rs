//! What a consumer did: counts of handled, failed, retried, dead-lettered,
//! malformed and skipped events, and the lag of each partition it reads;
//! each count recorded as a metric too (see [`crate::metrics`]).

use crate::consume::Route;
use crate::metrics::record;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// A consumer's counts since it was built, and its lag per partition.
///
/// `handled` and `failed` count handler runs that settled (an event two
/// nodes handle counts twice); `retried` counts the runs after the first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConsumerStats {
    /// Handler runs that acknowledged their event (after retries or not).
    pub handled: u64,
    /// Handlers that gave an event up (every attempt failed, or its payload
    /// does not decode): each is dead-lettered.
    pub failed: u64,
    /// Runs of a handler after a failed one.
    pub retried: u64,
    /// Records the dead-letter topic acknowledged: failed events, malformed
    /// records and, if so configured, unhandled events.
    pub dead_lettered: u64,
    /// Records that are not an OnexEnvelopeV1.
    pub malformed: u64,
    /// Events no handler takes, skipped.
    pub skipped: u64,
    /// The lag of each partition assigned, as librdkafka last reported it:
    /// records on the partition past the offset stored for commit.
    pub lag: Vec<PartitionLag>,
}

/// The lag of one partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionLag {
    /// The topic.
    pub topic: String,
    /// The partition.
    pub partition: i32,
    /// Records past the stored offset.
    pub lag: i64,
}

impl ConsumerStats {
    /// The lag summed over every partition.
    pub fn total_lag(&self) -> i64 {
        self.lag.iter().map(|l| l.lag).sum()
    }
}

impl fmt::Display for ConsumerStats {
    /// `handled=H failed=F retried=R dead_lettered=D malformed=M skipped=S lag=L`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "handled={} failed={} retried={} dead_lettered={} malformed={} skipped={} lag={}",
            self.handled,
            self.failed,
            self.retried,
            self.dead_lettered,
            self.malformed,
            self.skipped,
            self.total_lag()
        )
    }
}

/// The live counters behind [`ConsumerStats`], shared by the consumer's
/// task, its librdkafka callbacks and its handles.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    handled: AtomicU64,
    failed: AtomicU64,
    retried: AtomicU64,
    dead_lettered: AtomicU64,
    malformed: AtomicU64,
    skipped: AtomicU64,
    lag: Mutex<BTreeMap<(String, i32), i64>>,
}

impl Counters {
    /// Adds one to `counter`.
    fn add(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// `route` acknowledged an event.
    #[inline]
    pub fn handled(&self, route: Route<'_>) {
        Self::add(&self.handled);
        record::handled(route.node_type(), route.spec().name, true);
    }

    /// `route` gave an event up.
    pub fn failed(&self, route: Route<'_>) {
        Self::add(&self.failed);
        record::handled(route.node_type(), route.spec().name, false);
    }

    /// `route` runs again after a failure.
    pub fn retried(&self, route: Route<'_>) {
        Self::add(&self.retried);
        record::retried(route.node_type(), route.spec().name);
    }

    /// The dead-letter topic acknowledged a record sent for `reason`.
    pub fn dead_lettered(&self, reason: &'static str) {
        Self::add(&self.dead_lettered);
        record::dead_lettered(reason);
    }

    /// A record that is not an OnexEnvelopeV1 (counted as dead-lettered
    /// once the dead-letter topic has it).
    pub fn malformed(&self) {
        Self::add(&self.malformed);
    }

    /// An event no handler takes, skipped.
    pub fn skipped(&self) {
        Self::add(&self.skipped);
        record::skipped();
    }

    /// Replaces the lag of every partition.
    pub fn set_lag(&self, lag: BTreeMap<(String, i32), i64>) {
        if let Ok(mut current) = self.lag.lock() {
            record::consumer_lag(&current, &lag);
            *current = lag;
        }
    }

    /// The counts now.
    pub fn snapshot(&self) -> ConsumerStats {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let lag = self
            .lag
            .lock()
            .map(|lag| {
                lag.iter()
                    .map(|((topic, partition), lag)| PartitionLag {
                        topic: topic.clone(),
                        partition: *partition,
                        lag: *lag,
                    })
                    .collect()
            })
            .unwrap_or_default();
        ConsumerStats {
            handled: get(&self.handled),
            failed: get(&self.failed),
            retried: get(&self.retried),
            dead_lettered: get(&self.dead_lettered),
            malformed: get(&self.malformed),
            skipped: get(&self.skipped),
            lag,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_line_names_every_count() {
        let counters = Counters::default();
        Counters::add(&counters.handled);
        Counters::add(&counters.handled);
        Counters::add(&counters.dead_lettered);
        counters.set_lag(BTreeMap::from([
            (("t".to_owned(), 0), 3),
            (("t".to_owned(), 1), 4),
        ]));
        let stats = counters.snapshot();
        assert_eq!(
            stats.to_string(),
            "handled=2 failed=0 retried=0 dead_lettered=1 malformed=0 skipped=0 lag=7"
        );
        assert_eq!(stats.lag[1].partition, 1);
    }
}
