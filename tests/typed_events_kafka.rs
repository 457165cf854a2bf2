//! Declared events through the Kafka sink: a batch of domain events of
//! several aggregates, one flush result for all of them, each record keyed
//! by its aggregate id so one aggregate's events stay on one partition in
//! order; on librdkafka's mock cluster, and on a real broker (ignored
//! unless asked for, like the other broker tests). Then a consumer whose
//! handler names the event by its type subscribes to its topic from the
//! type alone and gets each aggregate's events in order.
#![cfg(feature = "kafka")]

mod common;
mod kafka_support;

use kafka_support::consumer::{start, wait_for_stats};
use kafka_support::*;
use onex_events::consume::kafka::EventConsumer;
use onex_events::consume::Incoming;
use onex_events::kafka::rdkafka::mocking::MockCluster;
use onex_events::kafka::{KafkaConfig, OffsetReset, TopicRouting};
use onex_events::{onex_node, KafkaSink, NodeContext, OnexEvent, OnexNode, Publisher};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use uuid::Uuid;

const PARTITIONS: i32 = 4;
const ACCOUNTS: usize = 8;
const PER_ACCOUNT: usize = 25;

#[derive(Debug, Serialize, Deserialize, OnexEvent)]
#[onex_event("account.debited", kind = "domain", aggregate_type = "account")]
struct AccountDebited {
    #[onex_event(id)]
    account: String,
    seq: usize,
    amount: u64,
}

#[derive(OnexNode)]
struct Ledger {
    ctx: NodeContext,
}

#[onex_node("ledger", events(AccountDebited))]
impl Ledger {}

/// The topic the default routing under `prefix` gives `account.*` events
/// of service `ledger`.
fn topic(prefix: &str) -> String {
    format!("{prefix}.onex.ledger.account.v1")
}

/// Publishes the batch through a Kafka sink on `bootstrap`, reads the
/// topic back and checks every record: one per event, keyed by its
/// aggregate id, in order per aggregate, valid envelopes.
fn batch_is_delivered_keyed_by_aggregate(bootstrap: &str, prefix: &str) {
    let config = KafkaConfig::new(bootstrap).topics(TopicRouting::prefixed(prefix));
    let ledger = Ledger {
        ctx: NodeContext::new::<Ledger>(Publisher::new(KafkaSink::new(config).unwrap())),
    };
    let accounts: Vec<String> = (0..ACCOUNTS).map(|a| format!("acct-{a}")).collect();
    // Interleaved: seq 0 of every account, then seq 1, ..
    let batch: Vec<AccountDebited> = (0..PER_ACCOUNT)
        .flat_map(|seq| {
            accounts.iter().map(move |account| AccountDebited {
                account: account.clone(),
                seq,
                amount: 10,
            })
        })
        .collect();
    let ids = ledger
        .ctx
        .publish_batch(&batch, Duration::from_secs(30))
        .expect("one flush result: every event of the batch delivered");
    assert_eq!(ids.len(), ACCOUNTS * PER_ACCOUNT);

    let records = consume(
        bootstrap,
        &topic(prefix),
        ids.len(),
        Duration::from_secs(30),
    );
    assert_eq!(records.len(), ids.len(), "no duplicates, none missing");
    let mut last: HashMap<String, (i32, u64)> = HashMap::new();
    for r in &records {
        common::assert_contract_valid(&r.json);
        assert_headers_match(r);
        let account = r.json["payload"]["account"].as_str().unwrap();
        assert_eq!(r.key.as_deref(), Some(account), "keyed by the aggregate id");
        assert_eq!(r.json["metadata"]["aggregate_id"], account);
        assert_eq!(r.json["metadata"]["aggregate_type"], "account");
        let seq = r.json["payload"]["seq"].as_u64().unwrap();
        if let Some((partition, prev)) = last.get(account) {
            assert_eq!(*partition, r.partition, "{account} on two partitions");
            assert!(seq > *prev, "{account}: seq {seq} after {prev}");
        }
        last.insert(account.to_owned(), (r.partition, seq));
    }
    assert_eq!(last.len(), ACCOUNTS);
}

/// Handles `AccountDebited`, named by its type, and keeps the sequence
/// numbers it saw per account.
#[derive(OnexNode)]
struct Statements {
    ctx: NodeContext,
    seen: Mutex<HashMap<String, Vec<usize>>>,
}

#[onex_node("statements")]
impl Statements {
    #[onex_handler(AccountDebited, lifecycle = false)]
    async fn debited(&self, event: Incoming<AccountDebited>) {
        let mut seen = self.seen.lock().unwrap();
        seen.entry(event.payload.account.clone())
            .or_default()
            .push(event.payload.seq);
    }
}

fn prefix() -> String {
    format!("t{}", &Uuid::new_v4().simple().to_string()[..8])
}

#[test]
fn a_batch_of_domain_events_is_keyed_by_aggregate_on_the_mock_cluster() {
    let prefix = prefix();
    let mock = MockCluster::new(1).expect("mock cluster");
    mock.create_topic(&topic(&prefix), PARTITIONS, 1)
        .expect("topic");
    batch_is_delivered_keyed_by_aggregate(&mock.bootstrap_servers(), &prefix);
}

#[test]
#[ignore = "needs a Kafka broker: run by scripts/test.sh (the README's test command, and CI), which starts one; or set KAFKA_BOOTSTRAP_SERVERS"]
fn a_batch_of_domain_events_is_keyed_by_aggregate_on_a_broker() {
    let bootstrap = bootstrap();
    let prefix = prefix();
    create_topic(&bootstrap, &topic(&prefix), PARTITIONS);
    batch_is_delivered_keyed_by_aggregate(&bootstrap, &prefix);
}

/// Publishes the batch, then consumes it with a handler that names the
/// event by its type: every aggregate's events arrive, in order.
async fn a_handler_named_by_type_gets_each_aggregate_in_order(bootstrap: String, prefix: String) {
    let (publishing, publishing_prefix) = (bootstrap.clone(), prefix.clone());
    tokio::task::spawn_blocking(move || {
        batch_is_delivered_keyed_by_aggregate(&publishing, &publishing_prefix)
    })
    .await
    .unwrap();

    let statements = Arc::new(Statements {
        ctx: NodeContext::new::<Statements>(Publisher::log()),
        seen: Mutex::default(),
    });
    // No topic given: the subscription comes from the handler's event type,
    // under the routing and source (namespace, service) of the publisher.
    let consumer = EventConsumer::builder(
        KafkaConfig::new(&bootstrap)
            .topics(TopicRouting::prefixed(&prefix))
            .auto_offset_reset(OffsetReset::Earliest)
            .property("session.timeout.ms", "6000")
            .property("heartbeat.interval.ms", "500"),
    )
    .group(format!("statements-{prefix}"))
    .source("onex", "ledger")
    .node(Arc::clone(&statements))
    .build()
    .unwrap();
    let running = start(consumer);
    let total = (ACCOUNTS * PER_ACCOUNT) as u64;
    wait_for_stats(&running.handle, Duration::from_secs(60), |s| {
        s.handled == total
    })
    .await;
    let stats = running.stop().await;
    assert_eq!(stats.dead_lettered, 0);
    let seen = statements.seen.lock().unwrap();
    assert_eq!(seen.len(), ACCOUNTS);
    for (account, seqs) in seen.iter() {
        assert_eq!(
            *seqs,
            (0..PER_ACCOUNT).collect::<Vec<_>>(),
            "{account} in order"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handler_named_by_type_consumes_each_aggregate_in_order_on_the_mock_cluster() {
    let prefix = prefix();
    let mock = MockCluster::new(1).expect("mock cluster");
    mock.create_topic(&topic(&prefix), PARTITIONS, 1)
        .expect("topic");
    a_handler_named_by_type_gets_each_aggregate_in_order(mock.bootstrap_servers(), prefix).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a Kafka broker: run by scripts/test.sh (the README's test command, and CI), which starts one; or set KAFKA_BOOTSTRAP_SERVERS"]
async fn a_handler_named_by_type_consumes_each_aggregate_in_order_on_a_broker() {
    let bootstrap = bootstrap();
    let prefix = prefix();
    let (b, t) = (bootstrap.clone(), topic(&prefix));
    tokio::task::spawn_blocking(move || create_topic(&b, &t, PARTITIONS))
        .await
        .unwrap();
    a_handler_named_by_type_gets_each_aggregate_in_order(bootstrap, prefix).await;
}
