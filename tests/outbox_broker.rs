//! The durable outbox against a real broker (tansu, `scripts/kafka-dev.sh`):
//! a broker that is down while operations run, a `kill -9` of a process in
//! the middle of 50,000 operations, and dead-lettering. Each test is ignored
//! unless asked for (`--include-ignored`, as `scripts/test.sh` does), and
//! then fails when `KAFKA_BOOTSTRAP_SERVERS` is not set.
//!
//! ```text
//! scripts/kafka-dev.sh start 9092
//! KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:9092 cargo test --features outbox --test outbox_broker -- --include-ignored --nocapture
//! ```
#![cfg(feature = "outbox")]

mod kafka_support;
mod outbox_support;

use outbox_support::{committed_ids, TempDir, Worker};

use kafka_support::{
    bootstrap, broker, consume_ids, create_topic, free_port, unique_topic, OwnBroker, Record,
};
use onex_events::kafka::{KafkaConfig, TopicRouting};
use onex_events::outbox::sqlite::rusqlite::Connection;
use onex_events::outbox::{OutboxConfig, OutboxSink, RelayConfig};
use onex_events::sink::SinkError;
use onex_events::{EventType, NodeContext, NodeIdentity, Payload, Publisher, Sink};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Reads `topic` until every id of `expected` was seen (or `timeout`);
/// returns the records and the number of duplicates among them. Reads by
/// id, not by count: after a `kill -9` the duplicates can outnumber any
/// fixed slack, and a count-limited read would stop before the last ids.
fn consume_all(
    bootstrap: &str,
    topic: &str,
    expected: &[String],
    timeout: Duration,
) -> (Vec<Record>, usize) {
    let want: HashSet<String> = expected.iter().cloned().collect();
    let records = consume_ids(bootstrap, topic, &want, timeout);
    let distinct: HashSet<&str> = records
        .iter()
        .filter_map(|r| r.json["event_id"].as_str())
        .collect();
    let duplicates = records.len() - distinct.len();
    (records, duplicates)
}

/// Checks that every committed id arrived and that each key's events are
/// in commit order.
fn assert_all_arrived_in_order(committed: &[String], records: &[Record]) {
    let arrived: HashSet<&str> = records
        .iter()
        .filter_map(|r| r.json["event_id"].as_str())
        .collect();
    let missing: Vec<&String> = committed
        .iter()
        .filter(|id| !arrived.contains(id.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "{} of {} committed events never arrived, e.g. {:?}",
        missing.len(),
        committed.len(),
        missing.first()
    );
    // Per key (correlation id), first arrivals follow commit order.
    let order: HashMap<&str, usize> = committed
        .iter()
        .enumerate()
        .map(|(i, id)| (id.as_str(), i))
        .collect();
    let mut last: HashMap<String, usize> = HashMap::new();
    let mut first_seen = HashSet::new();
    for r in records {
        let id = r.json["event_id"].as_str().unwrap_or_default();
        if !first_seen.insert(id.to_owned()) {
            continue;
        }
        let key = r.key.clone().unwrap_or_default();
        let pos = order[id];
        if let Some(prev) = last.insert(key.clone(), pos) {
            assert!(prev < pos, "key {key}: event {id} overtook an earlier one");
        }
    }
}

#[test]
#[ignore = "needs a Kafka broker: run by scripts/test.sh (the README's test command, and CI), which starts one; or set KAFKA_BOOTSTRAP_SERVERS"]
fn broker_down_while_5000_operations_run_every_committed_event_arrives() {
    // Needs what the other tests need (scripts/kafka-dev.sh), though it
    // starts a broker of its own, so starting it late disturbs no other test.
    bootstrap();
    let port = free_port();
    let _guard = OwnBroker(port);
    let bootstrap = format!("127.0.0.1:{port}");
    let topic = unique_topic("outbox-down");
    let dir = TempDir::new("down");
    let path = dir.0.join("o.db");
    let sink = OutboxSink::open(
        OutboxConfig::sqlite(&path).kafka(
            KafkaConfig::new(&bootstrap)
                .topics(TopicRouting::single(&topic))
                .property("reconnect.backoff.max.ms", "200"),
        ),
    )
    .unwrap();
    let node = Arc::new(Worker {
        ctx: NodeContext::builder::<Worker>()
            .node_id("worker-1")
            .publisher(Publisher::new(sink.clone()))
            .build()
            .unwrap(),
    });

    let started = Instant::now();
    let starter = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(3));
        broker("start", port);
        create_topic(&bootstrap, &topic, 3);
        (bootstrap, topic)
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(16)
        .build()
        .unwrap();
    let ops = 5_000u64;
    runtime.block_on(async {
        let tasks: Vec<_> = (0..16u64)
            .map(|t| {
                let node = Arc::clone(&node);
                tokio::spawn(async move {
                    let mut i = t;
                    while i < ops {
                        assert_eq!(node.work(i).await.unwrap(), i + 1);
                        i += 16;
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
    });
    let ops_time = started.elapsed();
    let (bootstrap, topic) = starter.join().unwrap();
    let t = Instant::now();
    sink.flush(Duration::from_secs(120))
        .unwrap_or_else(|e| panic!("drain: {e}; {:?}", sink.stats()));
    let drain = t.elapsed();
    let stats = sink.stats().unwrap();
    assert_eq!(stats.committed, 2 * ops, "{stats}");
    assert_eq!(stats.delivered, stats.committed, "{stats}");
    assert_eq!(stats.not_committed, 0);

    let committed = committed_ids(&path);
    let (records, duplicates) =
        consume_all(&bootstrap, &topic, &committed, Duration::from_secs(60));
    assert_all_arrived_in_order(&committed, &records);
    println!(
        "outbox, broker down for 3 s: {ops} operations in {:.2}s; delivered/committed = {}/{}; \
         arrived {} records ({} duplicates); drained {:.2}s after the broker started",
        ops_time.as_secs_f64(),
        stats.delivered,
        stats.committed,
        records.len(),
        duplicates,
        drain.as_secs_f64()
    );
}

fn soak_binary() -> PathBuf {
    if let Ok(path) = std::env::var("OUTBOX_SOAK_BIN") {
        return PathBuf::from(path);
    }
    // Built by `cargo test --features outbox` next to this test's deps dir.
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().and_then(|deps| deps.parent()).unwrap();
    let path = dir.join("examples").join("outbox_soak");
    assert!(
        path.exists(),
        "{} not built; run `cargo test --features outbox` (it builds the examples) \
         or set OUTBOX_SOAK_BIN",
        path.display()
    );
    path
}

fn committed_now(path: &Path) -> u64 {
    let Ok(conn) = Connection::open(path) else {
        return 0;
    };
    conn.query_row(
        "SELECT seq FROM sqlite_sequence WHERE name = 'onex_outbox'",
        [],
        |r| r.get::<_, i64>(0),
    )
    .map_or(0, |v| u64::try_from(v).unwrap_or(0))
}

#[test]
#[ignore = "needs a Kafka broker: run by scripts/test.sh (the README's test command, and CI), which starts one; or set KAFKA_BOOTSTRAP_SERVERS"]
fn kill_9_in_the_middle_of_50000_operations_then_drain_every_committed_event_arrives() {
    let bootstrap = bootstrap();
    let soak = soak_binary();
    let topic = unique_topic("outbox-kill");
    create_topic(&bootstrap, &topic, 3);
    let dir = TempDir::new("kill");
    let db = dir.0.join("o.db");
    let soak_cmd = || {
        let mut c = Command::new(&soak);
        c.env("KAFKA_BOOTSTRAP_SERVERS", &bootstrap)
            .env("KAFKA_TOPIC", &topic)
            .arg("--db")
            .arg(&db);
        c
    };

    let ops = 50_000u64;
    let mut child = soak_cmd()
        .args(["--ops", &ops.to_string()])
        .spawn()
        .unwrap();
    // Kill it once about a third of the events are committed.
    let deadline = Instant::now() + Duration::from_secs(300);
    while committed_now(&db) < 2 * ops / 3 {
        assert!(Instant::now() < deadline, "the soak made no progress");
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the soak ended before it was killed: {status}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap(); // SIGKILL
    let status = child.wait().unwrap();
    assert!(!status.success());
    let at_kill = committed_now(&db);

    let t = Instant::now();
    let out = soak_cmd().arg("--drain").output().unwrap();
    let drain = t.elapsed();
    assert!(
        out.status.success(),
        "--drain failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = soak_cmd().arg("--stats").output().unwrap();
    assert!(out.status.success());
    let line = String::from_utf8(out.stdout).unwrap();
    let stats: HashMap<&str, u64> = line
        .split_whitespace()
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k, v.parse().unwrap()))
        .collect();
    assert_eq!(
        stats.len(),
        4,
        "one line committed= delivered= pending= dead=: {line}"
    );
    assert!(
        stats["committed"] >= at_kill && stats["committed"] < 2 * ops,
        "{line}"
    );
    assert_eq!(stats["delivered"], stats["committed"], "{line}");
    assert_eq!(stats["pending"], 0, "{line}");
    assert_eq!(stats["dead"], 0, "{line}");

    let committed = committed_ids(&db);
    assert_eq!(committed.len() as u64, stats["committed"]);
    let (records, duplicates) =
        consume_all(&bootstrap, &topic, &committed, Duration::from_secs(120));
    assert_all_arrived_in_order(&committed, &records);
    println!(
        "outbox, kill -9 after {at_kill} committed events: delivered/committed = {}/{}; \
         {} records arrived, {duplicates} duplicates (at-least-once); --drain took {:.2}s",
        stats["delivered"],
        stats["committed"],
        records.len(),
        drain.as_secs_f64()
    );
}

/// Parses the `--stats` line of `outbox_soak`.
fn soak_stats(line: &str) -> HashMap<String, u64> {
    line.split_whitespace()
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.parse().unwrap()))
        .collect()
}

/// Two processes publishing to one SQLite outbox file, started at the same
/// moment (worker processes of one service given one `ONEX_OUTBOX_PATH`):
/// each opens it (waiting its turn, never "database is locked") and
/// commits all its events, one relay at a time delivers them (the log
/// says which process relays), so every event arrives, in order per key,
/// with duplicates within one batch at most.
#[test]
#[ignore = "needs a Kafka broker: run by scripts/test.sh (the README's test command, and CI), which starts one; or set KAFKA_BOOTSTRAP_SERVERS"]
fn two_processes_on_one_outbox_file_commit_everything_and_one_relays_at_a_time() {
    let bootstrap = bootstrap();
    let soak = soak_binary();
    let topic = unique_topic("outbox-two");
    create_topic(&bootstrap, &topic, 3);
    let dir = TempDir::new("two");
    let db = dir.0.join("o.db");
    let ops = 10_000u64;
    let children: Vec<_> = (0..2)
        .map(|_| {
            Command::new(&soak)
                .env("KAFKA_BOOTSTRAP_SERVERS", &bootstrap)
                .env("KAFKA_TOPIC", &topic)
                .env("RUST_LOG", "onex_events::outbox=info")
                .arg("--db")
                .arg(&db)
                .args(["--ops", &ops.to_string(), "--concurrency", "8"])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut relayed = 0;
    for child in children {
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "a soak process failed: {stderr}");
        assert!(
            stderr.contains(&format!("{ops} operations ({} events) committed", 2 * ops))
                && stderr.contains("; 0 not committed"),
            "{stderr}"
        );
        if stderr.contains("this process relays the outbox") {
            relayed += 1;
        }
    }
    assert!(relayed >= 1, "no process said it relays");

    let out = Command::new(&soak)
        .arg("--db")
        .arg(&db)
        .arg("--stats")
        .output()
        .unwrap();
    let line = String::from_utf8(out.stdout).unwrap();
    let stats = soak_stats(&line);
    assert_eq!(stats["committed"], 4 * ops, "{line}");
    assert_eq!(stats["delivered"], stats["committed"], "{line}");
    assert_eq!((stats["pending"], stats["dead"]), (0, 0), "{line}");

    let committed = committed_ids(&db);
    assert_eq!(committed.len() as u64, 4 * ops);
    let (records, duplicates) =
        consume_all(&bootstrap, &topic, &committed, Duration::from_secs(120));
    assert_all_arrived_in_order(&committed, &records);
    // The default batch: what a relay stopping with a batch in flight may
    // leave for the next to send again.
    assert!(duplicates <= 5_000, "{duplicates} duplicates");
    println!(
        "two processes on one outbox file: {} events committed, {} records arrived, \
         {duplicates} duplicates; {relayed} process(es) relayed",
        committed.len(),
        records.len()
    );
}

#[test]
#[ignore = "needs a Kafka broker: run by scripts/test.sh (the README's test command, and CI), which starts one; or set KAFKA_BOOTSTRAP_SERVERS"]
fn an_event_that_keeps_failing_moves_to_the_dead_letter_table() {
    let bootstrap = bootstrap();
    let topic = unique_topic("outbox-dead");
    create_topic(&bootstrap, &topic, 1);
    let dir = TempDir::new("dead");
    let path = dir.0.join("o.db");
    let sink = OutboxSink::open(
        OutboxConfig::sqlite(&path).relay(
            RelayConfig::new(
                KafkaConfig::new(&bootstrap)
                    .topics(TopicRouting::single(&topic))
                    .property("message.max.bytes", "2000"),
            )
            .max_attempts(3)
            .backoff(Duration::from_millis(10), Duration::from_millis(50)),
        ),
    )
    .unwrap();
    let node = Arc::new(NodeIdentity {
        node_id: "dead-1".to_owned(),
        node_type: "worker",
        service: "worker".to_owned(),
        namespace: "onex".to_owned(),
        instance_id: uuid::Uuid::new_v4(),
    });
    let event = |reason: String| onex_events::Event {
        event_id: uuid::Uuid::new_v4(),
        event_type: EventType::parse("worker.state.changed").unwrap(),
        timestamp: onex_events::Timestamp::now(),
        correlation_id: Some(uuid::Uuid::new_v4()),
        causation_id: None,
        node: Arc::clone(&node),
        payload: Payload::StateChanged {
            old_state: "a".to_owned(),
            new_state: "b".to_owned(),
            transition_reason: reason,
        },
        trace_parent: None,
    };
    let big = event("x".repeat(5_000));
    let big_id = big.event_id.to_string();
    sink.publish(event("small-1".to_owned()));
    sink.publish(big);
    sink.publish(event("small-2".to_owned()));
    let flushed = sink.flush(Duration::from_secs(60));
    assert!(
        matches!(&flushed, Err(SinkError::Undelivered { lost: 1, detail }) if detail.contains("dead-letter")),
        "flush reports the dead letter: {flushed:?}"
    );
    let stats = sink.stats().unwrap();
    assert_eq!(
        (stats.committed, stats.delivered, stats.dead),
        (3, 2, 1),
        "{stats}"
    );
    let conn = Connection::open(&path).unwrap();
    let (id, attempts, error): (String, i64, String) = conn
        .query_row(
            "SELECT id, attempts, last_error FROM onex_outbox_dead",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert_eq!(id, big_id);
    assert_eq!(attempts, 3);
    assert!(!error.is_empty());
    println!("dead letter after {attempts} attempts: {error}");
}
