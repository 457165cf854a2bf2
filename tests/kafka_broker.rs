//! The Kafka sink against a real broker (tansu, started by
//! `scripts/kafka-dev.sh start`). Each test is ignored unless asked for
//! (`--include-ignored`, as `scripts/test.sh` does), and then fails when
//! `KAFKA_BOOTSTRAP_SERVERS` is not set.
//!
//! ```text
//! scripts/kafka-dev.sh start
//! KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:9092 cargo test --features kafka --test kafka_broker -- --include-ignored
//! ```
#![cfg(feature = "kafka")]

mod common;
mod kafka_support;

use kafka_support::*;
use onex_events::kafka::{KafkaConfig, Outcome, TopicRouting};
use onex_events::KafkaSink;
use onex_events::Sink;
use std::collections::HashSet;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;
use uuid::Uuid;

fn example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().and_then(|deps| deps.parent()).unwrap();
    let path = dir.join("examples").join(name);
    assert!(
        path.exists(),
        "{} not built; run `cargo test --features kafka` (it builds the examples)",
        path.display()
    );
    path
}

#[test]
#[ignore = "needs a Kafka broker: run by scripts/test.sh (the README's test command, and CI), which starts one; or set KAFKA_BOOTSTRAP_SERVERS"]
fn orchestrator_example_events_are_consumed_back_valid_with_headers() {
    let bootstrap = bootstrap();
    let exe = example("orchestrator");
    // What the example publishes, from its stdout without Kafka.
    let out = Command::new(&exe)
        .env_remove("KAFKA_BOOTSTRAP_SERVERS")
        .output()
        .unwrap();
    assert!(out.status.success());
    let expected: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(!expected.is_empty());

    let topic = unique_topic("orchestrator");
    create_topic(&bootstrap, &topic, 3);
    let out = Command::new(&exe)
        .env("KAFKA_BOOTSTRAP_SERVERS", &bootstrap)
        .env("KAFKA_TOPIC", &topic)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stdout.is_empty(),
        "with Kafka configured, events go to Kafka, not stdout"
    );

    let records = consume(&bootstrap, &topic, expected.len(), Duration::from_secs(30));
    assert_eq!(records.len(), expected.len());
    let mut got: Vec<&str> = records
        .iter()
        .map(|r| r.json["event_type"].as_str().unwrap())
        .collect();
    let mut want: Vec<&str> = expected
        .iter()
        .map(|e| e["event_type"].as_str().unwrap())
        .collect();
    got.sort_unstable();
    want.sort_unstable();
    assert_eq!(got, want);
    for r in &records {
        common::assert_contract_valid(&r.json);
        assert_headers_match(r);
        // The value is the envelope JSON, byte for byte what the sink wrote.
        assert_eq!(
            serde_json::to_vec(&r.json).unwrap().len(),
            r.value.len(),
            "value is compact envelope JSON"
        );
    }
}

#[test]
#[ignore = "needs a Kafka broker: run by scripts/test.sh (the README's test command, and CI), which starts one; or set KAFKA_BOOTSTRAP_SERVERS"]
fn default_routing_names_topics_by_namespace_service_and_operation() {
    let bootstrap = bootstrap();
    let prefix = format!("t{}", &Uuid::new_v4().simple().to_string()[..8]);
    let node = node("routing");
    let topic = format!("{prefix}.onex.routing.orchestrator.state.v1");
    create_topic(&bootstrap, &topic, 2);
    let reports = Reports::default();
    let sink = KafkaSink::new(
        reports.attach(KafkaConfig::new(&bootstrap).topics(TopicRouting::prefixed(&prefix))),
    )
    .unwrap();
    let c = Uuid::new_v4();
    for seq in 0..20 {
        sink.publish(event(&node, c, seq));
    }
    sink.flush(Duration::from_secs(30)).expect("flush");
    let records = consume(&bootstrap, &topic, 20, Duration::from_secs(30));
    assert_eq!(records.len(), 20);
    assert_ordered_per_key(&records);
    for r in &records {
        common::assert_contract_valid(&r.json);
        assert_headers_match(r);
    }
}

#[test]
#[ignore = "needs a Kafka broker: run by scripts/test.sh (the README's test command, and CI), which starts one; or set KAFKA_BOOTSTRAP_SERVERS"]
fn broker_stopped_and_restarted_mid_stream_every_event_accounted_for() {
    // Needs what the other tests need (scripts/kafka-dev.sh), though it
    // starts a broker of its own, so stopping it disturbs no other test.
    bootstrap();
    let port = free_port();
    broker("start", port);
    let _guard = OwnBroker(port);
    let bootstrap = format!("127.0.0.1:{port}");
    let topic = unique_topic("restart");
    create_topic(&bootstrap, &topic, 3);

    let reports = Reports::default();
    let config = KafkaConfig::new(&bootstrap)
        .topics(TopicRouting::single(&topic))
        .property("message.timeout.ms", "3000")
        .property("reconnect.backoff.max.ms", "500");
    let sink = KafkaSink::new(reports.attach(config)).unwrap();
    let n = node("restart");
    let keys: Vec<Uuid> = (0..8).map(|_| Uuid::new_v4()).collect();
    let mut seq = 0;
    let mut publish = |count: usize| -> Vec<Uuid> {
        (0..count)
            .map(|_| {
                let e = event(&n, keys[seq % keys.len()], seq);
                seq += 1;
                let id = e.event_id;
                sink.publish(e);
                id
            })
            .collect()
    };

    let before = publish(200);
    sink.flush(Duration::from_secs(30))
        .expect("flush before the stop");

    broker("stop", port);
    // Publishing with the broker down does not wait for it: the calls
    // return while it is still down, before any of their events has an
    // outcome. (The deadline only keeps a waiting publish from hanging the
    // test; the cost of a publish is measured by `benches/kafka.rs`.)
    let during = std::thread::scope(|s| {
        let (returned, publishing) = std::sync::mpsc::channel();
        let publish = &mut publish;
        s.spawn(move || {
            let _ = returned.send(publish(200));
        });
        match publishing.recv_timeout(Duration::from_secs(120)) {
            Ok(ids) => ids,
            Err(_) => {
                broker("start", port); // lets the waiting publish return
                panic!("publishing with the broker down waited for the broker");
            }
        }
    });
    let reported = reports.by_id();
    assert!(
        during.iter().all(|id| !reported.contains_key(id)),
        "an event published with the broker down has an outcome already"
    );
    // Long enough for records to time out of librdkafka's queue
    // (`message.timeout.ms`) into the sink's retry buffer; the test holds
    // either way.
    std::thread::sleep(Duration::from_secs(2));

    broker("start", port);
    // Memory storage: the restarted broker starts empty.
    create_topic(&bootstrap, &topic, 3);
    let after = publish(200);
    sink.flush(Duration::from_secs(60))
        .unwrap_or_else(|e| panic!("flush after restart: {e}; {:?}", sink.stats()));

    let stats = sink.stats();
    let by_id = reports.by_id();
    let all: Vec<Uuid> = before
        .iter()
        .chain(&during)
        .chain(&after)
        .copied()
        .collect();
    assert_eq!(stats.published, all.len() as u64);
    assert_eq!(by_id.len(), all.len(), "every event has exactly one report");
    for id in &all {
        let r = &by_id[id];
        assert!(
            r.outcome.is_delivered(),
            "event {id} not delivered: {:?}",
            r.outcome
        );
    }
    assert_eq!(stats.delivered, all.len() as u64, "{stats:?}");
    assert_eq!(stats.undelivered(), 0, "{stats:?}");

    // Everything published while down or after the restart is on the new broker.
    // A record purged in flight from a replaced producer may have been
    // written and is then sent again: read until every id was seen.
    let expected: HashSet<String> = during.iter().chain(&after).map(Uuid::to_string).collect();
    let records = consume_ids(&bootstrap, &topic, &expected, Duration::from_secs(60));
    let consumed: HashSet<&str> = records
        .iter()
        .map(|r| r.json["event_id"].as_str().unwrap())
        .collect();
    for id in during.iter().chain(&after) {
        assert!(
            consumed.contains(id.to_string().as_str()),
            "event {id} not on the broker"
        );
    }
    let lost: Vec<_> = reports
        .all()
        .into_iter()
        .filter(|r| r.outcome == Outcome::Lost)
        .collect();
    assert!(lost.is_empty());
}

/// Waits (a generous bound, only against hanging) until the sink's
/// `last_error()` is set, and returns it.
fn first_cause(sink: &KafkaSink) -> String {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(cause) = sink.last_error() {
            return cause;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no cause reported; stats: {:?}",
            sink.stats()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// SASL against a broker that speaks none: the cause is the sink's
/// `last_error()` (and logged at ERROR), not only "brokers are down".
#[test]
#[ignore = "needs a Kafka broker: run by scripts/test.sh (the README's test command, and CI), which starts one; or set KAFKA_BOOTSTRAP_SERVERS"]
fn sasl_against_a_broker_without_sasl_names_the_cause() {
    let bootstrap = bootstrap();
    let config = KafkaConfig::new(&bootstrap)
        .topics(TopicRouting::single("sasl-cause"))
        .sasl("SASL_PLAINTEXT", "SCRAM-SHA-512", "user", "hunter2");
    let sink = KafkaSink::new(config).unwrap();
    sink.publish(event(&node("sasl"), Uuid::new_v4(), 0));
    let cause = first_cause(&sink);
    eprintln!("cause: {cause}");
    assert!(
        cause.to_ascii_lowercase().contains("sasl") || cause.contains("uthentication"),
        "{cause}"
    );
    assert!(!cause.contains("hunter2"));
}

/// TLS against a plaintext listener: the handshake's failure is the sink's
/// `last_error()` (and logged at ERROR).
#[test]
#[ignore = "needs a Kafka broker: run by scripts/test.sh (the README's test command, and CI), which starts one; or set KAFKA_BOOTSTRAP_SERVERS"]
fn ssl_against_a_plaintext_listener_names_the_cause() {
    let bootstrap = bootstrap();
    let config = KafkaConfig::new(&bootstrap)
        .topics(TopicRouting::single("ssl-cause"))
        .property("security.protocol", "SSL")
        // The handshake hangs until this timeout (librdkafka's default: 30 s).
        .property("socket.connection.setup.timeout.ms", "3000");
    let sink = KafkaSink::new(config).unwrap();
    sink.publish(event(&node("ssl"), Uuid::new_v4(), 0));
    let cause = first_cause(&sink);
    eprintln!("cause: {cause}");
    assert!(
        cause.contains("SSL") || cause.contains("TLS") || cause.contains("handshake"),
        "{cause}"
    );
}
