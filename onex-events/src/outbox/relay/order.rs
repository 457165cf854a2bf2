//! [`KeyOrder`]: which claimed rows the relay may send now, with several
//! batches in flight, so that no row overtakes an earlier row of its key.
//!
//! The rules, for a relay that keeps batches in flight while it claims and
//! sends the next ones:
//!
//! 1. **One batch per key at a time.** A row whose key has rows in a batch
//!    still in flight is *held* (in memory, in `seq` order) and sent once
//!    that batch is recorded, before any later row. Rows of one key inside
//!    one batch go out together, in `seq` order, through the idempotent
//!    producer, which keeps them in order in their partition (as when the
//!    relay had one batch at a time).
//! 2. **A failure rewinds.** When a recorded batch has a row to retry (or a
//!    row that got no report), the relay stops claiming, lets the batches in
//!    flight finish, drops what it holds (still pending in the database)
//!    and claims again from the oldest pending row: the failed row comes
//!    back first, and its key's later rows after it. Since no later row of
//!    that key was in flight (rule 1) nor sent since (the relay held it,
//!    then dropped it), the failed row is not overtaken.
//! 3. **Backoff blocks a key.** A claimed row waiting for its retry
//!    backoff is not sent, nor is any later row of its key in that claim;
//!    the relay rewinds to find them again.
//!
//! Claims read past a cursor (the last `seq` claimed), so rows in flight
//! are not claimed twice; with nothing in flight or held, the cursor goes
//! back to the start.

use super::{Outcome, Pending};
use std::collections::{HashMap, HashSet};

/// The relay's per-key bookkeeping across the batches in flight.
#[derive(Debug, Default)]
pub(super) struct KeyOrder {
    /// Rows in flight, per key.
    in_flight: HashMap<String, usize>,
    /// Claimed rows not sent yet, in `seq` order: their key was in flight.
    held: Vec<Pending>,
    /// Claims read rows after this `seq`.
    cursor: i64,
    /// A failure or a backoff: claim nothing more until the batches in
    /// flight are recorded, then start again from the oldest pending row.
    rewind: bool,
}

/// What a claim lets the relay send.
#[derive(Debug, Default)]
pub(super) struct Admitted {
    /// Rows to send now, in `seq` order.
    pub send: Vec<Pending>,
    /// The earliest retry time of a row left for its backoff.
    pub earliest_retry: Option<i64>,
}

impl KeyOrder {
    /// Claims read rows with a `seq` after this.
    pub fn cursor(&self) -> i64 {
        self.cursor
    }

    /// Whether the relay may claim more: no rewind under way, fewer than
    /// `max_batches` in flight, and fewer than `limit` rows held.
    pub fn may_claim(&self, batches_in_flight: usize, max_batches: usize, limit: usize) -> bool {
        !self.rewind && batches_in_flight < max_batches && self.held.len() < limit
    }

    /// Held rows, to send once their key is free.
    #[cfg(test)]
    pub fn held(&self) -> usize {
        self.held.len()
    }

    /// Splits the held rows and `claimed` (rows after the cursor, in `seq`
    /// order) into those to send now, those to hold, and those left
    /// pending (backoff); the rows to send count as in flight.
    pub fn admit(&mut self, claimed: Vec<Pending>, now: i64) -> Admitted {
        if let Some(last) = claimed.last() {
            self.cursor = self.cursor.max(last.seq);
        }
        let mut admitted = Admitted::default();
        let mut holding: HashSet<String> = HashSet::new();
        let mut left: HashSet<String> = HashSet::new();
        let mut held = Vec::new();
        for row in std::mem::take(&mut self.held).into_iter().chain(claimed) {
            if left.contains(&row.key) {
                continue;
            }
            if holding.contains(&row.key) || self.in_flight.contains_key(&row.key) {
                holding.insert(row.key.clone());
                held.push(row);
                continue;
            }
            if row.next_attempt_at > now {
                admitted.earliest_retry = Some(
                    admitted
                        .earliest_retry
                        .map_or(row.next_attempt_at, |t| t.min(row.next_attempt_at)),
                );
                left.insert(row.key.clone());
                self.rewind = true;
                continue;
            }
            admitted.send.push(row);
        }
        if !left.is_empty() {
            // Held rows of a key left for its backoff are found again after
            // the rewind, behind the row they wait for.
            held.retain(|row| !left.contains(&row.key));
        }
        self.held = held;
        for row in &admitted.send {
            *self.in_flight.entry(row.key.clone()).or_default() += 1;
        }
        admitted
    }

    /// Records what became of a batch: its keys are free again; a row to
    /// send again starts a rewind.
    pub fn recorded(&mut self, rows: &[Pending], outcomes: &[Outcome]) {
        for row in rows {
            if let Some(n) = self.in_flight.get_mut(&row.key) {
                *n -= 1;
                if *n == 0 {
                    self.in_flight.remove(&row.key);
                }
            }
        }
        if outcomes
            .iter()
            .any(|o| matches!(o, Outcome::Retry { .. } | Outcome::Unsent))
        {
            self.rewind = true;
        }
    }

    /// With no batch in flight: completes a rewind (drops the held rows,
    /// which are still pending) and moves the cursor back to the start.
    /// Returns whether a rewind completed.
    pub fn settle(&mut self) -> bool {
        debug_assert!(self.in_flight.is_empty());
        let rewound = std::mem::replace(&mut self.rewind, false);
        // Nothing in flight: every held row's key is free, and the next
        // claim finds it again from the start, in order.
        self.held.clear();
        self.cursor = 0;
        rewound
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(seq: i64, key: &str) -> Pending {
        Pending {
            seq,
            id: format!("e{seq}"),
            key: key.to_owned(),
            payload: String::new(),
            topic: "t".to_owned(),
            headers: "{}".to_owned(),
            created_at: 0,
            attempts: 0,
            next_attempt_at: 0,
        }
    }

    fn seqs(rows: &[Pending]) -> Vec<i64> {
        rows.iter().map(|r| r.seq).collect()
    }

    fn retry() -> Outcome {
        Outcome::Retry {
            attempts: 1,
            next_attempt_at: 0,
            error: "broker down".to_owned(),
        }
    }

    /// Batch 1 holds key `a`'s first row when batch 2 is claimed: `a`'s
    /// second row is held, not sent, so when the first fails it is retried
    /// before the second is ever sent.
    #[test]
    fn a_failed_row_is_not_overtaken_by_a_later_row_of_its_key_in_a_later_batch() {
        let mut order = KeyOrder::default();
        let first = order.admit(vec![row(1, "a"), row(2, "b")], 0).send;
        assert_eq!(seqs(&first), [1, 2]);
        assert_eq!(order.cursor(), 2);

        // Batch 2, claimed while batch 1 is in flight.
        let second = order
            .admit(vec![row(3, "a"), row(4, "c"), row(5, "a")], 0)
            .send;
        assert_eq!(seqs(&second), [4], "a's rows wait for batch 1");
        assert_eq!(order.held(), 2);

        // Batch 1: `a` failed. Nothing more is claimed, nothing held is sent.
        order.recorded(&first, &[retry(), Outcome::Delivered]);
        assert!(!order.may_claim(1, 4, 100));
        order.recorded(&second, &[Outcome::Delivered]);
        assert!(
            order.settle(),
            "the rewind completes with nothing in flight"
        );
        assert_eq!((order.held(), order.cursor()), (0, 0));

        // Claimed again from the start: the failed row first, then the rest.
        let again = order
            .admit(vec![row(1, "a"), row(3, "a"), row(5, "a")], 0)
            .send;
        assert_eq!(seqs(&again), [1, 3, 5]);
    }

    /// Without failures, a held row goes out with the next claim once its
    /// key's batch is recorded, before the later rows of its key.
    #[test]
    fn held_rows_are_sent_in_order_once_their_key_is_free() {
        let mut order = KeyOrder::default();
        let first = order.admit(vec![row(1, "a")], 0).send;
        assert!(order.admit(vec![row(2, "a")], 0).send.is_empty());
        order.recorded(&first, &[Outcome::Delivered]);
        let next = order.admit(vec![row(3, "a"), row(4, "b")], 0).send;
        assert_eq!(seqs(&next), [2, 3, 4]);
    }

    /// A row in its backoff blocks its key's later rows, and rewinds.
    #[test]
    fn a_row_in_backoff_blocks_its_keys_later_rows() {
        let mut order = KeyOrder::default();
        let mut waiting = row(1, "a");
        waiting.next_attempt_at = 50;
        let admitted = order.admit(vec![waiting, row(2, "a"), row(3, "b")], 10);
        assert_eq!(seqs(&admitted.send), [3]);
        assert_eq!(admitted.earliest_retry, Some(50));
        assert!(!order.may_claim(1, 4, 100));
        order.recorded(&admitted.send, &[Outcome::Delivered]);
        assert!(order.settle());
        assert_eq!(order.cursor(), 0);
    }
}
