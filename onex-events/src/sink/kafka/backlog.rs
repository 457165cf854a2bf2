//! Whether a Kafka sink of the process is backlogged: its retry buffer
//! (events librdkafka's full queue, or an unreachable cluster, did not
//! take) at least half full. A consumer takes no new record meanwhile, so
//! the events its handlers publish wait in the buffer instead of
//! overflowing it.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// Kafka sinks of the process that are backlogged now.
static BACKLOGGED: AtomicUsize = AtomicUsize::new(0);

/// True while some Kafka sink of the process is backlogged.
pub(crate) fn any_backlogged() -> bool {
    BACKLOGGED.load(Ordering::Acquire) > 0
}

/// One sink's part in the count: backlogged from half its retry buffer's
/// capacity until it is down to a quarter.
#[derive(Debug, Default)]
pub(super) struct Backlog(AtomicBool);

impl Backlog {
    /// The retry buffer holds `retrying` of `capacity` events now.
    pub fn update(&self, retrying: usize, capacity: usize) {
        let on = match self.0.load(Ordering::Acquire) {
            true => retrying > capacity / 4,
            false => retrying >= (capacity / 2).max(1),
        };
        if self.0.swap(on, Ordering::AcqRel) != on {
            match on {
                true => BACKLOGGED.fetch_add(1, Ordering::AcqRel),
                false => BACKLOGGED.fetch_sub(1, Ordering::AcqRel),
            };
        }
    }
}

impl Drop for Backlog {
    fn drop(&mut self) {
        if *self.0.get_mut() {
            BACKLOGGED.fetch_sub(1, Ordering::AcqRel);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sink_is_backlogged_from_half_its_capacity_down_to_a_quarter() {
        let backlog = Backlog::default();
        backlog.update(49, 100);
        assert!(!backlog.0.load(Ordering::Acquire));
        backlog.update(50, 100);
        assert!(backlog.0.load(Ordering::Acquire));
        assert!(any_backlogged());
        backlog.update(26, 100);
        assert!(backlog.0.load(Ordering::Acquire));
        backlog.update(25, 100);
        assert!(!backlog.0.load(Ordering::Acquire));
        backlog.update(60, 100);
        drop(backlog);
    }
}
