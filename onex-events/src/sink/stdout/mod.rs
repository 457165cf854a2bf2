//! The embedded default sink: one OnexEnvelopeV1 JSON document per line on
//! stdout (or any writer), written by a thread of its own so that a slow
//! reader never holds up an operation. Human-readable logs go to stderr
//! through `tracing`.
//!
//! - [`StdoutSink`]: the sink's API (publish, flush, stats, drop);
//! - the line queue between publishers and the writer thread;
//! - the loss log: what could not be written, logged in a bounded way;
//! - [`StdoutStats`]: its counters.

mod line_queue;
mod loss_log;
mod sink;
mod stats;

pub use self::sink::StdoutSink;
pub use self::stats::StdoutStats;
