//! Helpers of the Kafka tests: events, a delivery-report collector and a
//! consumer that reads topics back by assigning partitions (no consumer
//! group: group joins are slow on tansu).
#![allow(dead_code)]

pub mod consumer;
pub mod durable_broker;
pub mod schema_broker;

use onex_events::kafka::rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use onex_events::kafka::rdkafka::client::DefaultClientContext;
use onex_events::kafka::rdkafka::consumer::{BaseConsumer, Consumer};
use onex_events::kafka::rdkafka::message::{Headers, Message};
use onex_events::kafka::rdkafka::{ClientConfig, Offset, TopicPartitionList};
use onex_events::kafka::{DeliveryReport, KafkaConfig};
use onex_events::{Event, EventType, NodeIdentity, Payload, Timestamp};
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use uuid::Uuid;

pub fn node(service: &str) -> Arc<NodeIdentity> {
    Arc::new(NodeIdentity {
        node_id: format!("{service}-1"),
        node_type: "orchestrator",
        service: service.to_owned(),
        namespace: "onex".to_owned(),
        instance_id: Uuid::new_v4(),
    })
}

/// A `state.changed` event whose `transition_reason` is `seq`.
pub fn event(node: &Arc<NodeIdentity>, correlation: Uuid, seq: usize) -> Event {
    Event {
        event_id: Uuid::new_v4(),
        event_type: EventType::parse("orchestrator.state.changed").unwrap(),
        timestamp: Timestamp::now(),
        correlation_id: Some(correlation),
        causation_id: None,
        node: Arc::clone(node),
        payload: Payload::StateChanged {
            old_state: "a".to_owned(),
            new_state: "b".to_owned(),
            transition_reason: seq.to_string(),
        },
        trace_parent: None,
    }
}

/// Collects every delivery report.
#[derive(Clone, Default)]
pub struct Reports(Arc<Mutex<Vec<DeliveryReport>>>);

impl Reports {
    pub fn attach(&self, config: KafkaConfig) -> KafkaConfig {
        let reports = self.clone();
        config.on_delivery(move |r| reports.0.lock().unwrap().push(r.clone()))
    }

    pub fn all(&self) -> Vec<DeliveryReport> {
        self.0.lock().unwrap().clone()
    }

    /// Outcome of each event id; panics on an event reported twice.
    pub fn by_id(&self) -> HashMap<Uuid, DeliveryReport> {
        let mut map = HashMap::new();
        for r in self.all() {
            assert!(
                map.insert(r.event_id, r.clone()).is_none(),
                "event {} reported twice",
                r.event_id
            );
        }
        map
    }
}

/// One record read back (`json` is `Null` for a value that is not JSON).
#[derive(Debug, Clone)]
pub struct Record {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    pub key: Option<String>,
    pub value: Vec<u8>,
    pub json: Value,
    pub headers: HashMap<String, String>,
}

/// Reads `topic` from the beginning of every partition until `expected`
/// records arrived or `timeout` ran out.
pub fn consume(bootstrap: &str, topic: &str, expected: usize, timeout: Duration) -> Vec<Record> {
    consume_until(bootstrap, topic, timeout, |records| {
        records.len() >= expected
    })
}

/// Reads `topic` from the beginning of every partition until a record of
/// each of `ids` (event ids) arrived or `timeout` ran out; duplicates (a
/// record resent after a producer was replaced) do not count twice.
pub fn consume_ids(
    bootstrap: &str,
    topic: &str,
    ids: &HashSet<String>,
    timeout: Duration,
) -> Vec<Record> {
    let mut seen = HashSet::new();
    let mut read = 0;
    consume_until(bootstrap, topic, timeout, |records| {
        for r in &records[read..] {
            if let Some(id) = r.json["event_id"].as_str().filter(|id| ids.contains(*id)) {
                seen.insert(id.to_owned());
            }
        }
        read = records.len();
        seen.len() == ids.len()
    })
}

/// Reads `topic` from the beginning of every partition until `done` says
/// so or `timeout` ran out.
pub fn consume_until(
    bootstrap: &str,
    topic: &str,
    timeout: Duration,
    mut done: impl FnMut(&[Record]) -> bool,
) -> Vec<Record> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", "onex-events-tests")
        .set("enable.auto.commit", "false")
        .set("enable.partition.eof", "false")
        .create()
        .expect("consumer");
    let deadline = Instant::now() + timeout;
    let partitions = loop {
        let metadata = consumer
            .fetch_metadata(Some(topic), Duration::from_secs(5))
            .expect("metadata");
        let n = metadata
            .topics()
            .iter()
            .find(|t| t.name() == topic)
            .map(|t| t.partitions().len())
            .unwrap_or(0);
        if n > 0 || Instant::now() > deadline {
            break n;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(partitions > 0, "topic {topic} has no partitions");
    let mut tpl = TopicPartitionList::new();
    for p in 0..partitions {
        tpl.add_partition_offset(topic, p as i32, Offset::Beginning)
            .unwrap();
    }
    consumer.assign(&tpl).expect("assign");
    let mut records = Vec::new();
    while !done(&records) && Instant::now() < deadline {
        let Some(message) = consumer.poll(Duration::from_millis(200)) else {
            continue;
        };
        let message = message.expect("consume");
        let value = message.payload().unwrap_or_default().to_vec();
        let headers = message
            .headers()
            .map(|h| {
                h.iter()
                    .map(|h| {
                        (
                            h.key.to_owned(),
                            String::from_utf8_lossy(h.value.unwrap_or_default()).into_owned(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        records.push(Record {
            topic: message.topic().to_owned(),
            partition: message.partition(),
            offset: message.offset(),
            key: message
                .key()
                .map(|k| String::from_utf8_lossy(k).into_owned()),
            json: serde_json::from_slice(&value).unwrap_or(Value::Null),
            value,
            headers,
        });
    }
    records
}

/// Checks that, per key, records are on one partition and in `seq` order.
pub fn assert_ordered_per_key(records: &[Record]) {
    let mut last: HashMap<String, (i32, i64)> = HashMap::new();
    for r in records {
        let key = r.key.clone().expect("every record has a key");
        let seq: i64 = r.json["payload"]["transition_reason"]
            .as_str()
            .and_then(|s| s.parse().ok())
            .expect("seq");
        if let Some((partition, prev)) = last.get(&key) {
            assert_eq!(*partition, r.partition, "key {key} on two partitions");
            assert!(seq > *prev, "key {key}: seq {seq} after {prev}");
        }
        last.insert(key, (r.partition, seq));
    }
}

/// Checks a record against its envelope: key, CloudEvents headers.
pub fn assert_headers_match(r: &Record) {
    let j = &r.json;
    let h = &r.headers;
    assert_eq!(h["ce_specversion"], "1.0");
    assert_eq!(Some(h["ce_id"].as_str()), j["event_id"].as_str());
    assert_eq!(Some(h["ce_type"].as_str()), j["event_type"].as_str());
    assert_eq!(Some(h["ce_time"].as_str()), j["event_timestamp"].as_str());
    assert_eq!(h["content-type"], "application/json");
    let source = format!(
        "/{}/{}/{}",
        j["metadata"]["namespace"].as_str().unwrap(),
        j["metadata"]["service"].as_str().unwrap(),
        j["source_node_id"].as_str().unwrap()
    );
    assert_eq!(h["ce_source"], source);
    // A declared event with an id is keyed by it (a domain event by its
    // aggregate id); any other event by its correlation id.
    let declared_id = ["aggregate_id", "resource_id", "key"]
        .into_iter()
        .find_map(|field| j["metadata"][field].as_str())
        .filter(|_| j["metadata"]["event_kind"].is_string());
    match j["correlation_id"].as_str() {
        Some(c) => {
            assert_eq!(h["ce_correlationid"], c);
            let key = declared_id.unwrap_or(c);
            assert_eq!(
                r.key.as_deref(),
                Some(key),
                "key is the id or the correlation id"
            );
        }
        None => assert!(!h.contains_key("ce_correlationid")),
    }
    match j["metadata"]["causation_id"].as_str() {
        Some(c) => assert_eq!(h["ce_causationid"], c),
        None => assert!(!h.contains_key("ce_causationid")),
    }
}

/// A topic name unique to this run.
pub fn unique_topic(name: &str) -> String {
    format!(
        "onex-test.{name}.{}",
        &Uuid::new_v4().simple().to_string()[..8]
    )
}

/// Creates `topic` (an existing one is fine).
pub fn create_topic(bootstrap: &str, topic: &str, partitions: i32) {
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .create()
        .expect("admin client");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let new = NewTopic::new(topic, partitions, TopicReplication::Fixed(1));
    let opts = AdminOptions::new().operation_timeout(Some(Duration::from_secs(10)));
    let results = rt
        .block_on(admin.create_topics([&new], &opts))
        .expect("create_topics");
    for r in results {
        if let Err((name, code)) = r {
            assert_eq!(
                code,
                onex_events::kafka::rdkafka::types::RDKafkaErrorCode::TopicAlreadyExists,
                "creating {name}"
            );
        }
    }
}

/// `scripts/kafka-dev.sh` of this repository.
pub fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/kafka-dev.sh")
}

/// Runs `scripts/kafka-dev.sh CMD PORT` and asserts it succeeded.
pub fn broker(cmd: &str, port: u16) {
    let status = Command::new("bash")
        .arg(script())
        .args([cmd, &port.to_string()])
        .status()
        .expect("run scripts/kafka-dev.sh");
    assert!(status.success(), "kafka-dev.sh {cmd} {port} failed");
}

/// A port nothing listens on now.
pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// Stops the test's own broker even when the test fails.
pub struct OwnBroker(pub u16);

impl Drop for OwnBroker {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg(script())
            .args(["stop", &self.0.to_string()])
            .status();
    }
}

/// `KAFKA_BOOTSTRAP_SERVERS`. Panics with what to do when it is not set:
/// the tests that need a broker are `#[ignore]`d with that reason, and run
/// only when asked to (`--include-ignored`, as `scripts/test.sh` does).
pub fn bootstrap() -> String {
    match std::env::var("KAFKA_BOOTSTRAP_SERVERS") {
        Ok(s) if !s.trim().is_empty() => s,
        _ => panic!(
            "this test needs a Kafka broker and KAFKA_BOOTSTRAP_SERVERS is not set: run \
             `scripts/test.sh`, or start one with `scripts/kafka-dev.sh start PORT` and set \
             KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:PORT"
        ),
    }
}

/// A Kafka sink shared with a bench, which reads its stats while the
/// publisher owns the sink.
pub struct SharedSink(pub Arc<onex_events::KafkaSink>);

impl onex_events::Sink for SharedSink {
    fn publish(&self, event: Event) {
        self.0.publish(event);
    }

    fn flush(&self, timeout: std::time::Duration) -> Result<(), onex_events::sink::SinkError> {
        self.0.flush(timeout)
    }

    fn name(&self) -> &'static str {
        self.0.name()
    }
}
