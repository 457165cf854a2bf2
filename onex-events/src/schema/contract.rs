//! The contracts of `contracts/` as JSON Schema draft 7 values (the
//! dialect of AsyncAPI's schema object): the OnexEnvelopeV1 envelope, the
//! payloads of the standard events, a response's payload, and the record
//! headers. A test of the suite checks them against the contract files.

use crate::event_type::{EventType, Stage};
use serde_json::{json, Value};

const UUID_PATTERN: &str = "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$";

/// `contracts/onex-envelope-v1.schema.json` (without `$schema` and `$id`),
/// with `event_type` fixed to `event_type` and `payload` replaced by
/// `payload`.
pub fn envelope(event_type: &str, payload: Value) -> Value {
    json!({
        "title": "OnexEnvelopeV1",
        "type": "object",
        "additionalProperties": false,
        "required": ["envelope_version", "event_id", "event_type", "event_timestamp", "source_node_id", "correlation_id", "payload", "metadata"],
        "properties": {
            "envelope_version": { "const": "1.0" },
            "event_id": { "type": "string", "pattern": UUID_PATTERN },
            "event_type": { "type": "string", "const": event_type },
            "event_timestamp": { "type": "string", "format": "date-time", "pattern": "^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d+)?(Z|\\+00:00)$" },
            "source_node_id": { "type": "string", "minLength": 1 },
            "correlation_id": { "oneOf": [ { "type": "null" }, { "type": "string", "pattern": UUID_PATTERN } ] },
            "payload": payload,
            "metadata": { "type": "object" }
        }
    })
}

/// The `error` of a `failed` payload (and of an error reply).
fn error_info() -> Value {
    json!({
        "type": "object",
        "required": ["kind", "error_type", "message"],
        "properties": {
            "kind": { "enum": ["error", "panic", "cancelled"] },
            "error_type": { "type": "string" },
            "message": { "type": "string" },
            "chain": { "type": "array", "items": { "type": "string" } }
        }
    })
}

/// The payload schema of a standard event of `stage`, from
/// `contracts/lifecycle-payloads.schema.json`; `None` for the other stages.
pub fn lifecycle_payload(stage: Stage) -> Option<Value> {
    let schema = match stage {
        Stage::Started => json!({
            "description": "{node_type}.{operation}.started",
            "type": "object",
            "required": ["operation", "input"],
            "properties": {
                "operation": { "type": "string" },
                "input": { "type": "object" }
            }
        }),
        Stage::Completed => json!({
            "description": "{node_type}.{operation}.completed",
            "type": "object",
            "required": ["operation", "execution_time_ms", "result"],
            "properties": {
                "operation": { "type": "string" },
                "execution_time_ms": { "type": "number", "minimum": 0 },
                "result": { "type": "object" }
            }
        }),
        Stage::Failed => json!({
            "description": "{node_type}.{operation}.failed; kind is 'error' for an Err return, 'panic' for a panic, 'cancelled' for a future dropped before it finished",
            "type": "object",
            "required": ["operation", "execution_time_ms", "error"],
            "properties": {
                "operation": { "type": "string" },
                "execution_time_ms": { "type": "number", "minimum": 0 },
                "error": error_info()
            }
        }),
        Stage::StateChanged => json!({
            "description": "{node_type}.state.changed",
            "type": "object",
            "required": ["old_state", "new_state", "transition_reason"],
            "properties": {
                "old_state": { "type": "string" },
                "new_state": { "type": "string" },
                "transition_reason": { "type": "string" }
            }
        }),
        Stage::MetricRecorded => json!({
            "description": "{node_type}.metric.recorded",
            "type": "object",
            "required": ["metric_name", "metric_value", "metric_unit"],
            "properties": {
                "metric_name": { "type": "string" },
                "metric_value": { "type": "number" },
                "metric_unit": { "type": "string" }
            }
        }),
        Stage::Declared | Stage::Request | Stage::Response => return None,
    };
    Some(schema)
}

/// The payload of `{node_type}.response.{name}`: `status` `ok` with the
/// `reply` (of schema `reply`, any JSON if `None`), or `error` with the
/// error; `reply_to` the requester's id when the request named one.
pub fn response_payload(reply: Option<Value>) -> Value {
    json!({
        "description": "{node_type}.response.{name}: the responder's reply, or its error",
        "type": "object",
        "required": ["status"],
        "properties": {
            "status": { "enum": ["ok", "error"] },
            "reply": reply.unwrap_or_else(|| json!({})),
            "error": error_info(),
            "reply_to": { "type": "string", "pattern": UUID_PATTERN }
        }
    })
}

/// The record headers of an event of `event_type`: the CloudEvents binary
/// mode headers (see `kafka::headers`), and
/// `onex_reply_to` on requests and responses.
pub fn headers(event_type: EventType) -> Value {
    let text = |description: &str| json!({ "type": "string", "description": description });
    let uuid = |description: &str| json!({ "type": "string", "pattern": UUID_PATTERN, "description": description });
    let mut properties = json!({
        "ce_specversion": { "const": "1.0", "description": "CloudEvents spec version" },
        "ce_id": uuid("the envelope's event_id"),
        "ce_type": { "const": event_type.as_str(), "description": "the envelope's event_type" },
        "ce_source": text("/{namespace}/{service}/{source_node_id}, each segment percent-encoded"),
        "ce_time": { "type": "string", "format": "date-time", "description": "the envelope's event_timestamp" },
        "content-type": { "const": "application/json" },
        "ce_correlationid": uuid("the envelope's correlation_id, when set"),
        "ce_causationid": uuid("metadata.causation_id, when set"),
        "traceparent": text("W3C Trace Context of the event, when one was in scope")
    });
    if matches!(event_type.stage(), Stage::Request | Stage::Response) {
        properties["onex_reply_to"] = uuid("the requester's instance id, copied onto the response");
    }
    json!({
        "type": "object",
        "required": ["ce_specversion", "ce_id", "ce_type", "ce_source", "ce_time", "content-type"],
        "properties": properties
    })
}
