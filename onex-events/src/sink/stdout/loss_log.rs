//! [`LossLog`]: what the stdout sink could not write, logged in a bounded
//! way (the shared [`BoundedLog`], with no line per event): the first loss
//! at once, with its cause, then at most one summary with counts per
//! [`SUMMARY_EVERY`]; never a line per event, never silence.

use super::stats::StdoutStats;
use crate::sink::bounded_log::BoundedLog;
pub(super) use crate::sink::bounded_log::SUMMARY_EVERY;

/// A kind of loss.
#[derive(Debug, Clone, Copy)]
pub(super) enum Loss {
    /// Not taken: the queue was full.
    Dropped = 0,
    /// Lost to a failed write, or still queued when the sink went away.
    Failed = 1,
}

#[derive(Debug)]
pub(super) struct LossLog(BoundedLog<2>);

impl LossLog {
    pub(super) fn new() -> Self {
        LossLog(BoundedLog::new(0))
    }

    /// Counts `n` losses for the next summary.
    pub(super) fn count(&self, loss: Loss, n: u64) {
        self.0.count(loss as usize, n);
    }

    /// Whether a summary may be due: cheap, for the publish path.
    pub(super) fn due(&self) -> bool {
        self.0.due()
    }

    /// Logs the losses not logged yet, if a summary is due or `now` says
    /// so (a flush, the sink going away). `cause` describes the last loss;
    /// `totals` are the sink's counters.
    pub(super) fn report(
        &self,
        totals: &dyn Fn() -> StdoutStats,
        cause: &dyn Fn() -> String,
        now: bool,
    ) {
        let Some(summary) = self.0.summary(now) else {
            return;
        };
        let [dropped, failed] = summary.counts;
        let cause = cause();
        if summary.first {
            tracing::warn!(
                target: "onex_events::stdout",
                dropped,
                failed,
                cause = %cause,
                "events not written to stdout; further losses are summarized at most every {SUMMARY_EVERY:?}"
            );
        } else {
            let stats = totals();
            tracing::warn!(
                target: "onex_events::stdout",
                dropped,
                failed,
                total_dropped = stats.dropped,
                total_failed = stats.failed,
                cause = %cause,
                "more events not written to stdout"
            );
        }
    }
}
