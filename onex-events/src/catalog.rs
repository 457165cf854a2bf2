//! Event catalogs: every event type a node can emit, and the link-time
//! registry of every node in the program. A node's declaring block gives
//! its identity and operations as a `const`; operations of its other blocks
//! join from their own registry entries when the catalog is first used.

use crate::node::NodeDescriptor;
use crate::operation::OperationDescriptor;
use crate::typed::{EventDescriptor, EventKind};
use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;
use std::sync::OnceLock;

/// The event catalog of one node type.
///
/// Serializes in the seed's shape:
/// `{"operation_lifecycle": [..], "state_events": [..], "metric_events": [..]}`,
/// plus `"consumed_events": [..]` for a node with handlers (or requests),
/// `"consumes_any": true` for a node with a catch-all handler,
/// `"requests": [..]` for a node that sends requests and `"responses": [..]`
/// for a node that answers them, and for a node with declared events one
/// list per kind, in order of first appearance: `"domain_events"`,
/// `"audit_events"`, `"notification_events"` or `"{kind}_events"` (none of
/// them appears for a node that only publishes its lifecycle).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Catalog {
    /// The node type, e.g. `orchestrator`.
    pub node_type: &'static str,
    /// The Rust type that declared the node, e.g. `my_crate::Orchestrator`.
    pub rust_type: &'static str,
    /// The default service name (topic routing).
    pub service: &'static str,
    /// The default namespace (topic routing).
    pub namespace: &'static str,
    /// The operations, in declaration order, handlers with lifecycle
    /// events included (named as their `#[onex_handler]` names them).
    pub operations: &'static [&'static str],
    /// `{node_type}.{operation}.{started|completed|failed}` for each
    /// operation.
    pub operation_lifecycle: &'static [&'static str],
    /// `{node_type}.state.changed`, unless `include_state_events = false`.
    pub state_events: &'static [&'static str],
    /// `{node_type}.metric.recorded`, unless `include_metric_events = false`.
    pub metric_events: &'static [&'static str],
    /// The event types the node's `#[onex_handler]` methods name, in
    /// declaration order, then the responses to its
    /// [`requests`](Catalog::requests); each once.
    pub consumed_events: &'static [&'static str],
    /// True if the node has a catch-all handler (`#[onex_handler(any)]`):
    /// it also takes every other event on the topics it subscribes to.
    pub consumes_any: bool,
    /// The declared events (`#[derive(OnexEvent)]`) the node publishes:
    /// those `#[onex_node(.., events(..))]` lists, then those its
    /// operations' `publish_on_success`/`publish_on_error` name, each once.
    pub declared_events: &'static [&'static EventDescriptor],
    /// The request types the node sends, as its
    /// `#[onex_node(.., requests("codegen.request.validate"))]` declares
    /// them (see [`request`](crate::request)); their responses are in
    /// [`consumed_events`](Catalog::consumed_events).
    pub requests: &'static [&'static str],
    /// The response types the node publishes: one for each of its handlers
    /// of a request type (`codegen.request.validate` is answered with
    /// `codegen.response.validate`).
    pub responses: &'static [&'static str],
}

impl Catalog {
    /// Every event type the node publishes, lifecycle first, then its
    /// requests and responses, declared events last (the events it
    /// consumes are [`Catalog::consumed_events`]).
    pub fn event_types(&self) -> impl Iterator<Item = &'static str> {
        self.operation_lifecycle
            .iter()
            .chain(self.state_events)
            .chain(self.metric_events)
            .chain(self.requests)
            .chain(self.responses)
            .copied()
            .chain(self.declared_events.iter().map(|d| d.name()))
    }

    /// The number of event types the node publishes.
    pub const fn len(&self) -> usize {
        self.operation_lifecycle.len()
            + self.state_events.len()
            + self.metric_events.len()
            + self.requests.len()
            + self.responses.len()
            + self.declared_events.len()
    }

    /// True if the node declares that it sends requests of `event_type`.
    pub fn requests(&self, event_type: &str) -> bool {
        self.requests.contains(&event_type)
    }

    /// The declared events of `kind` the node publishes.
    pub fn declared_of(
        &self,
        kind: EventKind,
    ) -> impl Iterator<Item = &'static EventDescriptor> + '_ {
        self.declared_events
            .iter()
            .copied()
            .filter(move |d| d.kind == kind)
    }

    /// True if the node publishes the declared event `descriptor`.
    pub fn publishes_declared(&self, descriptor: &EventDescriptor) -> bool {
        self.declared_events
            .iter()
            .any(|d| std::ptr::eq(*d, descriptor) || *d == descriptor)
    }

    /// The kinds of the node's declared events, in order of first
    /// appearance.
    fn declared_kinds(&self) -> Vec<EventKind> {
        let mut kinds = Vec::new();
        for d in self.declared_events {
            if !kinds.contains(&d.kind) {
                kinds.push(d.kind);
            }
        }
        kinds
    }

    /// True if the node publishes no event type.
    pub const fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// True if the node publishes `event_type`.
    pub fn contains(&self, event_type: &str) -> bool {
        self.event_types().any(|t| t == event_type)
    }

    /// True if the node handles `event_type`: a handler names it (a
    /// catch-all is not counted; see [`Catalog::consumes_any`]).
    pub fn consumes(&self, event_type: &str) -> bool {
        self.consumed_events.contains(&event_type)
    }

    /// The catalog as JSON in the seed's shape (see [`Catalog`]).
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }
}

impl Serialize for Catalog {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let consumed = !self.consumed_events.is_empty();
        let kinds = self.declared_kinds();
        let requests = !self.requests.is_empty();
        let responses = !self.responses.is_empty();
        let len = 3
            + usize::from(consumed)
            + usize::from(self.consumes_any)
            + usize::from(requests)
            + usize::from(responses)
            + kinds.len();
        let mut m = s.serialize_map(Some(len))?;
        m.serialize_entry("operation_lifecycle", self.operation_lifecycle)?;
        m.serialize_entry("state_events", self.state_events)?;
        m.serialize_entry("metric_events", self.metric_events)?;
        if consumed {
            m.serialize_entry("consumed_events", self.consumed_events)?;
        }
        if self.consumes_any {
            m.serialize_entry("consumes_any", &true)?;
        }
        for kind in kinds {
            let names: Vec<&str> = self.declared_of(kind).map(|d| d.name()).collect();
            m.serialize_entry(&format!("{kind}_events"), &names)?;
        }
        if requests {
            m.serialize_entry("requests", self.requests)?;
        }
        if responses {
            m.serialize_entry("responses", self.responses)?;
        }
        m.end()
    }
}

/// The registry entry of one node: the catalog its `#[onex_node("..")]`
/// block declared, and the catalog assembled at first use with the
/// operations of its `#[onex_node(extend)]` blocks.
#[doc(hidden)]
#[derive(Debug)]
pub struct NodeEntry {
    declared: Catalog,
    assembled: OnceLock<Catalog>,
}

impl NodeEntry {
    /// The entry of a node whose declaring block holds `declared`.
    pub const fn new(declared: Catalog) -> Self {
        NodeEntry {
            declared,
            assembled: OnceLock::new(),
        }
    }

    /// The node's whole catalog: the declared operations in declaration
    /// order, then those of its `extend` blocks in source order (by file and
    /// position of the block, then within it). Assembled once, on first use.
    pub fn catalog(&'static self) -> &'static Catalog {
        self.assembled.get_or_init(|| self.assemble())
    }

    fn assemble(&'static self) -> Catalog {
        let mut extensions: Vec<&OperationEntry> = OPERATIONS
            .iter()
            .filter(|e| std::ptr::eq((e.node)(), self))
            .collect();
        if extensions.is_empty() {
            return self.declared;
        }
        extensions.sort_by_key(|e| e.location);
        let mut operations = self.declared.operations.to_vec();
        let mut lifecycle = self.declared.operation_lifecycle.to_vec();
        for e in extensions {
            let op = e.operation;
            // The same operation in two blocks of one node is a compile
            // error, unless the blocks implement different instantiations
            // of a generic node; their event types are the same.
            if !operations.contains(&op.operation) {
                operations.push(op.operation);
                lifecycle.extend([op.started, op.completed, op.failed].map(|t| t.as_str()));
            }
        }
        // Once per node for the program's lifetime, like the entry itself.
        Catalog {
            operations: operations.leak(),
            operation_lifecycle: lifecycle.leak(),
            ..self.declared
        }
    }
}

/// An operation of an `#[onex_node(extend)]` block, joined to its node's
/// catalog at first use.
#[doc(hidden)]
#[derive(Debug)]
pub struct OperationEntry {
    node: fn() -> &'static NodeEntry,
    operation: &'static OperationDescriptor,
    location: (&'static str, u32, u32, u32),
}

impl OperationEntry {
    /// `operation` of the node whose entry `node` returns, declared at
    /// `location`: `file!()`, `line!()` and `column!()` of its block's
    /// attribute, and its position in the block.
    pub const fn new(
        node: fn() -> &'static NodeEntry,
        operation: &'static OperationDescriptor,
        location: (&'static str, u32, u32, u32),
    ) -> Self {
        OperationEntry {
            node,
            operation,
            location,
        }
    }
}

/// One entry per `#[onex_node("..")]` in the program.
#[doc(hidden)]
#[linkme::distributed_slice]
pub static NODES: [NodeEntry];

/// One entry per operation of an `#[onex_node(extend)]` block.
#[doc(hidden)]
#[linkme::distributed_slice]
pub static OPERATIONS: [OperationEntry];

/// Every node catalog linked into this program, sorted by node type and
/// Rust type.
///
/// ```
/// for catalog in onex_events::catalogs() {
///     println!("{} ({} events)", catalog.node_type, catalog.len());
/// }
/// ```
pub fn catalogs() -> Vec<&'static Catalog> {
    let mut all: Vec<&'static Catalog> = NODES.iter().map(NodeEntry::catalog).collect();
    all.sort_by_key(|c| (c.node_type, c.rust_type));
    all
}

/// Every event type this program can emit, sorted and without duplicates.
pub fn all_event_types() -> Vec<&'static str> {
    let mut all: Vec<&'static str> = NODES
        .iter()
        .flat_map(|n| n.catalog().event_types())
        .collect();
    all.sort_unstable();
    all.dedup();
    all
}

/// Every event type some handler of this program names, sorted and
/// without duplicates: what its consumers subscribe to (catch-all handlers
/// take more; see [`Catalog::consumes_any`]).
///
/// ```
/// for event_type in onex_events::all_consumed_event_types() {
///     println!("handled: {event_type}");
/// }
/// ```
pub fn all_consumed_event_types() -> Vec<&'static str> {
    let mut all: Vec<&'static str> = NODES
        .iter()
        .flat_map(|n| n.catalog().consumed_events.iter().copied())
        .collect();
    all.sort_unstable();
    all.dedup();
    all
}

/// A node's catalog as `MyNode::EVENT_CATALOG`: dereferences to the
/// [`Catalog`] of all the node's operation blocks, assembled on first use.
///
/// ```
/// # use onex_events::{onex_node, NodeContext, OnexNode};
/// # #[derive(OnexNode)]
/// # struct Effect { ctx: NodeContext }
/// #[onex_node("effect")]
/// impl Effect {
///     #[onex_operation("write")]
///     async fn write(&self) {}
/// }
///
/// assert_eq!(Effect::EVENT_CATALOG.operations, ["write"]);
/// assert_eq!(Effect::EVENT_CATALOG.len(), 5);
/// ```
#[derive(Clone, Copy)]
pub struct NodeCatalog(fn() -> &'static Catalog);

impl NodeCatalog {
    /// The catalog of node `N`.
    pub const fn of<N: NodeDescriptor + ?Sized>() -> Self {
        NodeCatalog(N::catalog)
    }

    /// The catalog.
    pub fn get(self) -> &'static Catalog {
        (self.0)()
    }
}

impl std::ops::Deref for NodeCatalog {
    type Target = Catalog;

    fn deref(&self) -> &Catalog {
        self.get()
    }
}

impl std::fmt::Debug for NodeCatalog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.get().fmt(f)
    }
}

impl Serialize for NodeCatalog {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.get().serialize(s)
    }
}
