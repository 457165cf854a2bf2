//! Per-key order: the records of one key in a partition are handled one
//! after the other, those of different keys side by side.

use std::collections::{HashMap, VecDeque};

/// Something with a key: a record.
pub(crate) trait Keyed {
    /// Its key.
    fn key(&self) -> &[u8];
}

/// A queue per key that has a record in hand; the record at the head is
/// the one being handled.
#[derive(Debug)]
pub(crate) struct Lanes<T> {
    /// Per partition slot, per key: the records waiting behind the head.
    lanes: HashMap<usize, HashMap<Box<[u8]>, VecDeque<T>>>,
    queued: usize,
}

impl<T> Default for Lanes<T> {
    fn default() -> Self {
        Lanes {
            lanes: HashMap::new(),
            queued: 0,
        }
    }
}

impl<T: Keyed> Lanes<T> {
    /// A record in partition slot `partition`: given back if it may be
    /// handled now (no other record of its key is in hand), else queued
    /// behind them.
    pub fn admit(&mut self, partition: usize, item: T) -> Option<T> {
        let keys = self.lanes.entry(partition).or_default();
        match keys.get_mut(item.key()) {
            Some(waiting) => {
                waiting.push_back(item);
                self.queued += 1;
                None
            }
            None => {
                keys.insert(item.key().into(), VecDeque::new());
                Some(item)
            }
        }
    }

    /// The record of `key` being handled is done: the next one of its key,
    /// to handle now, if any.
    pub fn finish(&mut self, partition: usize, key: &[u8]) -> Option<T> {
        let keys = self.lanes.get_mut(&partition)?;
        let waiting = keys.get_mut(key)?;
        match waiting.pop_front() {
            Some(next) => {
                self.queued -= 1;
                Some(next)
            }
            None => {
                keys.remove(key);
                None
            }
        }
    }

    /// Drops the records waiting in partition slot `partition` (its
    /// partition was revoked: the next owner reads them again); those being
    /// handled stay at the head of their lane. Returns how many were dropped.
    pub fn drop_waiting(&mut self, partition: usize) -> usize {
        let Some(keys) = self.lanes.get_mut(&partition) else {
            return 0;
        };
        let dropped: usize = keys.values_mut().map(|w| w.drain(..).count()).sum();
        self.queued -= dropped;
        dropped
    }

    /// Records waiting behind another of their key.
    pub fn waiting(&self) -> usize {
        self.queued
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    impl Keyed for (&'static [u8], u32) {
        fn key(&self) -> &[u8] {
            self.0
        }
    }

    fn item(key: &'static [u8], n: u32) -> (&'static [u8], u32) {
        (key, n)
    }

    #[test]
    fn a_key_runs_one_record_at_a_time_in_order() {
        let mut lanes = Lanes::default();
        assert_eq!(lanes.admit(0, item(b"a", 1)).map(|i| i.1), Some(1));
        assert_eq!(
            lanes.admit(0, item(b"b", 2)).map(|i| i.1),
            Some(2),
            "another key runs beside it"
        );
        assert!(lanes.admit(0, item(b"a", 3)).is_none());
        assert!(lanes.admit(0, item(b"a", 4)).is_none());
        assert_eq!(
            lanes.admit(1, item(b"a", 5)).map(|i| i.1),
            Some(5),
            "another partition too"
        );
        assert_eq!(lanes.waiting(), 2);
        assert_eq!(lanes.finish(0, b"a").map(|i| i.1), Some(3));
        assert_eq!(lanes.finish(0, b"a").map(|i| i.1), Some(4));
        assert!(lanes.finish(0, b"a").is_none());
        assert_eq!(
            lanes.admit(0, item(b"a", 6)).map(|i| i.1),
            Some(6),
            "the lane was emptied"
        );
        assert!(lanes.finish(0, b"b").is_none());
        assert_eq!(lanes.waiting(), 0);
    }

    #[test]
    fn a_revoked_partition_drops_what_waits_and_keeps_its_heads() {
        let mut lanes = Lanes::default();
        assert_eq!(lanes.admit(0, item(b"a", 1)).map(|i| i.1), Some(1));
        assert!(lanes.admit(0, item(b"a", 2)).is_none());
        assert!(lanes.admit(0, item(b"a", 3)).is_none());
        assert_eq!(lanes.admit(1, item(b"a", 4)).map(|i| i.1), Some(4));
        assert!(lanes.admit(1, item(b"a", 5)).is_none());
        assert_eq!(lanes.drop_waiting(0), 2);
        assert_eq!(lanes.waiting(), 1);
        // Read again by this consumer: behind the head still running.
        assert!(lanes.admit(0, item(b"a", 6)).is_none());
        assert_eq!(lanes.finish(0, b"a").map(|i| i.1), Some(6));
        assert_eq!(lanes.finish(1, b"a").map(|i| i.1), Some(5));
    }
}
