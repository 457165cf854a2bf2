//! The relay's side of the SQLite outbox: reads pending rows on its own
//! connection, records outcomes through the store's write connection (in
//! transactions of at most [`RECORD_CHUNK`] rows, so publishers' commits
//! never wait long for the relay), and checkpoints the WAL.
//!
//! One relay per file: a claim takes no lock, the single relay of the file
//! is the only one sending.

use super::backend::{Outcome, Pending, RelayStore};
use super::config::OutboxConfig;
use super::store::{self, bump, Store, Wake};
use super::OutboxError;
use rusqlite::{params, Connection};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How often the relay checkpoints the WAL.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(100);
/// Rows the relay records per write transaction.
const RECORD_CHUNK: usize = 512;

/// The SQLite outbox, as the relay sees it.
pub(crate) struct SqliteRelayStore {
    path: PathBuf,
    store: Arc<Store>,
    reader: Connection,
    /// Keep delivered rows (marked) for the retention period, or delete them.
    keep: bool,
    last_checkpoint: Instant,
}

impl SqliteRelayStore {
    pub fn new(config: &OutboxConfig, store: Arc<Store>) -> Result<Self, OutboxError> {
        Ok(SqliteRelayStore {
            path: config.path.clone(),
            reader: store::connect(config)?,
            store,
            keep: !config.retention.is_zero(),
            last_checkpoint: Instant::now(),
        })
    }

    fn err(&self, e: rusqlite::Error) -> OutboxError {
        OutboxError::sqlite(&self.path, e)
    }
}

impl RelayStore for SqliteRelayStore {
    fn describe(&self) -> String {
        self.path.display().to_string()
    }

    fn claim(&mut self, limit: usize) -> Result<Vec<Pending>, OutboxError> {
        fetch(&self.reader, limit).map_err(|e| self.err(e))
    }

    fn record(
        &mut self,
        rows: &[&Pending],
        outcomes: &[Outcome],
        now: i64,
    ) -> Result<usize, OutboxError> {
        let keep = self.keep;
        let mut delivered = 0usize;
        for (rows, outcomes) in rows.chunks(RECORD_CHUNK).zip(outcomes.chunks(RECORD_CHUNK)) {
            delivered += self
                .store
                .write(|tx| record_chunk(tx, rows, outcomes, keep, now))
                .map_err(|e| OutboxError::sqlite(&self.path, e))?;
        }
        Ok(delivered)
    }

    fn release(&mut self) -> Result<(), OutboxError> {
        Ok(())
    }

    fn delete_delivered(&mut self, cutoff: i64) -> Result<usize, OutboxError> {
        let mut total = 0;
        loop {
            let deleted = self
                .store
                .write(|tx| {
                    tx.prepare_cached(
                        "DELETE FROM onex_outbox WHERE seq IN
                           (SELECT seq FROM onex_outbox WHERE status = 1 AND delivered_at < ?1 LIMIT 10000)",
                    )?
                    .execute([cutoff])
                })
                .map_err(|e| self.err(e))?;
            if deleted == 0 {
                return Ok(total);
            }
            total += deleted;
        }
    }

    /// Copies committed pages from the WAL into the database file, at most
    /// every [`CHECKPOINT_EVERY`], on the relay's connection: a passive
    /// checkpoint runs beside the committer's writes instead of inside them.
    fn housekeeping(&mut self) {
        if self.last_checkpoint.elapsed() < CHECKPOINT_EVERY {
            return;
        }
        self.last_checkpoint = Instant::now();
        let result = self
            .reader
            .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
                Ok((r.get::<_, i64>(1)?, r.get::<_, i64>(2)?))
            });
        match result {
            Ok((wal, copied)) => {
                tracing::trace!(target: "onex_events::outbox", wal, copied, "outbox checkpoint")
            }
            Err(error) => {
                tracing::debug!(target: "onex_events::outbox", %error, "outbox checkpoint failed")
            }
        }
    }

    fn set_error(&self, error: OutboxError) {
        self.store.set_error(Arc::new(error));
    }

    fn wake(&self) -> Arc<Wake> {
        Arc::clone(&self.store.wake)
    }
}

/// Marks delivered rows, schedules retries, moves dead letters, in one
/// transaction; returns how many rows were marked delivered.
fn record_chunk(
    tx: &Connection,
    rows: &[&Pending],
    outcomes: &[Outcome],
    keep: bool,
    now: i64,
) -> rusqlite::Result<usize> {
    let mut mark = tx.prepare_cached(
        "UPDATE onex_outbox SET status = 1, delivered_at = ?2, last_error = NULL
         WHERE seq = ?1 AND status = 0",
    )?;
    let mut delete = tx.prepare_cached("DELETE FROM onex_outbox WHERE seq = ?1 AND status = 0")?;
    let mut retry = tx.prepare_cached(
        "UPDATE onex_outbox SET attempts = ?2, next_attempt_at = ?3, last_error = ?4
         WHERE seq = ?1",
    )?;
    let mut delivered = 0usize;
    let mut dead = 0usize;
    for (row, outcome) in rows.iter().zip(outcomes) {
        match outcome {
            Outcome::Delivered if keep => delivered += mark.execute(params![row.seq, now])?,
            Outcome::Delivered => delivered += delete.execute([row.seq])?,
            Outcome::Retry {
                attempts,
                next_attempt_at,
                error,
            } => {
                retry.execute(params![row.seq, attempts, next_attempt_at, error])?;
            }
            Outcome::Dead { attempts, error } => {
                dead_letter(tx, row.seq, *attempts, error, now)?;
                dead += 1;
            }
            // Sent again later.
            Outcome::Unsent => {}
        }
    }
    bump(tx, "delivered", delivered)?;
    bump(tx, "dead", dead)?;
    Ok(delivered)
}

fn fetch(conn: &Connection, limit: usize) -> rusqlite::Result<Vec<Pending>> {
    let mut stmt = conn.prepare_cached(
        "SELECT seq, id, aggregateid, payload, topic, headers, created_at, attempts, next_attempt_at
         FROM onex_outbox WHERE status = 0 ORDER BY seq LIMIT ?1",
    )?;
    let rows = stmt.query_map([i64::try_from(limit).unwrap_or(i64::MAX)], |r| {
        Ok(Pending {
            seq: r.get(0)?,
            id: r.get(1)?,
            key: r.get(2)?,
            payload: r.get(3)?,
            topic: r.get(4)?,
            headers: r.get(5)?,
            created_at: r.get(6)?,
            attempts: r.get(7)?,
            next_attempt_at: r.get(8)?,
        })
    })?;
    rows.collect()
}

fn dead_letter(
    tx: &Connection,
    seq: i64,
    attempts: i64,
    error: &str,
    now: i64,
) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "INSERT OR REPLACE INTO onex_outbox_dead
             (seq, id, aggregatetype, aggregateid, type, payload, topic, headers, created_at,
              attempts, last_error, dead_at)
         SELECT seq, id, aggregatetype, aggregateid, type, payload, topic, headers, created_at,
                ?2, ?3, ?4
         FROM onex_outbox WHERE seq = ?1",
    )?
    .execute(params![seq, attempts, error, now])?;
    tx.prepare_cached("DELETE FROM onex_outbox WHERE seq = ?1")?
        .execute([seq])?;
    Ok(())
}
