//! Topic routing, both ways: which topic each event goes to
//! ([`TopicRouting::topic`]), and which topics can carry an event type, for
//! a consumer to subscribe to ([`TopicRouting::topics_carrying`]).

use super::names::{check_topic, is_legal_topic_byte, MAX_TOPIC_LEN};
use crate::envelope::Event;
use crate::event_type::{EventType, Stage};
use std::fmt;
use std::sync::Arc;

/// A user-supplied routing: writes the topic of `event` into `topic`, which
/// is empty. Closures `Fn(&Event) -> String` implement it.
pub trait TopicStrategy: Send + Sync + 'static {
    /// Writes the topic of `event` into `topic` (which is empty).
    fn write_topic(&self, event: &Event, topic: &mut String);
}

impl<F> TopicStrategy for F
where
    F: Fn(&Event) -> String + Send + Sync + 'static,
{
    fn write_topic(&self, event: &Event, topic: &mut String) {
        topic.push_str(&self(event));
    }
}

#[derive(Clone)]
enum Routing {
    PerOperation { prefix: Option<Arc<str>> },
    PerService { prefix: Option<Arc<str>> },
    Single(Arc<str>),
    Custom(Arc<dyn TopicStrategy>),
}

/// How a [`KafkaSink`](crate::KafkaSink) picks each event's topic.
///
/// The default routes by namespace, service and event type, without the
/// event's stage, and with a version suffix, in the style of the ONEX
/// topics (`omninode.codegen.request.validate.v1`):
///
/// | event type                          | topic                                            |
/// |-------------------------------------|--------------------------------------------------|
/// | `orchestrator.routing.started`      | `{namespace}.{service}.orchestrator.routing.v1`  |
/// | `orchestrator.routing.completed`    | `{namespace}.{service}.orchestrator.routing.v1`  |
/// | `orchestrator.routing.failed`       | `{namespace}.{service}.orchestrator.routing.v1`  |
/// | `orchestrator.state.changed`        | `{namespace}.{service}.orchestrator.state.v1`    |
/// | `orchestrator.metric.recorded`      | `{namespace}.{service}.orchestrator.metric.v1`   |
/// | `user.created` (declared)           | `{namespace}.{service}.user.v1`                  |
/// | `audit.user_created` (declared)     | `{namespace}.{service}.audit.v1`                 |
/// | `codegen.request.validate`          | `{namespace}.codegen.request.validate.v1`        |
/// | `codegen.response.validate`         | `{namespace}.codegen.response.validate.v1`       |
///
/// A declared event type (`#[derive(OnexEvent)]`) goes to its name without
/// its last segment, so every event of an aggregate (`user.created`,
/// `user.deleted`) shares a topic, keyed by the aggregate id.
///
/// Requests and responses are addressed to the node type their event type
/// names, not to the publishing service: a request type has one topic per
/// namespace (in the default and the [per-service](TopicRouting::per_service)
/// routing), which every caller writes to and the responders read, and so
/// has its response type (see [`request`](crate::request)).
///
/// The `started`, `completed` and `failed` events of one operation share a
/// topic, and the message key is the correlation id, so they land on one
/// partition in the order they were published. A consumer that needs every
/// event of a request (across operations) in one ordered stream uses
/// [`TopicRouting::per_service`] or [`TopicRouting::single`]. Characters
/// Kafka does not allow in topic names (anything but `[A-Za-z0-9._-]`) are
/// replaced by `_` in a prefix; a service or namespace holding them is
/// refused when the node is set up (`NodeContext`'s builder, and
/// `#[onex_node]` at compile time), so that two different names never share
/// topics unnoticed. Node ids are not part of any topic: every node of a
/// service shares its topics (the `source_node_id` field and header tell
/// them apart). Namespace and service are joined with `.`, which both may
/// hold: namespace `a.b` with service `c` and namespace `a` with service
/// `b.c` share topics; choose names that do not overlap that way.
/// The `.v1` suffix is the envelope's major version: a
/// breaking change of the envelope would go to `.v2` topics.
///
/// ```
/// use onex_events::kafka::TopicRouting;
///
/// let per_operation = TopicRouting::default();
/// let prefixed = TopicRouting::prefixed("staging"); // staging.{namespace}.…
/// let one_topic = TopicRouting::single("onex.events.v1");
/// let custom = TopicRouting::custom(|e: &onex_events::Event| format!("events.{}", e.node.service));
/// # let _ = (per_operation, prefixed, one_topic, custom);
/// ```
#[derive(Clone)]
pub struct TopicRouting(Routing);

impl Default for TopicRouting {
    /// `{namespace}.{service}.{node_type}.{operation|state|metric}.v1`.
    fn default() -> Self {
        TopicRouting(Routing::PerOperation { prefix: None })
    }
}

impl TopicRouting {
    /// The default routing with `{prefix}.` in front of every topic.
    pub fn prefixed(prefix: impl Into<String>) -> Self {
        TopicRouting(Routing::PerOperation {
            prefix: non_empty(prefix.into()),
        })
    }

    /// One topic per service, `[{prefix}.]{namespace}.{service}.events.v1`:
    /// every event of a request handled by one service, in order.
    pub fn per_service(prefix: Option<&str>) -> Self {
        TopicRouting(Routing::PerService {
            prefix: prefix.and_then(|p| non_empty(p.to_owned())),
        })
    }

    /// Every event to `topic`.
    pub fn single(topic: impl Into<String>) -> Self {
        TopicRouting(Routing::Single(Arc::from(topic.into())))
    }

    /// Checks the names this routing is given against Kafka's rules: a
    /// [`single`](TopicRouting::single) topic must be a name Kafka accepts
    /// (not empty, at most 249 characters of `[A-Za-z0-9._-]`, neither `.`
    /// nor `..`); a prefix, whose other characters are replaced by `_`, must
    /// leave room for the shortest topic under it (at most
    /// 249 - `".x.y.events.v1"`.len() = 235 characters). A custom routing's
    /// topics, and topics made too long by a namespace or service, are
    /// rejected by Kafka per event. The error gives the name and the rule.
    pub(crate) fn check_names(&self) -> Result<(), (String, &'static str)> {
        match &self.0 {
            Routing::Single(topic) => check_topic(topic).map_err(|e| (topic.to_string(), e)),
            Routing::PerOperation { prefix: Some(p) } | Routing::PerService { prefix: Some(p) }
                if p.len() > MAX_PREFIX_LEN =>
            {
                Err((
                    p.to_string(),
                    "a topic prefix leaves room for the rest of the topic (at most 235 characters)",
                ))
            }
            _ => Ok(()),
        }
    }

    /// A user-supplied strategy.
    pub fn custom(strategy: impl TopicStrategy) -> Self {
        TopicRouting(Routing::Custom(Arc::new(strategy)))
    }

    /// The topic of `event`.
    pub fn topic(&self, event: &Event) -> String {
        let mut topic = String::new();
        self.write_topic(event, &mut topic);
        topic
    }

    /// Writes the topic of `event` into `topic`, replacing its contents.
    pub fn write_topic(&self, event: &Event, topic: &mut String) {
        topic.clear();
        match &self.0 {
            Routing::PerOperation { prefix } | Routing::PerService { prefix }
                if is_addressed(event.event_type) =>
            {
                let parts = [event.node.namespace.as_str(), event.event_type.as_str()];
                push_parts(topic, prefix.as_deref(), &parts);
            }
            Routing::PerOperation { prefix } => {
                let node = &event.node;
                let [first, second] = family_parts(event.event_type);
                let parts = [
                    node.namespace.as_str(),
                    node.service.as_str(),
                    first,
                    second,
                ];
                let parts = if second.is_empty() {
                    &parts[..3]
                } else {
                    &parts[..]
                };
                push_parts(topic, prefix.as_deref(), parts);
            }
            Routing::PerService { prefix } => {
                let node = &event.node;
                let parts = [node.namespace.as_str(), node.service.as_str(), "events"];
                push_parts(topic, prefix.as_deref(), &parts);
            }
            Routing::Single(name) => topic.push_str(name),
            Routing::Custom(strategy) => strategy.write_topic(event, topic),
        }
    }

    /// The topics that can carry events of `event_type` published by nodes
    /// of `namespace` and `service` (`None`: any), for a consumer to
    /// subscribe to.
    ///
    /// With both given, or with a single-topic routing, one topic. Without,
    /// a pattern, which may also match topics this routing never writes to
    /// (another prefix, another routing): a consumer keeps the records whose
    /// `event_type` it wants. A custom routing cannot be reversed.
    ///
    /// ```
    /// use onex_events::kafka::{TopicRouting, TopicSubscription};
    /// use onex_events::EventType;
    ///
    /// let failed = EventType::parse("orchestrator.routing.failed").unwrap();
    /// let routing = TopicRouting::default();
    /// assert_eq!(
    ///     routing.topics_carrying(failed, Some("onex"), Some("svc")),
    ///     TopicSubscription::Topic("onex.svc.orchestrator.routing.v1".to_owned())
    /// );
    /// assert_eq!(
    ///     routing.topics_carrying(failed, None, Some("svc")),
    ///     TopicSubscription::Pattern(r"^.+\.svc\.orchestrator\.routing\.v1$".to_owned())
    /// );
    /// ```
    pub fn topics_carrying(
        &self,
        event_type: EventType,
        namespace: Option<&str>,
        service: Option<&str>,
    ) -> TopicSubscription {
        let (prefix, last) = match &self.0 {
            Routing::PerOperation { prefix } | Routing::PerService { prefix }
                if is_addressed(event_type) =>
            {
                (prefix, [event_type.as_str(), ""])
            }
            Routing::PerOperation { prefix } => (prefix, family_parts(event_type)),
            Routing::PerService { prefix } => (prefix, ["events", ""]),
            Routing::Single(name) => return TopicSubscription::Topic(name.to_string()),
            Routing::Custom(_) => return TopicSubscription::Unknown,
        };
        let last = last.into_iter().filter(|p| !p.is_empty());
        // A request's or response's topic has no service.
        let service = match is_addressed(event_type) {
            true => Some(""),
            false => service,
        };
        if let (Some(namespace), Some(service)) = (namespace, service) {
            let mut topic = String::new();
            let parts: Vec<&str> = [namespace, service]
                .into_iter()
                .chain(last)
                .filter(|p| !p.is_empty())
                .collect();
            push_parts(&mut topic, prefix.as_deref(), &parts);
            return TopicSubscription::Topic(topic);
        }
        let mut pattern = String::from("^");
        let segments = prefix.as_deref().into_iter().map(Some);
        let segments = segments.chain([namespace, service]).chain(last.map(Some));
        for segment in segments {
            match segment {
                Some("") => continue,
                Some(s) => {
                    let mut sanitized = String::new();
                    push_sanitized(&mut sanitized, s);
                    pattern.push_str(&sanitized.replace('.', r"\."));
                }
                // A namespace or service may hold dots.
                None => pattern.push_str(".+"),
            }
            pattern.push_str(r"\.");
        }
        pattern.push_str("v1$");
        TopicSubscription::Pattern(pattern)
    }
}

/// The topics that can carry an event type: see
/// [`TopicRouting::topics_carrying`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TopicSubscription {
    /// This one topic.
    Topic(String),
    /// Every topic matching this regular expression, in librdkafka's
    /// subscription syntax (a pattern starts with `^`), so it can be passed
    /// to `subscribe` as it is.
    Pattern(String),
    /// A custom routing: the topics cannot be derived from it.
    Unknown,
}

/// The topic segments of an event type under the default routing: its node
/// type and its operation, `state` or `metric`; a declared event type's
/// name without its last segment (`user` of `user.created`), and `""`.
fn family_parts(event_type: EventType) -> [&'static str; 2] {
    let node_type = event_type.node_type();
    match (event_type.operation(), event_type.stage()) {
        (_, Stage::Declared) => {
            let name = event_type.as_str();
            [name.rsplit_once('.').map_or(name, |(family, _)| family), ""]
        }
        (Some(operation), _) => [node_type, operation],
        (None, Stage::MetricRecorded) => [node_type, "metric"],
        (None, _) => [node_type, "state"],
    }
}

/// True for a request or response: routed by the node type it is
/// addressed to, not by its publisher's service.
fn is_addressed(event_type: EventType) -> bool {
    matches!(event_type.stage(), Stage::Request | Stage::Response)
}

/// The longest prefix under which the shortest topic, `{prefix}.x.y.events.v1`,
/// is a legal name.
const MAX_PREFIX_LEN: usize = MAX_TOPIC_LEN - ".x.y.events.v1".len();

fn non_empty(s: String) -> Option<Arc<str>> {
    let s = s.trim().trim_end_matches('.');
    (!s.is_empty()).then(|| Arc::from(s))
}

/// `[prefix.]part.part….v1`, with characters Kafka rejects replaced by `_`.
fn push_parts(topic: &mut String, prefix: Option<&str>, parts: &[&str]) {
    if let Some(prefix) = prefix {
        push_sanitized(topic, prefix);
        topic.push('.');
    }
    for part in parts {
        push_sanitized(topic, part);
        topic.push('.');
    }
    topic.push_str("v1");
}

fn push_sanitized(topic: &mut String, s: &str) {
    if s.bytes().all(is_legal_topic_byte) {
        topic.push_str(s);
    } else {
        topic.extend(s.chars().map(|c| {
            if c.is_ascii() && is_legal_topic_byte(c as u8) {
                c
            } else {
                '_'
            }
        }));
    }
}

impl fmt::Debug for TopicRouting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Routing::PerOperation { prefix } => f
                .debug_struct("PerOperation")
                .field("prefix", prefix)
                .finish(),
            Routing::PerService { prefix } => f
                .debug_struct("PerService")
                .field("prefix", prefix)
                .finish(),
            Routing::Single(topic) => f.debug_tuple("Single").field(topic).finish(),
            Routing::Custom(_) => f.write_str("Custom"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kafka::test_event;
    use crate::EventType;

    #[test]
    fn default_routing_keeps_an_operation_on_one_topic() {
        let routing = TopicRouting::default();
        for name in [
            "orchestrator.routing.started",
            "orchestrator.routing.completed",
            "orchestrator.routing.failed",
        ] {
            let event = test_event(EventType::parse(name).unwrap());
            assert_eq!(routing.topic(&event), "onex.svc.orchestrator.routing.v1");
        }
        let state = test_event(EventType::parse("orchestrator.state.changed").unwrap());
        assert_eq!(routing.topic(&state), "onex.svc.orchestrator.state.v1");
        let metric = test_event(EventType::parse("orchestrator.metric.recorded").unwrap());
        assert_eq!(routing.topic(&metric), "onex.svc.orchestrator.metric.v1");
    }

    #[test]
    fn prefix_single_service_and_custom() {
        let event = test_event(EventType::parse("orchestrator.routing.started").unwrap());
        assert_eq!(
            TopicRouting::prefixed("prod.").topic(&event),
            "prod.onex.svc.orchestrator.routing.v1"
        );
        assert_eq!(
            TopicRouting::prefixed(" ").topic(&event),
            "onex.svc.orchestrator.routing.v1"
        );
        assert_eq!(
            TopicRouting::per_service(None).topic(&event),
            "onex.svc.events.v1"
        );
        assert_eq!(TopicRouting::single("all").topic(&event), "all");
        let custom = TopicRouting::custom(|e: &Event| format!("x.{}", e.event_type));
        assert_eq!(custom.topic(&event), "x.orchestrator.routing.started");
    }

    #[test]
    fn sanitizes_illegal_characters() {
        let mut topic = String::new();
        push_parts(&mut topic, Some("a/b"), &["näme", "ok-1"]);
        assert_eq!(topic, "a_b.n_me.ok-1.v1");
    }

    #[test]
    fn topics_carrying_an_event_type_are_the_ones_it_is_routed_to() {
        let event = test_event(EventType::parse("orchestrator.routing.started").unwrap());
        let failed = EventType::parse("orchestrator.routing.failed").unwrap();
        for routing in [
            TopicRouting::default(),
            TopicRouting::prefixed("prod"),
            TopicRouting::per_service(Some("prod")),
            TopicRouting::single("all"),
        ] {
            assert_eq!(
                routing.topics_carrying(failed, Some("onex"), Some("svc")),
                TopicSubscription::Topic(routing.topic(&event)),
                "{routing:?}"
            );
        }
        let metric = EventType::parse("orchestrator.metric.recorded").unwrap();
        assert_eq!(
            TopicRouting::default().topics_carrying(metric, Some("onex"), Some("svc")),
            TopicSubscription::Topic("onex.svc.orchestrator.metric.v1".to_owned())
        );
    }

    #[test]
    fn requests_and_responses_are_routed_by_their_namespace_and_type() {
        let mut event = test_event(EventType::parse("codegen.request.validate").unwrap());
        Arc::make_mut(&mut event.node).namespace = "omninode".to_owned();
        assert_eq!(
            TopicRouting::default().topic(&event),
            "omninode.codegen.request.validate.v1"
        );
        assert_eq!(
            TopicRouting::per_service(Some("prod")).topic(&event),
            "prod.omninode.codegen.request.validate.v1"
        );
        let response = EventType::parse("codegen.response.validate").unwrap();
        assert_eq!(
            TopicRouting::default().topics_carrying(response, Some("omninode"), Some("svc")),
            TopicSubscription::Topic("omninode.codegen.response.validate.v1".to_owned())
        );
        assert_eq!(
            TopicRouting::default().topics_carrying(response, Some("omninode"), None),
            TopicSubscription::Topic("omninode.codegen.response.validate.v1".to_owned())
        );
        assert_eq!(
            TopicRouting::default().topics_carrying(response, None, None),
            TopicSubscription::Pattern(r"^.+\.codegen\.response\.validate\.v1$".to_owned())
        );
    }

    #[test]
    fn topics_carrying_from_any_publisher_are_a_pattern() {
        let failed = EventType::parse("orchestrator.routing.failed").unwrap();
        let pattern =
            |routing: TopicRouting, ns, svc| match routing.topics_carrying(failed, ns, svc) {
                TopicSubscription::Pattern(p) => p,
                other => panic!("{other:?}"),
            };
        assert_eq!(
            pattern(TopicRouting::default(), None, None),
            r"^.+\..+\.orchestrator\.routing\.v1$"
        );
        assert_eq!(
            pattern(
                TopicRouting::prefixed("pr-od"),
                Some("omninode.bridge"),
                None
            ),
            r"^pr-od\.omninode\.bridge\..+\.orchestrator\.routing\.v1$"
        );
        assert_eq!(
            pattern(TopicRouting::per_service(None), None, Some("a/b")),
            r"^.+\.a_b\.events\.v1$"
        );
        let custom = TopicRouting::custom(|e: &Event| e.event_type.to_string());
        assert_eq!(
            custom.topics_carrying(failed, Some("onex"), Some("svc")),
            TopicSubscription::Unknown
        );
    }
}
