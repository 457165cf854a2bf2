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

    /// The publisher the environment asks for: with the `kafka` feature and
    /// `KAFKA_BOOTSTRAP_SERVERS` set, a [`KafkaSink`](crate::sink::kafka::KafkaSink)
    /// configured by [`KafkaConfig::from_env`](crate::sink::kafka::KafkaConfig::from_env);
    /// otherwise [`Publisher::stdout`], unchanged.
    ///
    /// Never fails, like publishing itself: a Kafka configuration that
    /// cannot be used (or `KAFKA_BOOTSTRAP_SERVERS` set without the `kafka`
    /// feature) is logged at `ERROR` and falls back to stdout. An
    /// unreachable cluster is not a configuration error: the Kafka sink
    /// keeps events until it returns.
    pub fn from_env() -> Self {
        let servers = std::env::var("KAFKA_BOOTSTRAP_SERVERS").unwrap_or_default();
        if servers.trim().is_empty() {
            return Publisher::stdout();
        }
        #[cfg(feature = "kafka")]
        match crate::sink::kafka::KafkaSink::from_env() {
            Ok(sink) => Publisher::new(sink),
            Err(error) => {
                tracing::error!(%error, "cannot use Kafka; publishing events to stdout instead");
                Publisher::stdout()
            }
        }
        #[cfg(not(feature = "kafka"))]
        {
            tracing::error!(
                "KAFKA_BOOTSTRAP_SERVERS is set but onex-events was built without the `kafka` feature; publishing events to stdout instead"
            );
            Publisher::stdout()
        }
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
