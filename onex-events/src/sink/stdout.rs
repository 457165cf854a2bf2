//! The embedded default sink: one OnexEnvelopeV1 JSON document per line on
//! stdout. Human-readable logs go to stderr through `tracing`.

use super::{Sink, SinkError};
use crate::envelope::Event;
use std::cell::RefCell;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Writes each envelope as one JSON line to stdout.
///
/// A failed write (e.g. a closed pipe) is logged once and the event is
/// counted as lost in the log; the operation is never affected.
#[derive(Debug, Default)]
pub struct StdoutSink {
    warned: AtomicBool,
}

thread_local! {
    static LINE: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

impl StdoutSink {
    /// A new stdout sink.
    pub fn new() -> Self {
        StdoutSink::default()
    }
}

impl Sink for StdoutSink {
    fn publish(&self, event: Event) {
        let result = LINE.with(|line| {
            let mut line = line.borrow_mut();
            line.clear();
            event.write_json(&mut line).map_err(std::io::Error::from)?;
            line.push(b'\n');
            // One write of the whole line under the lock, so lines from
            // concurrent operations never interleave.
            std::io::stdout().lock().write_all(&line)
        });
        if let Err(e) = result {
            if !self.warned.swap(true, Ordering::Relaxed) {
                tracing::warn!(error = %e, event_id = %event.event_id, "cannot write events to stdout; further failures are not logged");
            }
        }
    }

    fn flush(&self, _timeout: Duration) -> Result<(), SinkError> {
        std::io::stdout().lock().flush()?;
        Ok(())
    }

    fn name(&self) -> &'static str {
        "stdout"
    }
}
