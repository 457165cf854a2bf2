//! Per-key order: the records of one key in a partition are handled one
//! after the other, those of different keys side by side.

use std::collections::hash_map::DefaultHasher;
use std::collections::{HashMap, VecDeque};
use std::hash::Hasher;

/// A key's lane: its partition slot and a 64-bit hash of the key. Two keys
/// with one hash (about one chance in 2^64 per pair) share a lane: their
/// records run one after the other, each key still in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Lane {
    partition: usize,
    key_hash: u64,
}

impl Lane {
    /// The lane of `key` in partition slot `partition`.
    pub fn of(partition: usize, key: &[u8]) -> Self {
        let mut hasher = DefaultHasher::new();
        hasher.write(key);
        Lane {
            partition,
            key_hash: hasher.finish(),
        }
    }
}

/// A queue per lane that has a record in hand; the record being handled is
/// not in it, those waiting behind it are.
#[derive(Debug)]
pub(crate) struct Lanes<T> {
    lanes: HashMap<Lane, VecDeque<T>>,
    waiting: usize,
}

impl<T> Default for Lanes<T> {
    fn default() -> Self {
        Lanes {
            lanes: HashMap::new(),
            waiting: 0,
        }
    }
}

impl<T> Lanes<T> {
    /// True if no lane is busy.
    pub fn is_empty(&self) -> bool {
        self.lanes.is_empty()
    }

    /// True if a record of `lane` is in hand.
    pub fn is_busy(&self, lane: Lane) -> bool {
        self.lanes.contains_key(&lane)
    }

    /// A record of `lane` is being handled: later ones wait.
    pub fn open(&mut self, lane: Lane) {
        self.lanes.entry(lane).or_default();
    }

    /// Queues `item` behind the records of its busy `lane`.
    pub fn enqueue(&mut self, lane: Lane, item: T) {
        self.lanes.entry(lane).or_default().push_back(item);
        self.waiting += 1;
    }

    /// The record of `lane` being handled is done: the next one, to handle
    /// now (the lane stays busy), if any; else the lane closes.
    pub fn finish(&mut self, lane: Lane) -> Option<T> {
        let waiting = self.lanes.get_mut(&lane)?;
        match waiting.pop_front() {
            Some(next) => {
                self.waiting -= 1;
                Some(next)
            }
            None => {
                self.lanes.remove(&lane);
                None
            }
        }
    }

    /// Drops the records waiting in partition slot `partition` (its
    /// partition was revoked: the next owner reads them again); the lanes
    /// whose record is being handled stay busy. Returns how many were
    /// dropped.
    pub fn drop_waiting(&mut self, partition: usize) -> usize {
        let dropped: usize = self
            .lanes
            .iter_mut()
            .filter(|(lane, _)| lane.partition == partition)
            .map(|(_, waiting)| waiting.drain(..).count())
            .sum();
        self.waiting -= dropped;
        dropped
    }

    /// Records waiting behind another of their lane.
    pub fn waiting(&self) -> usize {
        self.waiting
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Admits `n` as the scheduler does: runs it now if its lane is free.
    fn admit(lanes: &mut Lanes<u32>, lane: Lane, n: u32) -> Option<u32> {
        if lanes.is_busy(lane) {
            lanes.enqueue(lane, n);
            None
        } else {
            lanes.open(lane);
            Some(n)
        }
    }

    #[test]
    fn a_key_runs_one_record_at_a_time_in_order() {
        let (a, b, a1) = (Lane::of(0, b"a"), Lane::of(0, b"b"), Lane::of(1, b"a"));
        assert_ne!(a, b);
        let mut lanes = Lanes::default();
        assert_eq!(admit(&mut lanes, a, 1), Some(1));
        assert_eq!(
            admit(&mut lanes, b, 2),
            Some(2),
            "another key runs beside it"
        );
        assert_eq!(admit(&mut lanes, a, 3), None);
        assert_eq!(admit(&mut lanes, a, 4), None);
        assert_eq!(admit(&mut lanes, a1, 5), Some(5), "another partition too");
        assert_eq!(lanes.waiting(), 2);
        assert_eq!(lanes.finish(a), Some(3));
        assert_eq!(lanes.finish(a), Some(4));
        assert_eq!(lanes.finish(a), None);
        assert_eq!(admit(&mut lanes, a, 6), Some(6), "the lane was closed");
        assert_eq!(lanes.finish(b), None);
        assert_eq!(lanes.waiting(), 0);
    }

    #[test]
    fn a_revoked_partition_drops_what_waits_and_keeps_its_busy_lanes() {
        let (a, a1) = (Lane::of(0, b"a"), Lane::of(1, b"a"));
        let mut lanes = Lanes::default();
        assert_eq!(admit(&mut lanes, a, 1), Some(1));
        assert_eq!(admit(&mut lanes, a, 2), None);
        assert_eq!(admit(&mut lanes, a, 3), None);
        assert_eq!(admit(&mut lanes, a1, 4), Some(4));
        assert_eq!(admit(&mut lanes, a1, 5), None);
        assert_eq!(lanes.drop_waiting(0), 2);
        assert_eq!(lanes.waiting(), 1);
        // Read again by this consumer: behind the record still running.
        assert_eq!(admit(&mut lanes, a, 6), None);
        assert_eq!(lanes.finish(a), Some(6));
        assert_eq!(lanes.finish(a1), Some(5));
    }
}
