//! The handlers of every node a consumer serves, found by event type.

use super::handler::{EventHandlers, HandlerFuture, HandlerSpec};
use super::payload_decoder::PayloadDecoder;
use super::received::ReceivedEvent;
use std::sync::Arc;

type Handle = Box<dyn Fn(usize, Arc<ReceivedEvent>) -> HandlerFuture + Send + Sync>;

struct NodeHandlers {
    node_type: &'static str,
    handlers: &'static [HandlerSpec],
    handle: Handle,
}

/// The nodes whose handlers a consumer runs.
///
/// Several nodes may handle one event type: each of them gets the event.
#[derive(Default)]
pub struct HandlerSet {
    nodes: Vec<NodeHandlers>,
    /// The payload decoder of every handler, if they all take one type.
    payload: Option<PayloadDecoder>,
}

impl std::fmt::Debug for HandlerSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.nodes.iter().map(|n| (n.node_type, n.handlers)))
            .finish()
    }
}

/// One handler of one node.
#[derive(Clone, Copy)]
pub struct Route<'a> {
    node: &'a NodeHandlers,
    index: usize,
}

impl std::fmt::Debug for Route<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.node.node_type, self.spec().name)
    }
}

impl Route<'_> {
    /// The handler.
    pub fn spec(&self) -> &'static HandlerSpec {
        &self.node.handlers[self.index]
    }

    /// The node type of its node.
    pub fn node_type(&self) -> &'static str {
        self.node.node_type
    }

    /// One run of the handler on `event`.
    pub fn run(&self, event: Arc<ReceivedEvent>) -> HandlerFuture {
        (self.node.handle)(self.index, event)
    }
}

impl HandlerSet {
    /// No node yet.
    pub fn new() -> Self {
        HandlerSet::default()
    }

    /// Adds `node`'s handlers.
    pub fn add<N: EventHandlers>(&mut self, node: Arc<N>) -> &mut Self {
        self.nodes.push(NodeHandlers {
            node_type: N::NODE_TYPE,
            handlers: N::HANDLERS,
            handle: Box::new(move |index, event| Arc::clone(&node).handle(index, event)),
        });
        let mut specs = self.nodes.iter().flat_map(|n| n.handlers);
        self.payload = specs
            .next()
            .and_then(|first| first.payload)
            .filter(|&payload| specs.all(|spec| spec.payload == Some(payload)));
        self
    }

    /// How to decode the payload with the envelope: when every handler
    /// takes one type, each record's payload is read once, as that type.
    pub(crate) fn payload_decoder(&self) -> Option<PayloadDecoder> {
        self.payload
    }

    /// The handlers `event_type` goes to: for each node, the one naming
    /// it, else the node's catch-all.
    pub fn routes<'s, 'e>(
        &'s self,
        event_type: &'e str,
    ) -> impl Iterator<Item = Route<'s>> + use<'s, 'e> {
        self.nodes.iter().filter_map(move |node| {
            HandlerSpec::find(node.handlers, event_type).map(|index| Route { node, index })
        })
    }

    /// True if no node has a handler.
    pub fn is_empty(&self) -> bool {
        self.nodes.iter().all(|n| n.handlers.is_empty())
    }

    /// Every event type some handler names, sorted, without duplicates.
    pub fn event_types(&self) -> Vec<&'static str> {
        let mut all: Vec<&'static str> = self
            .nodes
            .iter()
            .flat_map(|n| {
                n.handlers
                    .iter()
                    .flat_map(|h| h.event_types.iter().copied())
            })
            .collect();
        all.sort_unstable();
        all.dedup();
        all
    }

    /// True if some node has a catch-all handler.
    pub fn has_catch_all(&self) -> bool {
        self.nodes
            .iter()
            .any(|n| n.handlers.iter().any(HandlerSpec::is_catch_all))
    }
}
