//! Request/response benchmark (issue 11), in one run on each broker of
//! `BENCH_BROKERS` (`tansu`, the broker at `KAFKA_BOOTSTRAP_SERVERS`, and
//! `mock`, librdkafka's mock cluster in this process; see
//! `support/broker.rs`):
//!
//! - **framework**: an orchestrator's `Requester` asks a codegen node,
//!   served by an `EventConsumer` and answering through its `KafkaSink`
//!   (`codegen.request.validate` -> `codegen.response.validate`, with the
//!   handler's `started`/`completed` published too);
//! - **raw**: the same exchange with rdkafka alone, on two topics: a
//!   `FutureProducer` sends the request JSON keyed by a UUID, a
//!   `StreamConsumer` in a group answers each with the reply JSON on the
//!   reply topic under the same key, and the caller's `StreamConsumer`,
//!   assigned the reply topic's partitions, hands each reply to its
//!   request by key.
//!
//! - **quiet**: the framework with the handler's lifecycle events off
//!   (`lifecycle = false`): the reply alone, as raw sends.
//!
//! All use the same client settings: librdkafka's producer defaults as
//! `KafkaConfig::new` sets them (`linger.ms=1`, `acks=all`, idempotence),
//! `fetch.wait.max.ms` = `BENCH_FETCH_WAIT_MS` (default 1) for every
//! consumer (both brokers hold a fetch that finds no record: tansu for
//! half that wait, the mock cluster for all of it), and
//! `socket.nagle.disable` = `BENCH_NAGLE_OFF` (default true) for every
//! client.
//!
//! Each round runs the variants on each broker in turn (alternating which
//! variant goes first):
//! 1. **paced**: `BENCH_RATE` requests/s (default 1,000) for
//!    `BENCH_SECONDS` (default 10), each started at its scheduled time in
//!    a task of its own; its round trip runs from the scheduled time to
//!    the reply decoded (so a stall delays the requests behind it in the
//!    figures too);
//! 2. **outstanding**: `BENCH_BURST` requests (default 1,000) sent at
//!    once, all waited for (timeout 10 s, as every request here): how many came back, and the
//!    time until the last did.
//!
//! ```text
//! scripts/kafka-dev.sh start
//! KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:9092 cargo bench --features kafka --bench request_reply
//! BENCH_BROKERS=mock cargo bench --features kafka --bench request_reply
//! ```
//!
//! `BENCH_RUNS` rounds (default 3); then, per broker and variant, the
//! median and range of the paced p50 and p99, and every round's failures
//! and burst replies.

#[path = "support/broker.rs"]
mod broker;
#[path = "../tests/kafka_support/mod.rs"]
mod kafka_support;
#[path = "../tests/request_support/mod.rs"]
mod request_support;

use broker::{Broker, BrokerKind};
use futures::future::join_all;
use onex_events::consume::kafka::{EventConsumer, ShutdownHandle};
use onex_events::consume::Incoming;
use onex_events::kafka::rdkafka::consumer::{Consumer, StreamConsumer};
use onex_events::kafka::rdkafka::message::Message;
use onex_events::kafka::rdkafka::producer::{FutureProducer, FutureRecord};
use onex_events::kafka::rdkafka::{ClientConfig, Offset, TopicPartitionList};
use onex_events::kafka::{KafkaConfig, OffsetReset, TracingContext};
use onex_events::request::kafka::Requester;
use onex_events::LogSink;
use onex_events::{onex_node, KafkaSink, NodeContext, OnexNode, Publisher};
use request_support::{
    requester_with, topics, unique_namespace, Code, EmptySource, Responder, Validated,
};
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::oneshot;
use uuid::Uuid;

const TIMEOUT: Duration = Duration::from_secs(10);

/// The codegen node without lifecycle events: the reply alone.
#[derive(OnexNode)]
struct QuietCodegen {
    ctx: NodeContext,
}

#[onex_node("codegen")]
impl QuietCodegen {
    #[onex_handler("codegen.request.validate", lifecycle = false, attempts = 1)]
    async fn validate(&self, request: Incoming<Code>) -> Result<Validated, EmptySource> {
        let code = request.payload;
        if code.source.is_empty() {
            return Err(EmptySource);
        }
        Ok(Validated {
            lines: code.source.lines().count(),
            source: code.source,
        })
    }
}

/// A `QuietCodegen` served in `namespace`.
struct Quiet {
    node: Arc<QuietCodegen>,
    handle: ShutdownHandle,
    run: tokio::task::JoinHandle<()>,
}

impl Quiet {
    fn start(consumer: KafkaConfig, namespace: &str) -> Quiet {
        let mut producer = KafkaConfig::new(consumer.bootstrap_servers());
        if let Some(nagle) = consumer.get("socket.nagle.disable") {
            producer = producer.property("socket.nagle.disable", nagle);
        }
        let node = Arc::new(QuietCodegen {
            ctx: NodeContext::builder::<QuietCodegen>()
                .node_id("codegen-quiet-1")
                .namespace(namespace)
                .publisher(Publisher::new(KafkaSink::new(producer).expect("sink")))
                .build()
                .expect("context"),
        });
        let consumer = EventConsumer::builder(consumer)
            .group(format!("{namespace}.codegen"))
            .source(namespace, "codegen")
            .node(Arc::clone(&node))
            .build()
            .expect("consumer");
        let handle = consumer.shutdown_handle();
        let run = tokio::spawn(async move {
            consumer.run().await;
        });
        Quiet { node, handle, run }
    }

    async fn stop(self) {
        self.handle.shutdown();
        let _ = self.run.await;
        let _ = self.node.ctx.publisher().flush(Duration::from_secs(5));
    }
}

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// One request/response client: the framework's or the raw one.
trait Client: Send + Sync + 'static {
    /// Sends `code`, waits for its reply: `true` if one came.
    fn call(self: Arc<Self>, code: Code) -> Pin<Box<dyn Future<Output = bool> + Send>>;
}

struct Framework {
    requester: Requester,
}

impl Client for Framework {
    fn call(self: Arc<Self>, code: Code) -> Pin<Box<dyn Future<Output = bool> + Send>> {
        Box::pin(async move {
            let reply: Result<Validated, _> = self
                .requester
                .request("codegen.request.validate", &code, TIMEOUT)
                .await;
            reply.is_ok_and(|r| r.source == code.source)
        })
    }
}

/// The raw two-topic round trip.
struct Raw {
    producer: FutureProducer<TracingContext>,
    request_topic: String,
    waiting: Arc<Mutex<HashMap<Uuid, oneshot::Sender<Vec<u8>>>>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for Raw {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// `socket.nagle.disable` of every client: `BENCH_NAGLE_OFF` (default true).
fn nagle_off() -> &'static str {
    match std::env::var("BENCH_NAGLE_OFF").as_deref() {
        Ok("false") => "false",
        _ => "true",
    }
}

fn client_config(bootstrap: &str, fetch_wait: &str) -> ClientConfig {
    let mut cc = ClientConfig::new();
    cc.set("bootstrap.servers", bootstrap)
        .set("socket.nagle.disable", nagle_off())
        .set("fetch.wait.max.ms", fetch_wait)
        .set("enable.partition.eof", "false")
        .set("session.timeout.ms", "6000")
        .set("heartbeat.interval.ms", "500");
    cc
}

fn producer(bootstrap: &str) -> FutureProducer<TracingContext> {
    ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("socket.nagle.disable", nagle_off())
        .set("linger.ms", "1")
        .set("acks", "all")
        .set("enable.idempotence", "true")
        .create_with_context(TracingContext)
        .expect("producer")
}

impl Raw {
    fn start(bootstrap: &str, namespace: &str, fetch_wait: &str) -> Raw {
        let request_topic = format!("{namespace}.raw.request.v1");
        let reply_topic = format!("{namespace}.raw.reply.v1");
        // The responder: a group on the request topic, answering each.
        let responder: StreamConsumer<TracingContext> = client_config(bootstrap, fetch_wait)
            .set("group.id", format!("{namespace}.raw"))
            .set("auto.offset.reset", "earliest")
            .create_with_context(TracingContext)
            .expect("raw responder");
        responder.subscribe(&[&request_topic]).expect("subscribe");
        let answer = producer(bootstrap);
        let to = reply_topic.clone();
        let serve = tokio::spawn(async move {
            loop {
                let message = match responder.recv().await {
                    Ok(message) => message,
                    Err(error) => {
                        tracing::warn!(%error, "raw responder");
                        continue;
                    }
                };
                let Ok(code) =
                    serde_json::from_slice::<Code>(message.payload().unwrap_or_default())
                else {
                    continue;
                };
                let reply = serde_json::to_vec(&Validated {
                    lines: code.source.lines().count(),
                    source: code.source,
                })
                .expect("reply");
                let key = message.key().unwrap_or_default().to_vec();
                let record = FutureRecord::to(&to).key(&key).payload(&reply);
                let _ = answer.send_result(record);
            }
        });
        // The caller's reader of replies: every partition, from its end.
        let reader: StreamConsumer<TracingContext> = client_config(bootstrap, fetch_wait)
            .set("group.id", format!("{namespace}.raw-caller"))
            .create_with_context(TracingContext)
            .expect("raw reader");
        let metadata = reader
            .fetch_metadata(Some(&reply_topic), Duration::from_secs(10))
            .expect("metadata");
        let mut list = TopicPartitionList::new();
        for p in metadata.topics()[0].partitions() {
            let (_, high) = reader
                .fetch_watermarks(&reply_topic, p.id(), Duration::from_secs(10))
                .expect("watermarks");
            list.add_partition_offset(&reply_topic, p.id(), Offset::Offset(high))
                .expect("partition");
        }
        reader.assign(&list).expect("assign");
        let waiting: Arc<Mutex<HashMap<Uuid, oneshot::Sender<Vec<u8>>>>> = Arc::default();
        let replies = Arc::clone(&waiting);
        let read = tokio::spawn(async move {
            loop {
                let message = match reader.recv().await {
                    Ok(message) => message,
                    Err(error) => {
                        tracing::warn!(%error, "raw reader");
                        continue;
                    }
                };
                let id = message
                    .key()
                    .and_then(|k| std::str::from_utf8(k).ok())
                    .and_then(|k| Uuid::try_parse(k).ok());
                let waiter = id.and_then(|id| replies.lock().unwrap().remove(&id));
                if let Some(waiter) = waiter {
                    let _ = waiter.send(message.payload().unwrap_or_default().to_vec());
                }
            }
        });
        Raw {
            producer: producer(bootstrap),
            request_topic,
            waiting,
            tasks: vec![serve, read],
        }
    }
}

impl Client for Raw {
    fn call(self: Arc<Self>, code: Code) -> Pin<Box<dyn Future<Output = bool> + Send>> {
        Box::pin(async move {
            let id = Uuid::new_v4();
            let (sender, receiver) = oneshot::channel();
            self.waiting.lock().unwrap().insert(id, sender);
            let key = id.hyphenated().to_string();
            let body = serde_json::to_vec(&code).expect("request");
            let record = FutureRecord::to(&self.request_topic)
                .key(&key)
                .payload(&body);
            if self.producer.send_result(record).is_err() {
                return false;
            }
            let reply = tokio::time::timeout(TIMEOUT, receiver).await;
            self.waiting.lock().unwrap().remove(&id);
            match reply {
                Ok(Ok(bytes)) => serde_json::from_slice::<Validated>(&bytes)
                    .is_ok_and(|r| r.source == code.source),
                _ => false,
            }
        })
    }
}

fn code(i: u64) -> Code {
    Code {
        source: format!("fn f{i}() {{\n    {i}\n}}\n"),
        delay_ms: 0,
    }
}

/// Calls until one reply comes (the responder's group formed).
async fn warm_up(client: &Arc<dyn Client>) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while !Arc::clone(client).call(code(0)).await {
        assert!(Instant::now() < deadline, "no reply after 120 s");
    }
    // A few more, so that every partition's fetch is going.
    for i in 0..100 {
        Arc::clone(client).call(code(i)).await;
    }
}

struct Paced {
    sent: u64,
    failed: u64,
    /// How late the requests started, p99 (a busy machine's share).
    late_p99: f64,
    p50: f64,
    p99: f64,
    max: f64,
}

/// `rate` requests/s for `seconds`, each from its scheduled time.
async fn paced(client: &Arc<dyn Client>, rate: u64, seconds: u64) -> Paced {
    let n = rate * seconds;
    let start = tokio::time::Instant::now();
    let mut calls = Vec::with_capacity(n as usize);
    for i in 0..n {
        let at = start + Duration::from_secs_f64(i as f64 / rate as f64);
        tokio::time::sleep_until(at).await;
        let client = Arc::clone(client);
        calls.push(tokio::spawn(async move {
            let late = at.elapsed();
            let ok = client.call(code(i)).await;
            (ok, late, at.elapsed())
        }));
    }
    let mut times = Vec::with_capacity(calls.len());
    let mut lateness = Vec::with_capacity(calls.len());
    let mut failed = 0;
    for call in calls {
        match call.await {
            Ok((ok, late, t)) => {
                lateness.push(late.as_secs_f64() * 1000.0);
                match ok {
                    true => times.push(t.as_secs_f64() * 1000.0),
                    false => failed += 1,
                }
            }
            Err(_) => failed += 1,
        }
    }
    times.sort_by(f64::total_cmp);
    lateness.sort_by(f64::total_cmp);
    let quantile = |v: &[f64], q: f64| {
        v.get(((v.len() as f64 * q).ceil() as usize).saturating_sub(1))
            .copied()
            .unwrap_or(f64::NAN)
    };
    let q = |q: f64| quantile(&times, q);
    Paced {
        sent: n,
        failed,
        late_p99: quantile(&lateness, 0.99),
        p50: q(0.50),
        p99: q(0.99),
        max: times.last().copied().unwrap_or(f64::NAN),
    }
}

/// `n` requests at once: replies that came, and the time to the last.
async fn outstanding(client: &Arc<dyn Client>, n: u64) -> (u64, f64) {
    let start = Instant::now();
    let replies = join_all((0..n).map(|i| Arc::clone(client).call(code(i)))).await;
    let ok = replies.into_iter().filter(|ok| *ok).count() as u64;
    (ok, start.elapsed().as_secs_f64() * 1000.0)
}

/// The 1-minute load average.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "?".to_owned())
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// What a round measures, from the environment.
struct Settings {
    rate: u64,
    seconds: u64,
    burst: u64,
    fetch_wait: String,
}

/// One variant's figures in one round.
struct Measured {
    variant: &'static str,
    paced: Paced,
    /// Replies to the burst, and the time until the last came.
    burst: (u64, f64),
}

/// One round on `broker`: the three variants on new topics, in turn.
async fn round_on(broker: &Broker, round: u64, settings: &Settings) -> Vec<Measured> {
    // New topics each round (see benches/README.md); the variant without
    // lifecycle events in a namespace of its own.
    let namespace = unique_namespace("bench");
    let quiet_namespace = format!("{namespace}q");
    for topic in topics(&namespace)
        .into_iter()
        .chain(topics(&quiet_namespace))
        .chain(["raw.request", "raw.reply"].map(|t| format!("{namespace}.{t}.v1")))
    {
        broker.create_topic(&topic, 3);
    }
    let bootstrap = broker.bootstrap();
    let fetch_wait = settings.fetch_wait.as_str();
    let consumer = KafkaConfig::new(bootstrap)
        .property("socket.nagle.disable", nagle_off())
        .auto_offset_reset(OffsetReset::Earliest)
        .property("fetch.wait.max.ms", fetch_wait)
        .property("session.timeout.ms", "6000")
        .property("heartbeat.interval.ms", "500");
    let responder = Responder::start_with(consumer.clone(), &namespace);
    let (_node, requester) = requester_with(consumer.clone(), &namespace, LogSink::new()).await;
    let framework: Arc<dyn Client> = Arc::new(Framework { requester });
    let quiet = Quiet::start(consumer.clone(), &quiet_namespace);
    let (_node, requester) =
        requester_with(consumer.clone(), &quiet_namespace, LogSink::new()).await;
    let framework_quiet: Arc<dyn Client> = Arc::new(Framework { requester });
    let raw: Arc<dyn Client> = Arc::new(Raw::start(bootstrap, &namespace, fetch_wait));
    warm_up(&framework).await;
    warm_up(&framework_quiet).await;
    warm_up(&raw).await;
    let order = match round % 2 {
        0 => [
            ("framework", &framework),
            ("quiet", &framework_quiet),
            ("raw", &raw),
        ],
        _ => [
            ("raw", &raw),
            ("quiet", &framework_quiet),
            ("framework", &framework),
        ],
    };
    let mut measured = Vec::new();
    for (variant, client) in order {
        let p = paced(client, settings.rate, settings.seconds).await;
        let (ok, ms) = outstanding(client, settings.burst).await;
        println!(
            "round {} {:>5} {variant:>9}: paced {} sent, {} failed, p50 {:.2} ms, p99 {:.2} ms, \
             max {:.1} ms (started late p99 {:.2} ms); {} at once: {ok} replies in {ms:.0} ms; load {}",
            round + 1,
            broker.name(),
            p.sent,
            p.failed,
            p.p50,
            p.p99,
            p.max,
            p.late_p99,
            settings.burst,
            load_average()
        );
        measured.push(Measured {
            variant,
            paced: p,
            burst: (ok, ms),
        });
    }
    responder.stop().await;
    quiet.stop().await;
    measured
}

/// `lo–hi` of `v`, with `decimals`.
fn spread(v: &[f64], decimals: usize) -> String {
    let (lo, hi) = v
        .iter()
        .fold((f64::MAX, f64::MIN), |(lo, hi), x| (lo.min(*x), hi.max(*x)));
    format!("{lo:.decimals$}–{hi:.decimals$}")
}

fn main() {
    let brokers = BrokerKind::under_test();
    if brokers.is_empty() {
        println!(
            "request_reply bench skipped: KAFKA_BOOTSTRAP_SERVERS is not set \
             (scripts/kafka-dev.sh start), nor BENCH_BROKERS=mock"
        );
        return;
    }
    let runs = env_u64("BENCH_RUNS", 3).max(1);
    let settings = Settings {
        rate: env_u64("BENCH_RATE", 1_000).max(1),
        seconds: env_u64("BENCH_SECONDS", 10).max(1),
        burst: env_u64("BENCH_BURST", 1_000),
        fetch_wait: env_u64("BENCH_FETCH_WAIT_MS", 1).to_string(),
    };
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .init();
    // Before the runtime, so that the clients its tasks hold are gone
    // before a mock cluster is.
    let brokers: Vec<Broker> = brokers.into_iter().map(BrokerKind::start).collect();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    println!(
        "request_reply bench on {}: {} requests/s for {} s, then {} at once; {runs} rounds, \
         each on new topics (3 partitions); fetch.wait.max.ms={}, socket.nagle.disable={}",
        brokers
            .iter()
            .map(|b| format!("{} ({})", b.name(), b.bootstrap()))
            .collect::<Vec<_>>()
            .join(", "),
        settings.rate,
        settings.seconds,
        settings.burst,
        settings.fetch_wait,
        nagle_off()
    );
    rt.block_on(async {
        let mut figures: Vec<(String, Vec<Measured>)> = Vec::new();
        for round in 0..runs {
            for broker in &brokers {
                for m in round_on(broker, round, &settings).await {
                    let name = format!("{}, {}", broker.name(), m.variant);
                    match figures.iter_mut().find(|(n, _)| *n == name) {
                        Some((_, rounds)) => rounds.push(m),
                        None => figures.push((name, vec![m])),
                    }
                }
            }
        }
        println!(
            "\n| {runs} rounds: median (range) | paced p50 ms | paced p99 ms | paced failed | {} at once: replies | ms to the last |",
            settings.burst
        );
        println!("|---|---:|---:|---:|---:|---:|");
        for (name, rounds) in &figures {
            let mut p50: Vec<f64> = rounds.iter().map(|m| m.paced.p50).collect();
            let mut p99: Vec<f64> = rounds.iter().map(|m| m.paced.p99).collect();
            let failed: Vec<String> = rounds.iter().map(|m| m.paced.failed.to_string()).collect();
            let replies: Vec<String> = rounds.iter().map(|m| m.burst.0.to_string()).collect();
            let last: Vec<f64> = rounds.iter().map(|m| m.burst.1).collect();
            println!(
                "| {name} | {:.2} ({}) | {:.2} ({}) | {} | {} | {} |",
                median(&mut p50),
                spread(&p50, 2),
                median(&mut p99),
                spread(&p99, 2),
                failed.join(", "),
                replies.join(", "),
                spread(&last, 0)
            );
        }
    });
}
