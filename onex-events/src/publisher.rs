//! The publishing seam: a cheap handle over a [`Sink`] that never fails
//! and never panics into the user's operation, and waits only as its sink
//! says ([`Publisher::blocking`]).

use crate::envelope::Event;
use crate::sink::{Blocking, Sink, SinkError, StdoutSink};
use std::collections::HashMap;
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

    /// The embedded default: one JSON envelope per line on stdout, written
    /// by a background thread so that a slow reader never holds up an
    /// operation (see [`StdoutSink`] for what happens to events it cannot
    /// write). Call [`Publisher::flush`] before the process exits.
    pub fn stdout() -> Self {
        Publisher::new(StdoutSink::new())
    }

    /// The publisher the environment asks for: with the `kafka` feature and
    /// `KAFKA_BOOTSTRAP_SERVERS` set, a [`KafkaSink`](crate::sink::kafka::KafkaSink)
    /// configured by [`KafkaConfig::from_env`](crate::kafka::KafkaConfig::from_env);
    /// otherwise [`Publisher::stdout`], unchanged. [`Publisher::from_vars`]
    /// and [`Publisher::from_lookup`] do the same from variables given.
    ///
    /// With the `outbox` feature, `USE_OUTBOX_PATTERN=true` (the seed's
    /// switch) and `KAFKA_BOOTSTRAP_SERVERS` set, an
    /// [`OutboxSink`](crate::outbox::OutboxSink) configured by
    /// [`OutboxConfig::from_env`](crate::outbox::OutboxConfig::from_env):
    /// each event committed to the SQLite file `ONEX_OUTBOX_PATH` before
    /// the operation returns, then relayed to Kafka. When `ONEX_OUTBOX_URL`
    /// is set (a `postgres://…` or `postgresql://…` URL; it takes precedence
    /// over `ONEX_OUTBOX_PATH`), a `PgOutboxSink` (module
    /// `outbox::postgres`) on that database instead, with the same
    /// settings; that needs the `outbox-postgres` feature: without it the
    /// outbox is unavailable, as below (the events are not written to the
    /// SQLite file instead).
    ///
    /// `USE_OUTBOX_PATTERN` accepts `true`/`1`/`yes`/`on` and
    /// `false`/`0`/`no`/`off` (ASCII case ignored; empty or unset = off).
    /// Any other value (`ture`, `enabled`…), or an "on" in a build without
    /// the `outbox` feature, is a configuration error like those below:
    /// logged at `ERROR`, and events go to stdout, never silently straight
    /// to Kafka.
    ///
    /// Never fails, like publishing itself: a Kafka configuration that
    /// cannot be used (or `KAFKA_BOOTSTRAP_SERVERS` set without the `kafka`
    /// feature) is logged at `ERROR` and falls back to stdout. An
    /// unreachable cluster is not a configuration error: the Kafka sink
    /// keeps events until it returns. An outbox that cannot be opened is
    /// logged at `ERROR` and reported by [`Publisher::last_error`]; its
    /// events are logged in full and counted. The same holds for an
    /// `ONEX_OUTBOX_URL` that is not a PostgreSQL URL, or one given to a
    /// build without `outbox-postgres`.
    pub fn from_env() -> Self {
        Publisher::from_lookup(|name| std::env::var(name).ok())
    }

    /// [`Publisher::from_env`] over a map of variables instead of the
    /// process environment.
    ///
    /// ```
    /// use onex_events::Publisher;
    ///
    /// let publisher = Publisher::from_vars([("SERVICE_NAME", "orchestrator")]);
    /// assert_eq!(publisher.sink_name(), "stdout"); // no KAFKA_BOOTSTRAP_SERVERS
    /// ```
    pub fn from_vars<K, V>(vars: impl IntoIterator<Item = (K, V)>) -> Self
    where
        K: Into<String>,
        V: Into<String>,
    {
        let vars: HashMap<String, String> = vars
            .into_iter()
            .map(|(name, value)| (name.into(), value.into()))
            .collect();
        Publisher::from_lookup(|name| vars.get(name).cloned())
    }

    /// [`Publisher::from_env`] over any lookup of variables by name.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Self {
        let servers = lookup("KAFKA_BOOTSTRAP_SERVERS").unwrap_or_default();
        let outbox = match crate::outbox_switch::outbox_requested(&lookup) {
            Ok(outbox) => outbox,
            Err(error) => {
                tracing::error!(%error, "cannot configure the outbox; publishing events to stdout instead");
                return Publisher::stdout();
            }
        };
        #[cfg(not(feature = "outbox"))]
        if outbox {
            tracing::error!(
                "USE_OUTBOX_PATTERN is set but onex-events was built without the `outbox` feature; publishing events to stdout instead"
            );
            return Publisher::stdout();
        }
        #[cfg(feature = "outbox")]
        if outbox {
            if servers.trim().is_empty() {
                tracing::error!(
                    "USE_OUTBOX_PATTERN is set but KAFKA_BOOTSTRAP_SERVERS is not; publishing events to stdout instead"
                );
                return Publisher::stdout();
            }
            return match crate::outbox::OutboxConfig::from_lookup(&lookup) {
                Ok(config) => crate::outbox::open(config),
                Err(error) => {
                    tracing::error!(%error, "cannot configure the outbox; publishing events to stdout instead");
                    Publisher::stdout()
                }
            };
        }
        if servers.trim().is_empty() {
            return Publisher::stdout();
        }
        #[cfg(feature = "kafka")]
        match crate::kafka::KafkaConfig::from_lookup(&lookup).and_then(crate::KafkaSink::new) {
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
        crate::metrics::record::published(event.event_type.node_type(), &**sink);
        if catch_unwind(AssertUnwindSafe(move || sink.publish(event))).is_err() {
            tracing::error!(
                sink = sink.name(),
                "event sink panicked; event not published"
            );
        }
    }

    /// Waits up to `timeout` until every event handed over is delivered.
    /// Call it before the process exits. `Duration::MAX` waits as long as
    /// it takes (for Kafka: until the cluster has taken every event, or
    /// each one's buffer time-to-live ran out).
    ///
    /// `Ok(())` only when no event was given up since the previous flush:
    /// otherwise [`SinkError::Undelivered`] with their count (events Kafka
    /// rejected, a stdout reader too slow, an outbox that could not commit
    /// …), reported once. [`SinkError::Timeout`] when events are still
    /// pending at the timeout.
    ///
    /// ```
    /// use onex_events::sink::SinkError;
    /// use onex_events::Publisher;
    /// use std::time::Duration;
    ///
    /// let publisher = Publisher::stdout();
    /// // … run nodes with `publisher` …
    /// match publisher.flush(Duration::from_secs(10)) {
    ///     Ok(()) => {}
    ///     Err(SinkError::Undelivered { lost, detail }) => eprintln!("{lost} events lost: {detail}"),
    ///     Err(e) => eprintln!("flush: {e}"),
    /// }
    /// ```
    pub fn flush(&self, timeout: Duration) -> Result<(), SinkError> {
        match catch_unwind(AssertUnwindSafe(|| self.sink.flush(timeout))) {
            Ok(result) => result,
            Err(_) => Err(SinkError::Panicked),
        }
    }

    /// The last error that kept the sink from taking or delivering events
    /// (e.g. an outbox that cannot be opened, or a full disk); `None` while
    /// all is well. Publishing itself never reports errors.
    pub fn last_error(&self) -> Option<String> {
        catch_unwind(AssertUnwindSafe(|| self.sink.last_error()))
            .unwrap_or_else(|_| Some("the event sink panicked".to_owned()))
    }

    /// The sink's name, for logs.
    pub fn sink_name(&self) -> &'static str {
        self.sink.name()
    }

    /// How long publishing may keep an operation waiting: the sink's
    /// [`Sink::blocking`]. [`Blocking::Never`] for stdout and Kafka; an
    /// outbox waits for its commit.
    ///
    /// ```
    /// use onex_events::{sink::Blocking, Publisher};
    ///
    /// assert_eq!(Publisher::stdout().blocking(), Blocking::Never);
    /// ```
    pub fn blocking(&self) -> Blocking {
        self.sink.blocking()
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

#[cfg(all(test, feature = "kafka"))]
mod tests {
    use super::*;

    /// Configured from a map: the process environment is neither read for
    /// Kafka's settings nor changed.
    #[test]
    fn kafka_publisher_from_a_map_of_variables() {
        // Nothing listens on port 1; the sink starts anyway.
        let publisher = Publisher::from_vars([
            ("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:1"),
            ("KAFKA_TOPIC", "all-events"),
            ("SERVICE_NAME", "orchestrator"),
        ]);
        assert_eq!(publisher.sink_name(), "kafka");
        // The only error it may report is the outage (nothing on port 1).
        if let Some(error) = publisher.last_error() {
            assert!(!error.contains("outbox"), "{error}");
        }
    }

    /// A value of `USE_OUTBOX_PATTERN` that is neither on nor off is a
    /// configuration error (stdout, logged), not Kafka without the outbox.
    #[test]
    fn a_misspelled_use_outbox_pattern_is_an_error_not_a_silent_switch_off() {
        for bad in ["ture", "enabled", "y"] {
            let publisher = Publisher::from_vars([
                ("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:1"),
                ("USE_OUTBOX_PATTERN", bad),
            ]);
            assert_eq!(publisher.sink_name(), "stdout", "{bad}");
        }
        let publisher = Publisher::from_vars([
            ("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:1"),
            ("USE_OUTBOX_PATTERN", " Off "),
        ]);
        assert_eq!(publisher.sink_name(), "kafka");
    }

    /// `USE_OUTBOX_PATTERN=true` in a build that cannot honour it is a
    /// configuration error, not Kafka without the outbox.
    #[cfg(not(feature = "outbox"))]
    #[test]
    fn the_outbox_switch_in_a_build_without_the_outbox_is_an_error() {
        let publisher = Publisher::from_vars([
            ("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:1"),
            ("USE_OUTBOX_PATTERN", "true"),
        ]);
        assert_eq!(publisher.sink_name(), "stdout");
    }

    #[test]
    fn unusable_kafka_variables_fall_back_to_stdout() {
        let publisher = Publisher::from_vars([
            ("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:1"),
            ("KAFKA_MAX_IN_FLIGHT", "many"),
        ]);
        assert_eq!(publisher.sink_name(), "stdout");
        let publisher = Publisher::from_lookup(|_| None);
        assert_eq!(publisher.sink_name(), "stdout");
    }

    /// A topic or bootstrap list Kafka would reject is refused at start
    /// (stdout, logged at ERROR), not a loss of every event later.
    #[test]
    fn a_topic_or_bootstrap_list_kafka_would_reject_falls_back_at_start() {
        for (servers, topic) in [
            ("127.0.0.1:1", "bad topic!"),
            ("127.0.0.1:99999", "ok"),
            (",,", "ok"),
            ("not a host", "ok"),
        ] {
            let publisher = Publisher::from_vars([
                ("KAFKA_BOOTSTRAP_SERVERS", servers),
                ("KAFKA_TOPIC", topic),
            ]);
            assert_eq!(publisher.sink_name(), "stdout", "{servers} {topic}");
        }
    }
}
