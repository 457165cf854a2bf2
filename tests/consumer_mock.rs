//! The Kafka consumer against librdkafka's in-process mock cluster:
//! retries then dead letter, malformed records, order per key under
//! concurrency, no commit past an event in flight, panics, unhandled
//! events, payloads of two types and one that does not decode, graceful
//! shutdown.
#![cfg(feature = "kafka")]

mod kafka_support;

use kafka_support::consumer::*;
use kafka_support::{consume, unique_topic};
use onex_events::consume::kafka::{
    reprocess, EventConsumer, EventConsumerBuilder, ReprocessOptions, Unhandled,
};
use onex_events::consume::{EventHandlers, Incoming};
use onex_events::kafka::rdkafka::mocking::MockCluster;
use onex_events::kafka::rdkafka::producer::DefaultProducerContext;
use onex_events::kafka::{KafkaConfig, OffsetReset};
use onex_events::onex_node;
use serde::Deserialize;
use serde_json::json;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const COMPLETED: &str = "orchestrator.orchestration.completed";
const OTHER: &str = "orchestrator.routing.completed";
const WAIT: Duration = Duration::from_secs(60);

/// What the test handler does with an event: its payload says.
#[derive(Debug, Deserialize)]
struct Step {
    key: String,
    seq: u64,
    #[serde(default)]
    action: Action,
}

#[derive(Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "snake_case")]
enum Action {
    #[default]
    Ok,
    Fail,
    Panic,
    Block,
    Sleep,
    Slow,
}

/// A node whose one handler, `apply`, takes `orchestration.completed`.
struct Effects {
    seen: Mutex<Vec<(String, u64)>>,
    runs: AtomicU32,
    gate: tokio::sync::Semaphore,
    /// Once set, `fail` steps succeed: the cause was fixed.
    fixed: AtomicBool,
}

/// A step the test made fail.
#[derive(Debug, thiserror::Error)]
#[error("step {0} failed")]
struct StepFailed(u64);

#[onex_node("effect")]
impl Effects {
    #[onex_handler(
        "orchestrator.orchestration.completed",
        lifecycle = false,
        attempts = 3,
        backoff_ms = 5,
        max_backoff_ms = 20
    )]
    async fn apply(&self, event: Incoming<Step>) -> Result<(), StepFailed> {
        self.runs.fetch_add(1, Ordering::Relaxed);
        let step = &event.payload;
        match step.action {
            Action::Ok => {}
            Action::Fail if self.fixed.load(Ordering::Relaxed) => {}
            Action::Fail => return Err(StepFailed(step.seq)),
            Action::Panic => panic!("step {} exploded", step.seq),
            Action::Block => {
                // Each permit lets one blocked step through.
                if let Ok(permit) = self.gate.acquire().await {
                    permit.forget();
                }
            }
            Action::Slow => tokio::time::sleep(Duration::from_millis(20)).await,
            Action::Sleep => {
                let ms = (step.seq * 7 + step.key.len() as u64) % 4;
                tokio::time::sleep(Duration::from_millis(ms)).await;
            }
        }
        self.seen.lock().unwrap().push((step.key.clone(), step.seq));
        Ok(())
    }
}

impl Default for Effects {
    fn default() -> Self {
        Effects {
            seen: Mutex::default(),
            runs: AtomicU32::default(),
            gate: tokio::sync::Semaphore::new(0),
            fixed: AtomicBool::new(false),
        }
    }
}

impl Effects {
    fn seen(&self) -> Vec<(String, u64)> {
        self.seen.lock().unwrap().clone()
    }
}

fn step(key: &str, seq: u64, action: &str) -> Raw {
    envelope(
        COMPLETED,
        key,
        json!({"key": key, "seq": seq, "action": action}),
        true,
    )
}

struct Cluster {
    mock: MockCluster<'static, DefaultProducerContext>,
    topic: String,
    dlq: String,
    group: String,
}

impl Cluster {
    fn new(name: &str, partitions: i32) -> Self {
        let mock = MockCluster::new(1).expect("mock cluster");
        let topic = unique_topic(name);
        let dlq = format!("{topic}.dlq");
        mock.create_topic(&topic, partitions, 1).expect("topic");
        mock.create_topic(&dlq, 1, 1).expect("dead-letter topic");
        Cluster {
            mock,
            topic,
            dlq,
            group: format!("group-{name}"),
        }
    }

    fn bootstrap(&self) -> String {
        self.mock.bootstrap_servers()
    }

    fn consumer<N: EventHandlers>(&self, node: &Arc<N>) -> EventConsumerBuilder {
        EventConsumer::builder(
            // The mock cluster waits for a member that left to time out
            // before the next one joins: keep that short.
            KafkaConfig::new(self.bootstrap())
                .auto_offset_reset(OffsetReset::Earliest)
                .property("session.timeout.ms", "6000")
                .property("heartbeat.interval.ms", "500"),
        )
        .group(&self.group)
        .topic(&self.topic)
        .node(Arc::clone(node))
    }

    fn produce(&self, records: &[Raw]) {
        produce(&self.bootstrap(), &self.topic, records);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_event_is_retried_then_dead_lettered_with_its_headers() {
    let cluster = Cluster::new("retries", 1);
    let node = Arc::new(Effects::default());
    let mut poison = step("k1", 0, "fail");
    poison.headers.push(("x-custom".into(), "kept".into()));
    cluster.produce(&[poison.clone(), step("k1", 1, "ok")]);
    let consumer = cluster.consumer(&node).build().unwrap();
    let running = start(consumer);
    let stats = wait_for_stats(&running.handle, WAIT, |s| {
        s.dead_lettered == 1 && s.handled == 1
    })
    .await;
    assert_eq!((stats.failed, stats.retried), (1, 2));
    assert_eq!(
        node.runs.load(Ordering::Relaxed),
        4,
        "3 runs of the poison event, 1 of the next"
    );
    assert_eq!(
        node.seen(),
        [("k1".to_owned(), 1)],
        "the next event of its key ran after it"
    );

    let dead = consume(&cluster.bootstrap(), &cluster.dlq, 1, WAIT);
    assert_eq!(dead.len(), 1);
    let d = &dead[0];
    assert_eq!(d.value, poison.value, "the original value");
    assert_eq!(d.key.as_deref(), Some("k1"));
    let h = &d.headers;
    assert_eq!(h["x-custom"], "kept");
    assert_eq!(h["ce_type"], COMPLETED);
    assert!(
        h["onex_dead_letter_error_type"].ends_with("StepFailed"),
        "{h:?}"
    );
    assert_eq!(h["onex_dead_letter_error"], "step 0 failed");
    assert_eq!(h["onex_dead_letter_attempts"], "3");
    assert_eq!(h["onex_dead_letter_topic"], cluster.topic);
    assert_eq!(h["onex_dead_letter_partition"], "0");
    assert_eq!(h["onex_dead_letter_offset"], "0");
    assert_eq!(h["onex_dead_letter_group"], cluster.group);
    assert_eq!(h["onex_dead_letter_handler"], "effect.apply");
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_record_is_dead_lettered_at_once_while_the_next_events_flow() {
    let cluster = Cluster::new("malformed", 1);
    let node = Arc::new(Effects::default());
    let garbage = Raw {
        key: Some("k".into()),
        value: b"not json".to_vec(),
        headers: vec![],
        partition: None,
    };
    let mut records = vec![garbage];
    records.extend((0..5).map(|seq| step("k", seq, "ok")));
    // Not an envelope of this version either.
    let mut v2 = step("k", 99, "ok");
    v2.value = String::from_utf8(v2.value)
        .unwrap()
        .replace(r#""envelope_version":"1.0""#, r#""envelope_version":"2.0""#)
        .into_bytes();
    records.push(v2);
    cluster.produce(&records);
    let consumer = cluster.consumer(&node).build().unwrap();
    let running = start(consumer);
    let stats = wait_for_stats(&running.handle, WAIT, |s| {
        s.handled == 5 && s.dead_lettered == 2
    })
    .await;
    assert_eq!((stats.malformed, stats.failed, stats.retried), (2, 0, 0));
    let dead = consume(&cluster.bootstrap(), &cluster.dlq, 2, WAIT);
    assert_eq!(dead[0].value, b"not json");
    assert_eq!(
        dead[0].headers["onex_dead_letter_error_type"],
        "malformed_event"
    );
    assert_eq!(dead[0].headers["onex_dead_letter_attempts"], "0");
    assert!(
        dead[0].headers["onex_dead_letter_error"].contains("not an OnexEnvelopeV1"),
        "{:?}",
        dead[0].headers
    );
    assert!(dead[1].headers["onex_dead_letter_error"].contains("2.0"));
    assert!(!dead[0].headers.contains_key("onex_dead_letter_handler"));
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_breaking_the_envelope_contract_is_dead_lettered_with_the_field_named() {
    let cluster = Cluster::new("contract", 1);
    let node = Arc::new(Effects::default());
    let breach = |seq: u64, from: &str, to: &str| {
        let mut record = step("k", seq, "ok");
        let value = String::from_utf8(record.value).unwrap();
        assert!(value.contains(from), "{value}");
        record.value = value.replacen(from, to, 1).into_bytes();
        record
    };
    let records = vec![
        // JSON, and every field there, but not as the contract has them.
        breach(
            0,
            "2026-11-30T12:00:00.000000Z",
            "2026-11-30T12:00:00+02:00",
        ),
        step("k", 1, "ok"),
        breach(
            2,
            r#""source_node_id":"orchestrator-1""#,
            r#""source_node_id":"""#,
        ),
        breach(
            3,
            r#""envelope_version""#,
            r#""extra":1,"envelope_version""#,
        ),
        step("k", 4, "ok"),
    ];
    cluster.produce(&records);
    let consumer = cluster.consumer(&node).build().unwrap();
    let running = start(consumer);
    let stats = wait_for_stats(&running.handle, WAIT, |s| {
        s.handled == 2 && s.dead_lettered == 3
    })
    .await;
    assert_eq!((stats.malformed, stats.failed), (3, 0));
    assert_eq!(node.seen(), [("k".to_owned(), 1), ("k".to_owned(), 4)]);
    let dead = consume(&cluster.bootstrap(), &cluster.dlq, 3, WAIT);
    let reasons: Vec<&str> = dead
        .iter()
        .map(|d| d.headers["onex_dead_letter_error"].as_str())
        .collect();
    assert!(
        reasons[0].starts_with("event_timestamp is not an RFC 3339 date-time in UTC"),
        "{reasons:?}"
    );
    assert_eq!(reasons[1], "source_node_id is empty");
    assert!(reasons[2].contains("unknown field `extra`"), "{reasons:?}");
    for d in &dead {
        assert_eq!(d.headers["onex_dead_letter_error_type"], "malformed_event");
    }
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_of_a_key_are_handled_in_order_under_concurrency() {
    let cluster = Cluster::new("order", 4);
    let node = Arc::new(Effects::default());
    let keys: Vec<String> = (0..20).map(|k| format!("key-{k}")).collect();
    let mut records = Vec::new();
    for seq in 0..25 {
        for key in &keys {
            records.push(step(key, seq, "sleep"));
        }
    }
    cluster.produce(&records);
    let consumer = cluster.consumer(&node).max_in_flight(64).build().unwrap();
    let running = start(consumer);
    wait_for_stats(&running.handle, WAIT, |s| s.handled == 500).await;
    let mut per_key: HashMap<String, Vec<u64>> = HashMap::new();
    for (key, seq) in node.seen() {
        per_key.entry(key).or_default().push(seq);
    }
    assert_eq!(per_key.len(), 20);
    for (key, seqs) in per_key {
        assert_eq!(seqs, (0..25).collect::<Vec<_>>(), "key {key}");
    }
    let stats = running.stop().await;
    assert_eq!((stats.handled, stats.failed), (500, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_offset_is_committed_past_an_event_in_flight() {
    let cluster = Cluster::new("in-flight", 1);
    let node = Arc::new(Effects::default());
    let mut records: Vec<Raw> = (0..3).map(|seq| step("a", seq, "ok")).collect();
    records.push(step("b", 3, "block"));
    records.extend((4..14).map(|seq| step(&format!("c{seq}"), seq, "ok")));
    cluster.produce(&records);
    let consumer = cluster.consumer(&node).build().unwrap();
    let running = start(consumer);
    wait_for_stats(&running.handle, WAIT, |s| s.handled == 13).await;
    let bootstrap = cluster.bootstrap();
    let committed = || committed(&bootstrap, &cluster.group, &cluster.topic, 1)[0];
    wait_until("the commit of offsets 0..3", WAIT, || {
        committed() == Some(3)
    })
    .await;
    // Several auto-commit intervals later, still held by the blocked event.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(committed(), Some(3), "offsets 4..14 are settled, 3 is not");
    node.gate.add_permits(1);
    wait_until("the commit of every offset", WAIT, || {
        committed() == Some(14)
    })
    .await;
    let stats = running.stop().await;
    assert_eq!(stats.handled, 14);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_handler_is_a_failure_and_its_event_is_dead_lettered() {
    let cluster = Cluster::new("panic", 1);
    let node = Arc::new(Effects::default());
    cluster.produce(&[step("p", 0, "panic"), step("p", 1, "ok")]);
    let consumer = cluster.consumer(&node).build().unwrap();
    let running = start(consumer);
    let stats = wait_for_stats(&running.handle, WAIT, |s| {
        s.dead_lettered == 1 && s.handled == 1
    })
    .await;
    assert_eq!(stats.failed, 1);
    let dead = consume(&cluster.bootstrap(), &cluster.dlq, 1, WAIT);
    assert_eq!(dead[0].headers["onex_dead_letter_error_type"], "panic");
    assert!(dead[0].headers["onex_dead_letter_error"].contains("step 0 exploded"));
    assert_eq!(dead[0].headers["onex_dead_letter_attempts"], "3");
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unhandled_event_is_skipped_or_dead_lettered_as_configured() {
    let cluster = Cluster::new("unhandled", 1);
    let node = Arc::new(Effects::default());
    cluster.produce(&[
        envelope(OTHER, "u", json!({}), true),
        envelope(OTHER, "u", json!({}), false),
        step("u", 2, "ok"),
    ]);
    let skipping = cluster.consumer(&node).build().unwrap();
    let running = start(skipping);
    let stats = wait_for_stats(&running.handle, WAIT, |s| s.handled == 1 && s.skipped == 2).await;
    assert_eq!(stats.dead_lettered, 0);
    running.stop().await;

    let dead_lettering = cluster
        .consumer(&node)
        .group("unhandled-to-dlq")
        .unhandled(Unhandled::DeadLetter)
        .build()
        .unwrap();
    let running = start(dead_lettering);
    let stats = wait_for_stats(&running.handle, WAIT, |s| {
        s.handled == 1 && s.dead_lettered == 2
    })
    .await;
    assert_eq!(stats.skipped, 0);
    let dead = consume(&cluster.bootstrap(), &cluster.dlq, 2, WAIT);
    for d in &dead {
        assert_eq!(d.headers["onex_dead_letter_error_type"], "unhandled_event");
        assert!(d.headers["onex_dead_letter_error"].contains(OTHER));
    }
    running.stop().await;
}

/// A node whose two handlers take payloads of two types.
#[derive(Default)]
struct Router {
    steps: Mutex<Vec<u64>>,
    routes: Mutex<Vec<String>>,
}

#[derive(Debug, Deserialize)]
struct Routed {
    route: String,
}

#[onex_node("effect")]
impl Router {
    #[onex_handler("orchestrator.orchestration.completed", lifecycle = false)]
    async fn step(&self, event: Incoming<Step>) {
        self.steps.lock().unwrap().push(event.payload.seq);
    }

    #[onex_handler("orchestrator.routing.completed", lifecycle = false)]
    async fn route(&self, event: Incoming<Routed>) {
        self.routes.lock().unwrap().push(event.into_payload().route);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handlers_of_two_payload_types_each_get_their_own() {
    let cluster = Cluster::new("two-types", 1);
    let router = Arc::new(Router::default());
    cluster.produce(&[
        step("r", 1, "ok"),
        envelope(OTHER, "r", json!({"route": "left"}), true),
        step("r", 2, "ok"),
        envelope(OTHER, "r", json!({"route": "right"}), true),
    ]);
    let running = start(cluster.consumer(&router).build().unwrap());
    let stats = wait_for_stats(&running.handle, WAIT, |s| s.handled == 4).await;
    assert_eq!((stats.failed, stats.dead_lettered), (0, 0));
    assert_eq!(*router.steps.lock().unwrap(), [1, 2]);
    assert_eq!(*router.routes.lock().unwrap(), ["left", "right"]);
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payload_not_of_the_handlers_type_is_dead_lettered_as_undecodable() {
    // One handler, one payload type: payloads are decoded with their
    // envelope, and one that does not fit goes to its handler's failure.
    let cluster = Cluster::new("not-a-step", 1);
    let node = Arc::new(Effects::default());
    cluster.produce(&[
        envelope(COMPLETED, "u", json!({"key": "u", "seq": "one"}), true),
        step("u", 2, "ok"),
    ]);
    let running = start(cluster.consumer(&node).build().unwrap());
    let stats = wait_for_stats(&running.handle, WAIT, |s| {
        s.handled == 1 && s.dead_lettered == 1
    })
    .await;
    assert_eq!(
        stats.retried, 0,
        "a payload that does not decode is not retried"
    );
    assert_eq!(node.seen(), [("u".to_owned(), 2)]);
    let dead = consume(&cluster.bootstrap(), &cluster.dlq, 1, WAIT);
    let h = &dead[0].headers;
    assert_eq!(h["onex_dead_letter_error_type"], "undecodable_payload");
    assert!(h["onex_dead_letter_error"].contains("Step"), "{h:?}");
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_graceful_shutdown_commits_what_was_handled() {
    let cluster = Cluster::new("shutdown", 2);
    let node = Arc::new(Effects::default());
    let records: Vec<Raw> = (0..10)
        .map(|seq| step(&format!("s{seq}"), seq, "ok"))
        .collect();
    cluster.produce(&records);
    let consumer = cluster.consumer(&node).build().unwrap();
    let running = start(consumer);
    wait_for_stats(&running.handle, WAIT, |s| s.handled == 10).await;
    let stats = running.stop().await;
    assert_eq!(stats.handled, 10);
    let committed: i64 = committed(&cluster.bootstrap(), &cluster.group, &cluster.topic, 2)
        .into_iter()
        .map(|o| o.unwrap_or(0))
        .sum();
    assert_eq!(committed, 10, "every handled offset committed at shutdown");

    // The group's next member starts after them.
    cluster.produce(&[step("s10", 10, "ok")]);
    let next = Arc::new(Effects::default());
    let consumer = cluster.consumer(&next).build().unwrap();
    let running = start(consumer);
    wait_for_stats(&running.handle, WAIT, |s| s.handled == 1).await;
    running.stop().await;
    assert_eq!(next.seen(), [("s10".to_owned(), 10)]);
}

#[tokio::test]
async fn bad_configurations_are_errors() {
    use onex_events::consume::kafka::ConsumerError;
    let node = Arc::new(Effects::default());
    let config = || KafkaConfig::new("127.0.0.1:9");
    let err = |b: EventConsumerBuilder| b.build().unwrap_err();
    assert!(matches!(
        err(EventConsumer::builder(config()).node(Arc::clone(&node))),
        ConsumerError::MissingGroup
    ));
    assert!(matches!(
        err(EventConsumer::builder(config()).group("g")),
        ConsumerError::NoHandler
    ));
    assert!(matches!(
        err(EventConsumer::builder(config())
            .group("g")
            .node(Arc::clone(&node))
            .max_in_flight(0)),
        ConsumerError::ZeroInFlight
    ));
    assert!(matches!(
        err(EventConsumer::builder(config())
            .group("g")
            .node(Arc::clone(&node))
            .topic("bad topic")),
        ConsumerError::InvalidTopic { .. }
    ));
    assert!(matches!(
        err(EventConsumer::builder(KafkaConfig::new("nohost"))
            .group("g")
            .node(Arc::clone(&node))),
        ConsumerError::Config(_)
    ));
    let built = EventConsumer::builder(config())
        .group("g")
        .source("onex", "orchestrator")
        .node(node)
        .build()
        .unwrap();
    assert_eq!(
        built.subscription(),
        ["onex.orchestrator.orchestrator.orchestration.v1"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dead_letters_are_reprocessed_once_and_then_handled() {
    let cluster = Cluster::new("reprocess", 1);
    let node = Arc::new(Effects::default());
    let poison = step("r", 0, "fail");
    cluster.produce(std::slice::from_ref(&poison));
    // A dead letter without its original topic stays where it is.
    produce(
        &cluster.bootstrap(),
        &cluster.dlq,
        &[Raw {
            key: None,
            value: b"orphan".to_vec(),
            headers: vec![],
            partition: None,
        }],
    );
    let consumer = cluster.consumer(&node).build().unwrap();
    let running = start(consumer);
    wait_for_stats(&running.handle, WAIT, |s| s.dead_lettered == 1).await;
    running.stop().await;

    let config = KafkaConfig::new(cluster.bootstrap());
    let mut options = ReprocessOptions::new(&cluster.dlq);
    options.dry_run = true;
    let reprocess_now = |options: ReprocessOptions| {
        let config = config.clone();
        tokio::task::spawn_blocking(move || reprocess(&config, &options))
    };
    let dry = reprocess_now(options.clone()).await.unwrap().unwrap();
    assert_eq!(dry.moved, 1);
    assert!(dry.dry_run);
    assert_eq!(dry.per_target[&cluster.topic], 1);
    assert_eq!(dry.skipped["no original topic header"], 1);

    options.dry_run = false;
    let real = reprocess_now(options.clone()).await.unwrap().unwrap();
    assert_eq!(
        (real.moved, real.failed),
        (1, 0),
        "the dry run moved nothing"
    );
    let again = reprocess_now(options).await.unwrap().unwrap();
    assert_eq!(again.moved, 0, "a second run moves nothing again");
    assert!(again.skipped.is_empty());

    let back = consume(&cluster.bootstrap(), &cluster.topic, 2, WAIT);
    assert_eq!(back.len(), 2);
    let moved = &back[1];
    assert_eq!(
        moved.value, poison.value,
        "the same event, event_id included"
    );
    assert_eq!(moved.key.as_deref(), Some("r"));
    assert_eq!(moved.headers["ce_type"], COMPLETED);
    assert_eq!(moved.headers["ce_id"], back[0].headers["ce_id"]);
    assert!(
        moved
            .headers
            .keys()
            .all(|k| !k.starts_with("onex_dead_letter_")),
        "{:?}",
        moved.headers
    );

    // The cause fixed, the group handles the moved event.
    node.fixed.store(true, Ordering::Relaxed);
    let consumer = cluster.consumer(&node).build().unwrap();
    let running = start(consumer);
    wait_for_stats(&running.handle, WAIT, |s| s.handled == 1).await;
    running.stop().await;
    assert_eq!(node.seen(), [("r".to_owned(), 0)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_joining_mid_stream_loses_no_event() {
    let cluster = Cluster::new("rebalance", 4);
    let first = Arc::new(Effects::default());
    let second = Arc::new(Effects::default());
    let keys: Vec<String> = (0..40).map(|k| format!("key-{k}")).collect();
    let mut records = Vec::new();
    for seq in 0..40 {
        for key in &keys {
            records.push(step(key, seq, "slow"));
        }
    }
    cluster.produce(&records);
    let a = cluster.consumer(&first).max_in_flight(8).build().unwrap();
    let a_running = start(a);
    wait_for_stats(&a_running.handle, WAIT, |s| s.handled >= 50).await;
    let b = cluster.consumer(&second).max_in_flight(8).build().unwrap();
    let b_running = start(b);
    let distinct = || {
        let mut seen: std::collections::HashSet<_> = first.seen().into_iter().collect();
        seen.extend(second.seen());
        seen.len()
    };
    wait_until("every event handled", WAIT, || distinct() == records.len()).await;
    // Events in hand where a partition was revoked are handled again by
    // its next owner, and only then committed.
    let bootstrap = cluster.bootstrap();
    let committed = || -> i64 {
        committed(&bootstrap, &cluster.group, &cluster.topic, 4)
            .into_iter()
            .map(|o| o.unwrap_or(0))
            .sum()
    };
    wait_until("every offset committed", WAIT, || {
        committed() == records.len() as i64
    })
    .await;
    let (a_stats, b_stats) = (a_running.stop().await, b_running.stop().await);
    let handled = a_stats.handled + b_stats.handled;
    assert!(handled >= records.len() as u64);
    assert!(b_stats.handled > 0, "the second member got partitions");
    assert_eq!(
        committed(),
        records.len() as i64,
        "nothing committed twice or back"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscriptions_follow_the_producer_routing_and_report_lag() {
    let mock: MockCluster<'static, DefaultProducerContext> = MockCluster::new(1).unwrap();
    // Where the default routing sends `orchestrator.orchestration.*` events
    // of two services, and a topic it never writes to.
    let (ours, theirs) = (
        "onex.billing.orchestrator.orchestration.v1",
        "onex.shipping.orchestrator.orchestration.v1",
    );
    for topic in [ours, theirs, "unrelated.v1"] {
        mock.create_topic(topic, 1, 1).unwrap();
    }
    let bootstrap = mock.bootstrap_servers();
    produce(&bootstrap, ours, &[step("a", 0, "ok")]);
    produce(&bootstrap, theirs, &[step("b", 1, "ok")]);
    produce(&bootstrap, "unrelated.v1", &[step("c", 2, "ok")]);
    let config = || {
        KafkaConfig::new(&bootstrap)
            .auto_offset_reset(OffsetReset::Earliest)
            .property("topic.metadata.refresh.interval.ms", "500")
    };

    let node = Arc::new(Effects::default());
    let from_billing = EventConsumer::builder(config())
        .group("from-billing")
        .source("onex", "billing")
        .node(Arc::clone(&node))
        .stats_interval(Duration::from_millis(100))
        .build()
        .unwrap();
    assert_eq!(from_billing.subscription(), [ours]);
    let running = start(from_billing);
    let stats = wait_for_stats(&running.handle, WAIT, |s| {
        s.handled == 1 && !s.lag.is_empty()
    })
    .await;
    assert_eq!(stats.lag[0].topic, ours);
    assert_eq!(stats.total_lag(), 0, "everything read is stored");
    running.stop().await;
    assert_eq!(node.seen(), [("a".to_owned(), 0)]);

    let node = Arc::new(Effects::default());
    let from_anyone = EventConsumer::builder(config())
        .group("from-anyone")
        .node(Arc::clone(&node))
        .build()
        .unwrap();
    assert_eq!(
        from_anyone.subscription(),
        [r"^.+\..+\.orchestrator\.orchestration\.v1$"]
    );
    let running = start(from_anyone);
    wait_for_stats(&running.handle, WAIT, |s| s.handled == 2).await;
    running.stop().await;
    let mut seen = node.seen();
    seen.sort();
    assert_eq!(seen, [("a".to_owned(), 0), ("b".to_owned(), 1)]);
}

#[test]
fn a_consumer_needs_a_runtime_and_reads_its_variables() {
    use onex_events::consume::kafka::ConsumerError;
    let vars = |pairs: &'static [(&'static str, &'static str)]| {
        move |name: &str| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        }
    };
    let node = Arc::new(Effects::default());
    let outside = EventConsumer::from_lookup(vars(&[
        ("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9"),
        ("KAFKA_CONSUMER_GROUP", "effects"),
    ]))
    .unwrap()
    .node(Arc::clone(&node))
    .build();
    assert!(
        matches!(outside, Err(ConsumerError::NoRuntime)),
        "{outside:?}"
    );
    let no_group = EventConsumer::from_lookup(vars(&[("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9")]))
        .unwrap()
        .node(Arc::clone(&node))
        .build();
    assert!(matches!(no_group, Err(ConsumerError::MissingGroup)));
    let zero = EventConsumer::from_lookup(vars(&[
        ("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9"),
        ("KAFKA_MAX_IN_FLIGHT", "0"),
    ]));
    assert!(matches!(zero, Err(ConsumerError::Config(_))));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_the_in_flight_limit_no_more_records_are_taken() {
    let cluster = Cluster::new("limit", 1);
    let node = Arc::new(Effects::default());
    let records: Vec<Raw> = (0..10)
        .map(|seq| step(&format!("l{seq}"), seq, "block"))
        .collect();
    cluster.produce(&records);
    let running = start(cluster.consumer(&node).max_in_flight(3).build().unwrap());
    wait_until("3 handlers running", WAIT, || {
        node.runs.load(Ordering::Relaxed) == 3
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        node.runs.load(Ordering::Relaxed),
        3,
        "no fourth record taken"
    );
    node.gate.add_permits(1);
    wait_until("a fourth handler", WAIT, || {
        node.runs.load(Ordering::Relaxed) == 4
    })
    .await;
    node.gate.add_permits(100);
    wait_for_stats(&running.handle, WAIT, |s| s.handled == 10).await;
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_letter_the_topic_refuses_is_sent_again_until_it_is_taken() {
    use onex_events::kafka::rdkafka::types::{RDKafkaApiKey, RDKafkaRespErr};
    let cluster = Cluster::new("dlq-refused", 1);
    let node = Arc::new(Effects::default());
    cluster.produce(&[step("d", 0, "fail")]);
    // The next three produce requests (the dead letter's) are refused.
    cluster.mock.request_errors(
        RDKafkaApiKey::Produce,
        &[RDKafkaRespErr::RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED; 3],
    );
    let running = start(cluster.consumer(&node).build().unwrap());
    let stats = wait_for_stats(&running.handle, WAIT, |s| s.dead_lettered == 1).await;
    assert_eq!(stats.failed, 1);
    let bootstrap = cluster.bootstrap();
    wait_until("the commit past the dead letter", WAIT, || {
        committed(&bootstrap, &cluster.group, &cluster.topic, 1)[0] == Some(1)
    })
    .await;
    running.stop().await;
    let dead = consume(&cluster.bootstrap(), &cluster.dlq, 1, WAIT);
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].headers["onex_dead_letter_handler"], "effect.apply");
}

/// A node whose handler publishes its lifecycle events (two per event).
#[derive(onex_events::OnexNode)]
struct Announcer {
    ctx: onex_events::NodeContext,
}

#[onex_node("effect")]
impl Announcer {
    #[onex_handler("orchestrator.orchestration.completed")]
    async fn announce(&self, _event: Incoming<Step>) {}
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_consumer_holds_off_while_its_sink_is_backlogged_so_no_event_is_lost() {
    let flushed = outrun_a_small_sink("backlog", true).await;
    assert!(
        flushed.is_ok(),
        "every lifecycle event delivered, none lost to a full buffer: {flushed:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_sink_backpressure_the_consumer_goes_on_and_the_full_buffer_loses_events() {
    let flushed = outrun_a_small_sink("no-backpressure", false).await;
    assert!(
        matches!(
            flushed,
            Err(onex_events::sink::SinkError::Undelivered { .. })
        ),
        "{flushed:?}"
    );
}

/// Handles 3,000 events whose lifecycle events go to a sink whose
/// librdkafka queue holds 20 events and retry buffer 200, with the
/// consumer's sink backpressure `hold` on or off; returns the sink's flush.
async fn outrun_a_small_sink(name: &str, hold: bool) -> Result<(), onex_events::sink::SinkError> {
    const N: u64 = 3_000;
    let cluster = Cluster::new(name, 1);
    let out = unique_topic(&format!("{name}-out"));
    cluster.mock.create_topic(&out, 1, 1).expect("topic");
    let records: Vec<Raw> = (0..N).map(|seq| step("k", seq, "ok")).collect();
    cluster.produce(&records);
    // librdkafka's queue holds 20 events and the retry buffer 200: the
    // handlers publish 6,000, far faster than either drains unless the
    // consumer waits for them.
    let sink = onex_events::sink::kafka::KafkaSink::new(
        KafkaConfig::new(cluster.bootstrap())
            .topics(onex_events::kafka::TopicRouting::single(&out))
            .property("queue.buffering.max.messages", "20")
            .buffer_capacity(200),
    )
    .unwrap();
    let publisher = onex_events::Publisher::new(sink);
    let node = Arc::new(Announcer {
        ctx: onex_events::NodeContext::new::<Announcer>(publisher.clone()),
    });
    let consumer = EventConsumer::builder(
        KafkaConfig::new(cluster.bootstrap())
            .auto_offset_reset(OffsetReset::Earliest)
            .property("session.timeout.ms", "6000")
            .property("heartbeat.interval.ms", "500"),
    )
    .group(&cluster.group)
    .topic(&cluster.topic)
    .node(node)
    .sink_backpressure(hold)
    .build()
    .unwrap();
    let running = start(consumer);
    wait_for_stats(&running.handle, WAIT, |s| s.handled == N).await;
    running.stop().await;
    tokio::task::spawn_blocking(move || publisher.flush(WAIT))
        .await
        .unwrap()
}
