//! The per-topic schemas of a program's events in the layout of tansu's
//! embedded schema registry, for the broker to refuse, with
//! `INVALID_RECORD`, a record that breaks its topic's schema.
//!
//! The layout (`tansu broker --schema-registry file://./DIR`, the URL read
//! relative to tansu's working directory): one `TOPIC.json` per topic, a
//! JSON Schema whose `properties.value` is the schema of the record's
//! value. Here that is the OnexEnvelopeV1 contract
//! (`contracts/onex-envelope-v1.schema.json`), and, for each event type
//! whose payload schema is known ([`payload_schema`]), its payload's
//! schema for the events of that type.
//!
//! `scripts/kafka-dev.sh` starts tansu on such a directory when
//! `KAFKA_DEV_SCHEMA_REGISTRY` names it.
//!
//! ```no_run
//! use onex_events::kafka::{schema_registry, TopicRouting};
//!
//! // In a node binary, whose catalogs are linked in:
//! let written = schema_registry::export("schemas".as_ref(), &TopicRouting::default())?;
//! println!("{} topic schemas", written.len());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use super::topic::{TopicRouting, TopicSubscription};
use crate::catalog::{catalogs, Catalog};
use crate::event_type::EventType;
use crate::schema::rebase_refs;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The OnexEnvelopeV1 JSON Schema, as `contracts/onex-envelope-v1.schema.json`
/// of the repository defines it.
pub const ENVELOPE_SCHEMA: &str = include_str!("../../schemas/onex-envelope-v1.schema.json");

/// Why the schemas cannot be exported.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SchemaRegistryError {
    /// The routing does not name one topic for a published event type (a
    /// custom routing cannot be reversed).
    #[error("the topic routing names no single topic for event type {event_type}")]
    NoTopic {
        /// The event type.
        event_type: &'static str,
    },
    /// An event type of a catalog is not a valid event type.
    #[error("event type {event_type} of the catalog of {node_type}: {reason}")]
    EventType {
        /// The event type.
        event_type: &'static str,
        /// The node type whose catalog lists it.
        node_type: &'static str,
        /// Why it is not valid.
        reason: String,
    },
    /// A schema file cannot be written.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// The JSON Schema of the payload of `event_type`, when known: the schema
/// each `TOPIC.json` holds for that type's payload, as
/// [`schema::payload_schema`](crate::schema::payload_schema) gives it (the
/// contracts' lifecycle payloads, and the types that implement
/// `schemars::JsonSchema` with the `asyncapi` feature). `None`: the payload
/// is only required to be an object.
pub fn payload_schema(event_type: &str) -> Option<Value> {
    crate::schema::payload_schema(event_type)
}

/// The schema of a record value on a topic carrying `event_types`: the
/// envelope, and for each type with a known payload schema, that schema
/// for the payload of the events of that type.
pub fn value_schema<'a>(event_types: impl IntoIterator<Item = &'a str>) -> Value {
    value_schema_with(event_types, payload_schema)
}

/// [`value_schema`] with the payload schemas `payloads` gives.
fn value_schema_with<'a>(
    event_types: impl IntoIterator<Item = &'a str>,
    payloads: impl Fn(&str) -> Option<Value>,
) -> Value {
    let mut envelope: Value = serde_json::from_str(ENVELOPE_SCHEMA).unwrap_or(Value::Null);
    if let Some(root) = envelope.as_object_mut() {
        // Embedded, the envelope's schema is no longer a document of its own.
        root.remove("$schema");
        root.remove("$id");
    }
    let known: Vec<(&str, Value)> = event_types
        .into_iter()
        .filter_map(|event_type| Some((event_type, payloads(event_type)?)))
        .collect();
    let per_type: Vec<Value> = known
        .into_iter()
        .enumerate()
        .map(|(i, (event_type, payload))| {
            // Its references (`#/definitions/..`) point into it where it sits.
            let at = format!("#/allOf/1/allOf/{i}/then/properties/payload");
            json!({
                "if": {"properties": {"event_type": {"const": event_type}}},
                "then": {"properties": {"payload": rebase_refs(payload, &at)}},
            })
        })
        .collect();
    match per_type.is_empty() {
        true => envelope,
        false => json!({"allOf": [envelope, {"allOf": per_type}]}),
    }
}

/// Each topic the events of `catalogs` go to by `routing` (with each
/// node's default namespace and service), with the schema of its
/// `TOPIC.json`, by topic name.
pub fn topic_schemas_of(
    catalogs: &[&Catalog],
    routing: &TopicRouting,
) -> Result<BTreeMap<String, Value>, SchemaRegistryError> {
    let mut topics: BTreeMap<String, Vec<&'static str>> = BTreeMap::new();
    for catalog in catalogs {
        for event_type in catalog.event_types() {
            let parsed =
                EventType::parse(event_type).map_err(|e| SchemaRegistryError::EventType {
                    event_type,
                    node_type: catalog.node_type,
                    reason: e.to_string(),
                })?;
            let topic = match routing.topics_carrying(
                parsed,
                Some(catalog.namespace),
                Some(catalog.service),
            ) {
                TopicSubscription::Topic(topic) => topic,
                _ => return Err(SchemaRegistryError::NoTopic { event_type }),
            };
            let types = topics.entry(topic).or_default();
            if !types.contains(&event_type) {
                types.push(event_type);
            }
        }
    }
    Ok(topics
        .into_iter()
        .map(|(topic, types)| {
            let schema = json!({
                "$schema": "https://json-schema.org/draft/2020-12/schema",
                "title": topic,
                "description": format!("Records of topic {topic}: their value is an OnexEnvelopeV1 carrying {}.", types.join(", ")),
                "type": "object",
                "properties": {"value": value_schema(types.iter().copied())},
            });
            (topic, schema)
        })
        .collect())
}

/// [`topic_schemas_of`] the program's registry ([`catalogs`]).
pub fn topic_schemas(
    routing: &TopicRouting,
) -> Result<BTreeMap<String, Value>, SchemaRegistryError> {
    topic_schemas_of(&catalogs(), routing)
}

/// Writes one `TOPIC.json` per topic of the program's registry into `dir`
/// (created if need be), for `tansu broker --schema-registry file://./DIR`;
/// the files written.
pub fn export(dir: &Path, routing: &TopicRouting) -> Result<Vec<PathBuf>, SchemaRegistryError> {
    export_schemas(dir, topic_schemas(routing)?)
}

/// Writes `schemas`, by topic, into `dir` as `TOPIC.json` files.
pub fn export_schemas(
    dir: &Path,
    schemas: BTreeMap<String, Value>,
) -> Result<Vec<PathBuf>, SchemaRegistryError> {
    let write_error = |path: &Path| {
        let path = path.to_owned();
        move |source| SchemaRegistryError::Write { path, source }
    };
    std::fs::create_dir_all(dir).map_err(write_error(dir))?;
    let mut written = Vec::with_capacity(schemas.len());
    for (topic, schema) in schemas {
        let path = dir.join(format!("{topic}.json"));
        let mut text = serde_json::to_vec_pretty(&schema).unwrap_or_default();
        text.push(b'\n');
        std::fs::write(&path, text).map_err(write_error(&path))?;
        written.push(path);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_value_schema_is_the_envelope_contract() {
        let schema = value_schema(["payments.refund.issued"]);
        assert_eq!(schema["title"], "OnexEnvelopeV1");
        assert_eq!(schema["additionalProperties"], false);
        assert!(schema.get("$id").is_none());
    }

    #[test]
    fn a_known_payload_schema_applies_to_the_events_of_its_type() {
        let payload = json!({"type": "object", "required": ["user_id"]});
        let schema = value_schema_with(["user.created", "user.deleted"], |event_type| {
            (event_type == "user.created").then(|| payload.clone())
        });
        let [envelope, per_type] = [&schema["allOf"][0], &schema["allOf"][1]];
        assert_eq!(envelope["title"], "OnexEnvelopeV1");
        assert_eq!(
            per_type["allOf"],
            json!([{
                "if": {"properties": {"event_type": {"const": "user.created"}}},
                "then": {"properties": {"payload": payload}},
            }])
        );
    }
}
