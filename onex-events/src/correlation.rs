//! Correlation: which request an event belongs to and which event caused it.
//!
//! An operation started with no correlation in scope is a *top-level*
//! operation and gets a fresh correlation id. While its body runs, its
//! correlation is in scope on the thread polling it, so annotated
//! operations it calls inherit the correlation id and record the parent's
//! `started` event id as their causation. A spawned task inherits it only
//! if it opts in with [`CorrelationExt::in_current_correlation`]; a caller
//! can set the id explicitly with [`CorrelationExt::with_correlation_id`].

use pin_project_lite::pin_project;
use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use uuid::Uuid;

/// A correlation id and, where known, the id of the event that caused what
/// happens next.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Correlation {
    /// The id shared by every event of one request.
    pub correlation_id: Uuid,
    /// The event that caused the events published in this scope.
    pub causation_id: Option<Uuid>,
}

thread_local! {
    static CURRENT: Cell<Option<Correlation>> = const { Cell::new(None) };
}

impl Correlation {
    /// A correlation with no cause, e.g. taken from an incoming request.
    pub const fn new(correlation_id: Uuid) -> Self {
        Correlation {
            correlation_id,
            causation_id: None,
        }
    }

    /// A fresh random correlation id.
    pub fn fresh() -> Self {
        Correlation::new(Uuid::new_v4())
    }

    /// The correlation in scope on this thread, if any.
    #[inline]
    pub fn current() -> Option<Self> {
        CURRENT.with(Cell::get)
    }

    /// Runs `f` with `self` in scope on this thread.
    ///
    /// ```
    /// use onex_events::Correlation;
    /// use uuid::Uuid;
    ///
    /// let id = Uuid::new_v4();
    /// let seen = Correlation::new(id).in_scope(|| Correlation::current());
    /// assert_eq!(seen.map(|c| c.correlation_id), Some(id));
    /// assert_eq!(Correlation::current(), None);
    /// ```
    pub fn in_scope<R>(self, f: impl FnOnce() -> R) -> R {
        let _restore = Scope::enter(Some(self));
        f()
    }
}

/// Sets the thread's current correlation until dropped, then restores the
/// previous one (also when unwinding).
pub(crate) struct Scope {
    previous: Option<Correlation>,
}

impl Scope {
    #[inline]
    pub(crate) fn enter(correlation: Option<Correlation>) -> Self {
        let previous = CURRENT.with(|c| c.replace(correlation));
        Scope { previous }
    }
}

impl Drop for Scope {
    #[inline]
    fn drop(&mut self) {
        CURRENT.with(|c| c.set(self.previous));
    }
}

pin_project! {
    /// A future that runs with a correlation in scope; see [`CorrelationExt`].
    #[must_use = "futures do nothing unless polled"]
    pub struct InCorrelation<F> {
        #[pin]
        inner: F,
        correlation: Option<Correlation>,
    }
}

impl<F: Future> Future for InCorrelation<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        let _scope = Scope::enter(*this.correlation);
        this.inner.poll(cx)
    }
}

/// Runs a future with a correlation in scope.
pub trait CorrelationExt: Future + Sized {
    /// Operations started inside use `correlation_id` (e.g. from an incoming
    /// request) instead of a fresh one.
    ///
    /// ```
    /// use onex_events::{Correlation, CorrelationExt};
    /// use uuid::Uuid;
    ///
    /// # let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    /// # rt.block_on(async {
    /// let id = Uuid::new_v4();
    /// let seen = async { Correlation::current() }.with_correlation_id(id).await;
    /// assert_eq!(seen.unwrap().correlation_id, id);
    /// # });
    /// ```
    fn with_correlation_id(self, correlation_id: Uuid) -> InCorrelation<Self> {
        self.with_correlation(Correlation::new(correlation_id))
    }

    /// Runs the future with `correlation` in scope.
    fn with_correlation(self, correlation: Correlation) -> InCorrelation<Self> {
        InCorrelation {
            inner: self,
            correlation: Some(correlation),
        }
    }

    /// Captures the correlation in scope *now* (e.g. inside an operation,
    /// before `tokio::spawn`) and runs the future with it, so operations in
    /// a spawned task join the caller's correlation.
    fn in_current_correlation(self) -> InCorrelation<Self> {
        InCorrelation {
            inner: self,
            correlation: Correlation::current(),
        }
    }
}

impl<F: Future> CorrelationExt for F {}
