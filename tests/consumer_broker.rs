//! The consumer on a real broker, in separate processes (the
//! `consumer_soak` example, which prints each event it handled before its
//! handler returns): a group on a 3-partition topic losing a member to
//! SIGKILL and gaining one; a poison event dead-lettered with its headers,
//! then reprocessed once the cause is fixed; the broker restarted.
#![cfg(feature = "kafka")]

mod kafka_support;

use kafka_support::consumer::{envelope, produce, Raw};
use kafka_support::durable_broker::DurableBroker;
use kafka_support::{bootstrap, consume, create_topic, unique_topic};
use onex_events::consume::kafka::{reprocess, ReprocessOptions};
use onex_events::KafkaConfig;
use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// A `consumer_soak` process and the lines it printed.
struct Soak {
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
    reader: Option<JoinHandle<()>>,
}

impl Soak {
    fn start(bootstrap: &str, topic: &str, group: &str, extra: &[&str]) -> Soak {
        let exe = std::env::current_exe().unwrap();
        let dir = exe.parent().and_then(|deps| deps.parent()).unwrap();
        let path: PathBuf = dir.join("examples").join("consumer_soak");
        assert!(
            path.exists(),
            "{} not built; run `cargo test`",
            path.display()
        );
        let mut child = Command::new(path)
            .args(["--topic", topic, "--group", group])
            .args(extra)
            .env("KAFKA_BOOTSTRAP_SERVERS", bootstrap)
            .stdout(Stdio::piped())
            .spawn()
            .expect("start consumer_soak");
        let stdout = child.stdout.take().unwrap();
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&lines);
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                sink.lock().unwrap().push(line);
            }
        });
        Soak {
            child,
            lines,
            reader: Some(reader),
        }
    }

    /// The event ids it printed as handled, in order (repeats included).
    fn handled(&self) -> Vec<String> {
        self.lines
            .lock()
            .unwrap()
            .iter()
            .filter_map(|l| l.strip_prefix("handled ").map(str::to_owned))
            .collect()
    }

    /// Panics with its exit status if it is no longer running.
    fn assert_running(&mut self) {
        if let Some(status) = self.child.try_wait().unwrap() {
            panic!("consumer_soak exited unexpectedly: {status}");
        }
    }

    fn kill_9(&mut self) {
        self.child.kill().unwrap(); // SIGKILL
        self.child.wait().unwrap();
    }

    /// SIGTERM, then its summary line once it exited.
    fn terminate(&mut self) -> String {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let exit = self.child.wait().unwrap();
        assert!(exit.success(), "consumer_soak exited with {exit}");
        if let Some(reader) = self.reader.take() {
            reader.join().unwrap();
        }
        let lines = self.lines.lock().unwrap();
        lines.last().cloned().unwrap_or_default()
    }
}

impl Drop for Soak {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Events `from..to` on 50 keys; their ids.
fn events(from: usize, to: usize) -> (Vec<Raw>, Vec<String>) {
    let records: Vec<Raw> = (from..to)
        .map(|i| {
            envelope(
                "orchestrator.state.changed",
                &format!("key-{}", i % 50),
                serde_json::json!({ "seq": i }),
                true,
            )
        })
        .collect();
    let ids = records.iter().map(event_id).collect();
    (records, ids)
}

fn event_id(r: &Raw) -> String {
    let value: serde_json::Value = serde_json::from_slice(&r.value).unwrap();
    value["event_id"].as_str().unwrap().to_owned()
}

fn wait_until(what: &str, timeout: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Ids of `expected` missing from every one of `soaks`, and how many
/// repeats they printed in all.
fn missing_and_duplicates(soaks: &[&Soak], expected: &[String]) -> (Vec<String>, usize) {
    let mut counts: HashMap<String, usize> = HashMap::new();
    for soak in soaks {
        for id in soak.handled() {
            *counts.entry(id).or_default() += 1;
        }
    }
    let missing = expected
        .iter()
        .filter(|id| !counts.contains_key(*id))
        .cloned()
        .collect();
    let duplicates = counts.values().map(|n| n - 1).sum();
    (missing, duplicates)
}

fn group(name: &str) -> String {
    format!("{name}-{}", &uuid::Uuid::new_v4().simple().to_string()[..8])
}

#[test]
#[ignore = "needs a Kafka broker: run by scripts/test.sh (the README's test command, and CI), which starts one; or set KAFKA_BOOTSTRAP_SERVERS"]
fn a_group_that_loses_a_member_to_sigkill_and_gains_one_handles_every_event_at_least_once() {
    let bootstrap = bootstrap();
    let topic = unique_topic("consumer-group");
    create_topic(&bootstrap, &topic, 3);
    create_topic(&bootstrap, &format!("{topic}.dlq"), 1);
    let group = group("soak");
    let mut first = Soak::start(&bootstrap, &topic, &group, &[]);
    let mut second = Soak::start(&bootstrap, &topic, &group, &[]);

    let (records, ids) = events(0, 1_800);
    let producer = {
        let (bootstrap, topic) = (bootstrap.clone(), topic.clone());
        std::thread::spawn(move || {
            for batch in records.chunks(30) {
                produce(&bootstrap, &topic, batch);
                std::thread::sleep(Duration::from_millis(50));
            }
        })
    };
    wait_until("both members handling", Duration::from_secs(60), || {
        !first.handled().is_empty() && !second.handled().is_empty()
    });
    first.kill_9();
    let killed_after = first.handled().len();
    let mut third = Soak::start(&bootstrap, &topic, &group, &[]);
    producer.join().unwrap();
    wait_until("every event handled", Duration::from_secs(120), || {
        missing_and_duplicates(&[&first, &second, &third], &ids)
            .0
            .is_empty()
    });
    let second_summary = second.terminate();
    let third_summary = third.terminate();

    let (missing, duplicates) = missing_and_duplicates(&[&first, &second, &third], &ids);
    assert!(missing.is_empty(), "{} events never handled", missing.len());
    assert!(
        !third.handled().is_empty(),
        "the member that joined later got partitions"
    );
    println!(
        "1800 events, 3 partitions: first member killed (SIGKILL) after {killed_after}; \
         second handled {} ({second_summary}); third joined later and handled {} ({third_summary}); \
         none lost, {duplicates} handled twice",
        second.handled().len(),
        third.handled().len(),
    );
}

#[test]
#[ignore = "needs a Kafka broker: run by scripts/test.sh (the README's test command, and CI), which starts one; or set KAFKA_BOOTSTRAP_SERVERS"]
fn a_poison_event_is_dead_lettered_with_its_headers_then_reprocessed_once_fixed() {
    let bootstrap = bootstrap();
    let topic = unique_topic("consumer-poison");
    let dead_letters = format!("{topic}.dlq");
    create_topic(&bootstrap, &topic, 3);
    create_topic(&bootstrap, &dead_letters, 1);
    let group = group("poison");
    let mut poisoned = Soak::start(&bootstrap, &topic, &group, &["--poison"]);

    let (mut records, ids) = events(0, 200);
    records[100] = envelope(
        "orchestrator.state.changed",
        "key-poison",
        serde_json::json!({ "seq": 100, "poison": true }),
        true,
    );
    let poison_id = event_id(&records[100]);
    let rest: Vec<String> = ids
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != 100)
        .map(|(_, id)| id.clone())
        .collect();
    produce(&bootstrap, &topic, &records);

    let dead = consume(&bootstrap, &dead_letters, 1, Duration::from_secs(60));
    assert_eq!(dead.len(), 1, "the poison event reached {dead_letters}");
    wait_until("the rest handled", Duration::from_secs(60), || {
        missing_and_duplicates(&[&poisoned], &rest).0.is_empty()
    });
    assert!(!poisoned.handled().contains(&poison_id));
    let letter = &dead[0];
    let h = &letter.headers;
    assert_eq!(letter.value, records[100].value, "the original value");
    assert_eq!(
        letter.key.as_deref(),
        Some("key-poison"),
        "the original key"
    );
    assert_eq!(h["ce_id"], poison_id, "the original headers");
    assert_eq!(h["ce_type"], "orchestrator.state.changed");
    assert_eq!(h["onex_dead_letter_error_type"], "consumer_soak::Poisoned");
    assert_eq!(h["onex_dead_letter_error"], "poison event");
    assert_eq!(h["onex_dead_letter_attempts"], "2");
    assert_eq!(h["onex_dead_letter_topic"], topic);
    assert_eq!(h["onex_dead_letter_group"], group);
    assert_eq!(h["onex_dead_letter_handler"], "soak.state_changed");
    assert!(h["onex_dead_letter_partition"].parse::<i32>().is_ok());
    assert!(h["onex_dead_letter_offset"].parse::<i64>().is_ok());
    let summary = poisoned.terminate();
    assert!(summary.contains("failed=1 dead_lettered=1"), "{summary}");

    // The cause fixed: the same group, without the poison.
    let mut fixed = Soak::start(&bootstrap, &topic, &group, &[]);
    let config = KafkaConfig::new(&bootstrap);
    let mut options = ReprocessOptions::new(&dead_letters);
    options.dry_run = true;
    assert_eq!(reprocess(&config, &options).unwrap().moved, 1, "dry run");
    options.dry_run = false;
    let report = reprocess(&config, &options).unwrap();
    assert_eq!(report.moved, 1, "{report:?}");
    wait_until("the poison event handled", Duration::from_secs(60), || {
        fixed.handled().contains(&poison_id)
    });
    let summary = fixed.terminate();
    assert_eq!(fixed.handled(), [poison_id], "only the reprocessed event");
    assert!(summary.contains("failed=0 dead_lettered=0"), "{summary}");
    assert_eq!(
        reprocess(&config, &options).unwrap().moved,
        0,
        "a second run moves nothing again"
    );
}

/// The broker is killed (SIGKILL) while events are being produced and
/// handled, and started again on the same port and log (tansu with S3
/// storage: the dev broker's memory storage would lose the topic, its
/// offsets and the group, and the metadata of a topic created again made
/// librdkafka's consumer crash here). The consumer and the producer
/// reconnect by themselves and the consumer goes on from its committed
/// offsets: every event is handled at least once; the repeats are counted.
#[test]
#[ignore = "needs a Kafka broker: run by scripts/test.sh (the README's test command, and CI), which starts one; or set KAFKA_BOOTSTRAP_SERVERS"]
fn consumption_resumes_after_the_broker_restarts() {
    // Needs what the other tests need (scripts/kafka-dev.sh), though it
    // runs a broker of its own.
    let _ = bootstrap();
    let broker = DurableBroker::start();
    let bootstrap = broker.bootstrap();
    let topic = unique_topic("consumer-restart");
    create_topic(&bootstrap, &topic, 3);
    create_topic(&bootstrap, &format!("{topic}.dlq"), 1);
    let mut soak = Soak::start(&bootstrap, &topic, &group("restart"), &[]);

    let (records, ids) = events(0, 1_200);
    let producer = {
        let (bootstrap, topic) = (bootstrap.clone(), topic.clone());
        std::thread::spawn(move || {
            for batch in records.chunks(60) {
                produce(&bootstrap, &topic, batch);
                std::thread::sleep(Duration::from_millis(100));
            }
        })
    };
    wait_until("handling under way", Duration::from_secs(60), || {
        soak.assert_running();
        soak.handled().len() >= 100
    });
    broker.kill_9();
    let killed_after = soak.handled().len();
    let producing = !producer.is_finished();
    broker.restart();
    producer.join().unwrap();
    wait_until("every event handled", Duration::from_secs(120), || {
        soak.assert_running();
        missing_and_duplicates(&[&soak], &ids).0.is_empty()
    });
    let summary = soak.terminate();
    let (missing, duplicates) = missing_and_duplicates(&[&soak], &ids);
    assert!(missing.is_empty(), "{} events never handled", missing.len());
    println!(
        "1200 events, broker killed (SIGKILL) after {killed_after} handled \
         (producer still producing: {producing}) and restarted: \
         none lost, {duplicates} handled twice ({summary})"
    );
}
