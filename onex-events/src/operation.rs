//! The runtime of an `#[onex_operation]` method: publishes `started`,
//! keeps the operation's correlation (and its `tracing` span) in scope
//! while its body is polled, and publishes exactly one end event:
//! `completed`, `failed` for an `Err`, a panic (which then propagates
//! unchanged) or a future dropped before it finished.

use crate::correlation::{Correlation, Scope};
use crate::event_type::{EventType, Stage};
use crate::node::NodeContext;
use crate::outcome::Outcome;
use crate::panic_message::panic_message;
use crate::payload::{ArgSpec, Captured, ErrorInfo, Input, Payload, ResultSummary};
use crate::trace_parent::TraceParent;
use pin_project_lite::pin_project;
use std::borrow::Cow;
use std::future::Future;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;
use uuid::Uuid;

/// What `#[onex_node]` knows of one operation at compile time.
#[derive(Debug)]
pub struct OperationDescriptor {
    /// The operation's name.
    pub operation: &'static str,
    /// `{node_type}.{operation}.started`
    pub started: EventType,
    /// `{node_type}.{operation}.completed`
    pub completed: EventType,
    /// `{node_type}.{operation}.failed`
    pub failed: EventType,
    /// The arguments summarized in `input`.
    pub args: &'static [ArgSpec],
}

impl OperationDescriptor {
    /// Operation `operation` of node type `node_type`, whose `started`,
    /// `completed` and `failed` event types are `names`, as the macros
    /// build and validate them.
    #[doc(hidden)]
    pub const fn new(
        node_type: &'static str,
        operation: &'static str,
        names: [&'static str; 3],
        args: &'static [ArgSpec],
    ) -> Self {
        let [started, completed, failed] = names;
        let op = Some(operation);
        OperationDescriptor {
            operation,
            started: EventType::__new(started, node_type, op, Stage::Started),
            completed: EventType::__new(completed, node_type, op, Stage::Completed),
            failed: EventType::__new(failed, node_type, op, Stage::Failed),
            args,
        }
    }

    /// The `input` of its `started` event before any value is added: the
    /// names and types of the arguments summarized.
    #[inline]
    pub fn input(&self) -> Input {
        Input::summary(self.args)
    }
}

/// One running operation. Publishes its end event exactly once: through
/// [`OperationGuard::finish`], on a panic of the body, or on drop.
///
/// An operation on `&self` borrows the node's context for its whole run; one
/// whose body takes `self` by value or `&mut self` holds a clone.
#[derive(Debug)]
pub struct OperationGuard<'a> {
    ctx: Cow<'a, NodeContext>,
    op: &'static OperationDescriptor,
    scope: Correlation,
    /// The trace context in scope at the start, on every event.
    trace_parent: Option<TraceParent>,
    /// Entered while the body is polled (disabled by `ENABLE_EVENT_TRACING=false`).
    span: tracing::Span,
    start: Instant,
    done: bool,
}

impl<'a> OperationGuard<'a> {
    /// Publishes `started` and starts the clock, borrowing the context.
    #[inline]
    pub fn start(ctx: &'a NodeContext, op: &'static OperationDescriptor, input: Input) -> Self {
        Self::begin(Cow::Borrowed(ctx), op, input)
    }

    /// Like [`OperationGuard::start`], holding a clone of the context.
    #[inline]
    pub fn start_owned(
        ctx: &NodeContext,
        op: &'static OperationDescriptor,
        input: Input,
    ) -> OperationGuard<'static> {
        OperationGuard::begin(Cow::Owned(ctx.clone()), op, input)
    }

    #[inline]
    fn begin(ctx: Cow<'a, NodeContext>, op: &'static OperationDescriptor, input: Input) -> Self {
        let start = Instant::now();
        let parent = Correlation::current();
        let correlation_id = parent.map_or_else(Uuid::new_v4, |p| p.correlation_id);
        let trace_parent = TraceParent::current();
        let started_id = ctx.emit_traced(
            op.started,
            Some(Correlation {
                correlation_id,
                causation_id: parent.and_then(|p| p.causation_id),
            }),
            trace_parent,
            Payload::Started {
                operation: op.operation,
                input,
            },
        );
        OperationGuard {
            ctx,
            op,
            scope: Correlation {
                correlation_id,
                causation_id: Some(started_id),
            },
            trace_parent,
            span: crate::spans::operation(op.started.node_type(), op.operation),
            start,
            done: false,
        }
    }

    /// The operation's body, to be polled with its correlation in scope.
    #[inline]
    pub fn instrument<F: Future>(&mut self, body: F) -> Instrumented<'_, 'a, F> {
        Instrumented::new(self, body)
    }

    /// The correlation in scope while the body runs: this operation's
    /// correlation id, caused by its `started` event.
    pub fn scope(&self) -> Correlation {
        self.scope
    }

    /// The node's context.
    pub(crate) fn context(&self) -> &NodeContext {
        &self.ctx
    }

    /// The trace context in scope when the operation started.
    pub(crate) fn trace_parent(&self) -> Option<TraceParent> {
        self.trace_parent
    }

    fn elapsed_ms(&self) -> f64 {
        self.start.elapsed().as_secs_f64() * 1000.0
    }

    /// Publishes `completed` or `failed` for the value the body returned.
    #[inline]
    pub fn finish(mut self, outcome: Outcome, value: Option<Captured>) {
        self.done = true;
        let execution_time_ms = self.elapsed_ms();
        let operation = self.op.operation;
        let (event_type, payload) = match outcome {
            Outcome::Completed { ty } => (
                self.op.completed,
                Payload::Completed {
                    operation,
                    execution_time_ms,
                    result: ResultSummary { ty, value },
                },
            ),
            Outcome::Failed(error) => (
                self.op.failed,
                Payload::Failed {
                    operation,
                    execution_time_ms,
                    error,
                },
            ),
        };
        self.ctx
            .emit_traced(event_type, Some(self.scope), self.trace_parent, payload);
    }

    fn fail(&mut self, error: ErrorInfo) {
        if self.done {
            return;
        }
        self.done = true;
        let execution_time_ms = self.elapsed_ms();
        self.ctx.emit_traced(
            self.op.failed,
            Some(self.scope),
            self.trace_parent,
            Payload::Failed {
                operation: self.op.operation,
                execution_time_ms,
                error,
            },
        );
    }
}

impl Drop for OperationGuard<'_> {
    fn drop(&mut self) {
        // Panics of the body were reported by `Instrumented`; reaching here
        // unfinished means the future was dropped (timeout, `select!`, or a
        // caller unwinding from its own panic). Checked here so a finished
        // operation does not build (and allocate) an error it never sends.
        if !self.done {
            self.fail(ErrorInfo::cancelled());
        }
    }
}

pin_project! {
    /// The body of an operation, polled with the operation's correlation in
    /// scope. A panic of the body publishes `failed` with kind `panic` and
    /// then resumes unwinding with the same payload.
    #[must_use = "futures do nothing unless polled"]
    pub struct Instrumented<'a, 'g, F> {
        guard: &'a mut OperationGuard<'g>,
        #[pin]
        inner: F,
    }
}

impl<'a, 'g, F: Future> Instrumented<'a, 'g, F> {
    /// Wraps `inner`.
    #[inline]
    pub fn new(guard: &'a mut OperationGuard<'g>, inner: F) -> Self {
        Instrumented { guard, inner }
    }
}

impl<F: Future> Future for Instrumented<'_, '_, F> {
    type Output = F::Output;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        let result = {
            let _scope = Scope::enter(Some(this.guard.scope));
            let _span = this.guard.span.enter();
            let inner = this.inner;
            catch_unwind(AssertUnwindSafe(move || inner.poll(cx)))
        };
        match result {
            Ok(poll) => poll,
            Err(payload) => {
                this.guard.fail(ErrorInfo::panic(panic_message(&*payload)));
                resume_unwind(payload)
            }
        }
    }
}
