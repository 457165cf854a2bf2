//! The PostgreSQL outbox of one process: connecting and migrating, group
//! commits of published events, and the totals.
//!
//! **Group commits.** A publisher queues its row and returns once the row
//! is committed. A committer thread takes everything queued and inserts it
//! in one transaction with one statement, in queue order; so concurrent
//! operations share a round trip, and rows are committed in the order they
//! were published. The thread also keeps the synchronous client off the
//! publishers' threads, which may be driving an async runtime.

use super::super::failures::Failures;
use super::super::row::Row;
use super::super::stats::OutboxStats;
use super::super::store::{lock, Wake};
use super::super::OutboxError;
use super::schema;
use postgres::{Client, GenericClient};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;

/// Inserts `rows` (in order) on `client`, in the caller's transaction.
pub(crate) fn insert_rows(
    client: &mut impl GenericClient,
    rows: &[Row],
) -> Result<(), postgres::Error> {
    if rows.is_empty() {
        return Ok(());
    }
    let col = |f: fn(&Row) -> &str| rows.iter().map(f).collect::<Vec<&str>>();
    let ids = col(|r| &r.id);
    let types = col(|r| r.aggregatetype);
    let keys = col(|r| &r.aggregateid);
    let event_types = col(|r| &r.event_type);
    let payloads = col(|r| &r.payload);
    let topics = col(|r| &r.topic);
    let headers = col(|r| &r.headers);
    let created: Vec<i64> = rows.iter().map(|r| r.created_at).collect();
    client.execute(
        "INSERT INTO onex_outbox
             (id, aggregatetype, aggregateid, type, payload, topic, headers, created_at)
         SELECT id::uuid, aggregatetype, aggregateid, type, payload::json, topic, headers::json, created_at
         FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                     $7::text[], $8::int8[])
              WITH ORDINALITY AS r(id, aggregatetype, aggregateid, type, payload, topic, headers,
                                   created_at, n)
         ORDER BY n",
        &[&ids, &types, &keys, &event_types, &payloads, &topics, &headers, &created],
    )?;
    Ok(())
}

pub(crate) use super::tls::connect;

/// Runs `f` on a short-lived thread of its own: the synchronous `postgres`
/// client drives its own runtime, and panics on a thread that is already
/// driving an async runtime (where annotated operations run).
pub(crate) fn off_runtime<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|s| s.spawn(f).join()).unwrap_or_else(|p| std::panic::resume_unwind(p))
}

/// Rows waiting for the committer thread; batches are numbered from 1.
#[derive(Default)]
struct Queue {
    rows: Vec<Row>,
    /// The number of the batch `rows` will be written in.
    filling: u64,
    /// The committer writes what is queued, then stops.
    stopping: bool,
}

#[derive(Default)]
struct Written {
    /// Every batch up to this one is written (committed or failed).
    upto: u64,
    /// The committer has stopped.
    stopped: bool,
}

/// The outbox of one process in a PostgreSQL database.
pub(crate) struct PgStore {
    url: String,
    queue: Mutex<Queue>,
    /// Wakes the committer.
    work_cv: Condvar,
    written: Mutex<Written>,
    written_cv: Condvar,
    /// Wakes this process's relay after a commit.
    pub(crate) wake: Arc<Wake>,
    pub(crate) failures: Failures,
}

/// The committer thread of a store; writes what is queued and stops on drop.
pub(crate) struct PgCommitter {
    store: Arc<PgStore>,
    handle: Option<JoinHandle<()>>,
}

impl PgCommitter {
    /// Starts the thread that commits the rows queued on `store`, on `client`.
    pub fn spawn(store: Arc<PgStore>, client: Client) -> Result<PgCommitter, OutboxError> {
        let thread_store = Arc::clone(&store);
        let handle = std::thread::Builder::new()
            .name("onex-outbox-pg-commit".to_owned())
            .spawn(move || thread_store.run_committer(Some(client)))
            .map_err(|source| OutboxError::Thread {
                what: "commit",
                source,
            })?;
        Ok(PgCommitter {
            store,
            handle: Some(handle),
        })
    }
}

impl Drop for PgCommitter {
    fn drop(&mut self) {
        lock(&self.store.queue).stopping = true;
        self.store.work_cv.notify_one();
        if let Some(handle) = self.handle.take() {
            if handle.join().is_err() {
                tracing::error!(target: "onex_events::outbox", "the PostgreSQL outbox commit thread panicked");
            }
        }
    }
}

impl PgStore {
    /// Connects and migrates the schema; returns the store and the
    /// connection for its committer.
    pub fn open(url: &str) -> Result<(PgStore, Client), OutboxError> {
        let mut client = connect(url)?;
        match schema::migrate(&mut client).map_err(OutboxError::postgres("migrating"))? {
            Ok(_) => {}
            Err(found) => {
                return Err(OutboxError::PostgresSchemaTooNew {
                    found,
                    supported: schema::VERSION,
                })
            }
        }
        tracing::info!(target: "onex_events::outbox", "PostgreSQL outbox open");
        let store = PgStore {
            url: url.to_owned(),
            queue: Mutex::new(Queue {
                filling: 1,
                ..Queue::default()
            }),
            work_cv: Condvar::new(),
            written: Mutex::new(Written::default()),
            written_cv: Condvar::new(),
            wake: Arc::default(),
            failures: Failures::default(),
        };
        Ok((store, client))
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// Queues `row` for the committer and returns once it, and every row
    /// queued before it, is committed (or known to have failed: then
    /// logged and counted).
    pub fn commit(&self, row: Row) {
        let ticket = {
            let mut q = lock(&self.queue);
            q.rows.push(row);
            q.filling
        };
        self.work_cv.notify_one();
        let mut w = lock(&self.written);
        while w.upto < ticket && !w.stopped {
            w = self.written_cv.wait(w).unwrap_or_else(|e| e.into_inner());
        }
    }

    /// The committer thread: writes everything queued in one transaction,
    /// batch after batch, in queue order, until stopped.
    fn run_committer(&self, mut client: Option<Client>) {
        loop {
            let mut q = lock(&self.queue);
            while q.rows.is_empty() && !q.stopping {
                q = self.work_cv.wait(q).unwrap_or_else(|e| e.into_inner());
            }
            if q.rows.is_empty() {
                break;
            }
            let rows = std::mem::take(&mut q.rows);
            let number = q.filling;
            q.filling += 1;
            drop(q);
            self.write_batch(&mut client, &rows);
            lock(&self.written).upto = number;
            self.written_cv.notify_all();
        }
        lock(&self.written).stopped = true;
        self.written_cv.notify_all();
    }

    /// Inserts `rows` in one transaction, reconnecting a broken connection.
    fn write_batch(&self, conn: &mut Option<Client>, rows: &[Row]) {
        let what = "committing events";
        let result = (|| {
            let client = match conn.take() {
                Some(c) if !c.is_closed() => conn.insert(c),
                _ => conn.insert(connect(&self.url)?),
            };
            let mut tx = client.transaction().map_err(OutboxError::postgres(what))?;
            insert_rows(&mut tx, rows).map_err(OutboxError::postgres(what))?;
            tx.commit().map_err(OutboxError::postgres(what))
        })();
        match result {
            Ok(()) => self.wake.notify(),
            Err(error) => self.failures.batch(rows, error),
        }
    }

    /// The totals, read in one snapshot. `committed` is
    /// `delivered + pending + dead` (an identity sequence also counts
    /// rolled-back inserts, so it is not used).
    pub fn stats(&self) -> Result<OutboxStats, OutboxError> {
        let err = OutboxError::postgres("reading the totals");
        let row = off_runtime(|| {
            connect(&self.url)?
                .query_one(
                    "SELECT (SELECT value FROM onex_outbox_counters WHERE name = 'delivered'),
                        (SELECT value FROM onex_outbox_counters WHERE name = 'dead'),
                        (SELECT count(*) FROM onex_outbox WHERE status = 0)",
                    &[],
                )
                .map_err(err)
        })?;
        let to_u64 = |v: Option<i64>| u64::try_from(v.unwrap_or(0)).unwrap_or(0);
        let delivered = to_u64(row.get(0));
        let dead = to_u64(row.get(1));
        let pending = to_u64(row.get(2));
        Ok(OutboxStats {
            committed: delivered + pending + dead,
            delivered,
            pending,
            dead,
            not_committed: self.failures.not_committed(),
        })
    }
}
