//! The publishing seam: a cheap handle over a [`Sink`] that never blocks
//! on the network, never fails and never panics into the user's operation.

use crate::envelope::Event;
use crate::sink::{Sink, SinkError, StdoutSink};
use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::time::Duration;

/// Where a node's events go. Cheap to clone; share one between nodes.
///
/// ```
/// use onex_events::{Publisher, Recorder};
///
/// let recorder = Recorder::new();
/// let publisher = Publisher::new(recorder.clone());
/// # let _ = publisher;
/// ```
#[derive(Clone)]
pub struct Publisher {
    sink: Arc<dyn Sink>,
}

impl Publisher {
    /// A publisher over `sink`.
    pub fn new(sink: impl Sink) -> Self {
        Publisher {
            sink: Arc::new(sink),
        }
    }

    /// The embedded default: one JSON envelope per line on stdout.
    pub fn stdout() -> Self {
        Publisher::new(StdoutSink::new())
    }

    /// The seed's fallback: every event logged through `tracing`.
    pub fn log() -> Self {
        Publisher::new(crate::sink::LogSink::new())
    }

    /// Hands `event` to the sink. A panicking sink is caught and logged: it
    /// never reaches the caller.
    pub fn publish(&self, event: Event) {
        let sink = &self.sink;
        if catch_unwind(AssertUnwindSafe(move || sink.publish(event))).is_err() {
            tracing::error!(
                sink = sink.name(),
                "event sink panicked; event not published"
            );
        }
    }

    /// Waits up to `timeout` until every event handed over is delivered.
    /// Call it before the process exits.
    pub fn flush(&self, timeout: Duration) -> Result<(), SinkError> {
        match catch_unwind(AssertUnwindSafe(|| self.sink.flush(timeout))) {
            Ok(result) => result,
            Err(_) => Err(SinkError::Panicked),
        }
    }

    /// The sink's name, for logs.
    pub fn sink_name(&self) -> &'static str {
        self.sink.name()
    }
}

impl Default for Publisher {
    /// [`Publisher::stdout`].
    fn default() -> Self {
        Publisher::stdout()
    }
}

impl fmt::Debug for Publisher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Publisher")
            .field("sink", &self.sink.name())
            .finish()
    }
}
