//! The offsets of the partitions a consumer reads: which records it has in
//! hand, and up to where each partition is settled — the offset it may
//! store for commit, never past a record still in hand.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

/// A partition as one assignment of it saw a record: its slot, stable for
/// the consumer's life, and the assignment (`epoch`), so that a record
/// settled after its partition was revoked stores nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PartitionRef {
    /// The partition's slot.
    pub index: usize,
    /// The assignment the record came in.
    pub epoch: u64,
}

#[derive(Debug)]
struct Partition {
    topic: Arc<str>,
    partition: i32,
    /// The current assignment; 0 while not assigned.
    epoch: u64,
    /// Records in hand, in the order received (offsets ascending), and
    /// whether each is settled; the first is never settled.
    pending: VecDeque<(i64, bool)>,
    /// The offset to store: one past the last record settled with every
    /// record before it.
    next: Option<i64>,
    /// True if `next` moved since it was last stored.
    dirty: bool,
}

/// The records in hand of every partition a consumer reads, and how far
/// each is settled.
#[derive(Debug, Default)]
pub(crate) struct Offsets {
    slots: HashMap<Arc<str>, HashMap<i32, usize>>,
    partitions: Vec<Partition>,
    last_epoch: u64,
    /// The slot of the partition of the last record received.
    last_slot: usize,
    dirty: Vec<usize>,
    revoked: Vec<usize>,
}

impl Offsets {
    /// A record came in: it is in hand until [`Offsets::settle`]. Returns
    /// its partition.
    ///
    /// A partition seen for the first time since it was assigned starts a
    /// new assignment; so does an offset at or before one already received
    /// (librdkafka reset the position): the records in hand before it then
    /// store nothing when settled.
    pub fn receive(&mut self, topic: &str, partition: i32, offset: i64) -> PartitionRef {
        let index = self.slot(topic, partition);
        let p = &mut self.partitions[index];
        let rewound = p.pending.back().is_some_and(|&(last, _)| offset <= last)
            || p.next.is_some_and(|next| offset < next);
        if p.epoch == 0 || rewound {
            if rewound {
                tracing::debug!(topic, partition, offset, "position reset: a new assignment");
            }
            self.last_epoch += 1;
            p.epoch = self.last_epoch;
            p.pending.clear();
            p.next = None;
            p.dirty = false;
        }
        p.pending.push_back((offset, false));
        PartitionRef {
            index,
            epoch: p.epoch,
        }
    }

    fn slot(&mut self, topic: &str, partition: i32) -> usize {
        // Records come in runs of one partition: try the last one's first.
        if let Some(p) = self.partitions.get(self.last_slot) {
            if p.partition == partition && *p.topic == *topic {
                return self.last_slot;
            }
        }
        let index = self.find_slot(topic, partition);
        self.last_slot = index;
        index
    }

    fn find_slot(&mut self, topic: &str, partition: i32) -> usize {
        if let Some(&index) = self.slots.get(topic).and_then(|t| t.get(&partition)) {
            return index;
        }
        let name: Arc<str> = match self.slots.get_key_value(topic) {
            Some((name, _)) => Arc::clone(name),
            None => Arc::from(topic),
        };
        let index = self.partitions.len();
        self.partitions.push(Partition {
            topic: Arc::clone(&name),
            partition,
            epoch: 0,
            pending: VecDeque::new(),
            next: None,
            dirty: false,
        });
        self.slots.entry(name).or_default().insert(partition, index);
        index
    }

    /// The record at `offset` of `partition` is settled (handled or
    /// dead-lettered). Returns false if its assignment has ended: nothing
    /// to store then, the next owner reads it again.
    pub fn settle(&mut self, partition: PartitionRef, offset: i64) -> bool {
        let Some(p) = self.partitions.get_mut(partition.index) else {
            return false;
        };
        if p.epoch != partition.epoch || p.epoch == 0 {
            return false;
        }
        let Ok(at) = p.pending.binary_search_by_key(&offset, |&(o, _)| o) else {
            return false;
        };
        p.pending[at].1 = true;
        if at == 0 {
            while let Some(&(o, true)) = p.pending.front() {
                p.pending.pop_front();
                p.next = Some(o + 1);
            }
            if !p.dirty {
                p.dirty = true;
                self.dirty.push(partition.index);
            }
        }
        true
    }

    /// Calls `store(topic, partition, offset)` for every partition whose
    /// settled offset moved since the last call.
    pub fn store_settled(&mut self, mut store: impl FnMut(&str, i32, i64)) {
        for index in self.dirty.drain(..) {
            let p = &mut self.partitions[index];
            p.dirty = false;
            if let (Some(next), true) = (p.next, p.epoch != 0) {
                store(&p.topic, p.partition, next);
            }
        }
    }

    /// True if some partition's settled offset moved since it was stored.
    pub fn has_settled(&self) -> bool {
        !self.dirty.is_empty()
    }

    /// `partition` of `topic` is no longer this consumer's: its records in
    /// hand will store nothing. Call [`Offsets::store_settled`] first.
    pub fn revoke(&mut self, topic: &str, partition: i32) {
        let Some(&index) = self.slots.get(topic).and_then(|t| t.get(&partition)) else {
            return;
        };
        let p = &mut self.partitions[index];
        if p.epoch != 0 {
            p.epoch = 0;
            p.pending.clear();
            p.next = None;
            p.dirty = false;
            self.revoked.push(index);
        }
    }

    /// The slots of the partitions revoked since the last call.
    pub fn take_revoked(&mut self) -> Vec<usize> {
        std::mem::take(&mut self.revoked)
    }

    /// True if a partition was revoked since [`Offsets::take_revoked`].
    pub fn was_revoked(&self) -> bool {
        !self.revoked.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(offsets: &mut Offsets) -> Vec<(String, i32, i64)> {
        let mut all = Vec::new();
        offsets.store_settled(|t, p, o| all.push((t.to_owned(), p, o)));
        all
    }

    #[test]
    fn the_settled_offset_never_passes_a_record_in_hand() {
        let mut offsets = Offsets::default();
        let refs: Vec<_> = (10..15).map(|o| offsets.receive("t", 0, o)).collect();
        // 11..=14 settled, 10 still in hand: nothing to store.
        for (r, o) in refs.iter().zip(10..15).skip(1) {
            assert!(offsets.settle(*r, o));
        }
        assert!(stored(&mut offsets).is_empty());
        assert!(offsets.settle(refs[0], 10));
        assert_eq!(stored(&mut offsets), [("t".to_owned(), 0, 15)]);
        assert!(stored(&mut offsets).is_empty(), "stored once");
    }

    #[test]
    fn gaps_between_offsets_do_not_hold_the_partition() {
        let mut offsets = Offsets::default();
        let a = offsets.receive("t", 1, 3);
        let b = offsets.receive("t", 1, 7);
        assert!(offsets.settle(b, 7));
        assert!(offsets.settle(a, 3));
        assert_eq!(stored(&mut offsets), [("t".to_owned(), 1, 8)]);
    }

    #[test]
    fn partitions_are_tracked_apart() {
        let mut offsets = Offsets::default();
        let a = offsets.receive("t", 0, 0);
        let _held = offsets.receive("t", 1, 0);
        let c = offsets.receive("u", 0, 5);
        assert!(offsets.settle(a, 0));
        assert!(offsets.settle(c, 5));
        let mut all = stored(&mut offsets);
        all.sort();
        assert_eq!(all, [("t".to_owned(), 0, 1), ("u".to_owned(), 0, 6)]);
    }

    #[test]
    fn a_record_settled_after_its_partition_was_revoked_stores_nothing() {
        let mut offsets = Offsets::default();
        let old = offsets.receive("t", 0, 4);
        offsets.revoke("t", 0);
        assert_eq!(offsets.take_revoked(), [old.index]);
        // Assigned again: read from the committed offset once more.
        let new = offsets.receive("t", 0, 4);
        assert_eq!(new.index, old.index, "the same slot");
        assert_ne!(new.epoch, old.epoch);
        assert!(!offsets.settle(old, 4));
        assert!(stored(&mut offsets).is_empty());
        assert!(offsets.settle(new, 4));
        assert_eq!(stored(&mut offsets), [("t".to_owned(), 0, 5)]);
    }

    #[test]
    fn a_position_reset_starts_a_new_assignment() {
        let mut offsets = Offsets::default();
        let first = offsets.receive("t", 0, 100);
        let again = offsets.receive("t", 0, 50);
        assert_ne!(first.epoch, again.epoch);
        assert!(!offsets.settle(first, 100));
        assert!(offsets.settle(again, 50));
        assert_eq!(stored(&mut offsets), [("t".to_owned(), 0, 51)]);
    }
}
