//! The JSON Schema of one event type's payload, and of the record value
//! that carries it.

use super::contract::{envelope, lifecycle_payload, response_payload};
use super::registry::{PayloadRole, PAYLOAD_TYPES};
use crate::event_type::Stage;
use serde_json::{json, Value};

/// The JSON Schema (draft 7) of the payload of `event_type` as this
/// program publishes it, or expects it when it only handles it:
///
/// - a standard event (`started`, `completed`, `failed`, `state.changed`,
///   `metric.recorded`): its contract, `contracts/lifecycle-payloads.schema.json`,
///   with the schema of each value its operation opts in (`fields(..)` in
///   `input`, `ret` in `result`) whose type implements `JsonSchema`;
/// - a response: `{"status", "reply", "error", "reply_to"}`, the reply of the
///   type its responder's handler returns (the `Ok` type of a `Result`) if
///   that implements `JsonSchema`;
/// - a declared event (`#[derive(OnexEvent)]`) whose type implements
///   `schemars::JsonSchema` (with the `asyncapi` feature): that type's schema;
/// - a request, or any event type, handled as an `Incoming<T>` whose `T`
///   implements `JsonSchema`: `T`'s schema.
///
/// `None` when the program knows nothing of the payload (a declared event
/// or a request whose type has no schema, an event type it neither
/// publishes nor handles). A type's own schema is a root schema, with its
/// `definitions`; to embed it in another document, see [`rebase_refs`].
///
/// ```
/// let schema = onex_events::schema::payload_schema("orchestrator.routing.failed").unwrap();
/// assert_eq!(schema["required"], serde_json::json!(["operation", "execution_time_ms", "error"]));
/// ```
pub fn payload_schema(event_type: &str) -> Option<Value> {
    match stage_of(event_type) {
        Some(Stage::Response) => Some(response_payload(
            typed(event_type, PayloadRole::Response).map(|s| rebase_refs(s, "#/properties/reply")),
        )),
        Some(Stage::Declared) => typed(event_type, PayloadRole::Declared)
            .or_else(|| typed(event_type, PayloadRole::Consumed)),
        Some(stage) => match lifecycle_payload(stage) {
            Some(mut schema) => {
                with_values(&mut schema, event_type);
                Some(schema)
            }
            None => typed(event_type, PayloadRole::Consumed),
        },
        None => typed(event_type, PayloadRole::Consumed),
    }
}

#[cfg_attr(not(feature = "asyncapi"), allow(dead_code))]
/// The payload schema of the program's handler of `event_type`: the `T` of
/// its `Incoming<T>`, if that implements `schemars::JsonSchema`.
pub(crate) fn handled_schema(event_type: &str) -> Option<Value> {
    typed(event_type, PayloadRole::Consumed)
}

/// The JSON Schema of the record value of an event of `event_type`: the
/// OnexEnvelopeV1 envelope with that `event_type` and its payload's schema
/// ([`payload_schema`]; any object when there is none), as a root schema.
///
/// ```
/// let value = onex_events::schema::envelope_schema("orchestrator.state.changed");
/// assert_eq!(value["properties"]["event_type"]["const"], "orchestrator.state.changed");
/// assert_eq!(value["properties"]["payload"]["required"][0], "old_state");
/// ```
pub fn envelope_schema(event_type: &str) -> Value {
    let payload = payload_schema(event_type).unwrap_or_else(|| json!({ "type": "object" }));
    envelope(event_type, rebase_refs(payload, "#/properties/payload"))
}

/// `schema` with every local reference (`"$ref": "#/…"`) rewritten to
/// point into a document where `schema` sits at `pointer` (a JSON pointer
/// fragment, `#/…`): what a root schema needs, `definitions` and all, to be
/// embedded in another.
///
/// ```
/// use serde_json::json;
///
/// let tree = json!({ "$ref": "#/definitions/Node", "definitions": { "Node": {} } });
/// let embedded = onex_events::schema::rebase_refs(tree, "#/properties/payload");
/// assert_eq!(embedded["$ref"], "#/properties/payload/definitions/Node");
/// ```
pub fn rebase_refs(mut schema: Value, pointer: &str) -> Value {
    move_refs(&mut schema, "#", pointer.trim_end_matches('/'));
    schema
}

/// Rewrites every `"$ref"` in `value` that starts with `from` to start
/// with `to` instead.
#[cfg_attr(not(feature = "asyncapi"), allow(dead_code))]
pub(crate) fn move_refs(value: &mut Value, from: &str, to: &str) {
    match value {
        Value::Object(map) => {
            for (key, v) in map.iter_mut() {
                match v {
                    Value::String(target) if key == "$ref" && target.starts_with(from) => {
                        *target = format!("{to}{}", &target[from.len()..]);
                    }
                    _ => move_refs(v, from, to),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| move_refs(v, from, to)),
        _ => {}
    }
}

/// Adds to a `started` or `completed` payload schema the `value` of each
/// argument and result the operation of `event_type` opts in whose type
/// has a schema: `{"type": "<declared type>", "value": <its schema>}`.
fn with_values(schema: &mut Value, event_type: &str) {
    let mut types: Vec<_> = PAYLOAD_TYPES
        .iter()
        .filter(|t| t.event_type == event_type)
        .collect();
    types.sort_by_key(|t| t.rust_type);
    for t in types {
        if !matches!(t.role, PayloadRole::Argument(_) | PayloadRole::Returned) {
            continue;
        }
        // Before the slot: indexing a missing key inserts it.
        let Some(value) = t.schema() else { continue };
        let (slot, pointer) = match t.role {
            PayloadRole::Argument(name) => (
                &mut schema["properties"]["input"]["properties"][name],
                format!(
                    "#/properties/input/properties/{}/properties/value",
                    escape(name)
                ),
            ),
            PayloadRole::Returned => (
                &mut schema["properties"]["result"],
                "#/properties/result/properties/value".to_owned(),
            ),
            _ => continue,
        };
        slot["properties"]["type"] = json!({ "type": "string" });
        slot["properties"]["value"] = rebase_refs(value, &pointer);
        slot["type"] = json!("object");
    }
}

/// A key as a JSON pointer segment (`~` and `/` escaped).
pub(crate) fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// The schema of the first payload type of `role` registered for
/// `event_type` that has one.
fn typed(event_type: &str, role: PayloadRole) -> Option<Value> {
    let mut types: Vec<_> = PAYLOAD_TYPES
        .iter()
        .filter(|t| t.event_type == event_type && t.role == role)
        .collect();
    types.sort_by_key(|t| t.rust_type);
    types.into_iter().find_map(|t| t.schema())
}

/// The stage of the event type `name`, as [`EventType::parse`](crate::EventType::parse)
/// reads it; `None` for a name of no standard shape that no
/// `#[derive(OnexEvent)]` declares.
pub(crate) fn stage_of(name: &str) -> Option<Stage> {
    let segments: Vec<&str> = name.split('.').collect();
    Some(match segments.as_slice() {
        [_, "state", "changed"] => Stage::StateChanged,
        [_, "metric", "recorded"] => Stage::MetricRecorded,
        [_, _, "started"] => Stage::Started,
        [_, _, "completed"] => Stage::Completed,
        [_, _, "failed"] => Stage::Failed,
        [_, "request", _] => Stage::Request,
        [_, "response", _] => Stage::Response,
        _ => crate::typed::declared_event(name)?.event_type.stage(),
    })
}
