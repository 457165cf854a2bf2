//! Kafka transport benchmark: `KafkaSink` against raw
//! `rdkafka::producer::BaseProducer` sending the same bytes with the same
//! keys, on a real broker, plus the cost of `publish` with the broker down.
//!
//! ```text
//! scripts/kafka-dev.sh start
//! KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:9092 cargo bench --features kafka --bench kafka
//! ```
//!
//! `BENCH_EVENTS` sets the number of events of the throughput runs
//! (default 200,000).

use onex_events::sink::kafka::headers::cloudevents_headers;
use onex_events::sink::kafka::rdkafka::admin::{
    AdminClient, AdminOptions, NewTopic, TopicReplication,
};
use onex_events::sink::kafka::rdkafka::client::{ClientContext, DefaultClientContext};
use onex_events::sink::kafka::rdkafka::error::{KafkaError, RDKafkaErrorCode};
use onex_events::sink::kafka::rdkafka::message::OwnedHeaders;
use onex_events::sink::kafka::rdkafka::producer::{
    BaseProducer, BaseRecord, DeliveryResult, Producer, ProducerContext,
};
use onex_events::sink::kafka::rdkafka::ClientConfig;
use onex_events::sink::kafka::{KafkaConfig, KafkaSink, TopicRouting};
use onex_events::{Event, EventType, NodeIdentity, Payload, Sink, Timestamp};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use uuid::Uuid;

type Latencies = Arc<Mutex<Vec<u64>>>;

fn main() {
    let Ok(bootstrap) = std::env::var("KAFKA_BOOTSTRAP_SERVERS") else {
        println!(
            "kafka bench skipped: KAFKA_BOOTSTRAP_SERVERS is not set (scripts/kafka-dev.sh start)"
        );
        return;
    };
    let n: usize = std::env::var("BENCH_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200_000);
    let topic = format!("onex-bench.{}", &Uuid::new_v4().simple().to_string()[..8]);
    create_topic(&bootstrap, &topic, 3);

    let node = Arc::new(NodeIdentity {
        node_id: "bench-1".to_owned(),
        node_type: "orchestrator",
        service: "bench".to_owned(),
        namespace: "onex".to_owned(),
        instance_id: Uuid::new_v4(),
    });
    let correlations: Vec<Uuid> = (0..1000).map(|_| Uuid::new_v4()).collect();
    let make = |count: usize| -> Vec<Event> {
        (0..count)
            .map(|i| Event {
                event_id: Uuid::new_v4(),
                event_type: EventType::parse("orchestrator.routing.completed").unwrap(),
                timestamp: Timestamp::now(),
                correlation_id: Some(correlations[i % correlations.len()]),
                causation_id: Some(Uuid::new_v4()),
                node: Arc::clone(&node),
                payload: Payload::MetricRecorded {
                    metric_name: "routing.duration".to_owned(),
                    metric_value: i as f64,
                    metric_unit: "ms".to_owned(),
                },
            })
            .collect()
    };
    let sample = make(1).remove(0);
    let bytes = sample.to_json_string().unwrap().len();
    println!("kafka bench: {n} events of ~{bytes} bytes to {topic} on {bootstrap} (3 partitions, acks=all, idempotence)\n");

    // Throughput: as fast as possible.
    let events = make(n);
    let raw_input: Vec<(Vec<u8>, String)> = events
        .iter()
        .map(|e| {
            let key = e.correlation_id.unwrap().to_string();
            (serde_json::to_vec(e).unwrap(), key)
        })
        .collect();
    let raw = run_raw(&bootstrap, &topic, &raw_input, None, None);
    // Raw again with the sink's CloudEvents headers, built beforehand.
    let raw_headers = run_raw(
        &bootstrap,
        &topic,
        &raw_input,
        None,
        Some(events.iter().map(cloudevents_headers).collect()),
    );
    let sink = run_sink(&bootstrap, &topic, events, None);

    // Latency at a fixed 10,000 events/s for 2 s.
    let paced = make(20_000);
    let paced_raw: Vec<(Vec<u8>, String)> = paced
        .iter()
        .map(|e| {
            (
                serde_json::to_vec(e).unwrap(),
                e.correlation_id.unwrap().to_string(),
            )
        })
        .collect();
    let raw_10k = run_raw(&bootstrap, &topic, &paced_raw, Some(10_000), None);
    let sink_10k = run_sink(&bootstrap, &topic, paced, Some(10_000));

    println!("| run | events/s | p50 | p95 | p99 | (enqueue → broker ack) |");
    println!("|---|---:|---:|---:|---:|---|");
    for (name, r) in [
        ("raw BaseProducer, max rate", &raw),
        ("raw BaseProducer + same headers, max rate", &raw_headers),
        ("KafkaSink, max rate", &sink),
        ("raw BaseProducer, 10k/s", &raw_10k),
        ("KafkaSink, 10k/s", &sink_10k),
    ] {
        println!(
            "| {name} | {:.0} | {} | {} | {} | |",
            r.rate,
            fmt(r.latency[0]),
            fmt(r.latency[1]),
            fmt(r.latency[2])
        );
    }
    println!(
        "\nthroughput ratio KafkaSink / raw: {:.2}x; KafkaSink / raw with the same headers: {:.2}x; p95 ratio at 10k/s: {:.2}x",
        sink.rate / raw.rate,
        sink.rate / raw_headers.rate,
        sink_10k.latency[1] as f64 / raw_10k.latency[1].max(1) as f64
    );

    // The cost of `publish` itself, broker up and broker down.
    let up = publish_cost(&bootstrap, &topic, make(50_000));
    let down_addr = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().to_string()
    };
    let down = publish_cost(&down_addr, &topic, make(50_000));
    println!("\n| publish() call | p50 | p99 | p99.9 |");
    println!("|---|---:|---:|---:|");
    println!(
        "| broker up | {} | {} | {} |",
        fmt(up[0]),
        fmt(up[1]),
        fmt(up[2])
    );
    println!(
        "| broker down | {} | {} | {} |",
        fmt(down[0]),
        fmt(down[1]),
        fmt(down[2])
    );
    println!(
        "\nadded latency with the broker down at p99: {} (down p99 − up p99)",
        fmt(down[1].saturating_sub(up[1]))
    );
}

struct Run {
    rate: f64,
    /// p50, p95, p99 in nanoseconds.
    latency: [u64; 3],
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

fn pace(start: Instant, i: usize, rate: Option<u64>) {
    if let Some(rate) = rate {
        let due = start + Duration::from_nanos(i as u64 * 1_000_000_000 / rate);
        while Instant::now() < due {
            std::hint::spin_loop();
        }
    }
}

struct RawContext {
    epoch: Instant,
    latencies: Latencies,
}

impl ClientContext for RawContext {}

impl ProducerContext for RawContext {
    type DeliveryOpaque = usize;

    fn delivery(&self, result: &DeliveryResult<'_>, sent_at: usize) {
        if result.is_ok() {
            let now = self.epoch.elapsed().as_nanos() as u64;
            if let Ok(mut l) = self.latencies.lock() {
                l.push(now.saturating_sub(sent_at as u64));
            }
        }
    }
}

fn run_raw(
    bootstrap: &str,
    topic: &str,
    input: &[(Vec<u8>, String)],
    rate: Option<u64>,
    headers: Option<Vec<OwnedHeaders>>,
) -> Run {
    let mut headers = headers.map(Vec::into_iter);
    let latencies: Latencies = Arc::new(Mutex::new(Vec::with_capacity(input.len())));
    let epoch = Instant::now();
    let producer: BaseProducer<RawContext> = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("enable.idempotence", "true")
        .set("acks", "all")
        .create_with_context(RawContext {
            epoch,
            latencies: Arc::clone(&latencies),
        })
        .unwrap();
    // A polling thread, like KafkaSink's, so both run delivery callbacks
    // off the sending thread.
    let producer = Arc::new(producer);
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let poller = {
        let (producer, stop) = (Arc::clone(&producer), Arc::clone(&stop));
        std::thread::spawn(move || {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                producer.poll(Duration::from_millis(100));
            }
        })
    };
    // Warm up: connect, fetch metadata and the producer id before timing.
    for (payload, key) in input.iter().take(100) {
        let record = BaseRecord::with_opaque_to(topic, 0)
            .payload(&payload[..])
            .key(key.as_str());
        let _ = producer.send(record);
    }
    producer
        .flush(Duration::from_secs(30))
        .expect("raw warm-up");
    latencies.lock().unwrap().clear();
    let start = Instant::now();
    for (i, (payload, key)) in input.iter().enumerate() {
        pace(start, i, rate);
        let sent_at = epoch.elapsed().as_nanos() as usize;
        let mut record = BaseRecord::with_opaque_to(topic, sent_at)
            .payload(&payload[..])
            .key(key.as_str());
        record.headers = headers.as_mut().and_then(Iterator::next);
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
    producer.flush(Duration::from_secs(60)).expect("raw flush");
    let elapsed = start.elapsed();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let _ = poller.join();
    let l = std::mem::take(&mut *latencies.lock().unwrap());
    assert!(l.len() >= input.len(), "raw: every message acked");
    Run {
        rate: input.len() as f64 / elapsed.as_secs_f64(),
        latency: percentiles(l, [0.50, 0.95, 0.99]),
    }
}

fn run_sink(bootstrap: &str, topic: &str, events: Vec<Event>, rate: Option<u64>) -> Run {
    let n = events.len();
    let latencies: Latencies = Arc::new(Mutex::new(Vec::with_capacity(n)));
    let l = Arc::clone(&latencies);
    let config = KafkaConfig::new(bootstrap)
        .topics(TopicRouting::single(topic))
        .on_delivery(move |r| {
            if r.outcome.is_delivered() {
                if let Ok(mut l) = l.lock() {
                    l.push(r.latency.as_nanos() as u64);
                }
            }
        });
    let sink = KafkaSink::new(config).unwrap();
    // Warm up: connect, fetch metadata and the producer id before timing.
    let warm_up = 100.min(n);
    for e in events.iter().take(warm_up) {
        sink.publish(e.clone());
    }
    sink.flush(Duration::from_secs(30)).expect("sink warm-up");
    latencies.lock().unwrap().clear();
    let start = Instant::now();
    for (i, e) in events.into_iter().enumerate() {
        pace(start, i, rate);
        sink.publish(e);
    }
    sink.flush(Duration::from_secs(60)).expect("sink flush");
    let elapsed = start.elapsed();
    let stats = sink.stats();
    assert_eq!(
        stats.delivered,
        (n + warm_up) as u64,
        "sink: every event acked: {stats:?}"
    );
    let l = std::mem::take(&mut *latencies.lock().unwrap());
    Run {
        rate: n as f64 / elapsed.as_secs_f64(),
        latency: percentiles(l, [0.50, 0.95, 0.99]),
    }
}

/// p50, p99, p99.9 of the `publish` call itself at 10,000 events/s.
fn publish_cost(bootstrap: &str, topic: &str, events: Vec<Event>) -> [u64; 3] {
    let config = KafkaConfig::new(bootstrap).topics(TopicRouting::single(topic));
    let sink = KafkaSink::new(config).unwrap();
    // Let the client connect (or find that it cannot).
    std::thread::sleep(Duration::from_millis(500));
    let mut costs = Vec::with_capacity(events.len());
    let start = Instant::now();
    for (i, e) in events.into_iter().enumerate() {
        pace(start, i, Some(10_000));
        let t = Instant::now();
        sink.publish(e);
        costs.push(t.elapsed().as_nanos() as u64);
    }
    let _ = sink.flush(Duration::from_secs(10));
    percentiles(costs, [0.50, 0.99, 0.999])
}

fn create_topic(bootstrap: &str, topic: &str, partitions: i32) {
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
    let _ = rt.block_on(admin.create_topics([&new], &opts));
}
