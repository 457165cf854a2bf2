//! [`StdoutSink`], the sink's public face: building it, publishing,
//! flushing, its counters, and what dropping it does. The writing happens
//! on its writer thread ([`LineQueue::run`]).

use super::line_queue::{LineQueue, Output};
use super::loss_log::Loss;
use super::stats::{Counters, StdoutStats};
use crate::deadline::Deadline;
use crate::envelope::Event;
use crate::sink::{Sink, SinkError};
use std::cell::RefCell;
use std::fmt;
use std::io::Write;
use std::sync::{Arc, OnceLock};
use std::thread::JoinHandle;
use std::time::Duration;

/// How long dropping the sink waits for queued lines to be written.
const DROP_WAIT: Duration = Duration::from_secs(10);

thread_local! {
    static LINE: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Writes each envelope as one JSON line to stdout (or, with
/// [`StdoutSink::with_writer`], to any writer).
///
/// `publish` never waits for the reader: it serializes the event and
/// queues the line for the sink's writer thread, which writes lines whole
/// and in publish order. When the reader is slower than the events, the
/// queue ([`StdoutSink::DEFAULT_QUEUE_BYTES`] of JSON) fills up and
/// further events are dropped until it has room again. Events dropped, and
/// events lost to a failed write (a closed pipe, a closed file
/// descriptor), are counted ([`StdoutSink::stats`]), reported by
/// [`Sink::last_error`], and logged through `tracing` (target
/// `onex_events::stdout`): the first loss at once with its cause, then at
/// most one summary with counts every 10 seconds. The operation is never
/// affected.
///
/// Call [`Sink::flush`] (or [`Publisher::flush`](crate::Publisher::flush))
/// before the process exits: it waits for the writer thread.
/// Dropping the sink waits for queued lines too, up to 10 seconds; a
/// process that exits without either (e.g. `std::process::exit`, or a
/// publisher kept in a `static`) may lose the lines still queued.
///
/// Every [`StdoutSink::new`] in a process shares one queue and one writer
/// thread; each [`StdoutSink::with_writer`] has its own.
///
/// ```
/// use onex_events::{Sink, StdoutSink};
/// use std::time::Duration;
///
/// let sink = StdoutSink::new();
/// // … publish events …
/// sink.flush(Duration::from_secs(5))?;
/// assert_eq!(sink.stats().lost(), 0);
/// # Ok::<(), onex_events::sink::SinkError>(())
/// ```
pub struct StdoutSink {
    queue: Arc<LineQueue>,
    writer: WriterThread,
}

/// The thread writing a sink's lines.
enum WriterThread {
    /// The sink's own ([`StdoutSink::with_writer`]): stopped and joined
    /// when the sink is dropped.
    Own(Option<JoinHandle<()>>),
    /// The process's stdout writer, shared by every [`StdoutSink::new`] so
    /// that their lines keep one order; it runs until the process exits.
    Stdout,
    /// None could be started: every event is counted as failed.
    Missing,
}

/// The process's stdout queue and whether its writer thread runs.
static STDOUT: OnceLock<(Arc<LineQueue>, bool)> = OnceLock::new();

impl StdoutSink {
    /// How many bytes of JSON lines the queue holds by default: 8 MiB,
    /// about 10,000 typical events.
    pub const DEFAULT_QUEUE_BYTES: usize = 8 << 20;

    /// A sink writing to the process's stdout. Every such sink shares one
    /// queue and one writer thread (started by the first), so lines from
    /// several nodes keep their publish order, and its counters are the
    /// process's.
    pub fn new() -> Self {
        let (queue, running) = STDOUT.get_or_init(|| {
            let queue = Arc::new(LineQueue::new(Self::DEFAULT_QUEUE_BYTES));
            let running = spawn(&queue, Output::stdout()).is_some();
            (queue, running)
        });
        StdoutSink {
            queue: Arc::clone(queue),
            writer: if *running {
                WriterThread::Stdout
            } else {
                WriterThread::Missing
            },
        }
    }

    /// A sink writing the same lines to `writer` (a file, a pipe, a socket,
    /// a buffer in tests), flushed after each batch of lines.
    pub fn with_writer(writer: impl Write + Send + 'static) -> Self {
        StdoutSink::with_writer_and_queue(writer, Self::DEFAULT_QUEUE_BYTES)
    }

    /// [`StdoutSink::with_writer`] with a queue of `queue_bytes` bytes of
    /// JSON lines instead of [`StdoutSink::DEFAULT_QUEUE_BYTES`].
    pub fn with_writer_and_queue(writer: impl Write + Send + 'static, queue_bytes: usize) -> Self {
        StdoutSink::start(Output::Writer(Box::new(writer)), queue_bytes)
    }

    fn start(output: Output, queue_bytes: usize) -> Self {
        let queue = Arc::new(LineQueue::new(queue_bytes));
        let writer = match spawn(&queue, output) {
            Some(thread) => WriterThread::Own(Some(thread)),
            None => WriterThread::Missing,
        };
        StdoutSink { queue, writer }
    }

    /// The sink's counters now: for [`StdoutSink::new`], those of the
    /// process's stdout, shared by every such sink.
    pub fn stats(&self) -> StdoutStats {
        self.queue.counters.snapshot()
    }

    fn lose(&self, loss: Loss) {
        self.queue.lose(loss, 1);
        if self.queue.loss_log.due() {
            self.queue.report_losses(false);
        }
    }
}

/// Starts the thread writing `queue`'s lines to `output`; None (logged)
/// if it cannot be started.
fn spawn(queue: &Arc<LineQueue>, output: Output) -> Option<JoinHandle<()>> {
    let thread = {
        let queue = Arc::clone(queue);
        std::thread::Builder::new()
            .name("onex-stdout".to_owned())
            .spawn(move || queue.run(output))
    };
    match thread {
        Ok(thread) => Some(thread),
        Err(e) => {
            tracing::error!(target: "onex_events::stdout", error = %e, "cannot start the stdout writer thread; events will not be written");
            queue.record_error(format!("cannot start the writer thread: {e}"));
            None
        }
    }
}

impl Default for StdoutSink {
    /// [`StdoutSink::new`].
    fn default() -> Self {
        StdoutSink::new()
    }
}

impl Sink for StdoutSink {
    /// Serializes the event and queues its line; drops and counts it if the
    /// queue is full. Never waits for the reader.
    fn publish(&self, event: Event) {
        let counters = &self.queue.counters;
        Counters::add(&counters.published, 1);
        if let WriterThread::Missing = self.writer {
            return self.lose(Loss::Failed);
        }
        let queued = LINE.with(|line| {
            let mut line = line.borrow_mut();
            line.clear();
            event.write_json(&mut line)?;
            line.push(b'\n');
            Ok::<bool, serde_json::Error>(self.queue.push(&line))
        });
        match queued {
            Ok(true) => {}
            Ok(false) => self.lose(Loss::Dropped),
            Err(e) => {
                self.queue
                    .record_error(format!("event {} not serialized: {e}", event.event_id));
                self.lose(Loss::Failed);
            }
        }
    }

    /// Waits until every line queued before the call is written and
    /// flushed, up to `timeout` (`Duration::MAX`: as long as it takes).
    /// Lines dropped or lost to a failed write are not waited for: see
    /// [`StdoutSink::stats`] and [`Sink::last_error`]; losses not logged
    /// yet are logged now.
    ///
    /// Then [`SinkError::Undelivered`] if events were dropped or lost to a
    /// failed write since the previous flush (for [`StdoutSink::new`]: the
    /// previous flush of any stdout sink of the process), with their
    /// counts; `Ok(())` when every one was written.
    fn flush(&self, timeout: Duration) -> Result<(), SinkError> {
        let pending = match self.writer {
            WriterThread::Missing => 0,
            _ => self.queue.wait_written(Deadline::after(timeout)),
        };
        self.queue.report_losses(true);
        match pending {
            0 => self.queue.report_undelivered(),
            pending => Err(SinkError::Timeout {
                pending: usize::try_from(pending).unwrap_or(usize::MAX),
                timeout,
            }),
        }
    }

    fn name(&self) -> &'static str {
        "stdout"
    }

    /// What the sink could not write, with counts: events dropped on a full
    /// queue and events lost to failed writes (with the last error).
    fn last_error(&self) -> Option<String> {
        self.queue.describe_losses()
    }
}

impl Drop for StdoutSink {
    /// Writes what is queued, waiting up to 10 seconds; a sink with its
    /// own writer counts the lines still queued then as failed. Logs any
    /// loss not logged yet.
    fn drop(&mut self) {
        let own = match &mut self.writer {
            WriterThread::Own(thread) => thread.take(),
            WriterThread::Stdout => {
                self.queue.wait_written(Deadline::after(DROP_WAIT));
                self.queue.report_losses(true);
                return;
            }
            WriterThread::Missing => None,
        };
        self.queue.stop();
        let pending = self.queue.wait_written(Deadline::after(DROP_WAIT));
        if pending == 0 {
            if let Some(writer) = own {
                if writer.join().is_err() {
                    tracing::error!(target: "onex_events::stdout", "the stdout writer thread panicked");
                }
            }
        } else {
            // The writer is stuck on its reader: leave it, count the rest.
            self.queue.lose(Loss::Failed, pending);
            self.queue.record_error(format!(
                "{pending} lines still queued after waiting {DROP_WAIT:?} for the reader when the sink was dropped"
            ));
        }
        self.queue.report_losses(true);
    }
}

impl fmt::Debug for StdoutSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StdoutSink")
            .field("queue_bytes", &self.queue.capacity)
            .field("stats", &self.stats())
            .finish()
    }
}
