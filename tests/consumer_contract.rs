//! The consumer's check of the envelope contract against the contract
//! itself (`contracts/onex-envelope-v1.schema.json`, formats validated):
//! on every mutation of a published envelope in a grid (each field removed
//! or replaced by a value of each JSON type, text breaking each pattern, a
//! field added, metadata holding any value), the two agree on whether it
//! is an OnexEnvelopeV1. (Every
//! envelope the library publishes in the other tests passes both:
//! `common::assert_contract_valid`.)

mod common;

use onex_events::consume::{ReceivedEvent, RecordParts};
use onex_events::{Event, EventType, NodeIdentity, Payload, Timestamp};
use serde_json::{json, Map, Value};
use std::sync::Arc;
use uuid::Uuid;

fn contract() -> jsonschema::Validator {
    let schema: Value = serde_json::from_str(onex_events_suite::ENVELOPE_SCHEMA).unwrap();
    jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .unwrap()
}

fn published(correlation: Option<Uuid>) -> Value {
    let node = Arc::new(NodeIdentity {
        node_id: "orchestrator-1".to_owned(),
        node_type: "orchestrator",
        service: "svc".to_owned(),
        namespace: "onex".to_owned(),
        instance_id: Uuid::new_v4(),
    });
    Event {
        event_id: Uuid::new_v4(),
        event_type: EventType::parse("orchestrator.state.changed").unwrap(),
        timestamp: Timestamp::now(),
        correlation_id: correlation,
        causation_id: Some(Uuid::new_v4()),
        node,
        payload: Payload::StateChanged {
            old_state: "a".to_owned(),
            new_state: "b".to_owned(),
            transition_reason: "test".to_owned(),
        },
        trace_parent: None,
    }
    .to_json()
}

/// Whether the consumer takes `value`, and why not.
fn consumer_takes(value: &[u8]) -> Result<(), String> {
    let record = RecordParts {
        value: value.to_vec(),
        ..RecordParts::default()
    };
    ReceivedEvent::decode(record)
        .map(drop)
        .map_err(|e| e.to_string())
}

const FIELDS: [&str; 8] = [
    "envelope_version",
    "event_id",
    "event_type",
    "event_timestamp",
    "source_node_id",
    "correlation_id",
    "payload",
    "metadata",
];

/// Values of every JSON type, and text breaking each field's shape.
fn replacements() -> Vec<Value> {
    let mut values = vec![
        Value::Null,
        json!(true),
        json!(1),
        json!(1.5),
        json!(""),
        json!("x"),
        json!([]),
        json!({}),
        json!({"a": 1}),
        json!("1.0"),
        json!("2.0"),
        json!(Uuid::new_v4().to_string()),
        json!(Uuid::new_v4().to_string().to_uppercase()),
        json!(Uuid::new_v4().simple().to_string()),
        json!(Uuid::new_v4().braced().to_string()),
        json!("orchestrator.state.changed"),
        json!("Orchestrator.state.changed"),
        json!("orchestrator"),
        json!("orchestrator..changed"),
        json!("a.b-c"),
        json!("2026-11-30T12:00:00Z"),
        json!("2026-11-30T12:00:00.123456+00:00"),
        json!("2026-11-30T12:00:00+01:00"),
        json!("2026-11-30T12:00:00"),
        json!("2026-11-30 12:00:00Z"),
        json!("2026-02-30T12:00:00Z"),
        json!("2026-11-30T24:00:00Z"),
        json!("2026-13-30T12:00:00Z"),
        json!("orch\u{7}1"),
        json!("é"),
    ];
    values.push(json!([1, 2]));
    values
}

fn assert_agree(contract: &jsonschema::Validator, envelope: &Value, what: &str) {
    let schema_says = contract.is_valid(envelope);
    let consumer_says = consumer_takes(&serde_json::to_vec(envelope).unwrap());
    assert_eq!(
        schema_says,
        consumer_says.is_ok(),
        "{what}: the contract says {schema_says}, the consumer {consumer_says:?}\n{envelope:#}"
    );
}

#[test]
fn the_consumer_and_the_contract_agree_on_every_mutation_of_an_envelope() {
    let contract = contract();
    for base in [published(Some(Uuid::new_v4())), published(None)] {
        assert_agree(&contract, &base, "as published");
        common::assert_contract_valid(&base);
        let object: &Map<String, Value> = base.as_object().unwrap();
        for field in FIELDS {
            let mut without = object.clone();
            without.remove(field);
            assert_agree(
                &contract,
                &Value::Object(without),
                &format!("without {field}"),
            );
            for value in replacements() {
                let mut changed = object.clone();
                changed.insert(field.to_owned(), value.clone());
                let what = format!("{field} = {value}");
                assert_agree(&contract, &Value::Object(changed), &what);
            }
        }
        for extra in ["causation_id", "extra", ""] {
            let mut more = object.clone();
            more.insert(extra.to_owned(), json!(null));
            assert_agree(&contract, &Value::Object(more), &format!("with {extra:?}"));
        }
        for not_object in [json!(null), json!([]), json!("x"), json!(1)] {
            assert_agree(&contract, &not_object, "not an object");
        }
        // Metadata may hold anything, `causation_id` included.
        for value in replacements() {
            for key in ["causation_id", "node_type", "anything"] {
                let mut changed = object.clone();
                let metadata = changed["metadata"].as_object_mut().unwrap();
                metadata.insert(key.to_owned(), value.clone());
                let what = format!("metadata.{key} = {value}");
                assert_agree(&contract, &Value::Object(changed), &what);
            }
        }
    }
}

#[test]
fn text_that_is_not_json_is_refused_by_both() {
    let envelope = serde_json::to_string(&published(Some(Uuid::new_v4()))).unwrap();
    // A raw control character and a byte that is not UTF-8, in a free-text
    // field and in metadata: not JSON text, so no envelope.
    let control = envelope.replacen("orchestrator-1", "orchestrator\u{1}1", 1);
    assert!(consumer_takes(control.as_bytes()).is_err());
    assert!(serde_json::from_str::<Value>(&control).is_err());
    let mut not_utf8 = envelope.clone().into_bytes();
    let at = envelope.find(r#""namespace":"onex""#).unwrap() + 14;
    not_utf8[at] = 0xff;
    assert!(consumer_takes(&not_utf8).is_err());
    assert!(serde_json::from_slice::<Value>(&not_utf8).is_err());
}
