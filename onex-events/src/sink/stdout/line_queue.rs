//! [`LineQueue`]: whole JSON lines from publishers to the writer thread, in
//! publish order, bounded in bytes; and the writer thread itself, which
//! writes each batch of lines with as few writes as the writer allows.

use super::loss_log::{Loss, LossLog, SUMMARY_EVERY};
use super::stats::Counters;
use crate::deadline::Deadline;
use crate::sink::{describe_losses as describe, ReportedLosses, SinkError};
use std::io::{self, Write};
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

/// Where the lines go.
pub(super) enum Output {
    /// The process's stdout: on Unix a duplicate of file descriptor 1,
    /// written directly, because `std`'s stdout reports writes to a closed
    /// descriptor as successful. Other users of `std::io::stdout` are
    /// locked out (and their buffered output flushed first) while a batch
    /// is written, so no line is split.
    #[cfg(unix)]
    Stdout(std::fs::File),
    /// The process's stdout, through `std`, locked for each batch.
    #[cfg(not(unix))]
    Stdout,
    /// Stdout could not be opened (e.g. descriptor 1 is closed): every
    /// write fails with this error.
    Closed(String),
    /// Any writer.
    Writer(Box<dyn Write + Send>),
}

impl Output {
    /// The process's stdout, or [`Output::Closed`] if it is not open.
    pub(super) fn stdout() -> Output {
        #[cfg(unix)]
        {
            use std::os::fd::AsFd;
            match io::stdout().as_fd().try_clone_to_owned() {
                Ok(fd) => Output::Stdout(std::fs::File::from(fd)),
                Err(e) => Output::Closed(format!("stdout is not open: {e}")),
            }
        }
        #[cfg(not(unix))]
        Output::Stdout
    }

    /// Writes `batch`; on failure, the error and how many bytes were
    /// written before it.
    fn write_batch(&mut self, batch: &[u8]) -> Result<(), (io::Error, usize)> {
        match self {
            #[cfg(unix)]
            Output::Stdout(file) => {
                let mut others = io::stdout().lock();
                // Their failure is theirs to see.
                let _ = others.flush();
                write_batch(file, batch)
            }
            #[cfg(not(unix))]
            Output::Stdout => write_batch(&mut io::stdout().lock(), batch),
            Output::Closed(error) => Err((io::Error::other(error.clone()), 0)),
            Output::Writer(w) => write_batch(w, batch),
        }
    }
}

fn write_batch(out: &mut impl Write, batch: &[u8]) -> Result<(), (io::Error, usize)> {
    let mut written = 0;
    while written < batch.len() {
        match out.write(&batch[written..]) {
            Ok(0) => return Err((io::ErrorKind::WriteZero.into(), written)),
            Ok(n) => written += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err((e, written)),
        }
    }
    // A writer that buffers (a `BufWriter`, a file) must hand the lines on
    // now: `flush` promises they are out. The lines are counted lost if
    // this fails.
    out.flush().map_err(|e| (e, 0))
}

/// How long the writer thread lets lines gather after writing a batch:
/// lines published meanwhile cost their publishers no wake-up.
const LINGER: Duration = Duration::from_micros(100);

/// Lines taken and not yet handed to the writer thread.
#[derive(Debug, Default)]
struct Lines {
    bytes: Vec<u8>,
    count: u64,
    /// Lines taken since the sink was built.
    taken: u64,
    /// Of those, lines whose write has finished (written or failed).
    done: u64,
    /// The writer thread waits for lines (notify it when queueing one).
    waiting: bool,
    /// The sink is going away: write what is queued, then stop.
    stopping: bool,
    /// The last write error.
    error: Option<String>,
}

#[derive(Debug)]
pub(super) struct LineQueue {
    lines: Mutex<Lines>,
    /// Lines queued, or stopping: wakes the writer thread.
    queued: Condvar,
    /// A batch written: wakes those flushing.
    written: Condvar,
    /// Bytes of lines the queue holds at most (besides the batch being
    /// written); one line longer than this is still taken into an empty
    /// queue.
    pub(super) capacity: usize,
    pub(super) counters: Counters,
    pub(super) loss_log: LossLog,
    /// The dropped and failed events a flush reported.
    reported: ReportedLosses<2>,
}

impl LineQueue {
    pub(super) fn new(capacity: usize) -> Self {
        LineQueue {
            lines: Mutex::default(),
            queued: Condvar::new(),
            written: Condvar::new(),
            capacity,
            counters: Counters::default(),
            loss_log: LossLog::new(),
            reported: ReportedLosses::default(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Lines> {
        self.lines.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Queues one whole line (ending in `\n`); false if the queue is full.
    pub(super) fn push(&self, line: &[u8]) -> bool {
        let mut lines = self.lock();
        if !lines.bytes.is_empty() && lines.bytes.len() + line.len() > self.capacity {
            return false;
        }
        lines.bytes.extend_from_slice(line);
        lines.count += 1;
        lines.taken += 1;
        // A writer busy writing takes this line with its next batch: no
        // wake-up (a system call) per line.
        let wake = std::mem::take(&mut lines.waiting);
        drop(lines);
        if wake {
            self.queued.notify_one();
        }
        true
    }

    /// Waits until every line taken before the call is written (or its
    /// write failed), or `deadline` passes; returns the lines still
    /// pending then.
    pub(super) fn wait_written(&self, deadline: Deadline) -> u64 {
        let mut lines = self.lock();
        let target = lines.taken;
        while lines.done < target {
            if deadline.passed() {
                return lines.taken - lines.done;
            }
            lines = deadline.wait(&self.written, lines);
        }
        0
    }

    /// Asks the writer thread to write what is queued, then stop.
    pub(super) fn stop(&self) {
        self.lock().stopping = true;
        self.queued.notify_all();
    }

    /// A description of the last loss, for logs and `last_error`.
    pub(super) fn describe_losses(&self) -> Option<String> {
        let stats = self.counters.snapshot();
        if stats.lost() == 0 {
            return None;
        }
        let mut parts = Vec::new();
        if stats.dropped > 0 {
            parts.push(format!(
                "{} events dropped: the reader was too slow and the queue of {} bytes was full",
                stats.dropped, self.capacity
            ));
        }
        if stats.failed > 0 {
            let error = self.lock().error.clone().unwrap_or_default();
            parts.push(format!(
                "{} events lost to failed writes (last error: {error})",
                stats.failed
            ));
        }
        Some(format!("stdout sink: {}", parts.join("; ")))
    }

    /// The flush's verdict once nothing is queued: `Err` for the events
    /// dropped or failed since the previous flush.
    pub(super) fn report_undelivered(&self) -> Result<(), SinkError> {
        let stats = self.counters.snapshot();
        self.reported.report([stats.dropped, stats.failed], |new| {
            describe(&[
                (new[0], &|| {
                    format!(
                        "dropped: the reader was too slow and the queue of {} bytes was full",
                        self.capacity
                    )
                }),
                (new[1], &|| {
                    let error = self.lock().error.clone().unwrap_or_default();
                    format!("lost to failed writes (last error: {error})")
                }),
            ])
        })
    }

    /// Records a loss not caused by a write (e.g. serialization).
    pub(super) fn record_error(&self, error: String) {
        self.lock().error = Some(error);
    }

    /// Counts `n` events lost for `loss`, for the stats and the loss log.
    pub(super) fn lose(&self, loss: Loss, n: u64) {
        let (counter, reason) = match loss {
            Loss::Dropped => (&self.counters.dropped, "dropped"),
            Loss::Failed => (&self.counters.failed, "failed"),
        };
        Counters::lost(counter, reason, n);
        self.loss_log.count(loss, n);
    }

    /// Logs the losses not logged yet: if a summary is due, or `now`.
    pub(super) fn report_losses(&self, now: bool) {
        self.loss_log.report(
            &|| self.counters.snapshot(),
            &|| self.describe_losses().unwrap_or_default(),
            now,
        );
    }

    /// The writer thread: takes every queued line at once and writes them
    /// as one batch, until stopped with nothing left.
    pub(super) fn run(&self, mut output: Output) {
        let mut batch = Vec::new();
        loop {
            let (count, through) = {
                let mut lines = self.lock();
                if lines.bytes.is_empty() && !lines.stopping && !batch.is_empty() {
                    // Just wrote: let the next lines gather for a moment
                    // rather than have each publisher wake this thread.
                    drop(lines);
                    std::thread::sleep(LINGER);
                    lines = self.lock();
                }
                batch.clear();
                if batch.capacity() > 1 << 20 {
                    batch = Vec::new();
                }
                while lines.bytes.is_empty() && !lines.stopping {
                    // Wake now and then to summarize losses nobody else
                    // reported: never silence.
                    lines.waiting = true;
                    lines = Deadline::after(SUMMARY_EVERY).wait(&self.queued, lines);
                    lines.waiting = false;
                    if lines.bytes.is_empty() {
                        drop(lines);
                        self.report_losses(false);
                        lines = self.lock();
                    }
                }
                if lines.bytes.is_empty() {
                    return;
                }
                std::mem::swap(&mut lines.bytes, &mut batch);
                (std::mem::take(&mut lines.count), lines.taken)
            };
            let failed = match output.write_batch(&batch) {
                Ok(()) => 0,
                Err((error, written)) => {
                    // Every line not wholly written is lost.
                    let lost = batch[written..].iter().filter(|b| **b == b'\n').count();
                    self.lock().error = Some(error.to_string());
                    lost as u64
                }
            };
            Counters::written(&self.counters.written, count - failed);
            if failed > 0 {
                self.lose(Loss::Failed, failed);
            }
            // Logged before flush returns, so that a process exiting right
            // after it still says what was lost.
            if failed > 0 {
                self.report_losses(false);
            }
            self.lock().done = through;
            self.written.notify_all();
        }
    }
}
