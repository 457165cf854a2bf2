//! `onex-events dlq reprocess` against a real broker: dead letters go back
//! to their original topic once, with their key, value and headers.

mod support;

use onex_events::consume::kafka::{reprocess_with_progress, ReprocessOptions};
use onex_events::kafka::headers::{DEAD_LETTER_ERROR, DEAD_LETTER_TOPIC, ID};
use onex_events::kafka::rdkafka::consumer::{BaseConsumer, Consumer};
use onex_events::kafka::rdkafka::message::{Headers, Message};
use onex_events::kafka::rdkafka::ClientConfig;
use std::time::{Duration, Instant};
use support::{bootstrap, create_topics, produce, run, unique};

fn produce_dead_letters(dlq: &str, original: &str, n: usize) {
    for i in 0..n {
        let (key, value, id) = (
            format!("key-{i}"),
            format!("{{\"n\":{i}}}"),
            format!("id-{i}"),
        );
        let headers = [
            (ID, id.as_str()),
            (DEAD_LETTER_TOPIC, original),
            (DEAD_LETTER_ERROR, "boom"),
        ];
        produce(dlq, &key, &value, &headers);
    }
}

/// A record read back: key, value, and header names with their values.
type Read = (String, String, Vec<(String, String)>);

/// Every record of `topic`.
fn read_all(topic: &str, expected: usize) -> Vec<Read> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap())
        .set("group.id", format!("reader-{}", uuid::Uuid::new_v4()))
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .create()
        .expect("consumer");
    consumer.subscribe(&[topic]).expect("subscribe");
    let mut records = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    let text = |b: Option<&[u8]>| String::from_utf8_lossy(b.unwrap_or_default()).into_owned();
    while records.len() < expected && Instant::now() < deadline {
        if let Some(Ok(m)) = consumer.poll(Duration::from_millis(200)) {
            let headers = m
                .headers()
                .map(|h| {
                    h.iter()
                        .map(|h| (h.key.to_owned(), text(h.value)))
                        .collect()
                })
                .unwrap_or_default();
            records.push((text(m.key()), text(m.payload()), headers));
        }
    }
    // Anything more would be a duplicate.
    if let Some(Ok(m)) = consumer.poll(Duration::from_secs(2)) {
        panic!("unexpected record at offset {}", m.offset());
    }
    records
}

fn reprocess(args: &[&str]) -> String {
    let args: Vec<&str> = ["dlq", "reprocess"].iter().chain(args).copied().collect();
    run(&args)
}

#[test]
#[ignore = "needs a Kafka broker: run by scripts/test.sh (the README's test command, and CI), which starts one; or set KAFKA_BOOTSTRAP_SERVERS"]
fn reprocess_moves_each_dead_letter_back_once_with_its_key_value_and_headers() {
    let original = unique("cli.reprocess");
    let dlq = format!("{original}.dlq");
    create_topics(&[&original, &dlq]);
    produce_dead_letters(&dlq, &original, 3);

    let mut progress = Vec::new();
    let config = onex_events::KafkaConfig::new(bootstrap());
    let mut options = ReprocessOptions::new(dlq.clone());
    options.dry_run = true;
    reprocess_with_progress(&config, &options, |p| progress.push((p.read, p.total)))
        .expect("a dry run");
    assert_eq!(
        progress,
        [(0, 3), (1, 3), (2, 3), (3, 3)],
        "the progress bar's steps"
    );

    let dry = reprocess(&[&dlq, "--dry-run"]);
    assert!(dry.starts_with("would move 3 events"), "{dry}");
    let first = reprocess(&[&dlq, "--limit", "2"]);
    assert!(first.starts_with("moved 2 events"), "{first}");
    assert!(first.contains(&format!("2 to {original}")), "{first}");
    let second = reprocess(&[&dlq]);
    assert!(second.starts_with("moved 1 event\n"), "{second}");
    let third = reprocess(&[&dlq]);
    assert!(third.starts_with("moved 0 events"), "{third}");

    let records = read_all(&original, 3);
    assert_eq!(records.len(), 3, "{records:?}");
    for (i, (key, value, headers)) in records.iter().enumerate() {
        assert_eq!(key, &format!("key-{i}"));
        assert_eq!(value, &format!("{{\"n\":{i}}}"));
        assert_eq!(
            headers,
            &[(ID.to_owned(), format!("id-{i}"))],
            "dead-letter headers dropped"
        );
    }
}
