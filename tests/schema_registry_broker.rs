//! Broker-side validation: the program's per-topic schemas exported for
//! tansu's embedded schema registry, and the Kafka sink against a broker
//! started on them, which refuses (`INVALID_RECORD`) the whole batch that
//! holds one record breaking its topic's schema. The broker test is
//! ignored unless asked for (`--include-ignored`, as `scripts/test.sh`
//! does); it starts its own broker.
#![cfg(feature = "kafka")]

mod common;
mod kafka_support;

use kafka_support::schema_broker::SchemaBroker;
use kafka_support::{assert_ordered_per_key, consume_ids, create_topic, event, node, Reports};
use onex_events::kafka::{schema_registry, KafkaConfig, Outcome, TopicRouting};
use onex_events::{onex_node, Event, KafkaSink, NodeContext, NodeIdentity, OnexNode, Sink};
use serde_json::Value;
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

const SERVICE: &str = "schema-registry-test";
const STATE_TOPIC: &str = "onex.schema-registry-test.orchestrator.state.v1";

#[derive(OnexNode)]
#[allow(dead_code)]
struct Orchestrator {
    ctx: NodeContext,
}

#[onex_node(
    node_type = "orchestrator",
    service = "schema-registry-test",
    namespace = "onex"
)]
impl Orchestrator {
    #[onex_operation("routing")]
    async fn route(&self) {}
}

fn read_json(path: &std::path::Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

#[test]
fn the_registry_is_exported_as_one_schema_per_topic_holding_the_envelope() {
    let dir = SchemaBroker::schema_dir("export");
    let written = schema_registry::export(&dir, &TopicRouting::default()).unwrap();
    let names: HashSet<String> = written
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    for topic in [
        "onex.schema-registry-test.orchestrator.routing.v1",
        STATE_TOPIC,
        "onex.schema-registry-test.orchestrator.metric.v1",
    ] {
        assert!(names.contains(&format!("{topic}.json")), "{names:?}");
    }
    let schema = read_json(&dir.join(format!("{STATE_TOPIC}.json")));
    let validator = jsonschema::validator_for(&schema).unwrap();
    let valid = event(&node(SERVICE), Uuid::new_v4(), 1).to_json();
    // tansu validates a record as `{"value": …}` (and `key` when the
    // schema has one).
    assert!(validator.is_valid(&serde_json::json!({ "value": valid })));
    let broken = event(&unnamed_node(), Uuid::new_v4(), 2).to_json();
    assert!(!validator.is_valid(&serde_json::json!({ "value": broken })));
    // The payload is held to its type's schema too (`state.changed` needs
    // `new_state`).
    let mut no_new_state = valid.clone();
    no_new_state["payload"]
        .as_object_mut()
        .unwrap()
        .remove("new_state");
    assert!(!validator.is_valid(&serde_json::json!({ "value": no_new_state })));
    // The envelope contract, as the repository holds it.
    let embedded: Value = serde_json::from_str(schema_registry::ENVELOPE_SCHEMA).unwrap();
    let contract: Value = serde_json::from_str(onex_events_suite::ENVELOPE_SCHEMA).unwrap();
    assert_eq!(embedded, contract);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A node whose id is empty: its envelopes break the contract
/// (`source_node_id` has `minLength: 1`).
fn unnamed_node() -> Arc<NodeIdentity> {
    let mut node = NodeIdentity::clone(&node(SERVICE));
    node.node_id = String::new();
    Arc::new(node)
}

#[test]
#[ignore = "needs a Kafka broker: run by scripts/test.sh (the README's test command, and CI), which starts one; or set KAFKA_BOOTSTRAP_SERVERS"]
fn a_record_breaking_the_topic_schema_fails_alone_and_its_batch_neighbours_are_delivered() {
    let dir = SchemaBroker::schema_dir("refused-batch");
    schema_registry::export(&dir, &TopicRouting::default()).unwrap();
    let broker = SchemaBroker::start(&dir);
    let bootstrap = broker.bootstrap();
    create_topic(&bootstrap, STATE_TOPIC, 1);

    let reports = Reports::default();
    // Lingering, so that the events go to the broker in one batch.
    let config = KafkaConfig::new(&bootstrap).property("linger.ms", "200");
    let sink = KafkaSink::new(reports.attach(config)).unwrap();
    let (valid, invalid) = (node(SERVICE), unnamed_node());
    let correlation = Uuid::new_v4();
    let events: Vec<Event> = (0..20)
        .map(|seq| match seq {
            7 => event(&invalid, correlation, seq),
            _ => event(&valid, correlation, seq),
        })
        .collect();
    let bad_id = events[7].event_id;
    let good_ids: HashSet<String> = events
        .iter()
        .map(|e| e.event_id)
        .filter(|id| *id != bad_id)
        .map(|id| id.to_string())
        .collect();
    for e in events {
        sink.publish(e);
    }
    let flushed = sink.flush(Duration::from_secs(60));
    assert!(flushed.is_err(), "the invalid event is reported by flush");

    let by_id = reports.by_id();
    assert_eq!(by_id.len(), 20);
    match &by_id[&bad_id].outcome {
        Outcome::Failed { error } => assert!(error.contains("InvalidRecord"), "{error}"),
        other => panic!("the invalid event: {other:?}"),
    }
    for id in &good_ids {
        let outcome = &by_id[&id.parse::<Uuid>().unwrap()].outcome;
        assert!(outcome.is_delivered(), "{id}: {outcome:?}");
    }
    let stats = sink.stats();
    assert_eq!((stats.delivered, stats.failed), (19, 1), "{stats:?}");

    let read = consume_ids(&bootstrap, STATE_TOPIC, &good_ids, Duration::from_secs(60));
    let read_ids: HashSet<String> = read
        .iter()
        .filter_map(|r| r.json["event_id"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(
        read_ids, good_ids,
        "every valid event is read back, the invalid one is not"
    );
    for r in &read {
        common::assert_contract_valid(&r.json);
    }

    // The sink goes on delivering what comes next (its producer, fenced by
    // tansu once it bumped its epoch for the refused record, replaced),
    // after the events of the refused batch.
    let next: Vec<Event> = (20..25)
        .map(|seq| event(&valid, correlation, seq))
        .collect();
    let next_ids: HashSet<String> = next.iter().map(|e| e.event_id.to_string()).collect();
    for e in next {
        sink.publish(e);
    }
    sink.flush(Duration::from_secs(60)).unwrap();
    assert_eq!(sink.stats().delivered, 24);
    let read = consume_ids(&bootstrap, STATE_TOPIC, &next_ids, Duration::from_secs(60));
    assert_eq!(read.len(), 24, "each valid event once");
    assert_ordered_per_key(&read);
}
