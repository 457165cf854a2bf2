//! The Kafka sink against librdkafka's in-process mock cluster: delivery,
//! ordering per key, injected request errors, a refused batch, a broker
//! down then up, buffer overflow and drop without flush. Every event is
//! accounted for.
#![cfg(feature = "kafka")]

mod kafka_support;

use kafka_support::*;
use onex_events::kafka::rdkafka::mocking::MockCluster;
use onex_events::kafka::rdkafka::producer::DefaultProducerContext;
use onex_events::kafka::rdkafka::types::{RDKafkaApiKey, RDKafkaRespErr};
use onex_events::kafka::{KafkaConfig, Outcome, TopicRouting};
use onex_events::sink::SinkError;
use onex_events::KafkaSink;
use onex_events::{Payload, Publisher, Sink};
use std::collections::HashSet;
use std::time::{Duration, Instant};
use uuid::Uuid;

const PARTITIONS: i32 = 4;

fn cluster(topic: &str) -> MockCluster<'static, DefaultProducerContext> {
    let mock = MockCluster::new(1).expect("mock cluster");
    mock.create_topic(topic, PARTITIONS, 1).expect("topic");
    mock
}

fn config(bootstrap: &str, topic: &str) -> KafkaConfig {
    KafkaConfig::new(bootstrap).topics(TopicRouting::single(topic))
}

/// Publishes `keys` × `per_key` events, interleaved; returns their ids.
fn publish(sink: &KafkaSink, keys: usize, per_key: usize) -> Vec<Uuid> {
    let node = node("mock");
    let correlations: Vec<Uuid> = (0..keys).map(|_| Uuid::new_v4()).collect();
    let mut ids = Vec::new();
    for seq in 0..per_key {
        for c in &correlations {
            let e = event(&node, *c, seq);
            ids.push(e.event_id);
            sink.publish(e);
        }
    }
    ids
}

fn assert_all_delivered(ids: &[Uuid], reports: &Reports, records: &[Record]) {
    let by_id = reports.by_id();
    for id in ids {
        let r = by_id
            .get(id)
            .unwrap_or_else(|| panic!("event {id} has no report"));
        assert!(r.outcome.is_delivered(), "event {id}: {:?}", r.outcome);
    }
    let consumed: HashSet<String> = records
        .iter()
        .map(|r| r.json["event_id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(records.len(), ids.len(), "no duplicates, none missing");
    for id in ids {
        assert!(
            consumed.contains(&id.to_string()),
            "event {id} not consumed"
        );
    }
}

#[test]
fn delivers_every_event_in_order_per_key() {
    let topic = unique_topic("delivery");
    let mock = cluster(&topic);
    let reports = Reports::default();
    let sink = KafkaSink::new(reports.attach(config(&mock.bootstrap_servers(), &topic))).unwrap();
    let ids = publish(&sink, 16, 50);
    sink.flush(Duration::from_secs(30)).expect("flush");
    let stats = sink.stats();
    assert_eq!(stats.published, ids.len() as u64);
    assert_eq!(stats.delivered, ids.len() as u64);
    assert_eq!(stats.undelivered(), 0);
    assert_eq!(stats.pending(), 0);

    let records = consume(
        &mock.bootstrap_servers(),
        &topic,
        ids.len(),
        Duration::from_secs(30),
    );
    assert_all_delivered(&ids, &reports, &records);
    assert_ordered_per_key(&records);
    for r in &records {
        assert_headers_match(r);
    }
}

#[test]
fn injected_request_errors_are_retried_without_loss_or_reordering() {
    let topic = unique_topic("errors");
    let mock = cluster(&topic);
    mock.request_errors(
        RDKafkaApiKey::Produce,
        &[
            RDKafkaRespErr::RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
            RDKafkaRespErr::RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT,
            RDKafkaRespErr::RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS,
            RDKafkaRespErr::RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE,
            RDKafkaRespErr::RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND,
        ],
    );
    let reports = Reports::default();
    let sink = KafkaSink::new(reports.attach(config(&mock.bootstrap_servers(), &topic))).unwrap();
    let ids = publish(&sink, 8, 100);
    sink.flush(Duration::from_secs(30)).expect("flush");
    assert_eq!(sink.stats().delivered, ids.len() as u64);

    let records = consume(
        &mock.bootstrap_servers(),
        &topic,
        ids.len(),
        Duration::from_secs(30),
    );
    assert_all_delivered(&ids, &reports, &records);
    assert_ordered_per_key(&records);
}

/// A broker validating records (tansu with a schema registry) refuses the
/// whole batch that holds an invalid one with `INVALID_RECORD`: injected
/// here on a batch of valid events, every one is sent again alone and
/// delivered, once, in order per key, and so is what follows.
#[test]
fn the_events_of_a_refused_batch_are_sent_again_alone_and_delivered_in_order() {
    let topic = unique_topic("refused");
    let mock = cluster(&topic);
    mock.request_errors(
        RDKafkaApiKey::Produce,
        &[RDKafkaRespErr::RD_KAFKA_RESP_ERR_INVALID_RECORD],
    );
    let reports = Reports::default();
    let sink = KafkaSink::new(reports.attach(config(&mock.bootstrap_servers(), &topic))).unwrap();
    let mut ids = publish(&sink, 4, 50);
    sink.flush(Duration::from_secs(30)).expect("flush");
    let stats = sink.stats();
    assert!(stats.retried > 0, "a batch was refused: {stats:?}");
    ids.extend(publish(&sink, 4, 50));
    sink.flush(Duration::from_secs(30)).expect("flush");
    assert_eq!(sink.stats().delivered, ids.len() as u64);

    let records = consume(
        &mock.bootstrap_servers(),
        &topic,
        ids.len(),
        Duration::from_secs(30),
    );
    assert_all_delivered(&ids, &reports, &records);
    assert_ordered_per_key(&records);
}

#[test]
fn broker_down_then_up_delivers_every_event() {
    let topic = unique_topic("down-up");
    let mock = cluster(&topic);
    let reports = Reports::default();
    // Records time out of librdkafka's queue after 500 ms: they go through
    // the sink's retry buffer, possibly several times, while the broker is down.
    let config = config(&mock.bootstrap_servers(), &topic).property("message.timeout.ms", "500");
    let sink = KafkaSink::new(reports.attach(config)).unwrap();
    let mut ids = publish(&sink, 4, 10);
    sink.flush(Duration::from_secs(10)).expect("flush while up");

    mock.broker_down(1).unwrap();
    let down = publish(&sink, 8, 100);
    // Publishing did not wait for the broker: none of those events has an
    // outcome yet (the cost of a publish is measured by `benches/kafka.rs`).
    let reported = reports.by_id();
    assert!(
        down.iter().all(|id| !reported.contains_key(id)),
        "an event published with the broker down has an outcome already"
    );
    ids.extend(down);
    assert!(
        sink.flush(Duration::from_millis(300)).is_err(),
        "nothing can be delivered while the broker is down"
    );
    // Wait until records timed out into the retry buffer (a deadline only
    // against hanging).
    let deadline = Instant::now() + Duration::from_secs(60);
    while sink.stats().retried == 0 {
        assert!(
            Instant::now() < deadline,
            "no record timed out into the retry buffer: {:?}",
            sink.stats()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let during = sink.stats();
    assert!(during.pending() > 0, "{during:?}");
    assert!(!during.available, "{during:?}");
    assert!(
        during.retried > 0,
        "timed-out records were buffered: {during:?}"
    );
    assert_eq!(during.undelivered(), 0, "{during:?}");

    mock.broker_up(1).unwrap();
    sink.flush(Duration::from_secs(30))
        .expect("flush after the broker returned");
    let stats = sink.stats();
    assert_eq!(stats.delivered, ids.len() as u64, "{stats:?}");
    assert_eq!(stats.undelivered(), 0, "{stats:?}");
    assert!(stats.available);

    let records = consume(
        &mock.bootstrap_servers(),
        &topic,
        ids.len(),
        Duration::from_secs(30),
    );
    let by_id = reports.by_id();
    assert_eq!(by_id.len(), ids.len());
    assert!(by_id.values().all(|r| r.outcome.is_delivered()));
    // A record that timed out in flight may have been written too:
    // consumers dedupe by event id. Every event is there at least once.
    let consumed: HashSet<&str> = records
        .iter()
        .map(|r| r.json["event_id"].as_str().unwrap())
        .collect();
    for id in &ids {
        assert!(
            consumed.contains(id.to_string().as_str()),
            "event {id} not consumed"
        );
    }
}

#[test]
fn overflow_is_counted_and_reported_never_silent() {
    let topic = unique_topic("overflow");
    let mock = cluster(&topic);
    mock.broker_down(1).unwrap();
    let reports = Reports::default();
    let config = config(&mock.bootstrap_servers(), &topic)
        .property("queue.buffering.max.messages", "10")
        .buffer_capacity(20);
    let sink = KafkaSink::new(reports.attach(config)).unwrap();
    let ids = publish(&sink, 1, 100);
    let stats = sink.stats();
    assert_eq!(stats.overflowed, 70, "{stats:?}");
    let overflowed: Vec<_> = reports
        .all()
        .into_iter()
        .filter(|r| r.outcome == Outcome::Overflowed)
        .collect();
    assert_eq!(overflowed.len(), 70);
    // The first 30 are kept (10 in librdkafka, 20 in the retry buffer).
    let kept: HashSet<Uuid> = ids[..30].iter().copied().collect();
    assert!(overflowed.iter().all(|r| !kept.contains(&r.event_id)));

    mock.broker_up(1).unwrap();
    let flushed = sink.flush(Duration::from_secs(30));
    assert!(
        matches!(&flushed, Err(SinkError::Undelivered { lost: 70, detail }) if detail.contains("70 not taken")),
        "flush reports the overflowed events: {flushed:?}"
    );
    let stats = sink.stats();
    assert_eq!(stats.delivered, 30, "{stats:?}");
    assert_eq!(stats.delivered + stats.overflowed, stats.published);
    assert_eq!(
        reports.by_id().len(),
        ids.len(),
        "every event has one report"
    );
}

/// An event larger than `message.max.bytes` is rejected for good: `flush`
/// says so with the count and the cause, once, while the events around it
/// are delivered.
#[test]
fn flush_reports_an_event_kafka_rejected() {
    let topic = unique_topic("rejected");
    let mock = cluster(&topic);
    let reports = Reports::default();
    let sink = KafkaSink::new(reports.attach(config(&mock.bootstrap_servers(), &topic))).unwrap();
    let node = node("mock");
    let correlation = Uuid::new_v4();
    let mut big = event(&node, correlation, 1);
    if let Payload::StateChanged {
        transition_reason, ..
    } = &mut big.payload
    {
        *transition_reason = "x".repeat(3 << 20);
    }
    let big_id = big.event_id;
    sink.publish(event(&node, correlation, 0));
    sink.publish(big);
    sink.publish(event(&node, correlation, 2));
    match sink.flush(Duration::from_secs(30)) {
        Err(SinkError::Undelivered { lost, detail }) => {
            assert_eq!(lost, 1, "{detail}");
            assert!(detail.contains("1 rejected by Kafka"), "{detail}");
            assert!(detail.to_lowercase().contains("size"), "{detail}");
        }
        other => panic!("expected Undelivered, got {other:?}"),
    }
    let stats = sink.stats();
    assert_eq!((stats.delivered, stats.failed), (2, 1), "{stats:?}");
    assert!(matches!(
        reports.by_id()[&big_id].outcome,
        Outcome::Failed { .. }
    ));
    sink.publish(event(&node, correlation, 3));
    sink.flush(Duration::from_secs(30))
        .expect("the rejection was reported by the previous flush");
}

#[test]
fn dropping_without_flush_reports_every_queued_event_as_lost() {
    let topic = unique_topic("lost");
    let mock = cluster(&topic);
    mock.broker_down(1).unwrap();
    let reports = Reports::default();
    let sink = KafkaSink::new(reports.attach(config(&mock.bootstrap_servers(), &topic))).unwrap();
    let ids = publish(&sink, 2, 10);
    drop(sink);
    let by_id = reports.by_id();
    assert_eq!(by_id.len(), ids.len());
    assert!(by_id.values().all(|r| r.outcome == Outcome::Lost));
}

#[test]
fn publisher_over_kafka_sink_flushes_through_the_seam() {
    let topic = unique_topic("publisher");
    let mock = cluster(&topic);
    let sink = KafkaSink::new(config(&mock.bootstrap_servers(), &topic)).unwrap();
    let publisher = Publisher::new(sink);
    let node = node("publisher");
    for seq in 0..10 {
        publisher.publish(event(&node, Uuid::new_v4(), seq));
    }
    publisher.flush(Duration::from_secs(30)).expect("flush");
    assert_eq!(publisher.sink_name(), "kafka");
    let records = consume(
        &mock.bootstrap_servers(),
        &topic,
        10,
        Duration::from_secs(30),
    );
    assert_eq!(records.len(), 10);
}

/// A `tracing` writer into a shared buffer.
#[derive(Clone, Default)]
struct LogCapture(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for LogCapture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn events_published_while_unavailable_are_logged_with_their_envelope_then_delivered() {
    let topic = unique_topic("fallback-log");
    let mock = cluster(&topic);
    mock.broker_down(1).unwrap();
    let reports = Reports::default();
    let sink = KafkaSink::new(reports.attach(config(&mock.bootstrap_servers(), &topic))).unwrap();
    // A deadline only against hanging.
    let deadline = Instant::now() + Duration::from_secs(60);
    while sink.stats().available {
        assert!(
            Instant::now() < deadline,
            "the sink never saw the broker down"
        );
        std::thread::sleep(Duration::from_millis(10));
    }

    let logs = LogCapture::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer({
            let logs = logs.clone();
            move || logs.clone()
        })
        .with_ansi(false)
        .finish();
    let ids = tracing::subscriber::with_default(subscriber, || publish(&sink, 2, 5));
    let logged = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    let fallback: Vec<&str> = logged
        .lines()
        .filter(|l| l.contains("Kafka unavailable, logging orchestrator.state.changed event"))
        .collect();
    assert_eq!(fallback.len(), ids.len(), "{logged}");
    for id in &ids {
        let line = fallback
            .iter()
            .find(|l| l.contains(&format!("event_id={id}")))
            .unwrap_or_else(|| panic!("event {id} not logged"));
        assert!(line.contains(r#"envelope={"envelope_version":"#), "{line}");
    }
    assert_eq!(sink.stats().fallback_logged, ids.len() as u64);

    mock.broker_up(1).unwrap();
    sink.flush(Duration::from_secs(30))
        .expect("flush after the broker returned");
    let records = consume(
        &mock.bootstrap_servers(),
        &topic,
        ids.len(),
        Duration::from_secs(30),
    );
    assert_all_delivered(&ids, &reports, &records);
    assert_ordered_per_key(&records);
    for r in &records {
        assert_headers_match(r);
    }
}

/// `Duration::MAX` means "wait as long as it takes": no overflow, no panic,
/// every event delivered before flush returns.
#[test]
fn flush_with_duration_max_waits_for_delivery() {
    let topic = unique_topic("flush-max");
    let mock = cluster(&topic);
    let reports = Reports::default();
    let sink = KafkaSink::new(reports.attach(config(&mock.bootstrap_servers(), &topic))).unwrap();
    let publisher = Publisher::new(sink);
    let node = node("flush-max");
    let correlation = Uuid::new_v4();
    for seq in 0..200 {
        publisher.publish(event(&node, correlation, seq));
    }
    publisher
        .flush(Duration::MAX)
        .expect("flush(Duration::MAX)");
    let reports = reports.all();
    assert_eq!(reports.len(), 200);
    assert!(reports.iter().all(|r| r.outcome.is_delivered()));
}

/// A buffer time-to-live of `Duration::MAX` never expires an event: held
/// while the broker is down, delivered once it is back.
#[test]
fn buffer_ttl_duration_max_keeps_events_until_the_broker_returns() {
    let topic = unique_topic("ttl-max");
    let mock = cluster(&topic);
    mock.broker_down(1).unwrap();
    let reports = Reports::default();
    let config = config(&mock.bootstrap_servers(), &topic).buffer_ttl(Duration::MAX);
    let sink = KafkaSink::new(reports.attach(config)).unwrap();
    let ids = publish(&sink, 2, 10);
    mock.broker_up(1).unwrap();
    sink.flush(Duration::MAX).expect("flush(Duration::MAX)");
    let by_id = reports.by_id();
    assert_eq!(by_id.len(), ids.len());
    assert!(by_id.values().all(|r| r.outcome.is_delivered()));
    assert_eq!(sink.stats().expired, 0);
}

/// A librdkafka time property beyond its range is a clear configuration
/// error when the sink is built, never a panic.
#[test]
fn out_of_range_librdkafka_time_property_is_a_configuration_error() {
    for (key, value) in [
        ("linger.ms", u64::MAX.to_string()),
        ("message.timeout.ms", u64::MAX.to_string()),
        ("message.timeout.ms", "99999999999999999999999".to_owned()),
    ] {
        let config = KafkaConfig::new("127.0.0.1:1").property(key, value.clone());
        let error = KafkaSink::new(config).expect_err(&format!("{key}={value}"));
        assert!(
            matches!(error, onex_events::kafka::KafkaConfigError::Client(_)),
            "{key}={value}: {error}"
        );
    }
}

/// A topic name or bootstrap list Kafka would reject is refused when the
/// sink is built, not every event lost later; a well-formed address nothing
/// answers at is still accepted (an outage: events wait).
#[test]
fn kafka_sink_refuses_a_topic_or_bootstrap_list_kafka_would_reject() {
    use onex_events::kafka::KafkaConfigError;
    for topic in ["bad topic!", &"t".repeat(300), "..", ""] {
        let error = KafkaSink::new(config("127.0.0.1:1", topic)).expect_err(topic);
        assert!(
            matches!(&error, KafkaConfigError::InvalidTopic { topic: t, .. } if t == topic),
            "{topic}: {error}"
        );
    }
    for servers in ["127.0.0.1:99999", ",,", "not a host", "b1:9092,,b2:9092"] {
        let error = KafkaSink::new(config(servers, "t")).expect_err(servers);
        assert!(
            matches!(error, KafkaConfigError::InvalidBootstrapServers { .. }),
            "{servers}: {error}"
        );
    }
    assert!(KafkaSink::new(config("127.0.0.1:1", "t")).is_ok());
}
