//! Consume benchmark (issue 10). Throughput and CPU on tansu (the broker
//! at `KAFKA_BOOTSTRAP_SERVERS`), on the same records: `BENCH_RECORDS`
//! OnexEnvelopeV1 events (`orchestrator.state.changed`, about 650 bytes of
//! JSON each, written by [`RecordEncoder`] with their CloudEvents headers,
//! keyed by correlation id) on a 3-partition topic, each run reading all
//! of them in a consumer group of its own:
//!
//! - **raw**: rdkafka's `StreamConsumer` in a group,
//!   `enable.auto.offset.store=false`, `store_offset` after each message,
//!   the envelope's payload decoded with serde into [`StateChange`];
//! - **framework, lifecycle off**: `EventConsumer` serving a node whose
//!   `#[onex_handler(.., lifecycle = false)]` takes `Incoming<StateChange>`;
//! - **peer**: ruststream-rdkafka (`#[subscriber]`, `Commit::Tracked`), a
//!   handler decoding the same struct and acknowledging; a separate crate
//!   (`benches/peer-ruststream/`, built by this bench with its own lock
//!   file and target directory) run as a child process;
//! - **raw + produce**: raw, also producing two records per message (the
//!   bytes and headers of the lifecycle handler's `started` and
//!   `completed`, captured once) to a second topic;
//! - **framework, lifecycle on**: the same handler with its lifecycle
//!   events on (the default), published through a `KafkaSink` to a second
//!   topic.
//!
//! Runs alternate between the variants (`BENCH_RUNS` rounds), each in a
//! new consumer group. Throughput is measured from the first message
//! handled to the last, so the group join (about 3 s on tansu) is not in
//! it; CPU per message is the process's user + system time (`getrusage`)
//! over the same span, divided by the messages.
//!
//! Then latency and lag at a paced 10,000 events/s (`BENCH_PACED` events)
//! on each broker of `BENCH_BROKERS` (`tansu`, `mock`: librdkafka's mock
//! cluster in this process; see `support/broker.rs`), with librdkafka's
//! consumer defaults and again with `fetch.wait.max.ms` at each of
//! `BENCH_FETCH_WAIT` ms (comma-separated, default 5); `BENCH_PACED_RUNS`
//! rounds (default 1) of every broker and variant, then each figure's
//! median and range:
//! - publish-to-handler: from the moment the producer is handed a record
//!   to the moment the handler has decoded it (both in this process, one
//!   monotonic clock; the handler finds the send time by the sequence
//!   number in the payload);
//! - commit lag, the group's lag as time: every 20 ms the group's committed
//!   offset of each partition is read (`committed_offsets`, by a client of
//!   the group that does not join it); the lag of a partition is then the
//!   age of its oldest record not committed (now minus the time that record
//!   was sent, from the delivery reports), 0 when all are committed.
//!
//! ```text
//! scripts/kafka-dev.sh start
//! KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:9092 cargo bench --features kafka --bench consume
//! BENCH_BROKERS=mock BENCH_FETCH_WAIT=1,5 cargo bench --features kafka --bench consume
//! ```
//!
//! The throughput rounds run on tansu only (the mock's broker thread would
//! share the process's CPU time). `BENCH_RECORDS` (default 300,000),
//! `BENCH_RUNS` (default 7; 0: no throughput rounds), `BENCH_PACED`
//! (default 30,000; 0: none), `BENCH_VARIANTS`
//! (comma-separated subset of `raw,framework,peer,produce,lifecycle`),
//! `BENCH_PEER` (path of a built peer binary, instead of building it),
//! `BENCH_CONSUMER_PROPERTIES=k=v,k=v` (librdkafka properties of every
//! consumer, the peer's too).
//!
//! `BENCH_PREFETCH_MS=N`: the handler of each run's first message (every
//! variant's, the peer's too) waits N ms before the clock starts, so that
//! librdkafka fetches ahead meanwhile; with its queue made big enough to
//! hold the whole topic (`BENCH_CONSUMER_PROPERTIES=queued.min.messages=
//! 1000000,queued.max.messages.kbytes=1048576`) the rounds then time the
//! consuming thread alone, not the broker's pace of fetches.

#[path = "support/broker.rs"]
mod broker;
#[path = "../tests/kafka_support/mod.rs"]
mod kafka_support;
#[path = "support/usage.rs"]
mod usage;

use broker::{Broker, BrokerKind};
use kafka_support::SharedSink;
use onex_events::consume::kafka::EventConsumer;
use onex_events::consume::{EventHandlers, Incoming, ReceivedEvent, RecordHeaders, RecordParts};
use onex_events::kafka::rdkafka::config::ClientConfig;
use onex_events::kafka::rdkafka::consumer::{BaseConsumer, Consumer, StreamConsumer};
use onex_events::kafka::rdkafka::error::{KafkaError, RDKafkaErrorCode};
use onex_events::kafka::rdkafka::message::{Header, Headers, Message, OwnedHeaders};
use onex_events::kafka::rdkafka::producer::{
    BaseRecord, DeliveryResult, Producer, ProducerContext, ThreadedProducer,
};
use onex_events::kafka::rdkafka::{ClientContext, Offset, TopicPartitionList};
use onex_events::kafka::{KafkaConfig, OffsetReset, RecordEncoder, TopicRouting};
use onex_events::sink::kafka::KafkaSink;
use onex_events::{
    onex_node, Event, EventType, NodeContext, NodeIdentity, OnexNode, Payload, Publisher, Sink,
    Timestamp,
};
use serde::Deserialize;
use std::collections::HashMap;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};
use usage::Usage;
use uuid::Uuid;

/// The librdkafka properties of the sink that the raw producer copies.
const SHARED_PRODUCER_PROPERTIES: &[&str] = &[
    "enable.idempotence",
    "acks",
    "linger.ms",
    "batch.size",
    "batch.num.messages",
    "queue.buffering.max.messages",
    "queue.buffering.max.kbytes",
    "max.in.flight.requests.per.connection",
    "compression.codec",
];

/// Consumer settings of every variant: a short session, so that a group
/// forms in about 3 s on tansu rather than about 23 s.
const CONSUMER_PROPERTIES: &[(&str, &str)] = &[
    ("session.timeout.ms", "6000"),
    ("heartbeat.interval.ms", "500"),
    ("auto.offset.reset", "earliest"),
];

/// The payload of `orchestrator.state.changed`: what every variant's
/// handler decodes.
#[derive(Debug, Deserialize)]
#[allow(dead_code)] // some fields read by `black_box` only
struct StateChange {
    old_state: String,
    new_state: String,
    transition_reason: String,
}

/// The envelope as the raw consumer reads it: its payload only.
#[derive(Deserialize)]
struct Envelope {
    payload: StateChange,
}

// ------------------------------------------------------------- records --

fn bench_node() -> Arc<NodeIdentity> {
    Arc::new(NodeIdentity {
        node_id: "bench-orchestrator-1".to_owned(),
        node_type: "orchestrator",
        service: "workflow-orchestrator".to_owned(),
        namespace: "onex".to_owned(),
        instance_id: Uuid::new_v4(),
    })
}

/// Event `seq`: a state change whose `transition_reason` starts with
/// `seq`; four events per correlation id.
fn state_change(node: &Arc<NodeIdentity>, correlation: Uuid, seq: u64) -> Event {
    Event {
        event_id: Uuid::new_v4(),
        event_type: EventType::parse("orchestrator.state.changed").expect("valid type"),
        timestamp: Timestamp::now(),
        correlation_id: Some(correlation),
        causation_id: Some(Uuid::new_v4()),
        node: Arc::clone(node),
        payload: Payload::StateChanged {
            old_state: "awaiting_validation".to_owned(),
            new_state: "validated".to_owned(),
            transition_reason: format!(
                "{seq} workflow step validate-input finished: schema checked, \
                 3 intents queued for the effect node"
            ),
        },
        trace_parent: None,
    }
}

/// The sequence number a handler reads back from the payload.
fn sequence(change: &StateChange) -> Option<u64> {
    change.transition_reason.split(' ').next()?.parse().ok()
}

/// Writes `n` events to `topic`; returns the mean value size and the
/// first record.
fn fill(bootstrap: &str, topic: &str, n: u64) -> (usize, RecordParts) {
    let producer = producer(bootstrap, Deliveries::default());
    let node = bench_node();
    let mut encoder = RecordEncoder::new();
    let routing = TopicRouting::single(topic);
    let mut correlation = Uuid::new_v4();
    let mut bytes = 0;
    let mut first = RecordParts::default();
    for seq in 0..n {
        if seq % 4 == 0 {
            correlation = Uuid::new_v4();
        }
        let event = state_change(&node, correlation, seq);
        let record = encoder.encode(&event, &routing).expect("encodable");
        bytes += record.payload.len();
        if seq == 0 {
            first = record_parts(&record);
        }
        send(&producer, record.into_base_record(0));
    }
    producer
        .flush(Duration::from_secs(120))
        .expect("filling the topic");
    let delivered = producer.context().delivered.load(Ordering::Relaxed);
    assert_eq!(delivered, n, "every record of the topic delivered");
    (bytes / n.max(1) as usize, first)
}

/// A record as a consumer receives it.
fn record_parts(record: &onex_events::kafka::Record<'_>) -> RecordParts {
    let mut headers = RecordHeaders::with_capacity(record.headers.count(), 256);
    for h in record.headers.iter() {
        headers.push(h.key, h.value);
    }
    RecordParts {
        topic: Arc::from(record.topic),
        partition: 0,
        offset: 0,
        key: Some(record.key.to_vec()),
        value: record.payload.to_vec(),
        headers,
    }
}

// -------------------------------------------------------------- producer --

/// Delivery reports: a count, and optionally the send time of each
/// (partition, offset), for the lag.
#[derive(Default)]
struct Deliveries {
    delivered: AtomicU64,
    failed: AtomicU64,
    /// `(partition, offset)` to nanoseconds since [`epoch`] of the send.
    sent_at: Option<Mutex<HashMap<(i32, i64), u64>>>,
}

impl ClientContext for Deliveries {}

impl ProducerContext for Deliveries {
    type DeliveryOpaque = usize;

    fn delivery(&self, result: &DeliveryResult<'_>, sent_at: usize) {
        match result {
            Ok(m) => {
                self.delivered.fetch_add(1, Ordering::Relaxed);
                if let Some(map) = &self.sent_at {
                    map.lock()
                        .unwrap()
                        .insert((m.partition(), m.offset()), sent_at as u64);
                }
            }
            Err(_) => {
                self.failed.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

/// A producer with the sink's settings (its own polling thread).
fn producer(bootstrap: &str, context: Deliveries) -> ThreadedProducer<Deliveries> {
    let sink = KafkaConfig::new(bootstrap);
    let mut config = ClientConfig::new();
    config.set("bootstrap.servers", bootstrap);
    for key in SHARED_PRODUCER_PROPERTIES {
        if let Some(value) = sink.get(key) {
            config.set(*key, value);
        }
    }
    config.create_with_context(context).expect("producer")
}

/// Sends `record`, waiting while the producer's queue is full.
fn send(producer: &ThreadedProducer<Deliveries>, mut record: BaseRecord<'_, [u8], [u8], usize>) {
    loop {
        match producer.send(record) {
            Ok(()) => return,
            Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), r)) => {
                record = r;
                std::thread::sleep(Duration::from_micros(200));
            }
            Err((e, _)) => panic!("send: {e}"),
        }
    }
}

/// One prepared record: key, value, and the text of its headers.
struct PreparedRecord {
    key: Vec<u8>,
    value: Vec<u8>,
    headers: Vec<(String, Vec<u8>)>,
}

/// An operation's two events, as records: what the raw consume-plus-produce
/// variant sends per message.
struct Lifecycle {
    records: Vec<PreparedRecord>,
}

/// Keeps every event.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<Event>>>);

impl Sink for Capture {
    fn publish(&self, event: Event) {
        self.0.lock().unwrap().push(event);
    }

    fn name(&self) -> &'static str {
        "capture"
    }
}

impl Lifecycle {
    /// The `started` and `completed` of the lifecycle-on handler, run once
    /// on `record` with a capturing publisher.
    fn capture(record: RecordParts) -> Self {
        let capture = Capture::default();
        let node = Arc::new(EffectNode::new(
            Publisher::new(capture.clone()),
            Probe::new(1, false),
        ));
        let event = Arc::new(ReceivedEvent::decode(record).expect("an envelope"));
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
            .block_on(node.handle(0, event));
        let events = std::mem::take(&mut *capture.0.lock().unwrap());
        assert_eq!(events.len(), 2, "started and completed");
        let mut encoder = RecordEncoder::new();
        let routing = TopicRouting::default();
        let records = events
            .iter()
            .map(|e| {
                let r = encoder.encode(e, &routing).expect("encodable");
                let headers = onex_events::kafka::headers::cloudevents_headers(e)
                    .iter()
                    .map(|h| (h.key.to_owned(), h.value.unwrap_or_default().to_vec()))
                    .collect();
                PreparedRecord {
                    key: r.key.to_vec(),
                    value: r.payload.to_vec(),
                    headers,
                }
            })
            .collect();
        Lifecycle { records }
    }

    fn send_all(&self, producer: &ThreadedProducer<Deliveries>, topic: &str) {
        for PreparedRecord {
            key,
            value,
            headers,
        } in &self.records
        {
            let headers = headers.iter().fold(
                OwnedHeaders::new_with_capacity(headers.len()),
                |h, (key, value)| {
                    h.insert(Header {
                        key,
                        value: Some(value),
                    })
                },
            );
            let record = BaseRecord::with_opaque_to(topic, 0)
                .key(&key[..])
                .payload(&value[..])
                .headers(headers);
            send(producer, record);
        }
    }
}

// ------------------------------------------------------------- framework --

/// The framework's handler with its lifecycle events off: decodes the
/// payload (`Incoming<StateChange>`) and reports to the probe.
#[derive(OnexNode)]
struct QuietEffectNode {
    ctx: NodeContext,
    probe: Arc<Probe>,
}

#[onex_node(node_type = "quiet_effect", service = "bench", namespace = "onex")]
impl QuietEffectNode {
    #[onex_handler("orchestrator.state.changed", lifecycle = false)]
    async fn on_state_change(&self, event: Incoming<StateChange>) {
        self.probe.handled(&event.payload);
    }
}

/// The handler with its lifecycle events on (the default): each
/// handled event also publishes `effect.on_state_change.started` and
/// `.completed`.
#[derive(OnexNode)]
struct EffectNode {
    ctx: NodeContext,
    probe: Arc<Probe>,
}

#[onex_node(node_type = "effect", service = "bench", namespace = "onex")]
impl EffectNode {
    #[onex_handler("orchestrator.state.changed")]
    async fn on_state_change(&self, event: Incoming<StateChange>) {
        self.probe.handled(&event.payload);
    }
}

impl QuietEffectNode {
    fn new(probe: Arc<Probe>) -> Self {
        let ctx = NodeContext::builder::<QuietEffectNode>()
            .node_id("bench-quiet-effect-1")
            .publisher(Publisher::new(Noop))
            .build()
            .expect("valid node context");
        QuietEffectNode { ctx, probe }
    }
}

impl EffectNode {
    fn new(publisher: Publisher, probe: Arc<Probe>) -> Self {
        let ctx = NodeContext::builder::<EffectNode>()
            .node_id("bench-effect-1")
            .publisher(publisher)
            .build()
            .expect("valid node context");
        EffectNode { ctx, probe }
    }
}

/// Drops every event.
struct Noop;

impl Sink for Noop {
    fn publish(&self, event: Event) {
        black_box(&event);
    }

    fn name(&self) -> &'static str {
        "noop"
    }
}

/// The consumer of `onex-events` serving `node` on `topic` in `group`,
/// until the probe has seen every message; then shut down gracefully.
async fn framework<N: EventHandlers>(
    bootstrap: &str,
    topic: &str,
    group: &str,
    node: Arc<N>,
    probe: &Probe,
) {
    let config = CONSUMER_PROPERTIES
        .iter()
        .filter(|(k, _)| *k != "auto.offset.reset")
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .chain(extra_consumer_properties())
        .fold(KafkaConfig::new(bootstrap), |c, (k, v)| c.property(k, v))
        .auto_offset_reset(OffsetReset::Earliest);
    let consumer = EventConsumer::builder(config)
        .node(node)
        .group(group)
        .topic(topic)
        .build()
        .expect("consumer");
    let handle = consumer.shutdown_handle();
    let run = tokio::spawn(consumer.run());
    probe.finished().await;
    handle.shutdown();
    let stats = run.await.expect("the consumer ran");
    assert!(stats.handled >= probe.expected, "consumer stats: {stats:?}");
}

/// A `KafkaSink` publisher to `topic`, with the sink shared.
fn sink_publisher(bootstrap: &str, topic: &str) -> (Publisher, Arc<KafkaSink>) {
    let sink = Arc::new(
        KafkaSink::new(KafkaConfig::new(bootstrap).topics(TopicRouting::single(topic)))
            .expect("sink"),
    );
    (Publisher::new(SharedSink(Arc::clone(&sink))), sink)
}

// ----------------------------------------------------------------- probe --

/// What every variant's handler reports to: counts, the span from the
/// first message to the last, and (paced runs) each latency.
struct Probe {
    expected: u64,
    handled: AtomicU64,
    first: OnceLock<(Instant, Usage)>,
    last: Mutex<Option<(Instant, Usage)>>,
    done: tokio::sync::Notify,
    /// Paced runs: the send time of each sequence number, nanoseconds since
    /// [`epoch`] (0 = not sent yet), and the latencies measured.
    sent: Option<Vec<AtomicU64>>,
    latencies: Mutex<Vec<u64>>,
}

impl Probe {
    fn new(expected: u64, paced: bool) -> Arc<Self> {
        Arc::new(Probe {
            expected,
            handled: AtomicU64::new(0),
            first: OnceLock::new(),
            last: Mutex::new(None),
            done: tokio::sync::Notify::new(),
            sent: paced.then(|| (0..expected).map(|_| AtomicU64::new(0)).collect()),
            latencies: Mutex::new(Vec::with_capacity(if paced {
                expected as usize
            } else {
                0
            })),
        })
    }

    /// A handler decoded `change`.
    #[inline]
    fn handled(&self, change: &StateChange) {
        black_box(change);
        if let Some(sent) = &self.sent {
            let now = now_ns();
            match sequence(change).and_then(|s| sent.get(s as usize)) {
                Some(at) => {
                    let at = at.load(Ordering::Relaxed);
                    self.latencies.lock().unwrap().push(now.saturating_sub(at));
                }
                // The warm-up record: not counted.
                None => {
                    self.done.notify_waiters();
                    return;
                }
            }
        }
        let n = self.handled.fetch_add(1, Ordering::Relaxed) + 1;
        if n == 1 {
            if self.sent.is_none() {
                prefetch_pause();
            }
            let _ = self.first.set((Instant::now(), Usage::now()));
        }
        if n == self.expected {
            *self.last.lock().unwrap() = Some((Instant::now(), Usage::now()));
            self.done.notify_one();
        }
    }

    /// Waits until the expected messages are handled.
    async fn finished(&self) {
        while self.handled.load(Ordering::Relaxed) < self.expected {
            let _ = tokio::time::timeout(Duration::from_millis(100), self.done.notified()).await;
        }
    }

    fn result(&self) -> Run {
        let (t0, c0) = *self.first.get().expect("a first message");
        let (t1, c1) = self.last.lock().unwrap().expect("a last message");
        // The first message's own handling is before the span: count the others.
        let n = self.expected - 1;
        Run {
            rate: n as f64 / (t1 - t0).as_secs_f64().max(1e-9),
            cpu_ns: (c1.cpu - c0.cpu).as_nanos() as f64 / n as f64,
            switches: (c1.switches - c0.switches) as f64 * 1e3 / n as f64,
        }
    }
}

/// `BENCH_PREFETCH_MS`: how long the first message's handler waits (on
/// its thread, blocking it) while librdkafka fetches ahead.
fn prefetch_pause() {
    let ms = env_u64("BENCH_PREFETCH_MS", 0);
    if ms > 0 {
        std::thread::sleep(Duration::from_millis(ms));
    }
}

fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

fn now_ns() -> u64 {
    epoch().elapsed().as_nanos() as u64
}

// ------------------------------------------------------------------ runs --

#[derive(Debug, Clone, Copy)]
struct Run {
    rate: f64,
    cpu_ns: f64,
    /// Context switches of the process per 1,000 messages.
    switches: f64,
}

fn consumer_config(bootstrap: &str, group: &str) -> ClientConfig {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", bootstrap)
        .set("group.id", group)
        .set("enable.auto.offset.store", "false");
    for (k, v) in CONSUMER_PROPERTIES {
        config.set(*k, *v);
    }
    for (k, v) in extra_consumer_properties() {
        config.set(k, v);
    }
    config
}

/// librdkafka properties set on every consumer, after
/// [`CONSUMER_PROPERTIES`]: `BENCH_CONSUMER_PROPERTIES=k=v,k=v` (the
/// peer's too), and `fetch.wait.max.ms` in the later passes of paced runs.
static EXTRA_CONSUMER_PROPERTIES: Mutex<Vec<(String, String)>> = Mutex::new(Vec::new());

fn extra_consumer_properties() -> Vec<(String, String)> {
    EXTRA_CONSUMER_PROPERTIES.lock().unwrap().clone()
}

fn read_consumer_properties() {
    let from_env = std::env::var("BENCH_CONSUMER_PROPERTIES")
        .unwrap_or_default()
        .split(',')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    *EXTRA_CONSUMER_PROPERTIES.lock().unwrap() = from_env;
}

/// The raw consumer: decode, `store_offset` after each message; with
/// `produce`, also the two lifecycle records per message. Stored offsets
/// are committed every 500 ms, as the framework's consumer does.
async fn raw(
    bootstrap: &str,
    topic: &str,
    group: &str,
    probe: &Probe,
    produce: Option<(&Lifecycle, &ThreadedProducer<Deliveries>, &str)>,
) {
    let consumer: StreamConsumer = consumer_config(bootstrap, group)
        .set("auto.commit.interval.ms", "500")
        .create()
        .expect("consumer");
    consumer.subscribe(&[topic]).expect("subscribe");
    while probe.handled.load(Ordering::Relaxed) < probe.expected {
        let message = match consumer.recv().await {
            Ok(m) => m,
            Err(e) => panic!("raw consumer: {e}"),
        };
        let envelope: Envelope =
            serde_json::from_slice(message.payload().unwrap_or_default()).expect("an envelope");
        if let Some((lifecycle, producer, out)) = produce {
            lifecycle.send_all(producer, out);
        }
        probe.handled(&envelope.payload);
        consumer
            .store_offset_from_message(&message)
            .expect("store_offset");
    }
}

/// Builds the peer (unless `BENCH_PEER` names a binary) and returns its path.
fn peer_binary() -> Option<PathBuf> {
    if let Ok(path) = std::env::var("BENCH_PEER") {
        return Some(path.into());
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"))
        .join("peer-ruststream");
    let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()))
        .args(["build", "--release", "--manifest-path"])
        .arg(root.join("benches/peer-ruststream/Cargo.toml"))
        .arg("--target-dir")
        .arg(&target)
        .status();
    match status {
        Ok(s) if s.success() => Some(target.join("release/peer-ruststream")),
        other => {
            println!("peer-ruststream did not build ({other:?}); its runs are left out");
            None
        }
    }
}

#[derive(Deserialize)]
struct PeerReport {
    handled: u64,
    rate: f64,
    cpu_us: u64,
    switches: u64,
}

fn peer(binary: &Path, bootstrap: &str, topic: &str, group: &str, expected: u64) -> Run {
    let out = Command::new(binary)
        .args([bootstrap, topic, group, &expected.to_string()])
        .arg(
            extra_consumer_properties()
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(","),
        )
        .output()
        .expect("the peer runs");
    assert!(
        out.status.success(),
        "peer failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().last().unwrap_or_default();
    let report: PeerReport = serde_json::from_str(line).expect("the peer's JSON line");
    assert_eq!(report.handled, expected);
    Run {
        rate: report.rate,
        cpu_ns: report.cpu_us as f64 * 1e3 / (expected - 1) as f64,
        switches: report.switches as f64 * 1e3 / (expected - 1) as f64,
    }
}

// ----------------------------------------------------------- latency/lag --

/// Samples the group's committed offsets every 20 ms until `stop`; returns
/// the lag samples (nanoseconds) of every partition.
fn watch_lag(
    bootstrap: &str,
    topic: &str,
    group: &str,
    sent_at: &Deliveries,
    from: u64,
    stop: &AtomicBool,
) -> Vec<u64> {
    let watcher: BaseConsumer = consumer_config(bootstrap, group)
        .create()
        .expect("lag watcher");
    let mut partitions = TopicPartitionList::new();
    for p in 0..3 {
        partitions.add_partition(topic, p);
    }
    let map = sent_at.sent_at.as_ref().expect("send times kept");
    let mut samples = Vec::new();
    while !stop.load(Ordering::Relaxed) {
        std::thread::sleep(Duration::from_millis(20));
        let Ok(committed) = watcher.committed_offsets(partitions.clone(), Duration::from_secs(1))
        else {
            continue;
        };
        let now = now_ns();
        let sent = map.lock().unwrap();
        for e in committed.elements() {
            let next = match e.offset() {
                Offset::Offset(o) => o,
                _ => 0,
            };
            // The oldest record not committed, if it was sent yet (and is
            // not the warm-up record, sent before the paced ones).
            let lag = match sent.get(&(e.partition(), next)) {
                Some(at) if *at >= from => now.saturating_sub(*at),
                _ => 0,
            };
            samples.push(lag);
        }
    }
    samples
}

#[derive(Clone, Copy)]
struct Paced {
    p50: u64,
    p95: u64,
    p99: u64,
    lag_p99: u64,
    lag_max: u64,
}

/// Publishes `n` events at `rate`/s while `consume` handles them.
fn paced<F, Fut>(
    broker: &Broker,
    n: u64,
    rate: u64,
    rt: &tokio::runtime::Runtime,
    consume: F,
) -> Paced
where
    F: FnOnce(String, String, String, Arc<Probe>) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let topic = format!("onex-bench-paced.{}", short_id());
    let group = format!("bench-paced-{}", short_id());
    let bootstrap = broker.bootstrap();
    broker.create_topic(&topic, 3);
    let probe = Probe::new(n, true);
    let deliveries = Deliveries {
        sent_at: Some(Mutex::new(HashMap::with_capacity(n as usize))),
        ..Deliveries::default()
    };
    let producer = producer(bootstrap, deliveries);
    let consumer = rt.spawn(consume(
        bootstrap.to_owned(),
        topic.clone(),
        group.clone(),
        Arc::clone(&probe),
    ));
    let node = bench_node();
    let routing = TopicRouting::single(&topic);
    let mut encoder = RecordEncoder::new();
    // A warm-up record (its sequence number out of range), to wait for the
    // group to form before the paced records.
    let warm_up = state_change(&node, Uuid::new_v4(), u64::MAX);
    let ready = probe.done.notified();
    send(
        &producer,
        encoder
            .encode(&warm_up, &routing)
            .expect("encodable")
            .into_base_record(0),
    );
    rt.block_on(async {
        tokio::time::timeout(Duration::from_secs(60), ready)
            .await
            .expect("the consumer joined within 60 s")
    });
    let stop = AtomicBool::new(false);
    let lag = std::thread::scope(|s| {
        let start = Instant::now();
        let from = now_ns();
        let (topic, group, deliveries, stop) = (&topic, &group, producer.context(), &stop);
        let watcher = s.spawn(move || watch_lag(bootstrap, topic, group, deliveries, from, stop));
        let sent = probe.sent.as_ref().expect("paced");
        let mut correlation = Uuid::new_v4();
        for seq in 0..n {
            let due = start + Duration::from_nanos(seq * 1_000_000_000 / rate);
            while Instant::now() < due {
                std::hint::spin_loop();
            }
            if seq % 4 == 0 {
                correlation = Uuid::new_v4();
            }
            let event = state_change(&node, correlation, seq);
            let record = encoder.encode(&event, &routing).expect("encodable");
            let at = now_ns();
            sent[seq as usize].store(at, Ordering::Relaxed);
            send(&producer, record.into_base_record(at as usize));
        }
        rt.block_on(async {
            tokio::time::timeout(Duration::from_secs(60), probe.finished())
                .await
                .expect("every paced event handled within 60 s")
        });
        stop.store(true, Ordering::Relaxed);
        watcher.join().expect("lag watcher")
    });
    let _ = rt.block_on(consumer);
    let latencies = std::mem::take(&mut *probe.latencies.lock().unwrap());
    let [p50, p95, p99] = percentiles(latencies, [0.50, 0.95, 0.99]);
    let lag = percentiles(lag, [0.99, 1.0, 1.0]);
    Paced {
        p50,
        p95,
        p99,
        lag_p99: lag[0],
        lag_max: lag[1],
    }
}

fn percentiles(mut v: Vec<u64>, ps: [f64; 3]) -> [u64; 3] {
    v.sort_unstable();
    if v.is_empty() {
        return [0; 3];
    }
    ps.map(|p| v[((v.len() as f64 * p) as usize).min(v.len() - 1)])
}

fn short_id() -> String {
    Uuid::new_v4().simple().to_string()[..8].to_owned()
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

fn ms(ns: u64) -> String {
    format!("{:.2} ms", ns as f64 / 1e6)
}

// ------------------------------------------------------------------ main --

fn main() {
    let brokers = BrokerKind::under_test();
    if brokers.is_empty() {
        println!(
            "consume bench skipped: KAFKA_BOOTSTRAP_SERVERS is not set (scripts/kafka-dev.sh start), \
             nor BENCH_BROKERS=mock"
        );
        return;
    }
    let n = env_u64("BENCH_RECORDS", 300_000).max(2);
    let runs = env_u64("BENCH_RUNS", 7);
    let paced_n = env_u64("BENCH_PACED", 30_000);
    let paced_rounds = env_u64("BENCH_PACED_RUNS", 1).max(1);
    let wanted = std::env::var("BENCH_VARIANTS")
        .unwrap_or_else(|_| "raw,framework,peer,produce,lifecycle".to_owned());
    let wants = |v: &str| wanted.split(',').any(|w| w.trim() == v);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    epoch();
    read_consumer_properties();

    if runs > 0 && brokers.contains(&BrokerKind::Tansu) {
        throughput_rounds(&BrokerKind::Tansu.start(), n, runs, &rt, &wants);
    } else if runs > 0 {
        println!("throughput rounds not run: on the mock cluster its broker would share this process's CPU");
    }

    if paced_n < 2 {
        return;
    }
    let brokers: Vec<Broker> = brokers.into_iter().map(BrokerKind::start).collect();
    let short_waits = std::env::var("BENCH_FETCH_WAIT").unwrap_or_else(|_| "5".to_owned());
    let fetch_waits = std::iter::once(None).chain(
        short_waits
            .split(',')
            .map(|ms| Some(ms.trim().to_owned()))
            .filter(|ms| ms.as_deref() != Some("")),
    );
    let from_env = extra_consumer_properties();
    for fetch_wait in fetch_waits {
        let mut properties = from_env.clone();
        properties.extend(fetch_wait.map(|ms| ("fetch.wait.max.ms".to_owned(), ms)));
        *EXTRA_CONSUMER_PROPERTIES.lock().unwrap() = properties;
        paced_rounds_at(&brokers, paced_n, paced_rounds, &rt, &wants);
    }
}

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The throughput and CPU rounds, variants alternating, on `broker`.
fn throughput_rounds(
    broker: &Broker,
    n: u64,
    runs: u64,
    rt: &tokio::runtime::Runtime,
    wants: &dyn Fn(&str) -> bool,
) {
    let bootstrap = broker.bootstrap();
    let peer_bin = if wants("peer") { peer_binary() } else { None };
    let topic = format!("onex-bench-consume.{}", short_id());
    broker.create_topic(&topic, 3);
    let (bytes, first) = fill(bootstrap, &topic, n);
    let lifecycle = Lifecycle::capture(first);
    let lifecycle_bytes: Vec<usize> = lifecycle.records.iter().map(|r| r.value.len()).collect();
    println!(
        "consume bench: {n} records (~{bytes} bytes of JSON each) on {topic} at {bootstrap} \
         ({}, 3 partitions); {runs} rounds, variants alternating; lifecycle records of \
         {lifecycle_bytes:?} bytes; load average {}",
        broker.name(),
        load_average()
    );

    let mut names: Vec<&str> = Vec::new();
    let mut results: Vec<Vec<Run>> = Vec::new();
    let slot = |name: &'static str, names: &mut Vec<&str>, results: &mut Vec<Vec<Run>>| {
        if let Some(i) = names.iter().position(|n| *n == name) {
            i
        } else {
            names.push(name);
            results.push(Vec::new());
            names.len() - 1
        }
    };
    let mut loads = Vec::new();
    for round in 0..runs {
        if wants("raw") {
            let probe = Probe::new(n, false);
            let group = format!("bench-raw-{}", short_id());
            rt.block_on(raw(bootstrap, &topic, &group, &probe, None));
            let i = slot("raw", &mut names, &mut results);
            results[i].push(probe.result());
        }
        if wants("framework") {
            let probe = Probe::new(n, false);
            let group = format!("bench-framework-{}", short_id());
            let node = Arc::new(QuietEffectNode::new(Arc::clone(&probe)));
            rt.block_on(framework(bootstrap, &topic, &group, node, &probe));
            let i = slot("framework, lifecycle off", &mut names, &mut results);
            results[i].push(probe.result());
        }
        if let Some(bin) = &peer_bin {
            let group = format!("bench-peer-{}", short_id());
            let run = peer(bin, bootstrap, &topic, &group, n);
            let i = slot("peer", &mut names, &mut results);
            results[i].push(run);
        }
        if wants("produce") {
            let out = format!("onex-bench-lifecycle.{}", short_id());
            broker.create_topic(&out, 3);
            let producer = producer(bootstrap, Deliveries::default());
            let probe = Probe::new(n, false);
            let group = format!("bench-produce-{}", short_id());
            rt.block_on(raw(
                bootstrap,
                &topic,
                &group,
                &probe,
                Some((&lifecycle, &producer, &out)),
            ));
            let i = slot("raw + produce", &mut names, &mut results);
            results[i].push(probe.result());
            producer
                .flush(Duration::from_secs(120))
                .expect("lifecycle records flushed");
            let delivered = producer.context().delivered.load(Ordering::Relaxed);
            assert_eq!(delivered, 2 * n, "every lifecycle record delivered");
            drop(producer);
            broker.delete_topic(&out);
        }
        if wants("lifecycle") {
            let out = format!("onex-bench-lifecycle.{}", short_id());
            broker.create_topic(&out, 3);
            let (publisher, sink) = sink_publisher(bootstrap, &out);
            let probe = Probe::new(n, false);
            let group = format!("bench-lifecycle-{}", short_id());
            let node = Arc::new(EffectNode::new(publisher.clone(), Arc::clone(&probe)));
            rt.block_on(framework(bootstrap, &topic, &group, node, &probe));
            let i = slot("framework, lifecycle on", &mut names, &mut results);
            results[i].push(probe.result());
            publisher
                .flush(Duration::from_secs(120))
                .expect("lifecycle events flushed");
            let stats = sink.stats();
            assert!(
                stats.delivered >= 2 * n,
                "every lifecycle event delivered: {stats:?}"
            );
            drop(publisher);
            drop(sink);
            broker.delete_topic(&out);
        }
        let load = load_average();
        println!(
            "round {}: {} (load average {load})",
            round + 1,
            names
                .iter()
                .zip(&results)
                .map(|(n, r)| format!("{n} {:.0}/s", r.last().map_or(0.0, |r| r.rate)))
                .collect::<Vec<_>>()
                .join(", ")
        );
        loads.push(load);
    }

    println!(
        "\n| variant | events/s median | range | CPU µs/msg median | range | switches per 1,000 msgs median |"
    );
    println!("|---|---:|---:|---:|---:|---:|");
    let medians: Vec<Run> = results.iter().map(|r| median(r)).collect();
    for (i, name) in names.iter().enumerate() {
        let rates: Vec<f64> = results[i].iter().map(|r| r.rate).collect();
        let cpus: Vec<f64> = results[i].iter().map(|r| r.cpu_ns / 1e3).collect();
        println!(
            "| {name} | {:.0} | {:.0}–{:.0} | {:.3} | {:.3}–{:.3} | {:.1} |",
            medians[i].rate,
            min(&rates),
            max(&rates),
            medians[i].cpu_ns / 1e3,
            min(&cpus),
            max(&cpus),
            medians[i].switches
        );
    }
    let by = |name: &str| names.iter().position(|n| *n == name);
    println!();
    for (a, b) in [
        ("framework, lifecycle off", "raw"),
        ("peer", "raw"),
        ("framework, lifecycle off", "peer"),
        ("framework, lifecycle on", "raw + produce"),
    ] {
        if let (Some(x), Some(y)) = (by(a), by(b)) {
            let rounds = results[x].iter().zip(&results[y]);
            let per_round: Vec<String> = rounds
                .clone()
                .map(|(x, y)| format!("{:.2}", x.rate / y.rate))
                .collect();
            let faster = rounds.clone().filter(|(x, y)| x.rate > y.rate).count();
            let leaner = rounds.clone().filter(|(x, y)| x.cpu_ns < y.cpu_ns).count();
            println!(
                "{a} / {b}: {:.2}x (per round {per_round:?}; faster in {faster} of {n}); \
                 CPU over {b}: {:+.3} µs/msg (less CPU in {leaner} of {n})",
                medians[x].rate / medians[y].rate,
                (medians[x].cpu_ns - medians[y].cpu_ns) / 1e3,
                n = per_round.len(),
            );
        }
    }
    println!("load averages after each round: {loads:?}");
}

/// `rounds` rounds of latency and lag at 10,000 events/s, each of every
/// broker and variant wanted, with the consumer properties set now; then
/// the median and range of each figure.
fn paced_rounds_at(
    brokers: &[Broker],
    paced_n: u64,
    rounds: u64,
    rt: &tokio::runtime::Runtime,
    wants: &dyn Fn(&str) -> bool,
) {
    println!(
        "\n| at 10,000 events/s, {paced_n} events; extra consumer properties {:?} | publish→handler p50 | p95 | p99 | commit lag p99 | max |",
        extra_consumer_properties()
    );
    println!("|---|---:|---:|---:|---:|---:|");
    let mut figures: Vec<(String, Vec<Paced>)> = Vec::new();
    for _ in 0..rounds {
        for broker in brokers {
            for (variant, p) in paced_variants(broker, paced_n, rt, wants) {
                let name = format!("{}, {variant}", broker.name());
                println!(
                    "| {name} | {} | {} | {} | {} | {} |",
                    ms(p.p50),
                    ms(p.p95),
                    ms(p.p99),
                    ms(p.lag_p99),
                    ms(p.lag_max)
                );
                match figures.iter_mut().find(|(n, _)| *n == name) {
                    Some((_, runs)) => runs.push(p),
                    None => figures.push((name, vec![p])),
                }
            }
        }
    }
    println!("load average {}", load_average());
    if rounds < 2 {
        return;
    }
    println!(
        "\n| {rounds} rounds: median (range) | publish→handler p50 | p95 | p99 | commit lag p99 |"
    );
    println!("|---|---:|---:|---:|---:|");
    for (name, runs) in &figures {
        let figure = |f: fn(&Paced) -> u64| {
            let mut v: Vec<u64> = runs.iter().map(f).collect();
            v.sort_unstable();
            format!(
                "{:.2} ({:.2}–{:.2})",
                v[v.len() / 2] as f64 / 1e6,
                v[0] as f64 / 1e6,
                v[v.len() - 1] as f64 / 1e6
            )
        };
        println!(
            "| {name} | {} | {} | {} | {} |",
            figure(|p| p.p50),
            figure(|p| p.p95),
            figure(|p| p.p99),
            figure(|p| p.lag_p99)
        );
    }
}

/// Latency and lag at 10,000 events/s on `broker`, of each variant wanted.
fn paced_variants(
    broker: &Broker,
    paced_n: u64,
    rt: &tokio::runtime::Runtime,
    wants: &dyn Fn(&str) -> bool,
) -> Vec<(&'static str, Paced)> {
    let mut figures = Vec::new();
    if wants("raw") {
        let p = paced(broker, paced_n, 10_000, rt, |b, t, g, probe| async move {
            raw(&b, &t, &g, &probe, None).await;
        });
        figures.push(("raw", p));
    }
    if wants("framework") {
        let p = paced(broker, paced_n, 10_000, rt, |b, t, g, probe| async move {
            let node = Arc::new(QuietEffectNode::new(Arc::clone(&probe)));
            framework(&b, &t, &g, node, &probe).await;
        });
        figures.push(("framework, lifecycle off", p));
    }
    if wants("lifecycle") {
        let out = format!("onex-bench-lifecycle.{}", short_id());
        broker.create_topic(&out, 3);
        let target = out.clone();
        let p = paced(broker, paced_n, 10_000, rt, |b, t, g, probe| async move {
            let (publisher, _sink) = sink_publisher(&b, &target);
            let node = Arc::new(EffectNode::new(publisher.clone(), Arc::clone(&probe)));
            framework(&b, &t, &g, node, &probe).await;
            let _ = publisher.flush(Duration::from_secs(30));
        });
        figures.push(("framework, lifecycle on", p));
        broker.delete_topic(&out);
    }
    figures
}

fn median(runs: &[Run]) -> Run {
    let mut rates: Vec<Run> = runs.to_vec();
    rates.sort_by(|a, b| a.rate.total_cmp(&b.rate));
    let mut cpus: Vec<f64> = runs.iter().map(|r| r.cpu_ns).collect();
    cpus.sort_by(f64::total_cmp);
    let mut switches: Vec<f64> = runs.iter().map(|r| r.switches).collect();
    switches.sort_by(f64::total_cmp);
    Run {
        rate: rates[rates.len() / 2].rate,
        cpu_ns: cpus[cpus.len() / 2],
        switches: switches[switches.len() / 2],
    }
}

fn min(v: &[f64]) -> f64 {
    v.iter().copied().fold(f64::INFINITY, f64::min)
}

fn max(v: &[f64]) -> f64 {
    v.iter().copied().fold(0.0, f64::max)
}
