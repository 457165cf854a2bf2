//! The consumer takes no new record while a Kafka sink of the process is
//! backlogged (its retry buffer half full): the events its handlers
//! publish then wait in that buffer instead of overflowing it. It checks
//! again every millisecond.

use crate::sink::kafka::backlog::any_backlogged;
use std::future::Future;
use std::pin::Pin;
use std::task::Context;
use std::time::Duration;
use tokio::time::{Instant, Sleep};

/// How often a held consumer looks again.
const RECHECK: Duration = Duration::from_millis(1);

/// After this long held, a warning.
const WARN_AFTER: Duration = Duration::from_secs(5);

/// The consumer's side of the sinks' backlog.
pub(crate) struct Backpressure {
    recheck: Pin<Box<Sleep>>,
    /// When the current hold began, and whether it was warned about.
    held_since: Option<(Instant, bool)>,
}

impl Default for Backpressure {
    fn default() -> Self {
        Backpressure {
            recheck: Box::pin(tokio::time::sleep(Duration::ZERO)),
            held_since: None,
        }
    }
}

impl Backpressure {
    /// True if the consumer must not take a record now; then `cx` is woken
    /// to look again.
    pub fn holds(&mut self, cx: &mut Context<'_>) -> bool {
        if !any_backlogged() {
            if let Some((since, _)) = self.held_since.take() {
                tracing::debug!(held = ?since.elapsed(), "sinks drained: taking records again");
            }
            return false;
        }
        let now = Instant::now();
        match &mut self.held_since {
            None => {
                tracing::debug!("a Kafka sink is backlogged: taking no record until it drains");
                self.held_since = Some((now, false));
            }
            Some((since, warned)) if !*warned && now - *since >= WARN_AFTER => {
                *warned = true;
                tracing::warn!(
                    held = ?(now - *since),
                    "a Kafka sink is still backlogged (its retry buffer half full): the consumer takes no record until it drains"
                );
            }
            Some(_) => {}
        }
        self.recheck.as_mut().reset(now + RECHECK);
        let _ = self.recheck.as_mut().poll(cx);
        true
    }
}
