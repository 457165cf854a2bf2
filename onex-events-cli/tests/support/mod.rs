//! What the command's tests share: the broker's address, unique names,
//! topics and raw records of their own, and running the command.

#![allow(dead_code)]

use assert_cmd::Command;
use onex_events::kafka::rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use onex_events::kafka::rdkafka::client::DefaultClientContext;
use onex_events::kafka::rdkafka::message::{Header, OwnedHeaders};
use onex_events::kafka::rdkafka::producer::{
    BaseRecord, DefaultProducerContext, Producer, ThreadedProducer,
};
use onex_events::kafka::rdkafka::ClientConfig;
use std::time::Duration;

pub const NEEDS_BROKER: &str = "needs a Kafka broker: run by scripts/test.sh (the README's test command, and CI), which starts one; or set KAFKA_BOOTSTRAP_SERVERS";

pub fn bootstrap() -> String {
    std::env::var("KAFKA_BOOTSTRAP_SERVERS").unwrap_or_else(|_| panic!("{NEEDS_BROKER}"))
}

/// `prefix.<random>`: a name no other test or run uses.
pub fn unique(prefix: &str) -> String {
    format!("{prefix}.{}", uuid::Uuid::new_v4().simple())
}

/// Creates `topics`, one partition each.
pub fn create_topics(topics: &[&str]) {
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", bootstrap())
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

/// Writes one record to `topic`, with `headers`, in a batch of its own
/// (right after a batch of several, tansu 0.6 reports a high watermark
/// too low).
pub fn produce(topic: &str, key: &str, value: &str, headers: &[(&str, &str)]) {
    let producer: ThreadedProducer<DefaultProducerContext> = ClientConfig::new()
        .set("bootstrap.servers", bootstrap())
        .create()
        .expect("producer");
    let headers = headers.iter().fold(OwnedHeaders::new(), |h, (k, v)| {
        h.insert(Header {
            key: k,
            value: Some(*v),
        })
    });
    producer
        .send(
            BaseRecord::to(topic)
                .key(key)
                .payload(value)
                .headers(headers),
        )
        .map_err(|(e, _)| e)
        .expect("send");
    producer.flush(Duration::from_secs(10)).expect("flush");
}

/// `onex-events` with the broker's address.
pub fn onex_events() -> Command {
    let mut command = Command::cargo_bin("onex-events").expect("the onex-events binary");
    command.env("KAFKA_BOOTSTRAP_SERVERS", bootstrap());
    command
}

/// Runs `onex-events args..` with `stdin`, expecting success: its stdout.
pub fn run_with_stdin(args: &[&str], stdin: &str) -> String {
    let output = onex_events()
        .args(args)
        .write_stdin(stdin)
        .output()
        .expect("run onex-events");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "onex-events {args:?} failed: {stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// Runs `onex-events args..`, expecting success: its stdout.
pub fn run(args: &[&str]) -> String {
    run_with_stdin(args, "")
}

/// Each line of `text` as JSON.
pub fn json_lines(text: &str) -> Vec<serde_json::Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// `onex-events tail TOPIC --from-beginning --exit-at-end extra..`: every
/// record of `topic`, as the command shows it.
pub fn tail_all(topic: &str, extra: &[&str]) -> String {
    let mut args = vec!["tail", topic, "--from-beginning", "--exit-at-end"];
    args.extend(extra);
    run(&args)
}
