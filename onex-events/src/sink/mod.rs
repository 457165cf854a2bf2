//! Sinks: where published events go.
//!
//! A [`Sink`] receives each event synchronously on the thread that
//! published it, and must return at once: it may serialize, write to a
//! local buffer or enqueue to a client library, never wait on the network.

#[cfg(feature = "kafka")]
pub mod kafka;
mod log;
mod recorder;
mod stdout;

pub use self::log::LogSink;
pub use self::recorder::Recorder;
pub use self::stdout::{StdoutSink, StdoutStats};

use crate::envelope::Event;
use std::time::Duration;

/// Receives published events.
pub trait Sink: Send + Sync + 'static {
    /// Takes one event. Must not block on the network, fail or panic; a
    /// sink that cannot deliver logs it and keeps count.
    fn publish(&self, event: Event);

    /// Waits up to `timeout` until every event taken is delivered.
    /// `Duration::MAX` (or any timeout too large for the clock) waits as
    /// long as it takes; no timeout may panic.
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
    /// Writing failed.
    #[error("writing events failed: {0}")]
    Io(#[from] std::io::Error),
    /// The sink panicked.
    #[error("the event sink panicked")]
    Panicked,
}
