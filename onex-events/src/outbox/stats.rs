//! [`OutboxStats`]: the totals of an outbox file over every event ever
//! committed to it, kept across restarts and retention deletes.

use rusqlite::{Connection, OptionalExtension};
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
}

impl fmt::Display for OutboxStats {
    /// `committed=C delivered=D pending=P dead=X`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "committed={} delivered={} pending={} dead={}",
            self.committed, self.delivered, self.pending, self.dead
        )
    }
}

/// Reads the totals in one read transaction, so they add up.
pub(crate) fn read(conn: &mut Connection) -> rusqlite::Result<OutboxStats> {
    let tx = conn.transaction()?;
    let committed: Option<i64> = tx
        .query_row(
            "SELECT seq FROM sqlite_sequence WHERE name = 'onex_outbox'",
            [],
            |r| r.get(0),
        )
        .optional()?;
    let counter = |name: &str| -> rusqlite::Result<i64> {
        tx.query_row(
            "SELECT value FROM onex_outbox_counters WHERE name = ?1",
            [name],
            |r| r.get(0),
        )
    };
    let delivered = counter("delivered")?;
    let dead = counter("dead")?;
    let pending: i64 = tx.query_row(
        "SELECT count(*) FROM onex_outbox WHERE status = 0",
        [],
        |r| r.get(0),
    )?;
    let to_u64 = |v: i64| u64::try_from(v).unwrap_or(0);
    Ok(OutboxStats {
        committed: to_u64(committed.unwrap_or(0)),
        delivered: to_u64(delivered),
        pending: to_u64(pending),
        dead: to_u64(dead),
        not_committed: 0,
    })
}

/// Polls `stats` until nothing is pending or `timeout` runs out: the flush
/// of an outbox sink with a relay.
pub(crate) fn wait_until_drained(
    timeout: std::time::Duration,
    stats: impl Fn() -> Result<OutboxStats, crate::outbox::OutboxError>,
) -> Result<(), crate::sink::SinkError> {
    let deadline = std::time::Instant::now() + timeout;
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
        if std::time::Instant::now() >= deadline {
            return Err(crate::sink::SinkError::Timeout {
                pending: usize::try_from(pending).unwrap_or(usize::MAX),
                timeout,
            });
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}
