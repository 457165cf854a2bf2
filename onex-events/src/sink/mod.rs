//! Sinks: where published events go.
//!
//! A [`Sink`] receives each event synchronously on the thread that
//! published it. Most sinks return at once: they serialize, write to a
//! local buffer or enqueue to a client library, and never wait on the
//! network. The outbox sinks are the exception, on purpose: an operation's
//! end event returns only once it is committed. [`Sink::blocking`] says
//! which kind a sink is:
//!
//! | sink | `publish` waits for | typically |
//! |---|---|---|
//! | [`StdoutSink`], [`LogSink`], [`Recorder`], `KafkaSink` | nothing ([`Blocking::Never`]) | microseconds |
//! | `outbox::OutboxSink` (SQLite) | a local commit ([`Blocking::LocalCommit`]) | under a millisecond |
//! | `outbox::postgres::PgOutboxSink` | a commit over the network ([`Blocking::NetworkCommit`]) | a round trip or two |
//!
//! A caller that must not wait (say, an async runtime with few worker
//! threads) picks a sink that does not, e.g. the Kafka sink, whose retry
//! buffer rides out broker outages in memory, instead of an outbox.

mod bounded_log;
#[cfg(feature = "kafka")]
pub mod kafka;
mod log;
mod recorder;
mod reported_losses;
mod stdout;

pub use self::log::LogSink;
pub use self::recorder::Recorder;
pub use self::stdout::{StdoutSink, StdoutStats};

pub(crate) use self::reported_losses::{describe as describe_losses, ReportedLosses};

use crate::envelope::Event;
use std::time::Duration;

/// How long [`Sink::publish`] may keep the caller waiting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Blocking {
    /// Returns at once: serializes, buffers or enqueues; never waits on
    /// the network or a database.
    Never,
    /// An operation's end event (any event but a `started`) waits for a
    /// local database commit (the SQLite outbox): usually well under a
    /// millisecond, shared with concurrent publishers; while another
    /// process holds the file's write lock, up to its busy timeout (10 s).
    LocalCommit,
    /// An operation's end event waits for a commit over the network (the
    /// PostgreSQL outbox): a round trip or two to the database, and as long
    /// as the database takes when it is slow or unreachable (bounded by
    /// the connection's timeouts, e.g. `connect_timeout` in the URL).
    NetworkCommit,
}

/// Receives published events.
pub trait Sink: Send + Sync + 'static {
    /// Takes one event. Must not fail or panic (a sink that cannot deliver
    /// logs it and keeps count), and may wait only as [`Sink::blocking`]
    /// says.
    fn publish(&self, event: Event);

    /// How long `publish` may wait: [`Blocking::Never`] unless the sink
    /// says otherwise. A sink that waits on anything but a local buffer
    /// must say so.
    fn blocking(&self) -> Blocking {
        Blocking::Never
    }

    /// Waits up to `timeout` until every event taken is delivered.
    /// `Duration::MAX` (or any timeout too large for the clock) waits as
    /// long as it takes; no timeout may panic.
    ///
    /// `Ok(())` only when every event taken since the previous flush that
    /// returned (`Ok` or [`SinkError::Undelivered`]) reached its
    /// destination. Events given up since then (rejected, dropped, not
    /// committed…) make it return [`SinkError::Undelivered`] with their
    /// count, once: the next flush reports only later losses. Events still
    /// pending when `timeout` runs out make it return
    /// [`SinkError::Timeout`], and losses seen meanwhile are left for the
    /// next flush to report.
    fn flush(&self, _timeout: Duration) -> Result<(), SinkError> {
        Ok(())
    }

    /// A short name for logs, e.g. `stdout`.
    fn name(&self) -> &'static str;

    /// The last error that kept this sink from taking or delivering events
    /// (e.g. an outbox on a full disk), if any.
    fn last_error(&self) -> Option<String> {
        None
    }
}

/// A sink could not finish what was asked.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SinkError {
    /// Events were still undelivered when the timeout ran out.
    #[error("{pending} events still undelivered after {timeout:?}")]
    Timeout {
        /// How many.
        pending: usize,
        /// The timeout given.
        timeout: Duration,
    },
    /// Events taken since the previous flush were given up: they will
    /// never be delivered. Each was counted in the sink's stats and
    /// logged (in a bounded way); a sink's `last_error` says more.
    #[error("{lost} events taken since the previous flush were not delivered: {detail}")]
    Undelivered {
        /// How many.
        lost: u64,
        /// What became of them, with counts and the last error, e.g.
        /// `1 rejected by Kafka (last error: Message size too large)`.
        detail: String,
    },
    /// Writing failed.
    #[error("writing events failed: {0}")]
    Io(#[from] std::io::Error),
    /// The sink panicked.
    #[error("the event sink panicked")]
    Panicked,
}
