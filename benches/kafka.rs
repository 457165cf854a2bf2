//! Kafka transport benchmark, in one run on a real broker:
//!
//! - throughput and enqueue → broker-ack latency of annotated operations
//!   publishing through `KafkaSink`, against raw
//!   `rdkafka::producer::BaseProducer` sending the same bytes with the same
//!   keys (captured from the same operations), without and with the
//!   sink's CloudEvents headers (their text prepared beforehand, untimed;
//!   the `OwnedHeaders` built at each send, as `send` consumes them);
//! - the same at a paced 10,000 events/s;
//! - the duration of an annotated operation with a no-op sink, with
//!   `KafkaSink` and the broker up, and with the broker down.
//!
//! Raw and sink producers get the same librdkafka settings: the sink's
//! defaults (`enable.idempotence`, `acks=all`, `linger.ms`, queue limits).
//! Cases are interleaved round by round (`BENCH_ROUNDS`, default 3) so that
//! the shared machine's drift hits them alike; each line shows the median
//! round and the spread (min–max) of events/s. Throughput is events over
//! the time from the first send to the last broker ack. "Sender CPU/event"
//! is the CPU time of the sending thread per event: for raw, the enqueue
//! of prepared bytes; for the sink, the operation itself, serialization,
//! headers and enqueue.
//!
//! ```text
//! scripts/kafka-dev.sh start
//! KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:9092 cargo bench --features kafka --bench kafka
//! ```
//!
//! `BENCH_EVENTS` sets the number of events of the max-rate runs (default
//! 200,000: 100,000 operations of two events each). `BENCH_PROFILE=sink`
//! (or `raw`, `headers`) runs only that max-rate case, for a profiler;
//! `BENCH_PROFILE=latency` only the operation durations.

#[path = "../tests/kafka_support/mod.rs"]
mod kafka_support;

use futures::task::noop_waker_ref;
use kafka_support::{create_topic, SharedSink};
use onex_events::kafka::headers::cloudevents_headers;
use onex_events::kafka::rdkafka::client::ClientContext;
use onex_events::kafka::rdkafka::error::{KafkaError, RDKafkaErrorCode};
use onex_events::kafka::rdkafka::message::{Header, Headers, OwnedHeaders};
use onex_events::kafka::rdkafka::producer::{
    BaseProducer, BaseRecord, DeliveryResult, Producer, ProducerContext,
};
use onex_events::kafka::rdkafka::ClientConfig;
use onex_events::kafka::{KafkaConfig, TopicRouting};
use onex_events::sink::kafka::{KafkaSink, KafkaStats};
use onex_events::{onex_node, Event, NodeContext, OnexNode, Publisher, Sink};
use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use uuid::Uuid;

/// The librdkafka properties whose sink defaults the raw producer copies.
const SHARED_PROPERTIES: &[&str] = &[
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

// ----------------------------------------------------------------- node --

#[derive(OnexNode)]
struct BenchNode {
    ctx: NodeContext,
}

#[onex_node(node_type = "orchestrator", service = "bench", namespace = "onex")]
impl BenchNode {
    /// Routes one workflow step: `started`, then `completed`.
    #[onex_operation("routing")]
    async fn route(&self, job: u64, step: &str) -> Result<u64, std::io::Error> {
        Ok(black_box(job).wrapping_add(black_box(step).len() as u64))
    }
}

impl BenchNode {
    fn new(publisher: Publisher) -> Self {
        let ctx = NodeContext::builder::<BenchNode>()
            .node_id("bench-orchestrator-1")
            .publisher(publisher)
            .build()
            .expect("valid node context");
        BenchNode { ctx }
    }

    /// One operation, run to completion (its body never waits).
    fn run(&self, job: u64) {
        let mut fut = pin!(self.route(job, "validate"));
        let mut cx = Context::from_waker(noop_waker_ref());
        match fut.as_mut().poll(&mut cx) {
            Poll::Ready(out) => {
                black_box(out.ok());
            }
            Poll::Pending => panic!("the bench operation waited"),
        }
    }
}

/// Keeps every event (to capture the bytes and keys raw producers send).
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

// ------------------------------------------------------------------ main --

fn main() {
    let Ok(bootstrap) = std::env::var("KAFKA_BOOTSTRAP_SERVERS") else {
        println!(
            "kafka bench skipped: KAFKA_BOOTSTRAP_SERVERS is not set (scripts/kafka-dev.sh start)"
        );
        return;
    };
    let env_usize = |name: &str, default: usize| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let n = env_usize("BENCH_EVENTS", 200_000) / 2 * 2;
    let rounds = env_usize("BENCH_ROUNDS", 3).max(1);
    let paced_n = 20_000;
    let topic = format!("onex-bench.{}", &Uuid::new_v4().simple().to_string()[..8]);
    create_topic(&bootstrap, &topic, 3);

    // The bytes and keys of the operations' events, for the raw producers.
    let captured = capture(n);
    let raw_input: Vec<(Vec<u8>, Vec<u8>)> = captured.iter().map(raw_record).collect();
    let raw_headers: Vec<HeaderText> = captured.iter().map(header_text).collect();
    let bytes = raw_input.iter().map(|(p, _)| p.len()).sum::<usize>() / n;
    let settings = sink_config(&bootstrap, &topic);
    let extra = extra_properties();
    let shared: Vec<(&str, &str)> = SHARED_PROPERTIES
        .iter()
        .filter_map(|k| settings.get(k).map(|v| (*k, v)))
        .chain(extra.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .collect();
    println!(
        "kafka bench: {n} events ({} annotated operations), ~{bytes} bytes of JSON each, \
         to {topic} on {bootstrap} (3 partitions); {rounds} rounds, interleaved",
        n / 2
    );
    println!("librdkafka settings of every producer: {shared:?}\n");

    if let Ok(case) = std::env::var("BENCH_PROFILE") {
        if case == "latency" {
            operation_latency(&bootstrap, &topic);
            return;
        }
        let run = match case.as_str() {
            "raw" => run_raw(&bootstrap, &topic, &shared, &raw_input, None, None),
            "headers" => run_raw(
                &bootstrap,
                &topic,
                &shared,
                &raw_input,
                None,
                Some(&raw_headers),
            ),
            _ => run_sink(&bootstrap, &topic, n, None).0,
        };
        println!("{case}: {:.0} events/s", run.rate);
        return;
    }

    let mut results: [Vec<Run>; 5] = Default::default();
    let mut sink_stats = Vec::new();
    for _ in 0..rounds {
        results[0].push(run_raw(&bootstrap, &topic, &shared, &raw_input, None, None));
        results[1].push(run_raw(
            &bootstrap,
            &topic,
            &shared,
            &raw_input,
            None,
            Some(&raw_headers),
        ));
        let (run, stats) = run_sink(&bootstrap, &topic, n, None);
        results[2].push(run);
        sink_stats.push(stats);
        let paced = &raw_input[..paced_n];
        results[3].push(run_raw(
            &bootstrap,
            &topic,
            &shared,
            paced,
            Some(10_000),
            None,
        ));
        results[4].push(run_sink(&bootstrap, &topic, paced_n, Some(10_000)).0);
    }

    let names = [
        "raw BaseProducer, max rate",
        "raw BaseProducer + same headers, max rate",
        "KafkaSink via annotated operations, max rate",
        "raw BaseProducer, 10k/s",
        "KafkaSink via annotated operations, 10k/s",
    ];
    let medians: Vec<&Run> = results.iter().map(|r| median(r)).collect();
    println!(
        "| run | events/s (median) | spread over rounds | x raw | sender CPU/event | p50 | p95 | p99 |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    for (i, name) in names.iter().enumerate() {
        let r = medians[i];
        let (lo, hi) = spread(&results[i]);
        let raw = if i < 3 { medians[0] } else { medians[3] };
        println!(
            "| {name} | {:.0} | {lo:.0}–{hi:.0} | {:.2} | {} | {} | {} | {} |",
            r.rate,
            r.rate / raw.rate,
            if i < 3 {
                fmt(r.cpu)
            } else {
                "(spins)".to_owned()
            },
            fmt(r.latency[0]),
            fmt(r.latency[1]),
            fmt(r.latency[2])
        );
    }
    let per_round = |a: usize, b: usize| -> Vec<String> {
        results[a]
            .iter()
            .zip(&results[b])
            .map(|(x, y)| format!("{:.2}", x.rate / y.rate))
            .collect()
    };
    println!(
        "\nper round, KafkaSink / raw: {:?}; KafkaSink / raw + headers: {:?}; raw + headers / raw: {:?}",
        per_round(2, 0),
        per_round(2, 1),
        per_round(1, 0)
    );
    let retried: Vec<u64> = sink_stats.iter().map(|s| s.retried).collect();
    let overflowed: Vec<u64> = sink_stats.iter().map(|s| s.overflowed).collect();
    println!(
        "KafkaSink max-rate runs: retry-buffer entries {retried:?}, overflowed {overflowed:?}"
    );
    let p95: Vec<String> = results[4].iter().map(|r| fmt(r.latency[1])).collect();
    let raw_p95: Vec<String> = results[3].iter().map(|r| fmt(r.latency[1])).collect();
    println!("p95 at 10k/s per round: KafkaSink {p95:?}, raw {raw_p95:?}");
    operation_latency(&bootstrap, &topic);
}

/// The duration of an annotated operation (two events) at 5,000
/// operations/s: no-op sink, Kafka up, Kafka down.
fn operation_latency(bootstrap: &str, topic: &str) {
    let down_addr = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().to_string()
    };
    let ops = 25_000;
    let noop = op_cost(Publisher::new(Noop), ops);
    let up = op_cost(sink_publisher(bootstrap, topic), ops);
    let down = op_cost(sink_publisher(&down_addr, topic), ops);
    println!("\n| annotated operation (2 events), 5k ops/s | p50 | p99 | p99.9 |");
    println!("|---|---:|---:|---:|");
    for (name, c) in [
        ("no-op sink", &noop),
        ("KafkaSink, broker up", &up),
        ("KafkaSink, broker down", &down),
    ] {
        println!("| {name} | {} | {} | {} |", fmt(c[0]), fmt(c[1]), fmt(c[2]));
    }
    println!(
        "\nadded operation latency with the broker down (vs no-op sink): p50 {}, p99 {}",
        fmt(down[0].saturating_sub(noop[0])),
        fmt(down[1].saturating_sub(noop[1]))
    );
}

// ------------------------------------------------------------------ runs --

struct Run {
    rate: f64,
    /// CPU time of the sending thread per event, in nanoseconds.
    cpu: u64,
    /// p50, p95, p99 in nanoseconds.
    latency: [u64; 3],
}

fn median(runs: &[Run]) -> &Run {
    let mut sorted: Vec<&Run> = runs.iter().collect();
    sorted.sort_by(|a, b| a.rate.total_cmp(&b.rate));
    sorted[sorted.len() / 2]
}

fn spread(runs: &[Run]) -> (f64, f64) {
    let rates = runs.iter().map(|r| r.rate);
    (
        rates.clone().fold(f64::INFINITY, f64::min),
        rates.fold(0.0, f64::max),
    )
}

fn percentiles(mut v: Vec<u64>, ps: [f64; 3]) -> [u64; 3] {
    v.sort_unstable();
    if v.is_empty() {
        return [0; 3];
    }
    ps.map(|p| v[((v.len() as f64 * p) as usize).min(v.len() - 1)])
}

fn fmt(ns: u64) -> String {
    if ns >= 1_000_000 {
        format!("{:.2} ms", ns as f64 / 1e6)
    } else {
        format!("{:.1} µs", ns as f64 / 1e3)
    }
}

/// Waits until event `i` of a run at `rate` events/s is due. Events go in
/// pairs, like an operation's `started` and `completed`.
fn pace(start: Instant, i: usize, rate: Option<u64>) {
    if let Some(rate) = rate {
        let pair = (i / 2) as u64;
        let due = start + Duration::from_nanos(pair * 2_000_000_000 / rate);
        while Instant::now() < due {
            std::hint::spin_loop();
        }
    }
}

/// Acknowledgements: latency of each, and the time of the last one.
#[derive(Clone)]
struct Acks {
    epoch: Instant,
    latencies: Arc<Mutex<Vec<u64>>>,
    last: Arc<AtomicU64>,
}

impl Acks {
    fn new(capacity: usize) -> Self {
        Acks {
            epoch: Instant::now(),
            latencies: Arc::new(Mutex::new(Vec::with_capacity(capacity))),
            last: Arc::default(),
        }
    }

    fn now(&self) -> u64 {
        self.epoch.elapsed().as_nanos() as u64
    }

    fn record(&self, latency: u64) {
        self.last.fetch_max(self.now(), Ordering::Relaxed);
        if let Ok(mut l) = self.latencies.lock() {
            l.push(latency);
        }
    }

    fn reset(&self) {
        self.latencies.lock().unwrap().clear();
    }

    /// Events/s from `start` (nanoseconds since the epoch) to the last ack.
    fn finish(&self, start: u64, expected: usize, cpu: u64) -> Run {
        let l = std::mem::take(&mut *self.latencies.lock().unwrap());
        assert!(l.len() >= expected, "every message acked: {}", l.len());
        let elapsed = self.last.load(Ordering::Relaxed).saturating_sub(start);
        Run {
            rate: expected as f64 / (elapsed as f64 / 1e9),
            cpu: cpu / expected as u64,
            latency: percentiles(l, [0.50, 0.95, 0.99]),
        }
    }
}

struct RawContext(Acks);

impl ClientContext for RawContext {}

impl ProducerContext for RawContext {
    type DeliveryOpaque = usize;

    fn delivery(&self, result: &DeliveryResult<'_>, sent_at: usize) {
        if result.is_ok() {
            self.0.record(self.0.now().saturating_sub(sent_at as u64));
        }
    }
}

fn raw_record(e: &Event) -> (Vec<u8>, Vec<u8>) {
    let mut payload = Vec::new();
    e.write_json(&mut payload).unwrap();
    let key = e.correlation_id.unwrap().hyphenated().to_string();
    (payload, key.into_bytes())
}

/// The keys and values of one record's headers.
type HeaderText = Vec<(String, Vec<u8>)>;

/// The text of the sink's CloudEvents headers of `e`.
fn header_text(e: &Event) -> HeaderText {
    cloudevents_headers(e)
        .iter()
        .map(|h| (h.key.to_owned(), h.value.unwrap_or_default().to_vec()))
        .collect()
}

fn owned_headers(text: &[(String, Vec<u8>)]) -> OwnedHeaders {
    text.iter().fold(
        OwnedHeaders::new_with_capacity(text.len()),
        |h, (key, value)| {
            h.insert(Header {
                key,
                value: Some(value),
            })
        },
    )
}

fn run_raw(
    bootstrap: &str,
    topic: &str,
    shared: &[(&str, &str)],
    input: &[(Vec<u8>, Vec<u8>)],
    rate: Option<u64>,
    headers: Option<&[HeaderText]>,
) -> Run {
    let acks = Acks::new(input.len());
    let mut config = ClientConfig::new();
    config.set("bootstrap.servers", bootstrap);
    for (k, v) in shared {
        config.set(*k, *v);
    }
    let producer: BaseProducer<RawContext> = config
        .create_with_context(RawContext(acks.clone()))
        .unwrap();
    // A polling thread, like KafkaSink's, so both run delivery callbacks
    // off the sending thread.
    let producer = Arc::new(producer);
    let stop = Arc::new(AtomicBool::new(false));
    let poller = {
        let (producer, stop) = (Arc::clone(&producer), Arc::clone(&stop));
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                producer.poll(Duration::from_millis(100));
            }
        })
    };
    // Warm up: connect, fetch metadata and the producer id before timing.
    for (payload, key) in input.iter().take(100) {
        let record = BaseRecord::with_opaque_to(topic, 0)
            .payload(&payload[..])
            .key(&key[..]);
        let _ = producer.send(record);
    }
    producer
        .flush(Duration::from_secs(30))
        .expect("raw warm-up");
    acks.reset();
    let start = Instant::now();
    let start_ns = acks.now();
    let cpu = thread_cpu();
    for (i, (payload, key)) in input.iter().enumerate() {
        pace(start, i, rate);
        let sent_at = acks.now() as usize;
        let mut record = BaseRecord::with_opaque_to(topic, sent_at)
            .payload(&payload[..])
            .key(&key[..]);
        record.headers = headers.map(|h| owned_headers(&h[i]));
        loop {
            match producer.send(record) {
                Ok(()) => break,
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), r)) => {
                    record = r;
                    std::thread::sleep(Duration::from_micros(200));
                }
                Err((e, _)) => panic!("send: {e}"),
            }
        }
    }
    let cpu = thread_cpu() - cpu;
    producer.flush(Duration::from_secs(60)).expect("raw flush");
    stop.store(true, Ordering::Relaxed);
    let _ = poller.join();
    acks.finish(start_ns, input.len(), cpu)
}

fn sink_config(bootstrap: &str, topic: &str) -> KafkaConfig {
    extra_properties()
        .into_iter()
        .fold(KafkaConfig::new(bootstrap), |c, (k, v)| c.property(k, v))
        .topics(TopicRouting::single(topic))
}

/// `BENCH_PROPERTIES=k=v,k=v`: librdkafka properties set on every producer
/// of the run, raw and sink alike (to compare settings).
fn extra_properties() -> Vec<(String, String)> {
    std::env::var("BENCH_PROPERTIES")
        .unwrap_or_default()
        .split(',')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect()
}

fn sink_publisher(bootstrap: &str, topic: &str) -> Publisher {
    Publisher::new(KafkaSink::new(sink_config(bootstrap, topic)).unwrap())
}

/// `n` events from `n / 2` annotated operations through a `KafkaSink`.
fn run_sink(bootstrap: &str, topic: &str, n: usize, rate: Option<u64>) -> (Run, KafkaStats) {
    let acks = Acks::new(n);
    let listener = acks.clone();
    let config = sink_config(bootstrap, topic).on_delivery(move |r| {
        if r.outcome.is_delivered() {
            listener.record(r.latency.as_nanos() as u64);
        }
    });
    let sink = Arc::new(KafkaSink::new(config).unwrap());
    let node = BenchNode::new(Publisher::new(SharedSink(Arc::clone(&sink))));
    // Warm up: connect, fetch metadata and the producer id before timing.
    let warm_up = 50;
    for job in 0..warm_up {
        node.run(job);
    }
    sink.flush(Duration::from_secs(30)).expect("sink warm-up");
    acks.reset();
    let start = Instant::now();
    let start_ns = acks.now();
    let cpu = thread_cpu();
    for op in 0..n / 2 {
        pace(start, op * 2, rate);
        node.run(op as u64);
    }
    let cpu = thread_cpu() - cpu;
    sink.flush(Duration::from_secs(60)).expect("sink flush");
    let stats = sink.stats();
    assert_eq!(
        stats.delivered,
        (n + 2 * warm_up as usize) as u64,
        "sink: every event acked: {stats:?}"
    );
    (acks.finish(start_ns, n, cpu), stats)
}

/// Nanoseconds this thread has run on a CPU (Linux; 0 elsewhere).
fn thread_cpu() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// The events of `ops` operations.
fn capture(n: usize) -> Vec<Event> {
    let capture = Capture::default();
    let node = BenchNode::new(Publisher::new(capture.clone()));
    for op in 0..n / 2 {
        node.run(op as u64);
    }
    let events = std::mem::take(&mut *capture.0.lock().unwrap());
    assert_eq!(events.len(), n);
    events
}

/// p50, p99, p99.9 of one annotated operation, at 5,000 operations/s.
fn op_cost(publisher: Publisher, ops: usize) -> [u64; 3] {
    let node = BenchNode::new(publisher.clone());
    // Let the client connect (or find that it cannot).
    std::thread::sleep(Duration::from_millis(500));
    let mut costs = Vec::with_capacity(ops);
    let start = Instant::now();
    for op in 0..ops {
        pace(start, op * 2, Some(10_000));
        let t = Instant::now();
        node.run(op as u64);
        costs.push(t.elapsed().as_nanos() as u64);
    }
    let _ = publisher.flush(Duration::from_secs(5));
    percentiles(costs, [0.50, 0.99, 0.999])
}
