//! The relay's side of the SQLite outbox: reads pending rows on its own
//! connection, records outcomes on the recorder's thread through the
//! store's write connection (in transactions of at most [`RECORD_CHUNK`]
//! rows, so publishers' commits never wait long for the relay); the
//! recorder also checkpoints the WAL.
//!
//! One relay per file at a time: the one holding the file's relay lease
//! (`lease.rs`) claims rows; a claim takes no other lock. A relay without
//! the lease claims nothing, and tries to take it at the lease's pace.

use super::super::config::OutboxConfig;
use super::super::failures::Failures;
use super::super::relay::{Outcome, Pending, RelayStore};
use super::super::OutboxError;
use super::lease::Lease;
use super::recorder::{Job, Recorder};
use super::store::{bump, connect, SqliteStore};
use rusqlite::{params, Connection};
use std::path::PathBuf;
use std::sync::Arc;

/// Rows the relay records per write transaction.
const RECORD_CHUNK: usize = 512;

/// Publishers that committed this recently count as busy: the relay then
/// keeps one batch in flight.
const COMMITS_BUSY_MS: i64 = 20;

/// The SQLite outbox, as the relay sees it.
pub(crate) struct SqliteRelayStore {
    path: PathBuf,
    store: Arc<SqliteStore>,
    reader: Connection,
    recorder: Recorder,
    batches_at_once: usize,
    lease: Lease,
}

impl SqliteRelayStore {
    pub fn new(
        config: &OutboxConfig,
        store: &Arc<SqliteStore>,
        failures: &Arc<Failures>,
    ) -> Result<Self, OutboxError> {
        let keep = config
            .relay
            .as_ref()
            .is_some_and(|r| !r.retention.is_zero());
        Ok(SqliteRelayStore {
            path: store.path().to_owned(),
            reader: connect(store.path(), config)?,
            recorder: Recorder::spawn(
                Arc::clone(store),
                if keep {
                    record_keeping
                } else {
                    record_deleting
                },
                connect(store.path(), config)?,
                Arc::clone(failures),
            )?,
            store: Arc::clone(store),
            batches_at_once: config.relay.as_ref().map_or(1, |r| r.batches_in_flight),
            lease: Lease::new(),
        })
    }

    /// Whether this relay holds the file's relay lease (claimed or renewed
    /// when due).
    fn leads(&mut self) -> Result<bool, OutboxError> {
        let held = self.lease.hold(&mut self.reader, &self.path);
        held.map_err(|e| self.err(e))
    }

    fn err(&self, e: rusqlite::Error) -> OutboxError {
        OutboxError::sqlite(&self.path, e)
    }
}

impl RelayStore for SqliteRelayStore {
    fn describe(&self) -> String {
        self.path.display().to_string()
    }

    /// A claim from the start first waits for the recorder: it must not
    /// see a row delivered, or waiting for its retry, as it was before.
    /// While the recorder cannot write, a claim finds nothing: nothing new
    /// is sent until what was sent is recorded.
    ///
    /// Only the holder of the relay lease claims rows: another process's
    /// relay finds nothing.
    fn claim(&mut self, after: i64, limit: usize) -> Result<Vec<Pending>, OutboxError> {
        if !self.leads()? {
            return Ok(Vec::new());
        }
        let recorded = if after == 0 {
            self.recorder.wait()
        } else {
            !self.recorder.stuck()
        };
        if !recorded {
            return Ok(Vec::new());
        }
        fetch(&self.reader, after, limit).map_err(|e| self.err(e))
    }

    /// Claims take no locks: a claim is a read.
    /// One batch while this process's publishers are committing, so the
    /// relay's reads, sends and writes do not take the cores and the file
    /// from their commits (measured: 4 batches cost a fifth of the commit
    /// rate on 2 cores); the configured number otherwise, e.g. draining a
    /// backlog.
    fn batches_at_once(&self) -> usize {
        if self.store.committed_within(COMMITS_BUSY_MS) {
            1
        } else {
            self.batches_at_once
        }
    }

    /// Hands the outcomes to the recorder's thread; returns how many were
    /// deliveries. Refused while the recorder cannot write (the relay keeps
    /// the batch and hands it over again).
    fn record(
        &mut self,
        rows: &[&Pending],
        outcomes: &[Outcome],
        now: i64,
    ) -> Result<usize, OutboxError> {
        let delivered = outcomes
            .iter()
            .filter(|o| **o == Outcome::Delivered)
            .count();
        self.recorder.submit(Job {
            seqs: rows.iter().map(|r| r.seq).collect(),
            outcomes: outcomes.to_vec(),
            now,
        })?;
        Ok(delivered)
    }

    fn release(&mut self) -> Result<(), OutboxError> {
        Ok(())
    }

    /// Renews the relay lease when due, even while batches are in flight
    /// and nothing is claimed.
    fn keep_alive(&mut self) -> Result<(), OutboxError> {
        self.leads().map(drop)
    }

    /// The lease holder's job only.
    fn delete_delivered(&mut self, cutoff: i64) -> Result<Option<usize>, OutboxError> {
        if !self.leads()? {
            return Ok(Some(0));
        }
        let mut total = 0;
        loop {
            let deleted = self.store.write_after_commits(|tx| {
                    tx.prepare_cached(
                        "DELETE FROM onex_outbox WHERE seq IN
                           (SELECT seq FROM onex_outbox WHERE status = 1 AND delivered_at < ?1 LIMIT 10000)",
                    )?
                    .execute([cutoff])
            })?;
            if deleted == 0 {
                return Ok(Some(total));
            }
            total += deleted;
        }
    }
}

impl Drop for SqliteRelayStore {
    /// Gives the relay lease up: another process's relay takes over now
    /// rather than when it expires.
    fn drop(&mut self) {
        self.lease.release(&self.reader);
    }
}

/// Writes `job` keeping delivered rows (marked) for the retention period.
fn record_keeping(store: &SqliteStore, job: &Job) -> Result<(), OutboxError> {
    record_job(store, job, true)
}

/// Writes `job` deleting delivered rows.
fn record_deleting(store: &SqliteStore, job: &Job) -> Result<(), OutboxError> {
    record_job(store, job, false)
}

fn record_job(store: &SqliteStore, job: &Job, keep: bool) -> Result<(), OutboxError> {
    let chunks = job.seqs.chunks(RECORD_CHUNK);
    for (seqs, outcomes) in chunks.zip(job.outcomes.chunks(RECORD_CHUNK)) {
        store.write_after_commits(|tx| record_chunk(tx, seqs, outcomes, keep, job.now))?;
    }
    Ok(())
}

/// Marks delivered rows, schedules retries, moves dead letters, in one
/// transaction; returns how many rows were marked delivered.
fn record_chunk(
    tx: &Connection,
    seqs: &[i64],
    outcomes: &[Outcome],
    keep: bool,
    now: i64,
) -> rusqlite::Result<usize> {
    // Delivered rows with consecutive `seq`s (no other row can lie between
    // them) are marked, or deleted, by ranges: one statement per run.
    let mut mark = tx.prepare_cached(
        "UPDATE onex_outbox SET status = 1, delivered_at = ?3, last_error = NULL
         WHERE seq BETWEEN ?1 AND ?2 AND status = 0",
    )?;
    let mut delete =
        tx.prepare_cached("DELETE FROM onex_outbox WHERE seq BETWEEN ?1 AND ?2 AND status = 0")?;
    let mut run: Option<(i64, i64)> = None;
    let mut delivered = 0usize;
    let mut flush = |run: &mut Option<(i64, i64)>| -> rusqlite::Result<()> {
        if let Some((first, last)) = run.take() {
            delivered += if keep {
                mark.execute(params![first, last, now])?
            } else {
                delete.execute(params![first, last])?
            };
        }
        Ok(())
    };
    for (&seq, outcome) in seqs.iter().zip(outcomes) {
        if *outcome != Outcome::Delivered {
            continue;
        }
        match &mut run {
            Some((_, last)) if seq == *last + 1 => *last = seq,
            _ => {
                flush(&mut run)?;
                run = Some((seq, seq));
            }
        }
    }
    flush(&mut run)?;
    let mut retry = tx.prepare_cached(
        "UPDATE onex_outbox SET attempts = ?2, next_attempt_at = ?3, last_error = ?4
         WHERE seq = ?1",
    )?;
    let mut dead = 0usize;
    for (&seq, outcome) in seqs.iter().zip(outcomes) {
        match outcome {
            Outcome::Retry {
                attempts,
                next_attempt_at,
                error,
            } => {
                retry.execute(params![seq, attempts, next_attempt_at, error])?;
            }
            Outcome::Dead { attempts, error } => {
                dead += dead_letter(tx, seq, *attempts, error, now)?;
            }
            // Done above, or sent again later.
            Outcome::Delivered | Outcome::Unsent => {}
        }
    }
    bump(tx, "delivered", delivered)?;
    bump(tx, "dead", dead)?;
    Ok(delivered)
}

fn fetch(conn: &Connection, after: i64, limit: usize) -> rusqlite::Result<Vec<Pending>> {
    let mut stmt = conn.prepare_cached(
        "SELECT seq, id, aggregateid, payload, topic, headers, created_at, attempts, next_attempt_at
         FROM onex_outbox WHERE status = 0 AND seq > ?1 ORDER BY seq LIMIT ?2",
    )?;
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let rows = stmt.query_map(params![after, limit], |r| {
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

/// Moves row `seq` to the dead-letter table; returns how many rows moved.
fn dead_letter(
    tx: &Connection,
    seq: i64,
    attempts: i64,
    error: &str,
    now: i64,
) -> rusqlite::Result<usize> {
    tx.prepare_cached(
        "INSERT OR REPLACE INTO onex_outbox_dead
             (seq, id, aggregatetype, aggregateid, type, payload, topic, headers, created_at,
              attempts, last_error, dead_at)
         SELECT seq, id, aggregatetype, aggregateid, type, payload, topic, headers, created_at,
                ?2, ?3, ?4
         FROM onex_outbox WHERE seq = ?1",
    )?
    .execute(params![seq, attempts, error, now])?;
    // 0 when a retried write moved it already.
    tx.prepare_cached("DELETE FROM onex_outbox WHERE seq = ?1")?
        .execute([seq])
}

#[cfg(test)]
mod tests {
    use super::super::schema;
    use super::super::store::insert_rows;
    use super::*;
    use crate::kafka::{test_event, TopicRouting};
    use crate::outbox::row::Row;
    use crate::EventType;

    fn outbox(rows: usize) -> (Connection, Vec<Pending>) {
        let mut conn = Connection::open_in_memory().unwrap();
        schema::migrate(&mut conn).unwrap();
        let event_type = EventType::parse("orchestrator.state.changed").unwrap();
        for _ in 0..rows {
            let row = Row::encode(&test_event(event_type), &TopicRouting::default()).unwrap();
            insert_rows(&conn, &[row]).unwrap();
        }
        let pending = fetch(&conn, 0, rows).unwrap();
        (conn, pending)
    }

    fn statuses(conn: &Connection) -> Vec<(i64, i64, i64)> {
        let mut stmt = conn
            .prepare("SELECT seq, status, attempts FROM onex_outbox ORDER BY seq")
            .unwrap();
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)));
        rows.unwrap().map(Result::unwrap).collect()
    }

    /// Runs of delivered rows are marked by range, never touching a row
    /// between them that was not sent (blocked by its key's backoff) or
    /// failed.
    #[test]
    fn delivered_ranges_skip_rows_not_delivered() {
        let (conn, pending) = outbox(6);
        let retry = Outcome::Retry {
            attempts: 1,
            next_attempt_at: 0,
            error: "e".to_owned(),
        };
        // Row 4 was not sent (blocked); row 3 failed.
        let sent: Vec<i64> = [0, 1, 2, 4, 5].iter().map(|&i| pending[i].seq).collect();
        let outcomes = [
            Outcome::Delivered,
            Outcome::Delivered,
            retry,
            Outcome::Delivered,
            Outcome::Delivered,
        ];
        let delivered = record_chunk(&conn, &sent, &outcomes, true, 7).unwrap();
        assert_eq!(delivered, 4);
        assert_eq!(
            statuses(&conn),
            [
                (1, 1, 0),
                (2, 1, 0),
                (3, 0, 1),
                (4, 0, 0),
                (5, 1, 0),
                (6, 1, 0)
            ]
        );
        // Without retention, delivered rows are deleted, by the same ranges.
        let (conn, pending) = outbox(4);
        let sent: Vec<i64> = [0, 1, 3].iter().map(|&i| pending[i].seq).collect();
        let outcomes = [Outcome::Delivered, Outcome::Delivered, Outcome::Delivered];
        assert_eq!(record_chunk(&conn, &sent, &outcomes, false, 7).unwrap(), 3);
        assert_eq!(statuses(&conn), [(3, 0, 0)]);
    }
}
