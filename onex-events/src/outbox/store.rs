//! [`Store`]: what the parts both backends share (the group committer and
//! the sink) need of a backend's database. Each backend's `store.rs`
//! implements it; its `relay.rs` implements the relay's side,
//! [`RelayStore`](super::relay::RelayStore).

use super::row::Row;
use super::stats::OutboxStats;
use super::OutboxError;

/// A backend's outbox database, as the committer and the sink see it.
pub(crate) trait Store: Send + Sync + 'static {
    /// Commits `rows`, in order, in one transaction. Called on the
    /// committer's thread, or on a short-lived thread of its own.
    fn write(&self, rows: &[Row]) -> Result<(), OutboxError>;

    /// The totals; `not_committed` is the sink's to fill in.
    fn stats(&self) -> Result<OutboxStats, OutboxError>;
}
