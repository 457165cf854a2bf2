//! The outbox pattern proper: the user's own rows and the events of their
//! operations committed in one SQLite transaction, or not at all.
//!
//! ```no_run
//! use onex_events::outbox::{OutboxConfig, OutboxSink};
//! use onex_events::outbox::rusqlite::Connection;
//!
//! let outbox = OutboxSink::open(OutboxConfig::new("app.db"))?;
//! let mut conn = Connection::open("app.db")?; // the same file: one database
//! let tx = conn.transaction()?;
//! tx.execute("INSERT INTO orders (id) VALUES (?1)", [42])?;
//! outbox.within(&tx, || {
//!     // Run annotated operations here (e.g. `block_on(node.place(42))`):
//!     // the events they publish on this thread go into `tx`.
//! })?;
//! tx.commit()?; // the order and its events, atomically
//! outbox.notify();
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use super::row::Row;
use super::{OutboxError, OutboxSink};
use crate::envelope::Event;
use rusqlite::Connection;
use std::cell::RefCell;
use std::path::{Path, PathBuf};

thread_local! {
    /// Open captures on this thread, innermost last: (outbox id, rows).
    static CAPTURES: RefCell<Vec<(usize, Vec<Row>)>> = const { RefCell::new(Vec::new()) };
}

/// Keeps `row` in the innermost capture of outbox `id` on this thread and
/// returns `None`; returns the row when nothing captures it.
pub(crate) fn capture(id: usize, row: Row) -> Option<Row> {
    CAPTURES.with(|c| match c.try_borrow_mut() {
        Ok(mut captures) => match captures.iter_mut().rev().find(|(i, _)| *i == id) {
            Some((_, rows)) => {
                rows.push(row);
                None
            }
            None => Some(row),
        },
        Err(_) => Some(row),
    })
}

/// Runs `f`, keeping every row outbox `id` receives on this thread
/// meanwhile; returns them, in publish order, with `f`'s value.
pub(crate) fn capturing<R>(id: usize, f: impl FnOnce() -> R) -> (R, Vec<Row>) {
    let depth = CAPTURES.with(|c| {
        let mut captures = c.borrow_mut();
        captures.push((id, Vec::new()));
        captures.len() - 1
    });
    let guard = CaptureGuard { depth };
    let value = f();
    (value, guard.take())
}

/// Ends a capture, also when `f` panics.
struct CaptureGuard {
    depth: usize,
}

impl CaptureGuard {
    fn take(self) -> Vec<Row> {
        let rows = CAPTURES.with(|c| {
            let mut captures = c.borrow_mut();
            captures.truncate(self.depth + 1);
            captures.pop().map(|(_, rows)| rows).unwrap_or_default()
        });
        std::mem::forget(self);
        rows
    }
}

impl Drop for CaptureGuard {
    fn drop(&mut self) {
        CAPTURES.with(|c| c.borrow_mut().truncate(self.depth));
    }
}

impl OutboxSink {
    /// Runs `f`; every event this outbox receives **on this thread** while
    /// `f` runs is written into `tx` instead of being committed on its own.
    /// The events become durable, and visible to the relay, when the caller
    /// commits `tx`; they vanish with it on rollback.
    ///
    /// `tx` must be a transaction on the outbox's own SQLite file (open it
    /// yourself: the schema exists once [`OutboxSink::open`] ran). Run async
    /// operations inside `f` with a `block_on` on this thread; events of
    /// tasks spawned elsewhere are committed on their own as usual. Call
    /// [`OutboxSink::notify`] after committing to wake the relay at once.
    ///
    /// Errors when the events cannot be written to `tx`; then roll `tx` back.
    pub fn within<R>(&self, tx: &Connection, f: impl FnOnce() -> R) -> Result<R, OutboxError> {
        let (value, rows) = capturing(self.id(), f);
        self.write(tx, &rows)?;
        Ok(value)
    }

    /// Writes `event` into the caller's transaction `tx` (see
    /// [`OutboxSink::within`]), for events built by hand.
    pub fn insert(&self, tx: &Connection, event: &Event) -> Result<(), OutboxError> {
        let row = Row::encode(event, self.routing()).map_err(|e| OutboxError::Sqlite {
            path: self.path().map(Path::to_path_buf).unwrap_or_default(),
            source: rusqlite::Error::ToSqlConversionFailure(Box::new(e)),
        })?;
        self.write(tx, std::slice::from_ref(&row))
    }

    fn write(&self, tx: &Connection, rows: &[Row]) -> Result<(), OutboxError> {
        for row in rows {
            row.insert(tx).map_err(|e| {
                let path: PathBuf = tx.path().map(PathBuf::from).unwrap_or_default();
                OutboxError::sqlite(&path, e)
            })?;
        }
        Ok(())
    }
}
