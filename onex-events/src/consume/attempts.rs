//! One handler on one event until it settles: runs it, within its time
//! limit and with its panics caught, and runs it again after a backoff while
//! its retry policy allows. Each run is in the handler's `tracing` span and
//! timed for the metric of handler durations.

use super::handler::Handled;
use super::handler_set::Route;
use super::incoming::PayloadError;
use super::received::ReceivedEvent;
use crate::metrics::record::Stopwatch;
use crate::panic_message::panic_message;
use crate::payload::ErrorInfo;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

/// How a handler's work on one event ended.
#[derive(Debug)]
pub enum Settled {
    /// A run acknowledged it.
    Acknowledged {
        /// Runs it took.
        attempts: u32,
    },
    /// Every run failed, or the payload does not decode: the event goes to
    /// the dead-letter topic.
    Failed {
        /// Runs made.
        attempts: u32,
        /// The last failure.
        failure: Failure,
    },
}

/// Why a handler failed on an event.
#[derive(Debug)]
pub enum Failure {
    /// It returned `Err`, panicked (`kind` `panic`) or ran out of time.
    Handler(ErrorInfo),
    /// The payload does not decode into its argument type.
    Undecodable(PayloadError),
}

impl Failure {
    /// The error's type: the Rust type of an `Err`, `panic`, `timeout` or
    /// `undecodable_payload`.
    pub fn error_type(&self) -> &str {
        match self {
            Failure::Handler(e) => &e.error_type,
            Failure::Undecodable(_) => "undecodable_payload",
        }
    }

    /// The error's message.
    pub fn message(&self) -> String {
        match self {
            Failure::Handler(e) => e.message.clone(),
            Failure::Undecodable(e) => e.to_string(),
        }
    }
}

/// Runs `route` on `event` until it settles; `on_retry(attempt, error)` is
/// called before each run after the first.
pub async fn settle(
    route: Route<'_>,
    event: &Arc<ReceivedEvent>,
    on_retry: impl FnMut(u32, &ErrorInfo),
) -> Settled {
    settle_after(route, event, FirstRun::NotStarted, on_retry).await
}

/// The first run of a handler, as far as [`first_run`] took it.
pub(crate) enum FirstRun {
    /// Not started.
    NotStarted,
    /// Started, not finished at its first poll.
    Running(CatchPanic),
    /// Finished at its first poll, without acknowledging.
    Finished(Handled),
}

/// Starts `route`'s first run on `event` and polls it once, without a
/// timer: `None` if it acknowledged, else how far it got, for
/// [`settle_after`]. A handler with a time limit is not started (its limit
/// runs from its first poll).
pub(crate) fn first_run(
    route: Route<'_>,
    event: &Arc<ReceivedEvent>,
    cx: &mut Context<'_>,
) -> Option<FirstRun> {
    if route.spec().timeout.is_some() {
        return Some(FirstRun::NotStarted);
    }
    let mut run = match start(route, event) {
        Ok(run) => run,
        Err(failed) => return Some(FirstRun::Finished(failed)),
    };
    match Pin::new(&mut run).poll(cx) {
        Poll::Ready(handled) => {
            ran(route, run.stopwatch, &handled);
            match handled {
                Handled::Acknowledged => None,
                handled => Some(FirstRun::Finished(handled)),
            }
        }
        Poll::Pending => Some(FirstRun::Running(run)),
    }
}

/// [`settle`], its first run taken as far as `first`.
pub(crate) async fn settle_after(
    route: Route<'_>,
    event: &Arc<ReceivedEvent>,
    mut first: FirstRun,
    mut on_retry: impl FnMut(u32, &ErrorInfo),
) -> Settled {
    let spec = route.spec();
    let mut attempt = 1;
    loop {
        let handled = match std::mem::replace(&mut first, FirstRun::NotStarted) {
            FirstRun::NotStarted => match start(route, event) {
                Ok(run) => run_once(route, run, spec.timeout).await,
                Err(failed) => failed,
            },
            FirstRun::Running(run) => run_once(route, run, spec.timeout).await,
            FirstRun::Finished(handled) => handled,
        };
        let error = match handled {
            Handled::Acknowledged => return Settled::Acknowledged { attempts: attempt },
            Handled::Undecodable(e) => {
                return Settled::Failed {
                    attempts: attempt,
                    failure: Failure::Undecodable(e),
                }
            }
            Handled::Failed(error) => error,
        };
        if attempt >= spec.retry.attempts {
            return Settled::Failed {
                attempts: attempt,
                failure: Failure::Handler(error),
            };
        }
        attempt += 1;
        on_retry(attempt, &error);
        tokio::time::sleep(spec.retry.delay_before(attempt)).await;
    }
}

/// A run of `route` on `event`, or its failure: a hand-written `handle`
/// may panic before it returns its future.
fn start(route: Route<'_>, event: &Arc<ReceivedEvent>) -> Result<CatchPanic, Handled> {
    let stopwatch = Stopwatch::start();
    let span = crate::spans::handler(route, event);
    let made = {
        let _span = span.enter();
        catch_unwind(AssertUnwindSafe(|| route.run(Arc::clone(event))))
    };
    match made {
        Ok(run) => Ok(CatchPanic {
            run,
            span,
            stopwatch,
        }),
        Err(payload) => {
            let failed = Handled::Failed(ErrorInfo::panic(panic_message(&*payload)));
            ran(route, stopwatch, &failed);
            Err(failed)
        }
    }
}

/// One run, within `limit` if there is one.
async fn run_once(
    route: Route<'_>,
    run: CatchPanic,
    limit: Option<std::time::Duration>,
) -> Handled {
    let stopwatch = run.stopwatch;
    let handled = match limit {
        None => run.await,
        Some(limit) => match tokio::time::timeout(limit, run).await {
            Ok(handled) => handled,
            Err(_) => Handled::Failed(ErrorInfo::from_message(
                "timeout",
                format!("the handler did not finish within {limit:?}"),
            )),
        },
    };
    ran(route, stopwatch, &handled);
    handled
}

/// Records the duration of a run of `route` that started at `stopwatch`
/// and ended with `handled`.
#[inline]
fn ran(route: Route<'_>, stopwatch: Stopwatch, handled: &Handled) {
    let acknowledged = matches!(handled, Handled::Acknowledged);
    stopwatch.handler_run(route.node_type(), route.spec().name, acknowledged);
}

/// A run whose panic becomes a failure, polled in the handler's span.
pub(crate) struct CatchPanic {
    run: super::handler::HandlerFuture,
    span: tracing::Span,
    stopwatch: Stopwatch,
}

impl Future for CatchPanic {
    type Output = Handled;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Handled> {
        let this = &mut *self;
        let _span = this.span.enter();
        let inner = this.run.as_mut();
        match catch_unwind(AssertUnwindSafe(move || inner.poll(cx))) {
            Ok(poll) => poll,
            Err(payload) => {
                Poll::Ready(Handled::Failed(ErrorInfo::panic(panic_message(&*payload))))
            }
        }
    }
}
