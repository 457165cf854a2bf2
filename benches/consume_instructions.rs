//! Instructions per consumed event, counted by callgrind (not timed): `N`
//! (default 20,000) `orchestrator.state.changed` events on librdkafka's
//! in-process mock cluster, read by an `EventConsumer` whose
//! `lifecycle = false` handler decodes the payload, as in `consume.rs`.
//! Run under `valgrind --tool=callgrind`, collecting only inside the
//! consumer's per-record fast path; the command is in benches/README.md.
use onex_events::consume::kafka::EventConsumer;
use onex_events::consume::Incoming;
use onex_events::kafka::rdkafka::mocking::MockCluster;
use onex_events::kafka::rdkafka::producer::DefaultProducerContext;
use onex_events::kafka::{KafkaConfig, OffsetReset, TopicRouting};
use onex_events::{onex_node, Event, EventType, KafkaSink, NodeIdentity, Payload, Sink, Timestamp};
use serde::Deserialize;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

#[derive(Debug, Deserialize)]
#[allow(dead_code)]
struct StateChange {
    old_state: String,
    new_state: String,
    transition_reason: String,
}

struct Quiet {
    seen: AtomicU64,
}

#[onex_node(node_type = "quiet_effect", service = "bench", namespace = "onex")]
impl Quiet {
    #[onex_handler("orchestrator.state.changed", lifecycle = false)]
    async fn on_state_change(&self, event: Incoming<StateChange>) {
        std::hint::black_box(&event.payload);
        self.seen.fetch_add(1, Ordering::Relaxed);
    }
}

fn main() {
    let n: u64 = std::env::var("N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);
    let mock: MockCluster<'static, DefaultProducerContext> = MockCluster::new(1).unwrap();
    mock.create_topic("states", 1, 1).unwrap();
    let bootstrap = mock.bootstrap_servers();
    let sink = KafkaSink::new(KafkaConfig::new(&bootstrap).topics(TopicRouting::single("states")))
        .unwrap();
    let node = Arc::new(NodeIdentity {
        node_id: "bench-orchestrator-1".to_owned(),
        node_type: "orchestrator",
        service: "workflow-orchestrator".to_owned(),
        namespace: "onex".to_owned(),
        instance_id: Uuid::new_v4(),
    });
    let correlation = Uuid::new_v4();
    for seq in 0..n {
        sink.publish(Event {
            event_id: Uuid::new_v4(),
            event_type: EventType::parse("orchestrator.state.changed").unwrap(),
            timestamp: Timestamp::now(),
            correlation_id: Some(correlation),
            causation_id: Some(Uuid::new_v4()),
            node: Arc::clone(&node),
            payload: Payload::StateChanged {
                old_state: "awaiting_validation".to_owned(),
                new_state: "validated".to_owned(),
                transition_reason: format!("{seq} workflow step validate-input finished"),
            },
            trace_parent: None,
        });
    }
    sink.flush(Duration::from_secs(60)).unwrap();
    let quiet = Arc::new(Quiet {
        seen: AtomicU64::new(0),
    });
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    if std::env::var("VARIANT").as_deref() == Ok("raw") {
        rt.block_on(raw(&bootstrap, n));
        return;
    }
    rt.block_on(async {
        let consumer = EventConsumer::builder(
            KafkaConfig::new(&bootstrap)
                .auto_offset_reset(OffsetReset::Earliest)
                .property("session.timeout.ms", "6000")
                .property("heartbeat.interval.ms", "500"),
        )
        .group("instr")
        .topic("states")
        .node(Arc::clone(&quiet))
        .build()
        .unwrap();
        let handle = consumer.shutdown_handle();
        let run = tokio::spawn(consumer.run());
        while quiet.seen.load(Ordering::Relaxed) < n {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        handle.shutdown();
        let stats = run.await.unwrap();
        eprintln!("{stats}");
    });
}

/// The bench's raw variant: each record decoded into [`Envelope`], its
/// offset stored.
#[derive(Deserialize)]
#[allow(dead_code)]
struct Envelope {
    payload: StateChange,
}

/// Raw rdkafka, as `consume.rs`'s raw variant: collect with
/// `--toggle-collect='consume_instructions::raw::{{closure}}'`.
async fn raw(bootstrap: &str, n: u64) {
    use onex_events::kafka::rdkafka::consumer::{Consumer, StreamConsumer};
    use onex_events::kafka::rdkafka::{ClientConfig, Message};
    let consumer: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", "instr-raw")
        .set("enable.auto.offset.store", "false")
        .set("auto.offset.reset", "earliest")
        .set("session.timeout.ms", "6000")
        .set("heartbeat.interval.ms", "500")
        .create()
        .unwrap();
    consumer.subscribe(&["states"]).unwrap();
    for _ in 0..n {
        let message = consumer.recv().await.unwrap();
        let envelope: Envelope =
            serde_json::from_slice(message.payload().unwrap_or_default()).unwrap();
        std::hint::black_box(&envelope.payload);
        consumer.store_offset_from_message(&message).unwrap();
    }
}
