//! Outbox benchmark: annotated operations (2 events each) in outbox mode
//! (each event committed to SQLite before the operation returns, relayed to
//! Kafka) against the direct Kafka mode (`KafkaSink`), on a real broker, in
//! one run: events/s and the operation latency p50/p99.
//!
//! ```text
//! scripts/kafka-dev.sh start
//! KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:9092 cargo bench --features outbox --bench outbox
//! ```
//!
//! `BENCH_OPS` sets the operations of the throughput runs (default 50,000,
//! i.e. 100,000 events), `BENCH_THREADS` the concurrent publishers
//! (default 64), `BENCH_RELAY_BATCHES` and `BENCH_RELAY_BATCH_SIZE` the
//! relay's batches in flight and batch size (default: `RelayConfig`'s).
//! The outbox file lives in the system's temp directory.

use onex_events::kafka::{KafkaConfig, TopicRouting};
use onex_events::outbox::{OutboxConfig, OutboxSink, RelayConfig};
use onex_events::KafkaSink;
use onex_events::{onex_node, NodeContext, OnexNode, Publisher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(OnexNode)]
struct Bench {
    ctx: NodeContext,
}

#[onex_node(node_type = "bench", service = "bench")]
impl Bench {
    #[onex_operation("work", fields(i))]
    async fn work(&self, i: u64) -> Result<u64, std::io::Error> {
        Ok(i + 1)
    }
}

struct Run {
    /// Events published per second while the operations ran.
    publish_rate: f64,
    /// Events per second until every event was acknowledged by the broker.
    end_to_end_rate: f64,
    /// Operation latency p50, p99 (ns).
    p50: u64,
    p99: u64,
    /// Outbox only: events still pending when the operations ended, and
    /// the rate the relay delivered them at afterwards.
    drain: Option<(u64, f64)>,
}

fn env_usize(name: &str, default: usize) -> usize {
    env_opt(name).unwrap_or(default)
}

fn env_opt(name: &str) -> Option<usize> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

fn main() {
    let Ok(bootstrap) = std::env::var("KAFKA_BOOTSTRAP_SERVERS") else {
        println!(
            "outbox bench skipped: KAFKA_BOOTSTRAP_SERVERS is not set (scripts/kafka-dev.sh start)"
        );
        return;
    };
    let ops = env_usize("BENCH_OPS", 50_000) as u64;
    let threads = env_usize("BENCH_THREADS", 64);
    let suffix = uuid::Uuid::new_v4().simple().to_string();
    let topic = format!("onex-bench-outbox.{}", &suffix[..8]);
    let kafka = || KafkaConfig::new(&bootstrap).topics(TopicRouting::single(&topic));
    let dir = std::env::temp_dir().join(format!("onex-bench-outbox-{}", &suffix[..8]));
    if let Err(e) = std::fs::create_dir_all(&dir) {
        println!("outbox bench: cannot create {}: {e}", dir.display());
        return;
    }
    println!(
        "outbox bench: {ops} operations x 2 events, {threads} publisher threads, topic {topic} on {bootstrap}\n"
    );

    // Warm the topic up (auto-creation, metadata) outside the measurements.
    let _ = run("warm-up", Mode::Kafka(kafka()), 1_000, threads, &dir);

    let direct = run("direct", Mode::Kafka(kafka()), ops, threads, &dir);
    let outbox = run("outbox", Mode::Outbox(kafka()), ops, threads, &dir);
    let direct_1 = run("direct-1", Mode::Kafka(kafka()), ops / 5, 1, &dir);
    let outbox_1 = run("outbox-1", Mode::Outbox(kafka()), ops / 5, 1, &dir);
    let _ = std::fs::remove_dir_all(&dir);

    println!(
        "| mode | publishers | events/s published | events/s to broker ack | op p50 | op p99 |"
    );
    println!("|---|---:|---:|---:|---:|---:|");
    for (name, n, r) in [
        ("direct Kafka (KafkaSink)", threads, &direct),
        ("outbox (SQLite + relay)", threads, &outbox),
        ("direct Kafka (KafkaSink)", 1, &direct_1),
        ("outbox (SQLite + relay)", 1, &outbox_1),
    ] {
        println!(
            "| {name} | {n} | {:.0} | {:.0} | {} | {} |",
            r.publish_rate,
            r.end_to_end_rate,
            fmt(r.p50),
            fmt(r.p99)
        );
    }
    for (n, r, d) in [(threads, &outbox, &direct), (1, &outbox_1, &direct_1)] {
        if let Some((backlog, rate)) = r.drain {
            println!(
                "outbox, {n} publishers: {backlog} events pending when the operations ended, relayed at {rate:.0} events/s; \
                 against direct Kafka's to-ack rate: relay to ack {:.2}x, backlog relayed {:.2}x",
                r.end_to_end_rate / d.end_to_end_rate,
                rate / d.end_to_end_rate
            );
        }
    }
    println!(
        "\nadded operation latency of the outbox, 1 publisher: p50 +{}, p99 +{}; {threads} publishers: p50 +{}, p99 +{}",
        fmt(outbox_1.p50.saturating_sub(direct_1.p50)),
        fmt(outbox_1.p99.saturating_sub(direct_1.p99)),
        fmt(outbox.p50.saturating_sub(direct.p50)),
        fmt(outbox.p99.saturating_sub(direct.p99)),
    );
}

enum Mode {
    Kafka(KafkaConfig),
    Outbox(KafkaConfig),
}

fn run(name: &str, mode: Mode, ops: u64, threads: usize, dir: &std::path::Path) -> Run {
    let (publisher, outbox) = match mode {
        Mode::Kafka(config) => match KafkaSink::new(config.fallback_log(false)) {
            Ok(sink) => (Publisher::new(sink), None),
            Err(e) => panic!("{name}: {e}"),
        },
        Mode::Outbox(config) => {
            let path = dir.join(format!("{name}.db"));
            let mut relay = RelayConfig::new(config);
            if let Some(n) = env_opt("BENCH_RELAY_BATCHES") {
                relay = relay.batches_in_flight(n);
            }
            if let Some(n) = env_opt("BENCH_RELAY_BATCH_SIZE") {
                relay = relay.batch_size(n);
            }
            match OutboxSink::open(OutboxConfig::sqlite(path).relay(relay)) {
                Ok(sink) => (Publisher::new(sink.clone()), Some(sink)),
                Err(e) => panic!("{name}: {e}"),
            }
        }
    };
    let node = Arc::new(Bench {
        ctx: NodeContext::builder::<Bench>()
            .node_id("bench-1")
            .publisher(publisher.clone())
            .build()
            .unwrap_or_else(|e| panic!("{e}")),
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    // Warm up outside the measurement: the producer connects and gets its
    // producer id (librdkafka's idempotent producer takes about 0.5 s).
    let _ = runtime.block_on(node.work(u64::MAX - 1));
    if let Err(e) = publisher.flush(Duration::from_secs(30)) {
        println!("{name}: warm-up flush: {e}");
    }
    let latencies = Arc::new(Mutex::new(Vec::with_capacity(ops as usize)));
    let next = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    runtime.block_on(async {
        let tasks: Vec<_> = (0..threads)
            .map(|_| {
                let node = Arc::clone(&node);
                let next = Arc::clone(&next);
                let latencies = Arc::clone(&latencies);
                tokio::spawn(async move {
                    let mut mine = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= ops {
                            break;
                        }
                        let t = Instant::now();
                        let _ = node.work(i).await;
                        mine.push(t.elapsed().as_nanos() as u64);
                    }
                    if let Ok(mut all) = latencies.lock() {
                        all.extend(mine);
                    }
                })
            })
            .collect();
        for task in tasks {
            let _ = task.await;
        }
    });
    let published = started.elapsed();
    let backlog = outbox
        .as_ref()
        .and_then(|sink| sink.stats().ok())
        .map_or(0, |s| s.pending);
    if let Err(e) = publisher.flush(Duration::from_secs(300)) {
        println!("{name}: flush: {e}");
    }
    let acked = started.elapsed();
    let drain = outbox
        .as_ref()
        .map(|_| (backlog, backlog as f64 / (acked - published).as_secs_f64()));
    if let Some(sink) = &outbox {
        match sink.stats() {
            Ok(s) if s.delivered != 2 * ops + 2 || s.not_committed != 0 => {
                println!("{name}: not everything delivered: {s}")
            }
            Ok(_) => {}
            Err(e) => println!("{name}: stats: {e}"),
        }
    }
    let mut lat = latencies.lock().map(|l| l.clone()).unwrap_or_default();
    lat.sort_unstable();
    let pct = |p: f64| {
        lat.get(((lat.len() as f64 * p) as usize).min(lat.len().saturating_sub(1)))
            .copied()
            .unwrap_or(0)
    };
    let events = 2.0 * ops as f64;
    Run {
        publish_rate: events / published.as_secs_f64(),
        end_to_end_rate: events / acked.as_secs_f64(),
        p50: pct(0.50),
        p99: pct(0.99),
        drain,
    }
}

fn fmt(ns: u64) -> String {
    if ns >= 1_000_000 {
        format!("{:.2} ms", ns as f64 / 1e6)
    } else {
        format!("{:.1} µs", ns as f64 / 1e3)
    }
}
