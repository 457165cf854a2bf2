//! The metrics of the feature `metrics`, read back through a recorder
//! (`ENABLE_EVENT_METRICS` unset: on): events published per node type and
//! sink; the stdout sink's lines; the Kafka sink's deliveries, overflows
//! and retry buffer on librdkafka's mock cluster; an SQLite outbox's
//! commits, deliveries, dead letters and pending events; a Kafka
//! consumer's handled, retried and dead-lettered events, its handler
//! durations and its lag.
#![cfg(feature = "metrics")]

#[cfg(feature = "kafka")]
mod kafka_support;
mod metrics_support;

use metrics_support::readings;
use onex_events::metrics::names::{self, label};
use onex_events::{onex_node, NodeContext, OnexNode, Publisher, Recorder, StdoutSink};
use std::time::Duration;

/// A node whose operation `tick` publishes `started` and `completed`.
#[derive(OnexNode)]
struct Meter {
    ctx: NodeContext,
}

#[onex_node("meter")]
impl Meter {
    #[onex_operation("tick", fields(n))]
    async fn tick(&self, n: u32) -> Result<u32, std::io::Error> {
        Ok(n)
    }
}

fn meter(publisher: Publisher) -> Meter {
    Meter {
        ctx: NodeContext::builder::<Meter>()
            .node_id("meter-1")
            .publisher(publisher)
            .build()
            .unwrap(),
    }
}

/// The labels of events node `meter` published to `sink`.
fn published_to(sink: &'static str) -> [(&'static str, &'static str); 2] {
    [(label::NODE_TYPE, "meter"), (label::SINK, sink)]
}

#[tokio::test]
async fn every_sink_counts_published_events_and_stdout_its_lines() {
    let m = readings();
    let recorder = Recorder::new();
    let node = meter(Publisher::new(recorder.clone()));
    assert_eq!(node.tick(1).await.unwrap(), 1);
    assert_eq!(recorder.events().len(), 2);
    assert_eq!(m.counter(names::PUBLISHED, &published_to("recorder")), 2);

    let publisher = Publisher::new(StdoutSink::with_writer(Vec::new()));
    let node = meter(publisher.clone());
    for n in 0..3 {
        assert_eq!(node.tick(n).await.unwrap(), n);
    }
    publisher.flush(Duration::from_secs(30)).unwrap();
    assert_eq!(m.counter(names::PUBLISHED, &published_to("stdout")), 6);
    let stdout = [(label::SINK, "stdout")];
    assert_eq!(m.counter(names::DELIVERED, &stdout), 6);
    assert_eq!(m.counter(names::FAILED, &stdout), 0);
}

#[cfg(feature = "kafka")]
#[test]
fn the_kafka_sink_counts_deliveries_overflows_and_its_retry_buffer() {
    use kafka_support::unique_topic;
    use onex_events::kafka::rdkafka::mocking::MockCluster;
    use onex_events::kafka::rdkafka::producer::DefaultProducerContext;
    use onex_events::kafka::{KafkaConfig, TopicRouting};
    use onex_events::KafkaSink;

    let m = readings();
    let topic = unique_topic("metrics");
    let mock: MockCluster<'static, DefaultProducerContext> = MockCluster::new(1).unwrap();
    mock.create_topic(&topic, 1, 1).unwrap();
    mock.broker_down(1).unwrap();
    // 10 records fit in librdkafka's queue, 20 in the retry buffer.
    let config = KafkaConfig::new(mock.bootstrap_servers())
        .topics(TopicRouting::single(topic.as_str()))
        .property("queue.buffering.max.messages", "10")
        .buffer_capacity(20);
    let sink = KafkaSink::new(config).unwrap();
    let publisher = Publisher::new(sink);
    let node = meter(publisher.clone());
    for _ in 0..100 {
        node.ctx.state_changed("a", "b", "metered");
    }
    let kafka = [(label::SINK, "kafka")];
    let overflowed = [(label::SINK, "kafka"), (label::REASON, "overflowed")];
    assert_eq!(m.counter(names::PUBLISHED, &published_to("kafka")), 100);
    assert_eq!(m.counter(names::FAILED, &overflowed), 70);
    assert_eq!(m.gauge(names::BUFFERED, &kafka), Some(20.0));
    assert_eq!(m.counter(names::DELIVERED, &kafka), 0);

    mock.broker_up(1).unwrap();
    assert!(
        publisher.flush(Duration::from_secs(60)).is_err(),
        "the overflowed events are reported"
    );
    assert_eq!(m.counter(names::DELIVERED, &kafka), 30);
    assert_eq!(m.counter(names::FAILED, &kafka), 70);
    assert_eq!(m.gauge(names::BUFFERED, &kafka), Some(0.0));
}

#[cfg(feature = "outbox")]
#[test]
fn the_outbox_counts_commits_deliveries_and_dead_letters() {
    use onex_events::kafka::rdkafka::mocking::MockCluster;
    use onex_events::kafka::rdkafka::producer::DefaultProducerContext;
    use onex_events::kafka::{KafkaConfig, TopicRouting};
    use onex_events::outbox::{OutboxConfig, OutboxSink, RelayConfig};
    use onex_events::Sink;

    let m = readings();
    let mock: MockCluster<'static, DefaultProducerContext> = MockCluster::new(1).unwrap();
    mock.create_topic("metered", 1, 1).unwrap();
    let dir = std::env::temp_dir().join(format!("onex-metrics-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    // Events larger than the producer accepts go to the dead-letter table.
    let kafka = KafkaConfig::new(mock.bootstrap_servers())
        .topics(TopicRouting::single("metered"))
        .property("message.max.bytes", "3000");
    let relay = RelayConfig::new(kafka)
        .max_attempts(2)
        .backoff(Duration::from_millis(1), Duration::from_millis(5));
    let sink = OutboxSink::open(OutboxConfig::sqlite(dir.join("o.db")).relay(relay)).unwrap();
    let node = meter(Publisher::new(sink.clone()));
    for _ in 0..3 {
        node.ctx.state_changed("a", "b", "small");
    }
    for _ in 0..2 {
        node.ctx.state_changed("a", "b", "x".repeat(5_000));
    }
    assert!(
        sink.flush(Duration::from_secs(60)).is_err(),
        "the dead letters are reported"
    );
    let stats = sink.stats().unwrap();
    assert_eq!((stats.delivered, stats.dead, stats.pending), (3, 2, 0));
    assert_eq!(m.counter(names::PUBLISHED, &published_to("outbox")), 5);
    assert_eq!(m.counter(names::OUTBOX_COMMITTED, &[]), 5);
    assert_eq!(m.counter(names::OUTBOX_NOT_COMMITTED, &[]), 0);
    assert_eq!(m.counter(names::OUTBOX_DELIVERED, &[]), 3);
    assert_eq!(m.counter(names::OUTBOX_DEAD, &[]), 2);
    assert_eq!(m.gauge(names::OUTBOX_PENDING, &[]), Some(0.0));
    drop(node);
    drop(sink);
    let _ = std::fs::remove_dir_all(&dir);
}

#[cfg(feature = "kafka")]
mod consumer {
    use super::*;
    use kafka_support::consumer::{envelope, produce, start, wait_for_stats};
    use kafka_support::unique_topic;
    use onex_events::consume::kafka::EventConsumer;
    use onex_events::consume::Incoming;
    use onex_events::kafka::rdkafka::mocking::MockCluster;
    use onex_events::kafka::rdkafka::producer::DefaultProducerContext;
    use onex_events::kafka::{KafkaConfig, OffsetReset};
    use serde_json::{json, Value};
    use std::sync::Arc;

    const COMPLETED: &str = "orchestrator.orchestration.completed";

    /// Fails every event whose payload says `"fail": true`.
    struct Metered;

    #[derive(Debug, thiserror::Error)]
    #[error("asked to fail")]
    struct AskedToFail;

    #[onex_node("metered")]
    impl Metered {
        #[onex_handler(
            "orchestrator.orchestration.completed",
            lifecycle = false,
            attempts = 3,
            backoff_ms = 1,
            max_backoff_ms = 2
        )]
        async fn apply(&self, event: Incoming<Value>) -> Result<(), AskedToFail> {
            if event.payload["fail"] == true {
                return Err(AskedToFail);
            }
            Ok(())
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_consumer_counts_handled_retried_and_dead_lettered_events_times_runs_and_reports_lag()
    {
        let m = readings();
        let mock: MockCluster<'static, DefaultProducerContext> = MockCluster::new(1).unwrap();
        let topic = unique_topic("metered");
        mock.create_topic(&topic, 1, 1).unwrap();
        mock.create_topic(&format!("{topic}.dlq"), 1, 1).unwrap();
        let bootstrap = mock.bootstrap_servers();
        produce(
            &bootstrap,
            &topic,
            &[
                envelope(COMPLETED, "k", json!({"fail": true}), true),
                envelope(COMPLETED, "k", json!({}), true),
                envelope(COMPLETED, "k", json!({}), true),
            ],
        );
        let consumer = EventConsumer::builder(
            KafkaConfig::new(&bootstrap)
                .auto_offset_reset(OffsetReset::Earliest)
                .property("session.timeout.ms", "6000")
                .property("heartbeat.interval.ms", "500"),
        )
        .group("metered")
        .topic(&topic)
        .node(Arc::new(Metered))
        .stats_interval(Duration::from_millis(100))
        .build()
        .unwrap();
        let running = start(consumer);
        let stats = wait_for_stats(&running.handle, Duration::from_secs(60), |s| {
            s.handled == 2 && s.dead_lettered == 1 && !s.lag.is_empty() && s.total_lag() == 0
        })
        .await;
        assert_eq!((stats.failed, stats.retried), (1, 2));

        let apply = [(label::NODE_TYPE, "metered"), (label::HANDLER, "apply")];
        let with = |outcome| {
            [
                (label::NODE_TYPE, "metered"),
                (label::HANDLER, "apply"),
                (label::OUTCOME, outcome),
            ]
        };
        assert_eq!(m.counter(names::HANDLED, &with("acknowledged")), 2);
        assert_eq!(m.counter(names::HANDLED, &with("failed")), 1);
        assert_eq!(m.counter(names::HANDLER_RETRIES, &apply), 2);
        let reason = [(label::REASON, "handler_failed")];
        assert_eq!(m.counter(names::DEAD_LETTERED, &reason), 1);
        assert_eq!(m.counter(names::SKIPPED, &[]), 0);
        let acknowledged = m.histogram(names::HANDLER_DURATION, &with("acknowledged"));
        let failed = m.histogram(names::HANDLER_DURATION, &with("failed"));
        assert_eq!((acknowledged.len(), failed.len()), (2, 3), "one per run");
        assert!(acknowledged.iter().chain(&failed).all(|s| *s >= 0.0));
        let lag = [(label::TOPIC, topic.as_str())];
        assert_eq!(m.gauge(names::CONSUMER_LAG, &lag), Some(0.0));
        running.stop().await;
    }
}
