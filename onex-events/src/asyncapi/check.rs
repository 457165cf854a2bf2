//! The check across services: given the AsyncAPI documents of several
//! services, every event type one of them handles that none publishes, and
//! every payload schema a consumer expects that differs from its
//! producer's.

use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt;

/// The AsyncAPI document of one service.
#[derive(Clone, Debug)]
pub struct ServiceDocument {
    /// The service's name in the report: the file name, or the document's
    /// `info.title`.
    pub name: String,
    /// The document.
    pub document: Value,
}

impl ServiceDocument {
    /// The document `document`, named by its `info.title` (or `unnamed`).
    pub fn new(document: Value) -> Self {
        let name = document["info"]["title"]
            .as_str()
            .unwrap_or("unnamed")
            .to_owned();
        ServiceDocument { name, document }
    }

    /// The document `document`, named `name`.
    pub fn named(name: impl Into<String>, document: Value) -> Self {
        ServiceDocument {
            name: name.into(),
            document,
        }
    }
}

/// An event type some service handles and no service publishes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unpublished {
    /// The event type.
    pub event_type: String,
    /// The services that handle it.
    pub consumers: Vec<String>,
}

/// A payload a consumer expects that differs from what its producer
/// publishes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mismatch {
    /// The event type.
    pub event_type: String,
    /// The publishing service.
    pub producer: String,
    /// The handling service.
    pub consumer: String,
    /// The producer's payload schema (annotations left out).
    pub producer_schema: Value,
    /// The consumer's payload schema (annotations left out).
    pub consumer_schema: Value,
}

/// What [`check_services`] found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ServicesReport {
    /// Event types handled and never published, by name.
    pub unpublished: Vec<Unpublished>,
    /// Payloads that differ between producer and consumer, by event type.
    pub mismatches: Vec<Mismatch>,
}

impl ServicesReport {
    /// True if every handled event type is published, with the payload its
    /// consumers expect.
    pub fn is_clean(&self) -> bool {
        self.unpublished.is_empty() && self.mismatches.is_empty()
    }
}

impl fmt::Display for ServicesReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for u in &self.unpublished {
            writeln!(
                f,
                "unpublished: {} is handled by {} and published by no service",
                u.event_type,
                u.consumers.join(", ")
            )?;
        }
        for m in &self.mismatches {
            writeln!(
                f,
                "payload mismatch: {} published by {} is not what {} expects\n  {}: {}\n  {}: {}",
                m.event_type,
                m.producer,
                m.consumer,
                m.producer,
                m.producer_schema,
                m.consumer,
                m.consumer_schema
            )?;
        }
        if self.is_clean() {
            writeln!(
                f,
                "ok: every handled event type is published, with the payload its consumers expect"
            )?;
        }
        Ok(())
    }
}

/// One message of a service's operations: an event type and its payload.
struct Use<'a> {
    service: &'a str,
    payload: Value,
}

/// Checks the documents of several services against each other: lists
/// every event type a `receive` operation handles that no `send`
/// operation of any document publishes, and every such event type whose
/// payload schema differs between a producer and a consumer (compared
/// without `title`, `description` and other annotations; dead-letter
/// channels are left out). An event type is the message's
/// `x-onex-event-type`, or its `name`; the payload is the envelope's
/// `payload` property, or the whole message payload for a message that is
/// not an OnexEnvelopeV1 envelope.
///
/// ```
/// use onex_events::asyncapi::{check_services, ServiceDocument};
/// use serde_json::json;
///
/// let consumer = json!({
///     "info": { "title": "effect" },
///     "channels": { "c": { "messages": { "m": { "name": "user.created", "payload": { "type": "object" } } } } },
///     "operations": { "r": { "action": "receive", "channel": { "$ref": "#/channels/c" },
///                            "messages": [{ "$ref": "#/channels/c/messages/m" }] } }
/// });
/// let report = check_services(&[ServiceDocument::new(consumer)]);
/// assert_eq!(report.unpublished[0].event_type, "user.created");
/// assert!(!report.is_clean());
/// ```
pub fn check_services(services: &[ServiceDocument]) -> ServicesReport {
    let mut published: BTreeMap<String, Vec<Use<'_>>> = BTreeMap::new();
    let mut consumed: BTreeMap<String, Vec<Use<'_>>> = BTreeMap::new();
    for service in services {
        let doc = &service.document;
        let Some(operations) = doc["operations"].as_object() else {
            continue;
        };
        for op in operations.values() {
            let uses = match op["action"].as_str() {
                Some("send") => &mut published,
                Some("receive") => &mut consumed,
                _ => continue,
            };
            let channel = resolve(doc, &op["channel"]);
            if is_dead_letter(op) || is_dead_letter(channel) {
                continue;
            }
            let messages: Vec<&Value> = match op["messages"].as_array() {
                Some(refs) => refs.iter().map(|m| resolve(doc, m)).collect(),
                None => channel["messages"]
                    .as_object()
                    .map(|m| m.values().map(|m| resolve(doc, m)).collect())
                    .unwrap_or_default(),
            };
            for message in messages {
                if is_dead_letter(message) {
                    continue;
                }
                let Some(event_type) = message["x-onex-event-type"]
                    .as_str()
                    .or_else(|| message["name"].as_str())
                else {
                    continue;
                };
                let list = uses.entry(event_type.to_owned()).or_default();
                if !list.iter().any(|u| u.service == service.name) {
                    list.push(Use {
                        service: &service.name,
                        payload: payload_of(doc, message),
                    });
                }
            }
        }
    }
    let mut report = ServicesReport::default();
    for (event_type, consumers) in &consumed {
        let Some(producers) = published.get(event_type) else {
            report.unpublished.push(Unpublished {
                event_type: event_type.clone(),
                consumers: consumers.iter().map(|c| c.service.to_owned()).collect(),
            });
            continue;
        };
        for consumer in consumers {
            for producer in producers {
                if producer.service != consumer.service && producer.payload != consumer.payload {
                    report.mismatches.push(Mismatch {
                        event_type: event_type.clone(),
                        producer: producer.service.to_owned(),
                        consumer: consumer.service.to_owned(),
                        producer_schema: producer.payload.clone(),
                        consumer_schema: consumer.payload.clone(),
                    });
                }
            }
        }
    }
    report
}

fn is_dead_letter(value: &Value) -> bool {
    value["x-onex-dead-letter"].as_bool() == Some(true)
}

/// `value`, or what its `"$ref"` (a local JSON pointer) points at.
fn resolve<'a>(doc: &'a Value, value: &'a Value) -> &'a Value {
    let mut value = value;
    // A reference may point at another reference; a loop ends here.
    for _ in 0..8 {
        match value["$ref"].as_str().and_then(|r| r.strip_prefix('#')) {
            Some(pointer) => match doc.pointer(pointer) {
                Some(target) => value = target,
                None => return &Value::Null,
            },
            None => return value,
        }
    }
    value
}

/// The payload a message carries, comparable across documents: the
/// envelope's `payload` property (or the message payload), with its local
/// references made relative to it again and its annotations left out.
fn payload_of(doc: &Value, message: &Value) -> Value {
    let payload = resolve(doc, &message["payload"]);
    let inner = &payload["properties"]["payload"];
    let (schema, prefix) =
        if payload["properties"]["envelope_version"].is_object() && !inner.is_null() {
            (resolve(doc, inner), "/properties/payload")
        } else {
            (payload, "")
        };
    // Where the schema sits in its document, to make its refs relative.
    let base = message_pointer(doc, message).map(|m| format!("#{m}/payload{prefix}"));
    let mut schema = schema.clone();
    if let Some(base) = base {
        crate::schema::move_refs(&mut schema, &base, "#");
    }
    strip_annotations(&mut schema);
    schema
}

/// The JSON pointer of `message` among the document's component messages.
fn message_pointer(doc: &Value, message: &Value) -> Option<String> {
    let messages = doc["components"]["messages"].as_object()?;
    messages
        .iter()
        .find(|(_, m)| std::ptr::eq(*m, message))
        .map(|(name, _)| format!("/components/messages/{}", crate::schema::escape(name)))
}

/// Removes the annotation keywords of a schema and of its subschemas (not
/// properties that happen to be named so).
fn strip_annotations(value: &mut Value) {
    const ANNOTATIONS: [&str; 6] = [
        "title",
        "description",
        "$comment",
        "examples",
        "example",
        "default",
    ];
    /// Keywords whose value maps names to schemas.
    const SCHEMA_MAPS: [&str; 5] = [
        "properties",
        "patternProperties",
        "definitions",
        "$defs",
        "dependentSchemas",
    ];
    match value {
        Value::Object(map) => {
            for key in ANNOTATIONS {
                map.remove(key);
            }
            for (key, v) in map.iter_mut() {
                if SCHEMA_MAPS.contains(&key.as_str()) {
                    if let Value::Object(schemas) = v {
                        schemas.values_mut().for_each(strip_annotations);
                    }
                } else {
                    strip_annotations(v);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(strip_annotations),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A document whose one operation `action`s `event_type` with `payload`
    /// (an envelope around it, as the generated documents have).
    fn service(name: &str, action: &str, event_type: &str, payload: Value) -> ServiceDocument {
        let at = format!("#/components/messages/{event_type}/payload/properties/payload");
        let mut payload = payload;
        crate::schema::move_refs(&mut payload, "#", &at);
        ServiceDocument::new(json!({
            "info": { "title": name },
            "channels": { "c": { "messages": { "m": { "$ref": format!("#/components/messages/{event_type}") } } } },
            "operations": { "o": {
                "action": action,
                "channel": { "$ref": "#/channels/c" },
                "messages": [{ "$ref": "#/channels/c/messages/m" }],
            }},
            "components": { "messages": { event_type: {
                "name": event_type,
                "payload": { "properties": { "envelope_version": { "const": "1.0" }, "payload": payload } },
            }}},
        }))
    }

    #[test]
    fn schemas_that_differ_only_in_annotations_match() {
        let producer = json!({
            "title": "OrderPlaced",
            "$ref": "#/definitions/Order",
            "definitions": { "Order": { "description": "an order", "properties": { "title": { "type": "string" } } } },
        });
        let consumer = json!({
            "title": "OrderView",
            "$ref": "#/definitions/Order",
            "definitions": { "Order": { "properties": { "title": { "type": "string" } } } },
        });
        let report = check_services(&[
            service("shop", "send", "order.placed", producer),
            service("mail", "receive", "order.placed", consumer),
        ]);
        assert!(report.is_clean(), "{report}");
    }

    #[test]
    fn a_property_named_like_an_annotation_still_counts() {
        let producer = json!({ "properties": { "title": { "type": "string" } } });
        let consumer = json!({ "properties": { "title": { "type": "integer" } } });
        let report = check_services(&[
            service("shop", "send", "order.placed", producer),
            service("mail", "receive", "order.placed", consumer),
        ]);
        assert_eq!(report.mismatches.len(), 1, "{report}");
        assert_eq!(report.mismatches[0].producer, "shop");
        assert_eq!(report.mismatches[0].consumer, "mail");
    }

    #[test]
    fn dead_letters_are_not_publications() {
        let mut dlq = service("mail", "send", "order.placed", json!({}));
        dlq.document["operations"]["o"]["x-onex-dead-letter"] = json!(true);
        let report = check_services(&[dlq, service("mail", "receive", "order.placed", json!({}))]);
        assert_eq!(
            report.unpublished,
            [Unpublished {
                event_type: "order.placed".into(),
                consumers: vec!["mail".into()],
            }]
        );
    }
}
