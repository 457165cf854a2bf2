//! Helpers of the consumer tests: envelopes written as raw records, the
//! offsets a group committed, and waiting on a consumer's stats.

use onex_events::consume::kafka::{ConsumerStats, EventConsumer, ShutdownHandle};
use onex_events::kafka::rdkafka::consumer::{BaseConsumer, Consumer};
use onex_events::kafka::rdkafka::message::{Header, OwnedHeaders};
use onex_events::kafka::rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use onex_events::kafka::rdkafka::{ClientConfig, Offset, TopicPartitionList};
use std::time::{Duration, Instant};
use uuid::Uuid;

/// One record to write.
#[derive(Debug, Clone)]
pub struct Raw {
    pub key: Option<String>,
    pub value: Vec<u8>,
    pub headers: Vec<(String, String)>,
    /// The partition, if not by key.
    pub partition: Option<i32>,
}

/// An OnexEnvelopeV1 of `event_type` with `payload`, keyed `key`, with its
/// `ce_type` header (unless `with_type_header` is false).
pub fn envelope(
    event_type: &str,
    key: &str,
    payload: serde_json::Value,
    with_type_header: bool,
) -> Raw {
    let value = serde_json::json!({
        "envelope_version": "1.0",
        "event_id": Uuid::new_v4(),
        "event_type": event_type,
        "event_timestamp": "2026-11-30T12:00:00.000000Z",
        "source_node_id": "orchestrator-1",
        "correlation_id": Uuid::new_v4(),
        "payload": payload,
        "metadata": {"node_type": "orchestrator"},
    });
    let mut headers = vec![(
        "ce_id".to_owned(),
        value["event_id"].as_str().unwrap().to_owned(),
    )];
    if with_type_header {
        headers.push(("ce_type".to_owned(), event_type.to_owned()));
    }
    Raw {
        key: Some(key.to_owned()),
        value: serde_json::to_vec(&value).unwrap(),
        headers,
        partition: None,
    }
}

/// Writes `records` to `topic`, in order, and waits for each to be acknowledged.
pub fn produce(bootstrap: &str, topic: &str, records: &[Raw]) {
    let producer: BaseProducer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("enable.idempotence", "true")
        .create()
        .expect("producer");
    for r in records {
        let mut headers = OwnedHeaders::new();
        for (k, v) in &r.headers {
            headers = headers.insert(Header {
                key: k,
                value: Some(v.as_bytes()),
            });
        }
        let mut record = BaseRecord::<[u8], [u8]>::to(topic)
            .payload(&r.value)
            .headers(headers);
        if let Some(key) = &r.key {
            record = record.key(key.as_bytes());
        }
        if let Some(p) = r.partition {
            record = record.partition(p);
        }
        producer.send(record).map_err(|(e, _)| e).expect("send");
        producer.poll(Duration::ZERO);
    }
    producer.flush(Duration::from_secs(30)).expect("flush");
}

/// The offsets group `group` committed on `topic`'s partitions
/// `0..partitions` (`None`: none).
pub fn committed(bootstrap: &str, group: &str, topic: &str, partitions: i32) -> Vec<Option<i64>> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .create()
        .expect("consumer");
    let mut tpl = TopicPartitionList::new();
    for p in 0..partitions {
        tpl.add_partition(topic, p);
    }
    let committed = consumer
        .committed_offsets(tpl, Duration::from_secs(10))
        .expect("committed offsets");
    (0..partitions)
        .map(
            |p| match committed.find_partition(topic, p).map(|e| e.offset()) {
                Some(Offset::Offset(o)) => Some(o),
                _ => None,
            },
        )
        .collect()
}

/// Waits until `done` holds of the consumer's stats, or panics after `timeout`.
pub async fn wait_for_stats(
    handle: &ShutdownHandle,
    timeout: Duration,
    done: impl Fn(&ConsumerStats) -> bool,
) -> ConsumerStats {
    let deadline = Instant::now() + timeout;
    loop {
        let stats = handle.stats();
        if done(&stats) {
            return stats;
        }
        assert!(Instant::now() < deadline, "timed out; stats: {stats}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits until `done` holds, or panics after `timeout`.
pub async fn wait_until(what: &str, timeout: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A consumer running in a task of its own.
pub struct Running {
    pub handle: ShutdownHandle,
    run: tokio::task::JoinHandle<ConsumerStats>,
}

/// Runs `consumer` in a task.
pub fn start(consumer: EventConsumer) -> Running {
    Running {
        handle: consumer.shutdown_handle(),
        run: tokio::spawn(consumer.run()),
    }
}

impl Running {
    /// Stops it gracefully; its final stats.
    pub async fn stop(self) -> ConsumerStats {
        self.handle.shutdown();
        self.run.await.expect("the consumer task")
    }
}
