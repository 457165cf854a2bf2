//! `onex-events dlq reprocess` against a real broker: dead letters go back
//! to their original topic once, with their key, value and headers.

use assert_cmd::Command;
use onex_events::kafka::headers::{DEAD_LETTER_ERROR, DEAD_LETTER_TOPIC, ID};
use onex_events::kafka::rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use onex_events::kafka::rdkafka::client::DefaultClientContext;
use onex_events::kafka::rdkafka::consumer::{BaseConsumer, Consumer};
use onex_events::kafka::rdkafka::message::{Header, Headers, Message, OwnedHeaders};
use onex_events::kafka::rdkafka::producer::{
    BaseRecord, DefaultProducerContext, Producer, ThreadedProducer,
};
use onex_events::kafka::rdkafka::ClientConfig;
use std::time::{Duration, Instant};

const NEEDS_BROKER: &str =
    "needs a Kafka broker: set KAFKA_BOOTSTRAP_SERVERS (scripts/test.sh starts one)";

fn bootstrap() -> String {
    std::env::var("KAFKA_BOOTSTRAP_SERVERS").unwrap_or_else(|_| panic!("{NEEDS_BROKER}"))
}

fn create_topics(bootstrap: &str, topics: &[&str]) {
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .create()
        .expect("admin client");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let new: Vec<NewTopic> = topics
        .iter()
        .map(|t| NewTopic::new(t, 1, TopicReplication::Fixed(1)))
        .collect();
    let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(10)));
    for result in rt
        .block_on(admin.create_topics(&new, &options))
        .expect("create_topics")
    {
        result.expect("topic created");
    }
}

fn produce_dead_letters(bootstrap: &str, dlq: &str, original: &str, n: usize) {
    let producer: ThreadedProducer<DefaultProducerContext> = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .create()
        .expect("producer");
    for i in 0..n {
        let (key, value, id) = (
            format!("key-{i}"),
            format!("{{\"n\":{i}}}"),
            format!("id-{i}"),
        );
        let headers = OwnedHeaders::new()
            .insert(Header {
                key: ID,
                value: Some(id.as_str()),
            })
            .insert(Header {
                key: DEAD_LETTER_TOPIC,
                value: Some(original),
            })
            .insert(Header {
                key: DEAD_LETTER_ERROR,
                value: Some("boom"),
            });
        producer
            .send(
                BaseRecord::to(dlq)
                    .key(&key)
                    .payload(&value)
                    .headers(headers),
            )
            .map_err(|(e, _)| e)
            .expect("send");
        // One record per batch: right after a batch of several, tansu 0.6
        // reports a high watermark too low for a run to see them all.
        producer.flush(Duration::from_secs(10)).expect("flush");
    }
}

/// A record read back: key, value, and header names with their values.
type Read = (String, String, Vec<(String, String)>);

/// Every record of `topic`.
fn read_all(bootstrap: &str, topic: &str, expected: usize) -> Vec<Read> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
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
    let output = Command::cargo_bin("onex-events")
        .expect("the onex-events binary")
        .env("KAFKA_BOOTSTRAP_SERVERS", bootstrap())
        .args(["dlq", "reprocess"])
        .args(args)
        .output()
        .expect("run onex-events");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "onex-events dlq reprocess {args:?} failed: {stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

#[test]
#[ignore = "needs a Kafka broker: set KAFKA_BOOTSTRAP_SERVERS (scripts/test.sh starts one)"]
fn reprocess_moves_each_dead_letter_back_once_with_its_key_value_and_headers() {
    let bootstrap = bootstrap();
    let original = format!("cli.reprocess.{}", uuid::Uuid::new_v4().simple());
    let dlq = format!("{original}.dlq");
    create_topics(&bootstrap, &[&original, &dlq]);
    produce_dead_letters(&bootstrap, &dlq, &original, 3);

    let dry = reprocess(&[&dlq, "--dry-run"]);
    assert!(dry.starts_with("would move 3 events"), "{dry}");
    let first = reprocess(&[&dlq, "--limit", "2"]);
    assert!(first.starts_with("moved 2 events"), "{first}");
    assert!(first.contains(&format!("2 to {original}")), "{first}");
    let second = reprocess(&[&dlq]);
    assert!(second.starts_with("moved 1 event\n"), "{second}");
    let third = reprocess(&[&dlq]);
    assert!(third.starts_with("moved 0 events"), "{third}");

    let records = read_all(&bootstrap, &original, 3);
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

#[test]
fn a_missing_bootstrap_list_is_a_clear_error() {
    let output = Command::cargo_bin("onex-events")
        .expect("the onex-events binary")
        .env_remove("KAFKA_BOOTSTRAP_SERVERS")
        .args(["dlq", "reprocess", "some.topic.dlq", "--dry-run"])
        .output()
        .expect("run onex-events");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("KAFKA_BOOTSTRAP_SERVERS"), "{stderr}");
}

#[test]
fn every_subcommand_has_help() {
    for args in [
        &["--help"][..],
        &["dlq", "--help"],
        &["dlq", "reprocess", "--help"],
    ] {
        let output = Command::cargo_bin("onex-events")
            .expect("the onex-events binary")
            .args(args)
            .output()
            .expect("run onex-events");
        assert!(output.status.success(), "{args:?}");
        assert!(
            String::from_utf8_lossy(&output.stdout).contains("Usage"),
            "{args:?}"
        );
    }
}
