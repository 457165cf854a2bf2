//! The handlers of a node, as `#[onex_node]` describes them to a consumer.

use super::incoming::PayloadError;
use super::payload_decoder::PayloadDecoder;
use super::received::ReceivedEvent;
use super::retry::RetryPolicy;
use crate::node::NodeDescriptor;
use crate::payload::ErrorInfo;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

/// One `#[onex_handler]` method, as the macro saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HandlerSpec {
    /// The handler's name (its operation name: `{node_type}.{name}.started`).
    pub name: &'static str,
    /// The event types it handles; empty for a catch-all.
    pub event_types: &'static [&'static str],
    /// Whether each handled event publishes `started` and `completed` or `failed`.
    pub lifecycle: bool,
    /// Runs and waits before the event goes to the dead-letter topic.
    pub retry: RetryPolicy,
    /// How long one run may take before it counts as failed (`None`: no limit).
    pub timeout: Option<Duration>,
    /// How its payload type is decoded with the envelope (`None`: as JSON,
    /// when the handler runs).
    pub payload: Option<PayloadDecoder>,
}

impl HandlerSpec {
    /// True if this handler takes every event no other handler takes.
    pub fn is_catch_all(&self) -> bool {
        self.event_types.is_empty()
    }

    /// The handler of `handlers` for `event_type`: the one that names it,
    /// else the catch-all, if any.
    pub fn find(handlers: &[HandlerSpec], event_type: &str) -> Option<usize> {
        handlers
            .iter()
            .position(|h| h.event_types.contains(&event_type))
            .or_else(|| handlers.iter().position(HandlerSpec::is_catch_all))
    }
}

/// How one run of a handler ended.
#[derive(Debug)]
pub enum Handled {
    /// It returned `Ok`, or a value that is not a `Result`: acknowledged.
    Acknowledged,
    /// It returned `Err` (or panicked, or ran out of time): run again,
    /// then dead-lettered.
    Failed(ErrorInfo),
    /// The payload is not the type the handler takes: dead-lettered at once.
    Undecodable(PayloadError),
}

/// A run of a handler.
pub type HandlerFuture = Pin<Box<dyn Future<Output = Handled> + Send + 'static>>;

/// The handlers of a node; `#[onex_node]` implements it for a node with
/// `#[onex_handler]` methods.
pub trait EventHandlers: NodeDescriptor + Send + Sync + 'static {
    /// The handlers, in declaration order.
    const HANDLERS: &'static [HandlerSpec];

    /// Runs handler `index` of [`EventHandlers::HANDLERS`] on `event`:
    /// decodes the payload into the type it takes and calls it.
    fn handle(self: Arc<Self>, index: usize, event: Arc<ReceivedEvent>) -> HandlerFuture;
}
