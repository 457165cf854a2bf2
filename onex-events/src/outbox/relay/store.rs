//! The seam between the relay and the database it relays from: the relay
//! (Kafka, backoff, dead-letter topic) is the same for every database; a
//! [`RelayStore`] claims pending rows and records what became of them.
//!
//! Implementations: each backend's `relay.rs`, the SQLite file
//! (`sqlite/relay.rs`) and a PostgreSQL table several relays share
//! (`postgres/relay.rs`).

use super::super::OutboxError;

/// One pending row, as claimed for sending.
#[derive(Debug, Clone)]
pub(crate) struct Pending {
    pub seq: i64,
    pub id: String,
    pub key: String,
    pub payload: String,
    pub topic: String,
    pub headers: String,
    pub created_at: i64,
    pub attempts: i64,
    pub next_attempt_at: i64,
}

/// What the relay decided for one claimed row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Acknowledged by the cluster: mark delivered (or delete it when no
    /// retention is configured).
    Delivered,
    /// Failed: retry not before `next_attempt_at` (Unix ms).
    Retry {
        attempts: i64,
        next_attempt_at: i64,
        error: String,
    },
    /// Failed for good: move to the dead-letter table.
    Dead { attempts: i64, error: String },
    /// Claimed but not sent, or no report in time: stays pending as it is.
    Unsent,
}

/// A database the relay relays from.
///
/// A cycle is `claim`, then exactly one of `record` (something was sent)
/// or `release` (nothing was). A claim may hold locks (PostgreSQL) until
/// then; `record` and `release` end it. Up to [`RelayStore::batches_at_once`]
/// claims are open at once, ended in the order they were made.
pub(crate) trait RelayStore: Send + 'static {
    /// Names the outbox in logs (a file, a table).
    fn describe(&self) -> String;

    /// Claims up to `limit` pending rows with a `seq` after `after`, in
    /// `seq` order. Every row of a key that is returned comes with every
    /// earlier pending row of that key after `after`, and no other relay
    /// sends rows of that key until the claim ends.
    fn claim(&mut self, after: i64, limit: usize) -> Result<Vec<Pending>, OutboxError>;

    /// How many claims may be open at once: batches in flight.
    fn batches_at_once(&self) -> usize;

    /// Records `outcomes[i]` for `rows[i]` and ends the claim; returns how
    /// many rows were newly marked delivered. On an error nothing of it
    /// may be recorded: the relay calls `record` again with the same rows
    /// (the claim then ended, or not: a store records what is safe without
    /// it), sending nothing new until it succeeds.
    fn record(
        &mut self,
        rows: &[&Pending],
        outcomes: &[Outcome],
        now: i64,
    ) -> Result<usize, OutboxError>;

    /// Ends a claim without recording anything.
    fn release(&mut self) -> Result<(), OutboxError>;

    /// Called on every turn of the relay's loop, batches in flight or not:
    /// keeps what the store holds for this relay from expiring (the SQLite
    /// file's relay lease).
    fn keep_alive(&mut self) -> Result<(), OutboxError> {
        Ok(())
    }

    /// Deletes delivered rows delivered before `cutoff` (Unix ms); returns
    /// how many, or `None` when it cannot now (without ending a claim):
    /// asked again soon.
    fn delete_delivered(&mut self, cutoff: i64) -> Result<Option<usize>, OutboxError>;
}
