//! The `tracing` spans of operations and handlers, and
//! `ENABLE_EVENT_TRACING`, which turns them off. A span changes no event
//! and no result: it only tells a `tracing` subscriber what runs.

use crate::consume::{ReceivedEvent, Route};
use crate::env_switch::EnvSwitch;
use tracing::Span;

/// `false`/`0`/`no`/`off` turns the spans off; `true`/`1`/`yes`/`on`, or
/// unset, leaves them on (ASCII case and surrounding blanks ignored; any
/// other value is logged at `WARN` and leaves them on). Read once, the
/// first time a span would be made.
pub(crate) const ENABLE_EVENT_TRACING: &str = "ENABLE_EVENT_TRACING";

static SWITCH: EnvSwitch = EnvSwitch::new(ENABLE_EVENT_TRACING, true);

/// The span of one run of operation `operation` of node type `node_type`
/// (`INFO`, target `onex_events::operation`); disabled when the switch is
/// off.
#[inline]
pub(crate) fn operation(node_type: &'static str, operation: &'static str) -> Span {
    if !SWITCH.is_on() {
        return Span::none();
    }
    tracing::info_span!(target: "onex_events::operation", "operation", node_type, operation)
}

/// The span of one run of `route` on `event` (`INFO`, target
/// `onex_events::handler`, with the node type, the handler's name, the
/// event's type and id); disabled when the switch is off. The event's
/// fields are read only for a span a subscriber takes.
#[inline]
pub(crate) fn handler(route: Route<'_>, event: &ReceivedEvent) -> Span {
    if !SWITCH.is_on() {
        return Span::none();
    }
    tracing::info_span!(
        target: "onex_events::handler",
        "handler",
        node_type = route.node_type(),
        handler = route.spec().name,
        event_type = event.event_type(),
        event_id = %event.event_id()
    )
}
