//! W3C trace context (feature `opentelemetry`): every event of an operation
//! carries the OpenTelemetry span context current when it started, and the
//! Kafka sink sends it as the `traceparent` header, never in the envelope.
#![cfg(feature = "opentelemetry")]

use onex_events::{onex_node, NodeContext, OnexNode, Publisher, Recorder, TraceParent};
use opentelemetry::trace::{
    FutureExt, SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState,
};
use opentelemetry::Context;

const TRACEPARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

#[derive(OnexNode)]
struct Node {
    ctx: NodeContext,
}

#[onex_node("effect")]
impl Node {
    #[onex_operation("write")]
    async fn write(&self) -> Result<u32, std::io::Error> {
        tokio::task::yield_now().await;
        self.ctx.state_changed("idle", "writing", "write started");
        Ok(1)
    }
}

fn node(publisher: Publisher) -> Node {
    let ctx = NodeContext::builder::<Node>()
        .publisher(publisher)
        .build()
        .unwrap();
    Node { ctx }
}

/// An OpenTelemetry context whose current span is the remote parent
/// `TRACEPARENT` (as a propagator extracts it from an incoming request).
fn traced() -> Context {
    let tp: TraceParent = TRACEPARENT.parse().unwrap();
    let span = SpanContext::new(
        TraceId::from_bytes(tp.trace_id()),
        SpanId::from_bytes(tp.parent_id()),
        TraceFlags::SAMPLED,
        true,
        TraceState::default(),
    );
    Context::current().with_remote_span_context(span)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn every_event_of_an_operation_carries_the_span_context_in_scope() {
    let recorder = Recorder::new();
    let node = node(Publisher::new(recorder.clone()));
    runtime()
        .block_on(node.write().with_context(traced()))
        .unwrap();
    let events = recorder.events();
    assert_eq!(events.len(), 3);
    for e in &events {
        let tp = e.trace_parent.map(|tp| tp.to_string());
        assert_eq!(tp.as_deref(), Some(TRACEPARENT), "{}", e.event_type);
        assert!(!e.to_json().to_string().contains("4bf92f35"));
    }
}

#[test]
fn without_a_span_context_events_carry_none() {
    let recorder = Recorder::new();
    let node = node(Publisher::new(recorder.clone()));
    runtime().block_on(node.write()).unwrap();
    assert!(recorder.events().iter().all(|e| e.trace_parent.is_none()));
}

#[cfg(feature = "kafka")]
#[test]
fn kafka_records_carry_the_traceparent_header() {
    #[path = "kafka_support/mod.rs"]
    mod kafka_support;
    use onex_events::kafka::rdkafka::mocking::MockCluster;
    use onex_events::kafka::rdkafka::producer::DefaultProducerContext;
    use onex_events::kafka::{KafkaConfig, TopicRouting};
    use onex_events::KafkaSink;
    use std::time::Duration;

    let mock: MockCluster<'static, DefaultProducerContext> = MockCluster::new(1).unwrap();
    mock.create_topic("traced", 1, 1).unwrap();
    let sink = KafkaSink::new(
        KafkaConfig::new(mock.bootstrap_servers()).topics(TopicRouting::single("traced")),
    )
    .unwrap();
    let publisher = Publisher::new(sink);
    let node = node(publisher.clone());
    runtime()
        .block_on(node.write().with_context(traced()))
        .unwrap();
    runtime().block_on(node.write()).unwrap();
    publisher.flush(Duration::from_secs(10)).unwrap();

    let records = kafka_support::consume(
        &mock.bootstrap_servers(),
        "traced",
        6,
        Duration::from_secs(10),
    );
    assert_eq!(records.len(), 6);
    let traced: Vec<Option<&str>> = records
        .iter()
        .map(|r| r.headers.get("traceparent").map(String::as_str))
        .collect();
    assert_eq!(traced[..3], [Some(TRACEPARENT); 3]);
    assert_eq!(traced[3..], [None; 3]);
}
