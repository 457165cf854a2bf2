//! The one place metrics are recorded: the counters of the sinks, the
//! outbox and the consumer call these functions next to their own counts.
//! Without the feature `metrics` each is empty and compiles to nothing;
//! with it, each first checks [`ENABLE_EVENT_METRICS`](super::ENABLE_EVENT_METRICS).
#![cfg_attr(not(feature = "metrics"), allow(unused_variables))]
// The sinks, the outbox and the consumer that call them are features too.
#![cfg_attr(not(feature = "outbox"), allow(dead_code))]

#[cfg(feature = "metrics")]
use super::names::{self, label};
#[cfg(feature = "metrics")]
use ::metrics::{counter, gauge, histogram};

#[cfg(feature = "metrics")]
static SWITCH: crate::env_switch::EnvSwitch =
    crate::env_switch::EnvSwitch::new(super::ENABLE_EVENT_METRICS, true);

/// Runs `$body` when the feature is on and the switch too.
macro_rules! when_on {
    ($($body:tt)*) => {
        #[cfg(feature = "metrics")]
        {
            if SWITCH.is_on() {
                $($body)*
            }
        }
    };
}

/// An event of node type `node_type` handed to `sink` (whose name is
/// asked only when the metric is recorded).
#[inline]
pub(crate) fn published(node_type: &'static str, sink: &dyn crate::sink::Sink) {
    when_on! {
        counter!(names::PUBLISHED, label::NODE_TYPE => node_type, label::SINK => sink.name())
            .increment(1);
    }
}

/// `n` events delivered by sink `sink`.
#[inline]
pub(crate) fn delivered(sink: &'static str, n: u64) {
    when_on! {
        counter!(names::DELIVERED, label::SINK => sink).increment(n);
    }
}

/// `n` events given up by sink `sink`, for `reason`.
#[inline]
pub(crate) fn failed(sink: &'static str, reason: &'static str, n: u64) {
    when_on! {
        counter!(names::FAILED, label::SINK => sink, label::REASON => reason).increment(n);
    }
}

/// `n` events more in sink `sink`'s retry buffer.
#[inline]
pub(crate) fn buffered(sink: &'static str, n: usize) {
    when_on! {
        gauge!(names::BUFFERED, label::SINK => sink).increment(n as f64);
    }
}

/// `n` events fewer in sink `sink`'s retry buffer.
#[inline]
pub(crate) fn unbuffered(sink: &'static str, n: usize) {
    when_on! {
        gauge!(names::BUFFERED, label::SINK => sink).decrement(n as f64);
    }
}

/// `n` events committed to an outbox.
#[inline]
pub(crate) fn outbox_committed(n: usize) {
    when_on! {
        counter!(names::OUTBOX_COMMITTED).increment(n as u64);
    }
}

/// `n` events that could not be committed to an outbox.
#[inline]
pub(crate) fn outbox_not_committed(n: usize) {
    when_on! {
        counter!(names::OUTBOX_NOT_COMMITTED).increment(n as u64);
    }
}

/// `delivered` outbox events delivered and `dead` moved to the dead-letter
/// table by a relay.
#[inline]
pub(crate) fn outbox_relayed(delivered: usize, dead: usize) {
    when_on! {
        if delivered > 0 {
            counter!(names::OUTBOX_DELIVERED).increment(delivered as u64);
        }
        if dead > 0 {
            counter!(names::OUTBOX_DEAD).increment(dead as u64);
        }
    }
}

/// The events pending in an outbox, as just read.
#[inline]
pub(crate) fn outbox_pending(pending: u64) {
    when_on! {
        gauge!(names::OUTBOX_PENDING).set(pending as f64);
    }
}

/// Handler `handler` of node type `node_type` settled an event:
/// acknowledged it, or gave it up.
#[inline]
pub(crate) fn handled(node_type: &'static str, handler: &'static str, acknowledged: bool) {
    when_on! {
        counter!(
            names::HANDLED,
            label::NODE_TYPE => node_type,
            label::HANDLER => handler,
            label::OUTCOME => outcome(acknowledged),
        )
        .increment(1);
    }
}

/// Handler `handler` of node type `node_type` runs again after a failure.
#[inline]
pub(crate) fn retried(node_type: &'static str, handler: &'static str) {
    when_on! {
        counter!(names::HANDLER_RETRIES, label::NODE_TYPE => node_type, label::HANDLER => handler)
            .increment(1);
    }
}

/// A record the dead-letter topic acknowledged, sent for `reason`.
#[inline]
pub(crate) fn dead_lettered(reason: &'static str) {
    when_on! {
        counter!(names::DEAD_LETTERED, label::REASON => reason).increment(1);
    }
}

/// An event no handler takes, skipped.
#[inline]
pub(crate) fn skipped() {
    when_on! {
        counter!(names::SKIPPED).increment(1);
    }
}

/// A consumer's lag per (topic, partition) went from `before` to `now`:
/// sets the lag of each topic, 0 for a topic it no longer reads.
pub(crate) fn consumer_lag(
    before: &std::collections::BTreeMap<(String, i32), i64>,
    now: &std::collections::BTreeMap<(String, i32), i64>,
) {
    when_on! {
        let mut topics: std::collections::BTreeMap<&str, i64> =
            before.keys().map(|(topic, _)| (topic.as_str(), 0)).collect();
        for ((topic, _), lag) in now {
            *topics.entry(topic).or_default() += lag;
        }
        for (topic, lag) in topics {
            gauge!(names::CONSUMER_LAG, label::TOPIC => topic.to_owned()).set(lag as f64);
        }
    }
}

/// The start of one handler run, if metrics are recorded.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Stopwatch(#[cfg(feature = "metrics")] Option<std::time::Instant>);

impl Stopwatch {
    /// Starts timing (reads the clock only when metrics are recorded).
    #[cfg(feature = "metrics")]
    #[inline]
    pub fn start() -> Self {
        Stopwatch(SWITCH.is_on().then(std::time::Instant::now))
    }

    /// Starts nothing: metrics are not built in.
    #[cfg(not(feature = "metrics"))]
    #[inline(always)]
    pub fn start() -> Self {
        Stopwatch()
    }

    /// Records the run of handler `handler` of node type `node_type` that
    /// started at `self` and just ended.
    #[inline]
    pub fn handler_run(self, node_type: &'static str, handler: &'static str, acknowledged: bool) {
        #[cfg(feature = "metrics")]
        {
            if let Some(start) = self.0 {
                histogram!(
                    names::HANDLER_DURATION,
                    label::NODE_TYPE => node_type,
                    label::HANDLER => handler,
                    label::OUTCOME => outcome(acknowledged),
                )
                .record(start.elapsed().as_secs_f64());
            }
        }
    }
}

/// The `outcome` label.
#[cfg(feature = "metrics")]
fn outcome(acknowledged: bool) -> &'static str {
    if acknowledged {
        "acknowledged"
    } else {
        "failed"
    }
}
