//! librdkafka's log, forwarded to `tracing` (target `librdkafka`), for every
//! client this crate builds.

use rdkafka::client::ClientContext;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::consumer::ConsumerContext;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};

/// Forwards a librdkafka log line to `tracing` (target `librdkafka`):
/// errors and warnings at `WARN`, notices at `INFO`, debug at `DEBUG`.
pub fn forward_librdkafka_log(level: RDKafkaLogLevel, fac: &str, message: &str) {
    use RDKafkaLogLevel as L;
    match level {
        L::Emerg | L::Alert | L::Critical | L::Error | L::Warning => {
            tracing::warn!(target: "librdkafka", fac, "{message}")
        }
        L::Notice | L::Info => tracing::info!(target: "librdkafka", fac, "{message}"),
        L::Debug => tracing::debug!(target: "librdkafka", fac, "{message}"),
    }
}

/// A client context that forwards librdkafka's log and client errors to
/// `tracing`: for consumers and admin clients
/// (`ClientConfig::create_with_context(TracingContext)`).
#[derive(Debug, Clone, Copy, Default)]
pub struct TracingContext;

impl ClientContext for TracingContext {
    fn log(&self, level: RDKafkaLogLevel, fac: &str, message: &str) {
        forward_librdkafka_log(level, fac, message);
    }

    fn error(&self, error: KafkaError, reason: &str) {
        // A reader with `enable.partition.eof` is told the end of a
        // partition this way too (as a global error by librdkafka's error
        // callback): not an error.
        let end_of_partition = matches!(
            error,
            KafkaError::PartitionEOF(_) | KafkaError::Global(RDKafkaErrorCode::PartitionEOF)
        );
        if !end_of_partition {
            tracing::warn!(target: "librdkafka", %error, reason, "Kafka client error");
        }
    }
}

impl ConsumerContext for TracingContext {}
