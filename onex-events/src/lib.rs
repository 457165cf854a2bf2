//! # onex-events
//!
//! Annotate the methods of an ONEX node once and every call publishes the
//! standard lifecycle events — `{node_type}.{operation}.started`, then
//! `.completed` or `.failed` — wrapped in the **OnexEnvelopeV1** envelope,
//! with a correlation id, a UTC timestamp and the execution time. Nodes also
//! publish `{node_type}.state.changed` and `{node_type}.metric.recorded`, and
//! each node's event catalog is built at compile time.
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
//! in-memory [`Recorder`] for tests. Publishing never blocks on the network,
//! never fails and never changes the result of the user's operation.

#![warn(missing_docs)]

mod catalog;
mod correlation;
mod deadline;
mod envelope;
mod error;
mod event_type;
#[cfg(feature = "kafka")]
pub mod kafka;
mod node;
mod operation;
#[cfg(feature = "outbox")]
pub mod outbox;
#[doc(hidden)]
pub mod outcome;
mod payload;
mod publisher;
pub mod sink;
mod timestamp;
mod trace_parent;

pub use catalog::{all_event_types, catalogs, Catalog};
pub use correlation::{Correlation, CorrelationExt, InCorrelation};
pub use envelope::{Event, PartitionKey, ENVELOPE_VERSION};
pub use error::ConfigError;
pub use event_type::{EventType, EventTypeError, Stage};
#[cfg(feature = "kafka")]
pub use kafka::KafkaConfig;
pub use node::{NodeContext, NodeContextBuilder, NodeDescriptor, NodeIdentity, OnexNode};
pub use payload::{ArgSpec, Captured, ErrorInfo, ErrorKind, Input, Payload, ResultSummary};
pub use publisher::Publisher;
#[cfg(feature = "kafka")]
pub use sink::kafka::KafkaSink;
pub use sink::{LogSink, Recorder, Sink, StdoutSink};
pub use timestamp::Timestamp;
pub use trace_parent::{TraceParent, TraceParentError};

/// Marks a node's inherent `impl` block as an ONEX node.
///
/// ```text
/// #[onex_node("orchestrator")]                        // node type, lowercase snake_case
/// #[onex_node(node_type = "orchestrator",
///             service = "orchestrator",               // default: the node type
///             namespace = "omninode.bridge",          // default: "onex"
///             include_state_events = true,            // default: true
///             include_metric_events = true)]          // default: true
/// ```
///
/// Every `#[onex_operation("name", ..)]` method inside publishes its
/// lifecycle events, and the block gains `Self::EVENT_CATALOG` (a `const`
/// [`Catalog`]), an impl of [`NodeDescriptor`] and an entry in
/// [`catalogs()`]. The node type needs [`OnexNode`], usually derived.
///
/// `#[onex_operation]` options: the operation name first (required,
/// lowercase snake_case, unique in the node), then any of `fields(a, ..)`
/// (record these arguments' values, serialized with serde), `skip(a, ..)`
/// (leave these arguments out), `skip_all` (leave every argument out but
/// those in `fields`) and `ret` (record the returned value, the `Ok` value
/// of a `Result`). Without options, `input` and `result` hold names and
/// types only.
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
pub use onex_events_macros::onex_node;

/// Marks an `async` method of an [`onex_node`] impl block as an operation;
/// see [`onex_node`] for its options. Outside `#[onex_node]` it is a
/// compile error.
pub use onex_events_macros::onex_operation;

/// Implements [`OnexNode`] for a struct: the field of type [`NodeContext`]
/// (or the one marked `#[onex(context)]`) gives the node its identity and
/// publisher.
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

/// Not public API: the paths the macros expand to.
#[doc(hidden)]
pub mod __private {
    pub use crate::catalog::CATALOGS;
    pub use crate::envelope::Event;
    pub use crate::event_type::{EventType, Stage};
    pub use crate::operation::{Instrumented, OperationDescriptor, OperationGuard};
    pub use crate::outcome;
    pub use crate::payload::{capture, ArgSpec, Captured, Input};
    pub use crate::{Catalog, NodeContext, NodeDescriptor, OnexNode};
    pub use core;
    pub use linkme;
}
