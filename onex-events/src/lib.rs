//! # onex-events
//!
//! Annotate the methods of an ONEX node once and every call publishes the
//! standard lifecycle events — `{node_type}.{operation}.started`, then
//! `.completed` or `.failed` — wrapped in the **OnexEnvelopeV1** envelope,
//! with a correlation id, a UTC timestamp and the execution time. Nodes also
//! publish `{node_type}.state.changed` and `{node_type}.metric.recorded`, and
//! each node has an event catalog, built from compile-time parts joined in a
//! link-time registry.
//!
//! ```
//! use onex_events::{onex_node, NodeContext, OnexNode, Publisher, Recorder};
//!
//! #[derive(OnexNode)]
//! struct Orchestrator {
//!     ctx: NodeContext,
//! }
//!
//! #[onex_node(node_type = "orchestrator", service = "orchestrator")]
//! impl Orchestrator {
//!     #[onex_operation("orchestration", fields(job))]
//!     async fn orchestrate(&self, job: u32) -> Result<u32, std::io::Error> {
//!         Ok(job * 2)
//!     }
//! }
//!
//! # let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
//! # rt.block_on(async {
//! let recorder = Recorder::new();
//! let node = Orchestrator {
//!     ctx: NodeContext::builder::<Orchestrator>()
//!         .node_id("orchestrator-1")
//!         .publisher(Publisher::new(recorder.clone()))
//!         .build()
//!         .unwrap(),
//! };
//! assert_eq!(node.orchestrate(21).await.unwrap(), 42);
//! assert_eq!(
//!     recorder.event_types(),
//!     ["orchestrator.orchestration.started", "orchestrator.orchestration.completed"]
//! );
//! assert_eq!(Orchestrator::EVENT_CATALOG.len(), 5);
//! # });
//! ```
//!
//! Events go to a [`Publisher`], which hands them to a [`Sink`]: stdout JSON
//! lines by default ([`StdoutSink`]), a `tracing` log ([`LogSink`]) or an
//! in-memory [`Recorder`] for tests. Publishing never fails and never
//! changes the result of the user's operation; it waits only as its sink
//! says ([`Publisher::blocking`]): never for stdout and Kafka, for the commit
//! with an outbox.

#![warn(missing_docs)]

#[cfg(feature = "asyncapi")]
pub mod asyncapi;
mod catalog;
pub mod consume;
mod correlation;
mod deadline;
mod env_switch;
mod envelope;
mod error;
mod event_type;
mod extension;
mod finite;
#[cfg(feature = "kafka")]
pub mod kafka;
pub mod metrics;
mod node;
mod operation;
#[cfg(feature = "outbox")]
pub mod outbox;
mod outbox_switch;
#[doc(hidden)]
pub mod outcome;
mod panic_message;
mod payload;
mod publisher;
pub mod request;
pub mod schema;
pub mod sink;
mod spans;
mod timestamp;
mod trace_parent;
mod typed;

pub use catalog::{all_consumed_event_types, all_event_types, catalogs, Catalog, NodeCatalog};
pub use correlation::{Correlation, CorrelationExt, InCorrelation};
pub use envelope::{Event, PartitionKey, ENVELOPE_VERSION};
pub use error::ConfigError;
pub use event_type::{EventType, EventTypeError, Stage};
#[cfg(feature = "kafka")]
pub use kafka::KafkaConfig;
pub use node::{NodeContext, NodeContextBuilder, NodeDescriptor, NodeIdentity, OnexNode};
pub use payload::{ArgSpec, Captured, ErrorInfo, ErrorKind, Input, Payload, ResultSummary};
pub use publisher::Publisher;
/// The `schemars` crate, whose `JsonSchema` gives a payload type its
/// schema in the AsyncAPI document (derive it with this version).
#[cfg(feature = "asyncapi")]
pub use schemars;
#[cfg(feature = "kafka")]
pub use sink::kafka::KafkaSink;
pub use sink::{Blocking, LogSink, Recorder, Sink, StdoutSink};
pub use timestamp::Timestamp;
pub use trace_parent::{TraceParent, TraceParentError};
pub use typed::{
    declared_event, declared_events, DeclaredPayload, EventBatch, EventDescriptor, EventKind,
    OnexEvent,
};

/// Declares an ONEX node on one of its `impl` blocks, or adds operations to
/// it from another block.
///
/// ```text
/// #[onex_node("orchestrator")]                        // node type, lowercase snake_case
/// #[onex_node(node_type = "orchestrator",
///             service = "orchestrator",               // default: the node type
///             namespace = "omninode.bridge",          // default: "onex"
///             include_state_events = true,            // default: true
///             include_metric_events = true,           // default: true
///             events(UserCreated, ..))]               // declared events it publishes
/// #[onex_node(.., requests("codegen.request.validate"))] // requests the node sends
/// #[onex_node(extend)]                                // another block of the same node
/// #[onex_node(.., crate = my_events)]                 // the dependency renamed (also "my_events")
/// ```
///
/// Every `#[onex_operation("name", ..)]` method inside publishes its
/// lifecycle events. The node type needs [`OnexNode`], usually derived.
///
/// `#[onex_operation]` options: the operation name first (required,
/// lowercase snake_case, unique in the node), then any of `fields(a, ..)`
/// (record these arguments' values, serialized with serde), `skip(a, ..)`
/// (leave these arguments out), `skip_all` (leave every argument out but
/// those in `fields`) and `ret` (record the returned value, the `Ok` value
/// of a `Result`). Without options, `input` and `result` hold names and
/// types only. `publish_on_success(Event, id = ..)` and
/// `publish_on_error(Event, id = ..)` publish a declared event (see
/// [`OnexEvent`]) when the operation returns a value or `Ok`, resp. `Err`:
/// built with the event's `From<&T>` for the value (the `Ok` value) or the
/// error, with its id from an argument (`id = user_id`), the returned value
/// (`id = ret`, `id = ret.user.id`) or, without `id`, the event's own
/// `#[onex_event(id)]` field; in the operation's correlation, before its end
/// event, and listed in the node's catalog. `domain_event(Event, id = ..)`
/// and `audit_event(Event, id = ..)` (seed 003's decorators) are
/// `publish_on_success` of an event of that kind, checked at compile time. A value that cannot be serialized, because serde returns an
/// error or its `Serialize` panics, is recorded as `"value_error"` with the
/// reason instead of `"value"`; the body runs and the caller gets what it
/// returned either way (see [`Captured::of`] for the panic hook's output).
///
/// ```
/// use onex_events::{onex_node, NodeContext, OnexNode, Recorder, Publisher};
///
/// #[derive(OnexNode)]
/// struct Reducer {
///     ctx: NodeContext,
/// }
///
/// #[onex_node("reducer", include_metric_events = false)]
/// impl Reducer {
///     #[onex_operation("aggregation", fields(delta), ret)]
///     async fn aggregate(&self, delta: i64, secret: String) -> anyhow::Result<i64> {
///         anyhow::ensure!(!secret.is_empty(), "no secret");
///         Ok(delta * 2)
///     }
/// }
///
/// assert_eq!(
///     Reducer::EVENT_CATALOG.operation_lifecycle,
///     ["reducer.aggregation.started", "reducer.aggregation.completed", "reducer.aggregation.failed"]
/// );
/// assert_eq!(Reducer::EVENT_CATALOG.state_events, ["reducer.state.changed"]);
/// assert!(Reducer::EVENT_CATALOG.metric_events.is_empty());
/// ```
///
/// # Handlers
///
/// The declaring block may also hold `#[onex_handler("event.type", ..)]`
/// methods, which handle incoming events (see [`onex_handler`] for their
/// options): `async fn name(&self, event: Incoming<T>)`. The block then
/// implements [`consume::EventHandlers`] for the node, which consumers call;
/// every declaring block implements it, with no handler if it has none, so
/// any node can be served (a node that is not `Send + Sync` and has no
/// handler still compiles: the impl then applies to no type). A handler's
/// event types must be three or more lowercase snake_case segments, each
/// handled by one handler of the node; a node has one catch-all
/// (`#[onex_handler(any)]`) at most. A handler with lifecycle events is an
/// operation of the node: its name is unique among the node's operations
/// and it is listed in `operations` and `operation_lifecycle`; the event
/// types the handlers name are the catalog's
/// [`consumed_events`](Catalog::consumed_events). Handlers cannot go in an
/// `extend` block (the node's `EventHandlers` impl is generated where the
/// node is declared).
///
/// # A node in several blocks, trait impls included
///
/// ONEX nodes implement base behaviour (`NodeCompute::process`,
/// `NodeEffect::execute_intent`), which in Rust is a trait. Exactly one
/// block *declares* the node with its node type and options; it may be an
/// inherent impl or a trait impl. Every other block holding operations of
/// the node is marked `#[onex_node(extend)]` and takes nothing else:
///
/// ```
/// use onex_events::{onex_node, NodeContext, OnexNode};
///
/// trait NodeCompute {
///     async fn process(&self, input: u32) -> u32;
/// }
///
/// #[derive(OnexNode)]
/// struct Compute {
///     ctx: NodeContext,
/// }
///
/// #[onex_node("compute")]
/// impl Compute {
///     #[onex_operation("validation")]
///     async fn validate(&self, input: u32) -> bool {
///         input > 0
///     }
/// }
///
/// #[onex_node(extend)]
/// impl NodeCompute for Compute {
///     #[onex_operation("process")]
///     async fn process(&self, input: u32) -> u32 {
///         input * 2
///     }
/// }
///
/// assert_eq!(Compute::EVENT_CATALOG.operations, ["validation", "process"]);
/// ```
///
/// Operations may be native `async fn`s of a trait impl, or have
/// `#[async_trait]`'s shape: a `fn` returning
/// `Pin<Box<dyn Future<Output = T> + Send + 'async_trait>>` whose last
/// expression is `Box::pin(async move { .. })`. As with tracing's
/// `#[instrument]`, that `async` block is what is instrumented, so
/// `#[async_trait]` may come before or after `#[onex_node]`.
///
/// An `extend` block cannot be generic (`impl<T> .. for Node<T>`): a generic
/// node keeps its operations in its declaring block. It lives in the node's
/// crate, as its duplicate check is an inherent `impl` of the node. Declaring a node twice
/// is an error (two `NodeDescriptor` impls), and so is one operation name in
/// two blocks of a node (E0592 on a hidden `__onex_operation_{name}`
/// constant, at both names).
///
/// # One catalog, one registry entry
///
/// The declaring block's operations and the node's identity form a `const`
/// [`Catalog`] literal, emitted once, in the node's entry of a link-time
/// registry (a `linkme` distributed slice: no code runs before `main`);
/// the block also implements [`NodeDescriptor`] and adds
/// `Self::EVENT_CATALOG`, a [`NodeCatalog`]. Each operation of an `extend`
/// block adds a link-time entry of its own that points at its node's entry.
/// The node's catalog is assembled from both the first time it is used
/// ([`NodeDescriptor::catalog`], `EVENT_CATALOG`, [`catalogs()`] or a
/// [`NodeContext`] built for the node): the declared operations in order,
/// then the `extend` blocks' in source order.
///
/// Why not one `const` assembled across blocks: an attribute sees only its
/// own block, and stable Rust has no way for a `const` to gather items from
/// blocks it does not name, so the declaring block would have to list every
/// other block (and get a trait as a type to name it by). The link-time
/// registry needs no such list, and the catalog stays one value per node.
/// What it costs: `EVENT_CATALOG` is no longer usable in a `const` context.
///
/// # A renamed dependency
///
/// With `my_events = { package = "onex-events", .. }`, write
/// `crate = my_events` on `#[onex_node]` (each block) and
/// `#[onex(crate = my_events)]` on `#[derive(OnexNode)]`; the generated code
/// then reaches the runtime through `my_events::__private`.
pub use onex_events_macros::onex_node;

/// Marks an `async` method of an [`onex_node`] impl block as an operation;
/// see [`onex_node`] for its options. Outside `#[onex_node]` it is a
/// compile error.
pub use onex_events_macros::onex_operation;

/// Marks an `async` method of an [`onex_node`] block as a handler of
/// incoming events: `#[onex_handler("event.type", ..)]`, or
/// `#[onex_handler(any)]` for a catch-all. Outside `#[onex_node]` it is a
/// compile error.
///
/// ```text
/// #[onex_handler("orchestrator.orchestration.completed",   // event types: 3+ lowercase snake_case segments
///                "orchestrator.orchestration.failed",
///                name = "execute_intent",                   // operation name; default: the method's name
///                lifecycle = false,                         // no started/completed/failed; default true
///                attempts = 5,                              // runs in all, the first included; default 3
///                backoff_ms = 100,                          // wait before the first retry, doubling; default 100
///                max_backoff_ms = 10000,                    // longest wait; default 10000
///                timeout_ms = 5000,                         // one run's time limit; default none
///                payload)]                                  // record the payload in `started`; needs `T: Serialize`
/// #[onex_handler(any)]                                      // every event no other handler of the node names
/// #[onex_handler(UserCreated)]                              // a declared event, by its type (with `Incoming<UserCreated>`)
/// ```
///
/// A declared event (see [`OnexEvent`]) is named by its type; a type that
/// is not a declared event is a compile error there.
///
/// A handler of a request type, `{node_type}.request.{name}`, answers it:
/// its return value is the reply, published as
/// `{node_type}.response.{name}` between its `started` and `completed`
/// (an `Err` is an error reply, with `failed`), and the request is then
/// acknowledged either way; such a handler names that one event type and
/// its value (the `Ok` of a `Result`) is `serde::Serialize` (see
/// [`request`]).
///
/// A handler is `async fn name(&self, event: Incoming<T>) -> R` with `T`
/// any `serde::Deserialize` type (`serde_json::Value` takes any payload)
/// and `R` anything: the `Err` of a `Result` (any alias) is a failure,
/// retried as configured and then dead-lettered; any other value
/// acknowledges the event. A payload that does not decode into `T` is
/// dead-lettered at once. In a trait impl under `#[async_trait]`, put
/// `#[onex_node]` above `#[async_trait]` so that it sees the `async fn`.
///
/// The handler runs in the incoming event's correlation: its correlation id
/// is the incoming one and its causation id the incoming `event_id`, for
/// everything it publishes (nested operations, state and metric events).
/// Unless `lifecycle = false`, a handled event is also an operation of the
/// node: `{node_type}.{name}.started`, then `completed` or `failed`, with
/// `input` naming the incoming event (`event_type`, `event_id`, and the
/// decoded payload only with `payload`). Calling the method directly does
/// the same, which is how a test can drive it.
///
/// Handlers go in the block that declares the node, which implements
/// [`consume::EventHandlers`] (what consumers and the in-process bus call)
/// and lists the event types in the catalog's
/// [`consumed_events`](Catalog::consumed_events).
///
/// ```
/// use onex_events::consume::{EventHandlers, Incoming};
/// use onex_events::{onex_node, NodeContext, OnexNode, Publisher, Recorder};
///
/// #[derive(serde::Deserialize)]
/// struct Completed {
///     operation: String,
/// }
///
/// #[derive(OnexNode)]
/// struct Effect {
///     ctx: NodeContext,
/// }
///
/// #[onex_node("effect")]
/// impl Effect {
///     #[onex_handler("orchestrator.orchestration.completed", name = "execute_intent", attempts = 5)]
///     async fn execute(&self, event: Incoming<Completed>) -> anyhow::Result<()> {
///         anyhow::ensure!(!event.payload.operation.is_empty(), "no operation");
///         self.ctx.state_changed("idle", "executed", "intent executed");
///         Ok(())
///     }
/// }
///
/// assert_eq!(Effect::EVENT_CATALOG.consumed_events, ["orchestrator.orchestration.completed"]);
/// assert_eq!(Effect::EVENT_CATALOG.operations, ["execute_intent"]);
/// assert_eq!(Effect::HANDLERS[0].retry.attempts, 5);
/// ```
pub use onex_events_macros::onex_handler;

/// Implements [`OnexNode`] for a struct: the field of type [`NodeContext`]
/// (or the one marked `#[onex(context)]`) gives the node its identity and
/// publisher. With a renamed dependency, add `#[onex(crate = my_events)]`
/// on the struct.
///
/// ```
/// use onex_events::{NodeContext, OnexNode};
///
/// #[derive(OnexNode)]
/// struct Effect {
///     #[onex(context)]
///     events: NodeContext,
///     name: String,
/// }
/// ```
pub use onex_events_macros::OnexNode;

/// Declares a struct as an event type: implements [`OnexEvent`] (see it
/// for an example) and adds the type to the program-wide registry
/// ([`declared_events`]).
///
/// ```text
/// #[onex_event("user.created",                 // event type: 2+ lowercase snake_case segments
///              kind = "domain",                 // "domain", "audit", "notification" or your own
///              aggregate_type = "user",         // domain: required
///              action = "create_user",          // audit: required
///              resource_type = "user",          // audit: required
///              recipient_type = "user",         // notification: optional
///              crate = my_events)]              // a renamed dependency
/// #[onex_event(id)]                             // on the field holding the id (Display)
/// ```
///
/// The struct (named fields, not generic) is the payload, serialized with
/// serde: derive `Serialize` too (and `Deserialize` to handle it).
pub use onex_events_macros::OnexEvent;

/// Not public API: the paths the macros expand to.
#[doc(hidden)]
pub mod __private {
    pub use crate::__onex_extension_operation as extension_operation;
    pub use crate::__onex_operation_values as operation_values;
    pub use crate::__onex_payload_type as payload_type;
    pub use crate::catalog::{NodeCatalog, NodeEntry, OperationEntry, NODES, OPERATIONS};
    pub use crate::consume::handling::{
        assert_shareable, assert_takes_payload_of, handled, handled_event, no_handler, HandlerScope,
    };
    pub use crate::consume::{
        EventHandlers, Handled, HandlerFuture, HandlerInput, HandlerSpec, ReceivedEvent,
        RetryPolicy,
    };
    pub use crate::extension::{lifecycle_len, LifecycleNames};
    pub use crate::operation::{OperationDescriptor, OperationGuard};
    pub use crate::outcome::{via, Wrap};
    pub use crate::payload::{capture, ArgSpec};
    pub use crate::request::responding::{respond, respond_undecodable, RequestOrigin};
    pub use crate::schema::{
        HandlerProbe, NoSchema, PayloadRole, PayloadType, Probe, ReplyProbe, ViaJsonSchema,
        ViaOkSchema, PAYLOAD_TYPES,
    };
    pub use crate::typed::{event_from, publish_on_outcome, OutcomeId, DECLARED_EVENTS};
    pub use crate::{Catalog, NodeContext, NodeDescriptor, OnexNode};
    pub use crate::{EventDescriptor, EventKind, EventType, OnexEvent, Stage};
    pub use core;
    pub use linkme;
    pub use serde_json::Value as JsonValue;
    pub use std::boxed::Box;
    pub use std::string::{String, ToString};
    pub use std::sync::Arc;
    pub use std::time::Duration;
}
