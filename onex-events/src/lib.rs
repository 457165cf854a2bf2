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
mod envelope;
mod error;
mod event_type;
mod node;
mod operation;
#[doc(hidden)]
pub mod outcome;
mod payload;
mod publisher;
pub mod sink;
mod timestamp;

pub use catalog::{all_event_types, catalogs, Catalog};
pub use correlation::{Correlation, CorrelationExt, InCorrelation};
pub use envelope::{Event, ENVELOPE_VERSION};
pub use error::ConfigError;
pub use event_type::{EventType, EventTypeError, Stage};
pub use node::{NodeContext, NodeContextBuilder, NodeDescriptor, NodeIdentity, OnexNode};
pub use payload::{ArgSpec, Captured, ErrorInfo, ErrorKind, Input, Payload, ResultSummary};
pub use publisher::Publisher;
#[cfg(feature = "kafka")]
pub use sink::kafka::{KafkaConfig, KafkaSink};
pub use sink::{LogSink, Recorder, Sink, StdoutSink};
pub use timestamp::Timestamp;

/// Marks an `impl` block as an ONEX node: its `#[onex_operation]` methods
/// publish lifecycle events and the node's event catalog is built at compile
/// time. See the crate documentation and the README for every option.
pub use onex_events_macros::onex_node;

/// Marks an `async` method of an `#[onex_node]` impl block as an operation.
/// Only valid inside `#[onex_node]`.
pub use onex_events_macros::onex_operation;

/// Implements [`OnexNode`] for a struct: the field of type [`NodeContext`]
/// (or the one marked `#[onex(context)]`) gives the node its identity and
/// publisher.
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
