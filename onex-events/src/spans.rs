//! The `tracing` spans of operations and handlers, and
//! `ENABLE_EVENT_TRACING`, which turns them off. A span changes no event
//! and no result: it only tells a `tracing` subscriber what runs.

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

/// The span of one run of handler `handler` of node type `node_type` on
/// event `event_id` of type `event_type` (`INFO`, target
/// `onex_events::handler`); disabled when the switch is off.
#[inline]
pub(crate) fn handler(
    node_type: &'static str,
    handler: &'static str,
    event_type: &str,
    event_id: uuid::Uuid,
) -> Span {
    if !SWITCH.is_on() {
        return Span::none();
    }
    tracing::info_span!(
        target: "onex_events::handler",
        "handler",
        node_type,
        handler,
        event_type,
        %event_id
    )
}
