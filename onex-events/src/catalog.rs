//! Event catalogs: every event type a node can emit, built at compile time
//! by `#[onex_node]`, and the registry of every catalog linked into the
//! program.

use serde::ser::{SerializeStruct, Serializer};
use serde::Serialize;

/// The event catalog of one node type, a `const` built at compile time.
///
/// Serializes in the seed's shape:
/// `{"operation_lifecycle": [..], "state_events": [..], "metric_events": [..]}`.
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
    /// The operations, in declaration order.
    pub operations: &'static [&'static str],
    /// `{node_type}.{operation}.{started|completed|failed}` for each operation.
    pub operation_lifecycle: &'static [&'static str],
    /// `{node_type}.state.changed`, unless `include_state_events = false`.
    pub state_events: &'static [&'static str],
    /// `{node_type}.metric.recorded`, unless `include_metric_events = false`.
    pub metric_events: &'static [&'static str],
}

impl Catalog {
    /// Every event type of the catalog, lifecycle first.
    pub fn event_types(&self) -> impl Iterator<Item = &'static str> {
        self.operation_lifecycle
            .iter()
            .chain(self.state_events)
            .chain(self.metric_events)
            .copied()
    }

    /// The number of event types.
    pub const fn len(&self) -> usize {
        self.operation_lifecycle.len() + self.state_events.len() + self.metric_events.len()
    }

    /// True if the catalog has no event type.
    pub const fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// True if `event_type` is in the catalog.
    pub fn contains(&self, event_type: &str) -> bool {
        self.event_types().any(|t| t == event_type)
    }

    /// The catalog as JSON in the seed's shape.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "operation_lifecycle": self.operation_lifecycle,
            "state_events": self.state_events,
            "metric_events": self.metric_events,
        })
    }
}

impl Serialize for Catalog {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_struct("Catalog", 3)?;
        m.serialize_field("operation_lifecycle", self.operation_lifecycle)?;
        m.serialize_field("state_events", self.state_events)?;
        m.serialize_field("metric_events", self.metric_events)?;
        m.end()
    }
}

/// Every catalog of every `#[onex_node]` linked into the program.
#[doc(hidden)]
#[linkme::distributed_slice]
pub static CATALOGS: [Catalog];

/// Every node catalog linked into this program, sorted by node type and
/// Rust type.
///
/// ```
/// for catalog in onex_events::catalogs() {
///     println!("{} ({} events)", catalog.node_type, catalog.len());
/// }
/// ```
pub fn catalogs() -> Vec<&'static Catalog> {
    let mut all: Vec<&'static Catalog> = CATALOGS.iter().collect();
    all.sort_by_key(|c| (c.node_type, c.rust_type));
    all
}

/// Every event type this program can emit, sorted and without duplicates.
pub fn all_event_types() -> Vec<&'static str> {
    let mut all: Vec<&'static str> = CATALOGS.iter().flat_map(Catalog::event_types).collect();
    all.sort_unstable();
    all.dedup();
    all
}
