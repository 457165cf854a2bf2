//! Typed event types: `{node_type}.{operation}.{started|completed|failed}`,
//! `{node_type}.state.changed`, `{node_type}.metric.recorded`, the
//! requests and responses of request/response,
//! `{node_type}.{request|response}.{name}`, and the names declared with
//! `#[derive(OnexEvent)]`.

use std::fmt;

/// Which of the standard ONEX events an [`EventType`] names, or a declared
/// one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Stage {
    /// `{node_type}.{operation}.started`
    Started,
    /// `{node_type}.{operation}.completed`
    Completed,
    /// `{node_type}.{operation}.failed`
    Failed,
    /// `{node_type}.state.changed`
    StateChanged,
    /// `{node_type}.metric.recorded`
    MetricRecorded,
    /// An event type declared with `#[derive(OnexEvent)]`, e.g.
    /// `user.created`.
    Declared,
    /// `{node_type}.request.{name}`: a request to a node of `node_type`.
    Request,
    /// `{node_type}.response.{name}`: its response.
    Response,
}

impl Stage {
    /// The suffix this stage adds to the event type name (none for a
    /// declared event; for a request or response, the segment before its
    /// name).
    pub const fn suffix(self) -> &'static str {
        match self {
            Stage::Started => "started",
            Stage::Completed => "completed",
            Stage::Failed => "failed",
            Stage::StateChanged => "state.changed",
            Stage::MetricRecorded => "metric.recorded",
            Stage::Declared => "",
            Stage::Request => "request",
            Stage::Response => "response",
        }
    }
}

/// A validated event type name, e.g. `orchestrator.routing.failed`.
///
/// Every segment is lowercase snake_case (`[a-z][a-z0-9_]*`). Event types of
/// annotated nodes are built at compile time by `#[onex_node]`; hand-written
/// code can parse one from a `'static` string:
///
/// ```
/// use onex_events::{EventType, Stage};
///
/// let t = EventType::parse("orchestrator.routing.failed").unwrap();
/// assert_eq!(t.node_type(), "orchestrator");
/// assert_eq!(t.operation(), Some("routing"));
/// assert_eq!(t.stage(), Stage::Failed);
/// assert!(EventType::parse("Orchestrator.routing.failed").is_err());
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct EventType {
    name: &'static str,
    node_type: &'static str,
    operation: Option<&'static str>,
    stage: Stage,
}

/// Why a string is not a valid [`EventType`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventTypeError {
    /// A segment is empty or not lowercase snake_case.
    #[error(
        "event type `{name}`: segment `{segment}` is not lowercase snake_case ([a-z][a-z0-9_]*)"
    )]
    InvalidSegment {
        /// The whole name.
        name: String,
        /// The offending segment.
        segment: String,
    },
    /// The name does not end in a known stage.
    #[error("event type `{0}` is not `{{node_type}}.{{operation}}.{{started|completed|failed}}`, `{{node_type}}.state.changed`, `{{node_type}}.metric.recorded`, `{{node_type}}.{{request|response}}.{{name}}` or declared with `#[derive(OnexEvent)]`")]
    UnknownShape(String),
}

/// True if `s` is a lowercase snake_case segment: `[a-z][a-z0-9_]*`.
pub const fn is_valid_segment(s: &str) -> bool {
    let b = s.as_bytes();
    if b.is_empty() || !b[0].is_ascii_lowercase() {
        return false;
    }
    let mut i = 1;
    while i < b.len() {
        let c = b[i];
        if !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'_') {
            return false;
        }
        i += 1;
    }
    true
}

impl EventType {
    /// Builds an event type from parts the macros have already validated.
    #[doc(hidden)]
    pub const fn __new(
        name: &'static str,
        node_type: &'static str,
        operation: Option<&'static str>,
        stage: Stage,
    ) -> Self {
        EventType {
            name,
            node_type,
            operation,
            stage,
        }
    }

    /// Parses and validates an event type name: a standard one, or one a
    /// `#[derive(OnexEvent)]` of this program declares.
    pub fn parse(name: &'static str) -> Result<Self, EventTypeError> {
        let segments: Vec<&'static str> = name.split('.').collect();
        if let Some(bad) = segments.iter().find(|s| !is_valid_segment(s)) {
            return Err(EventTypeError::InvalidSegment {
                name: name.to_owned(),
                segment: (*bad).to_owned(),
            });
        }
        let (operation, stage) = match segments.as_slice() {
            [_, "state", "changed"] => (None, Stage::StateChanged),
            [_, "metric", "recorded"] => (None, Stage::MetricRecorded),
            [_, op, "started"] => (Some(*op), Stage::Started),
            [_, op, "completed"] => (Some(*op), Stage::Completed),
            [_, op, "failed"] => (Some(*op), Stage::Failed),
            [_, "request", _] => (None, Stage::Request),
            [_, "response", _] => (None, Stage::Response),
            _ => {
                return match crate::typed::declared_event(name) {
                    Some(declared) => Ok(declared.event_type),
                    None => Err(EventTypeError::UnknownShape(name.to_owned())),
                }
            }
        };
        Ok(EventType {
            name,
            node_type: segments[0],
            operation,
            stage,
        })
    }

    /// Parses an event type any program may publish: a standard one as
    /// [`EventType::parse`] does, else any name of two or more lowercase
    /// snake_case segments, taken as a declared event type whose
    /// declaration this program need not have (e.g. `user.created` of
    /// another service). For tools that publish or read the events of other
    /// programs, such as `onex-events publish`.
    ///
    /// ```
    /// use onex_events::{EventType, Stage};
    ///
    /// let t = EventType::parse_external("billing.invoice_paid").unwrap();
    /// assert_eq!((t.node_type(), t.stage()), ("billing", Stage::Declared));
    /// assert_eq!(EventType::parse_external("a.b.started").unwrap().stage(), Stage::Started);
    /// assert!(EventType::parse_external("billing").is_err());
    /// ```
    pub fn parse_external(name: &'static str) -> Result<Self, EventTypeError> {
        match Self::parse(name) {
            Err(EventTypeError::UnknownShape(_)) if name.contains('.') => Ok(EventType {
                name,
                node_type: name.split('.').next().unwrap_or(name),
                operation: None,
                stage: Stage::Declared,
            }),
            parsed => parsed,
        }
    }

    /// The full name, e.g. `orchestrator.routing.started`.
    pub const fn as_str(&self) -> &'static str {
        self.name
    }

    /// The node type segment, e.g. `orchestrator` (the first segment of a
    /// declared event type, e.g. `user` of `user.created`).
    pub const fn node_type(&self) -> &'static str {
        self.node_type
    }

    /// The operation of a lifecycle event; `None` for state and metric events.
    pub const fn operation(&self) -> Option<&'static str> {
        self.operation
    }

    /// Which standard event this is, or [`Stage::Declared`].
    pub const fn stage(&self) -> Stage {
        self.stage
    }

    /// The name of the response to a request type
    /// (`codegen.request.validate` -> `codegen.response.validate`); `None`
    /// for any other event type.
    ///
    /// ```
    /// use onex_events::EventType;
    ///
    /// let request = EventType::parse("codegen.request.validate").unwrap();
    /// assert_eq!(request.response_name().as_deref(), Some("codegen.response.validate"));
    /// assert_eq!(EventType::parse("codegen.response.validate").unwrap().response_name(), None);
    /// ```
    pub fn response_name(&self) -> Option<String> {
        if self.stage != Stage::Request {
            return None;
        }
        let name = self.name.rsplit('.').next().unwrap_or_default();
        Some(format!("{}.response.{name}", self.node_type))
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name)
    }
}

impl fmt::Debug for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EventType({})", self.name)
    }
}

impl PartialEq<str> for EventType {
    fn eq(&self, other: &str) -> bool {
        self.name == other
    }
}

impl PartialEq<&str> for EventType {
    fn eq(&self, other: &&str) -> bool {
        self.name == *other
    }
}

impl serde::Serialize for EventType {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_standard_shape() {
        assert_eq!(
            EventType::parse("reducer.state.changed").unwrap().stage(),
            Stage::StateChanged
        );
        assert_eq!(
            EventType::parse("reducer.metric.recorded").unwrap().stage(),
            Stage::MetricRecorded
        );
        assert_eq!(
            EventType::parse("reducer.state_snapshot.completed")
                .unwrap()
                .operation(),
            Some("state_snapshot")
        );
    }

    #[test]
    fn parses_requests_and_responses() {
        let request = EventType::parse("codegen.request.validate").unwrap();
        assert_eq!(request.stage(), Stage::Request);
        assert_eq!(request.node_type(), "codegen");
        assert_eq!(request.operation(), None);
        assert_eq!(
            EventType::parse("codegen.response.validate")
                .unwrap()
                .stage(),
            Stage::Response
        );
        assert_eq!(
            EventType::parse("codegen.request.started").unwrap().stage(),
            Stage::Started,
            "the lifecycle of an operation named `request`"
        );
        assert!(EventType::parse("codegen.request.a.b").is_err());
    }

    #[test]
    fn rejects_bad_names() {
        assert!(EventType::parse("reducer.Agg.started").is_err());
        assert!(EventType::parse("reducer..started").is_err());
        assert!(EventType::parse("reducer.agg.finished").is_err());
        assert!(EventType::parse("reducer").is_err());
    }
}
