//! Node identity and the per-node handle to the publisher.

use crate::catalog::{Catalog, NodeEntry};
use crate::correlation::Correlation;
use crate::envelope::Event;
use crate::error::ConfigError;
use crate::event_type::EventType;
use crate::payload::Payload;
use crate::publisher::Publisher;
use crate::timestamp::Timestamp;
use crate::trace_parent::TraceParent;
use std::sync::Arc;
use uuid::Uuid;

/// Who publishes: the seed's `node_id`, the node type, the service name used
/// for topic routing and the `default_namespace`, plus an id unique to this
/// running instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeIdentity {
    /// The node's id, published as `source_node_id`.
    pub node_id: String,
    /// The node type, e.g. `orchestrator`.
    pub node_type: &'static str,
    /// The service name (topic routing).
    pub service: String,
    /// The namespace (topic routing).
    pub namespace: String,
    /// A random id of this node instance, new each time a context is built.
    pub instance_id: Uuid,
}

/// Implemented by the `#[onex_node("..")]` block that declares a node: its
/// node type and its catalog.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not declared as an ONEX node",
    label = "`{Self}` has no `#[onex_node(\"node_type\")]` block",
    note = "declare the node once, with `#[onex_node(\"node_type\", ..)]` on one impl block of `{Self}`; its other blocks take `#[onex_node(extend)]`"
)]
pub trait NodeDescriptor {
    /// The node type, e.g. `orchestrator`.
    const NODE_TYPE: &'static str;

    /// The node's registry entry.
    #[doc(hidden)]
    fn __entry() -> &'static NodeEntry;

    /// The node's event catalog: the operations of every block of the node.
    fn catalog() -> &'static Catalog {
        Self::__entry().catalog()
    }
}

/// Gives an annotated node its [`NodeContext`]; `#[derive(OnexNode)]`
/// implements it.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an ONEX node: it has no `NodeContext`",
    label = "operations of this impl need `{Self}: OnexNode`",
    note = "add `#[derive(OnexNode)]` to `{Self}` and a field of type `NodeContext`"
)]
pub trait OnexNode {
    /// The node's context.
    fn onex_context(&self) -> &NodeContext;
}

struct Inner {
    identity: Arc<NodeIdentity>,
    publisher: Publisher,
    catalog: &'static Catalog,
    state_changed: Option<EventType>,
    metric_recorded: Option<EventType>,
}

/// A node instance's identity and publisher. Cheap to clone.
#[derive(Clone)]
pub struct NodeContext {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for NodeContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeContext")
            .field("identity", &self.inner.identity)
            .field("publisher", &self.inner.publisher)
            .finish()
    }
}

/// Builds a [`NodeContext`]; start with [`NodeContext::builder`].
#[derive(Debug)]
#[must_use]
pub struct NodeContextBuilder {
    catalog: &'static Catalog,
    node_id: Option<String>,
    service: Option<String>,
    namespace: Option<String>,
    publisher: Option<Publisher>,
}

fn check(field: &'static str, value: &str) -> Result<(), ConfigError> {
    if value.is_empty() {
        return Err(ConfigError::Empty { field });
    }
    if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(ConfigError::InvalidCharacters {
            field,
            value: value.to_owned(),
        });
    }
    Ok(())
}

/// The service and namespace name Kafka topics (see
/// [`TopicRouting`](crate::kafka::TopicRouting)): refused, as
/// `#[onex_node]` refuses them at compile time, when they hold characters a
/// topic cannot, rather than replaced by `_` so that two different names
/// would share topics unnoticed.
fn check_topic_segment(field: &'static str, value: &str) -> Result<(), ConfigError> {
    if value
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
    {
        Ok(())
    } else {
        Err(ConfigError::NotATopicName {
            field,
            value: value.to_owned(),
        })
    }
}

impl NodeContextBuilder {
    /// The node id published as `source_node_id`. Default:
    /// `{node_type}-{first 8 hex digits of the instance id}`.
    pub fn node_id(mut self, node_id: impl Into<String>) -> Self {
        self.node_id = Some(node_id.into());
        self
    }

    /// The service name. Default: `service` of `#[onex_node]`, else the node type.
    /// Only ASCII letters, digits, `.`, `_` and `-`: it names Kafka topics.
    pub fn service(mut self, service: impl Into<String>) -> Self {
        self.service = Some(service.into());
        self
    }

    /// The namespace. Default: `namespace` of `#[onex_node]`, else `onex`.
    /// Only ASCII letters, digits, `.`, `_` and `-`: it names Kafka topics.
    pub fn namespace(mut self, namespace: impl Into<String>) -> Self {
        self.namespace = Some(namespace.into());
        self
    }

    /// Where events go. Default: [`Publisher::default`] (stdout JSON lines).
    pub fn publisher(mut self, publisher: Publisher) -> Self {
        self.publisher = Some(publisher);
        self
    }

    /// Validates the identity and builds the context.
    pub fn build(self) -> Result<NodeContext, ConfigError> {
        let instance_id = Uuid::new_v4();
        let node_id = match self.node_id {
            Some(id) => id,
            None => {
                let hex = instance_id.simple().to_string();
                format!("{}-{}", self.catalog.node_type, &hex[..8])
            }
        };
        let service = self
            .service
            .unwrap_or_else(|| self.catalog.service.to_owned());
        let namespace = self
            .namespace
            .unwrap_or_else(|| self.catalog.namespace.to_owned());
        check("node_id", &node_id)?;
        check("service", &service)?;
        check("namespace", &namespace)?;
        check_topic_segment("service", &service)?;
        check_topic_segment("namespace", &namespace)?;
        let catalog = self.catalog;
        let parse = |events: &'static [&'static str]| {
            events.first().and_then(|name| EventType::parse(name).ok())
        };
        Ok(NodeContext {
            inner: Arc::new(Inner {
                identity: Arc::new(NodeIdentity {
                    node_id,
                    node_type: catalog.node_type,
                    service,
                    namespace,
                    instance_id,
                }),
                publisher: self.publisher.unwrap_or_default(),
                catalog,
                state_changed: parse(catalog.state_events),
                metric_recorded: parse(catalog.metric_events),
            }),
        })
    }
}

impl NodeContext {
    /// A builder with the defaults of node `N`'s `#[onex_node]`.
    pub fn builder<N: NodeDescriptor + ?Sized>() -> NodeContextBuilder {
        Self::builder_for(N::catalog())
    }

    /// A builder for a catalog (for nodes assembled by hand).
    pub fn builder_for(catalog: &'static Catalog) -> NodeContextBuilder {
        NodeContextBuilder {
            catalog,
            node_id: None,
            service: None,
            namespace: None,
            publisher: None,
        }
    }

    /// Node `N` with its defaults, a generated node id and `publisher`.
    pub fn new<N: NodeDescriptor + ?Sized>(publisher: Publisher) -> NodeContext {
        let catalog = N::catalog();
        // The defaults come from `#[onex_node]`, which validated them at
        // compile time, so building cannot fail; fall back to the raw parts
        // rather than panic if it ever did.
        match Self::builder::<N>().publisher(publisher.clone()).build() {
            Ok(ctx) => ctx,
            Err(e) => {
                tracing::error!(error = %e, "invalid node defaults; using them unchecked");
                let instance_id = Uuid::new_v4();
                NodeContext {
                    inner: Arc::new(Inner {
                        identity: Arc::new(NodeIdentity {
                            node_id: catalog.node_type.to_owned(),
                            node_type: catalog.node_type,
                            service: catalog.service.to_owned(),
                            namespace: catalog.namespace.to_owned(),
                            instance_id,
                        }),
                        publisher,
                        catalog,
                        state_changed: None,
                        metric_recorded: None,
                    }),
                }
            }
        }
    }

    /// The node's identity.
    pub fn identity(&self) -> &Arc<NodeIdentity> {
        &self.inner.identity
    }

    /// The node's catalog.
    pub fn catalog(&self) -> &'static Catalog {
        self.inner.catalog
    }

    /// The node's publisher.
    pub fn publisher(&self) -> &Publisher {
        &self.inner.publisher
    }

    /// Builds an event from this node and publishes it; returns its id.
    ///
    /// With `correlation` `None`, the correlation in scope (if any) is used.
    /// This is what the macros do for you; call it for hand-written events.
    pub fn emit(
        &self,
        event_type: EventType,
        correlation: Option<Correlation>,
        payload: Payload,
    ) -> Uuid {
        self.emit_traced(event_type, correlation, TraceParent::current(), payload)
    }

    /// [`NodeContext::emit`] with the trace context given (an operation's
    /// events all carry the one in scope when it started).
    #[inline]
    pub(crate) fn emit_traced(
        &self,
        event_type: EventType,
        correlation: Option<Correlation>,
        trace_parent: Option<TraceParent>,
        payload: Payload,
    ) -> Uuid {
        let event = self.event(event_type, correlation, trace_parent, payload);
        let event_id = event.event_id;
        self.inner.publisher.publish(event);
        event_id
    }

    /// An event from this node, not yet published; with `correlation`
    /// `None`, in the correlation in scope (if any).
    #[inline]
    pub(crate) fn event(
        &self,
        event_type: EventType,
        correlation: Option<Correlation>,
        trace_parent: Option<TraceParent>,
        payload: Payload,
    ) -> Event {
        let correlation = correlation.or_else(Correlation::current);
        Event {
            event_id: Uuid::new_v4(),
            event_type,
            timestamp: Timestamp::now(),
            correlation_id: correlation.map(|c| c.correlation_id),
            causation_id: correlation.and_then(|c| c.causation_id),
            node: Arc::clone(&self.inner.identity),
            payload,
            trace_parent,
        }
    }

    /// Publishes `{node_type}.state.changed`, like the seed's
    /// `_publish_state_changed_event`. Inside an operation it joins the
    /// operation's correlation; outside, it starts a fresh one.
    ///
    /// A node declared with `include_state_events = false` has no state
    /// event in its catalog: the event is not published and a warning is
    /// logged.
    pub fn state_changed(
        &self,
        old_state: impl Into<String>,
        new_state: impl Into<String>,
        transition_reason: impl Into<String>,
    ) -> Option<Uuid> {
        let Some(event_type) = self.inner.state_changed else {
            tracing::warn!(
                node_type = self.inner.catalog.node_type,
                "state.changed is not in this node's catalog (include_state_events = false); not published"
            );
            return None;
        };
        let correlation = Correlation::current().unwrap_or_else(Correlation::fresh);
        Some(self.emit(
            event_type,
            Some(correlation),
            Payload::StateChanged {
                old_state: old_state.into(),
                new_state: new_state.into(),
                transition_reason: transition_reason.into(),
            },
        ))
    }

    /// Publishes `{node_type}.metric.recorded`, like the seed's
    /// `_publish_metric_recorded_event`; the correlation id is the one in
    /// scope, if any. A non-finite value is not published (JSON has no NaN
    /// or infinity) and a warning is logged.
    pub fn metric_recorded(
        &self,
        metric_name: impl Into<String>,
        metric_value: f64,
        metric_unit: impl Into<String>,
    ) -> Option<Uuid> {
        let metric_name = metric_name.into();
        let Some(event_type) = self.inner.metric_recorded else {
            tracing::warn!(
                node_type = self.inner.catalog.node_type,
                metric_name,
                "metric.recorded is not in this node's catalog (include_metric_events = false); not published"
            );
            return None;
        };
        if !metric_value.is_finite() {
            tracing::warn!(metric_name, %metric_value, "non-finite metric value; not published");
            return None;
        }
        Some(self.emit(
            event_type,
            None,
            Payload::MetricRecorded {
                metric_name,
                metric_value,
                metric_unit: metric_unit.into(),
            },
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    static CATALOG: Catalog = Catalog {
        node_type: "probe",
        rust_type: "tests::Probe",
        service: "probe",
        namespace: "onex",
        operations: &[],
        operation_lifecycle: &[],
        state_events: &[],
        metric_events: &[],
        consumed_events: &[],
        consumes_any: false,
        declared_events: &[],
        requests: &[],
        responses: &[],
    };

    #[test]
    fn a_node_id_with_control_characters_is_escaped_in_the_error() {
        let forged = "n1\n2026-11-30T12:00:00Z  INFO forged line\u{1b}[2J\r\u{202e}";
        let err = NodeContext::builder_for(&CATALOG)
            .node_id(forged)
            .build()
            .unwrap_err();
        let message = err.to_string();
        assert!(!message.chars().any(char::is_control), "{message:?}");
        assert_eq!(
            message,
            "node_id `n1\\n2026-11-30T12:00:00Z  INFO forged line\\u{1b}[2J\\r\\u{202e}` \
             contains whitespace or control characters"
        );
        assert!(matches!(err, ConfigError::InvalidCharacters { value, .. } if value == forged));
    }
}
