//! [`OutboxStats`]: the totals of an outbox over every event ever
//! committed to it, kept across restarts and retention deletes.

use std::fmt;

/// The totals of one outbox. `committed = delivered + pending + dead`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct OutboxStats {
    /// Events ever committed to the outbox (by any process or transaction).
    pub committed: u64,
    /// Acknowledged by the cluster.
    pub delivered: u64,
    /// Committed and not yet delivered.
    pub pending: u64,
    /// Moved to the dead-letter table.
    pub dead: u64,
    /// Events this process could not commit (disk full, read-only file…):
    /// each was logged at `ERROR` with its envelope instead.
    pub not_committed: u64,
    /// Events this process's relay sent and the cluster acknowledged, but
    /// that are not marked delivered yet because marking them failed (full
    /// disk…): still counted in `pending`, not in `delivered`. The relay
    /// retries the marking, and sends nothing new, until it works; it does
    /// not send these again.
    pub sent_unrecorded: u64,
}

impl fmt::Display for OutboxStats {
    /// `committed=C delivered=D pending=P dead=X`, then
    /// ` sent_unrecorded=U` when `U` is not zero.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "committed={} delivered={} pending={} dead={}",
            self.committed, self.delivered, self.pending, self.dead
        )?;
        if self.sent_unrecorded > 0 {
            write!(f, " sent_unrecorded={}", self.sent_unrecorded)?;
        }
        Ok(())
    }
}

/// Polls `stats` until nothing is pending or `timeout` runs out: the flush
/// of an outbox sink with a relay. `Duration::MAX` waits as long as it
/// takes.
pub(crate) fn wait_until_drained(
    timeout: std::time::Duration,
    stats: impl Fn() -> Result<OutboxStats, crate::outbox::OutboxError>,
) -> Result<(), crate::sink::SinkError> {
    let deadline = crate::deadline::Deadline::after(timeout);
    loop {
        let pending = match stats() {
            Ok(s) => s.pending,
            Err(e) => {
                tracing::warn!(target: "onex_events::outbox", error = %e, "cannot read the outbox while flushing");
                u64::MAX
            }
        };
        if pending == 0 {
            return Ok(());
        }
        if deadline.passed() {
            return Err(crate::sink::SinkError::Timeout {
                pending: usize::try_from(pending).unwrap_or(usize::MAX),
                timeout,
            });
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}
