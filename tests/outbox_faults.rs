//! The outbox without a broker: group commits from many threads, the
//! transactional API, and the bad conditions — missing directory, damaged
//! file, full disk, read-only file — each giving a clear error through the
//! error accessors, the operation's result unchanged, and every event that
//! could not be committed counted; against an in-process mock cluster, a
//! relay that cannot mark what it delivered, `Duration::MAX` settings, rows
//! marked delivered checked against the topic around a record that fails
//! for good, and dead letters that outlive a replaced producer.
#![cfg(feature = "outbox")]

mod outbox_support;

use onex_events::kafka::rdkafka::consumer::{BaseConsumer, Consumer};
use onex_events::kafka::rdkafka::mocking::MockCluster;
use onex_events::kafka::rdkafka::producer::DefaultProducerContext;
use onex_events::kafka::rdkafka::ClientConfig;
use onex_events::kafka::{KafkaConfig, TopicRouting};
use onex_events::outbox::sqlite::rusqlite::{Connection, OpenFlags};
use onex_events::outbox::{OutboxConfig, OutboxError, OutboxSink, RelayConfig};
use onex_events::sink::{Blocking, SinkError};
use onex_events::{onex_node, NodeContext, OnexNode, Publisher, Recorder, Sink};
use outbox_support::{block_on, committed_ids, TempDir};
use std::sync::Arc;
use std::time::Duration;

#[derive(OnexNode)]
struct Shop {
    ctx: NodeContext,
}

#[onex_node(node_type = "shop", service = "shop")]
impl Shop {
    #[onex_operation("place", fields(order))]
    async fn place(&self, order: u64) -> Result<u64, std::io::Error> {
        if order == 13 {
            return Err(std::io::Error::other("unlucky order"));
        }
        Ok(order * 10)
    }
}

fn shop(publisher: Publisher) -> Shop {
    Shop {
        ctx: NodeContext::builder::<Shop>()
            .node_id("shop-1")
            .publisher(publisher)
            .build()
            .unwrap(),
    }
}

/// The operation's results, the same with any sink.
fn assert_results_unchanged(node: &Shop) {
    assert_eq!(block_on(node.place(4)).unwrap(), 40);
    let err = block_on(node.place(13)).unwrap_err();
    assert_eq!(err.to_string(), "unlucky order");
}

#[test]
fn concurrent_publishers_share_group_commits_and_every_event_is_committed() {
    let dir = TempDir::new("group");
    let sink = OutboxSink::open(OutboxConfig::sqlite(dir.path("o.db"))).unwrap();
    let node = Arc::new(shop(Publisher::new(sink.clone())));
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let node = Arc::clone(&node);
            std::thread::spawn(move || {
                block_on(async {
                    for i in 0..250u64 {
                        let order = 1000 + t * 1000 + i;
                        assert_eq!(node.place(order).await.unwrap(), order * 10);
                    }
                })
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let stats = sink.stats().unwrap();
    assert_eq!(stats.committed, 8 * 250 * 2, "{stats}");
    assert_eq!(stats.pending, stats.committed, "no relay: all pending");
    assert_eq!(stats.not_committed, 0);
    assert!(sink.last_error().is_none());
    // Each operation's events are committed in order: started before its end.
    let conn = Connection::open(dir.path("o.db")).unwrap();
    let out_of_order: i64 = conn
        .query_row(
            "SELECT count(*) FROM onex_outbox s JOIN onex_outbox e
               ON s.aggregateid = e.aggregateid
             WHERE s.type = 'shop.place.started' AND e.type = 'shop.place.completed'
               AND e.seq < s.seq",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(out_of_order, 0);
}

#[test]
fn an_operation_returns_only_once_both_its_events_are_committed() {
    let dir = TempDir::new("guarantee");
    let path = dir.path("o.db");
    // `started` alone may wait up to the linger; the end event never does,
    // and takes `started` with it (how long an operation takes is measured
    // by `benches/outbox.rs`).
    let config = OutboxConfig::sqlite(&path).commit_linger(Duration::from_secs(1));
    let sink = OutboxSink::open(config).unwrap();
    let node = shop(Publisher::new(sink.clone()));
    for i in 0..10u64 {
        assert_eq!(block_on(node.place(i)).unwrap(), i * 10);
        let ids = committed_ids(&path);
        assert_eq!(ids.len() as u64, 2 * (i + 1), "both events committed");
    }
    assert_eq!(sink.not_committed(), 0);
}

#[test]
fn user_rows_and_operation_events_commit_or_roll_back_together() {
    let dir = TempDir::new("tx");
    let path = dir.path("app.db");
    let sink = OutboxSink::open(OutboxConfig::sqlite(&path)).unwrap();
    let node = shop(Publisher::new(sink.clone()));
    let mut conn = Connection::open(&path).unwrap();
    conn.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY)", [])
        .unwrap();

    // Committed: the order and its two events.
    let tx = conn.transaction().unwrap();
    tx.execute("INSERT INTO orders (id) VALUES (4)", [])
        .unwrap();
    let result = sink.within(&tx, || block_on(node.place(4))).unwrap();
    assert_eq!(result.unwrap(), 40);
    assert!(
        committed_ids(&path).is_empty(),
        "not visible before the user's commit"
    );
    tx.commit().unwrap();
    sink.notify();
    assert_eq!(committed_ids(&path).len(), 2);

    // Rolled back: neither the order nor its events.
    let tx = conn.transaction().unwrap();
    tx.execute("INSERT INTO orders (id) VALUES (5)", [])
        .unwrap();
    let result = sink.within(&tx, || block_on(node.place(5))).unwrap();
    assert_eq!(result.unwrap(), 50);
    drop(tx);
    assert_eq!(committed_ids(&path).len(), 2);
    let orders: i64 = conn
        .query_row("SELECT count(*) FROM orders", [], |r| r.get(0))
        .unwrap();
    assert_eq!(orders, 1);

    // Outside `within`, events commit on their own again.
    block_on(node.place(6)).unwrap();
    assert_eq!(committed_ids(&path).len(), 4);
    assert_eq!(sink.stats().unwrap().committed, 4);
}

/// Opening fails with `expected`; through `open_or_unavailable` the
/// operation's results are unchanged, the error is reported by the
/// publisher and every event is counted as not committed.
fn assert_unavailable(config: OutboxConfig, expected: fn(&OutboxError) -> bool) {
    let error = OutboxSink::open(config.clone()).unwrap_err();
    println!("open error: {error}");
    assert!(expected(&error), "unexpected error: {error:?}");
    let sink = OutboxSink::open_or_unavailable(config);
    let publisher = Publisher::new(sink.clone());
    let node = shop(publisher.clone());
    assert_results_unchanged(&node);
    assert_eq!(sink.not_committed(), 4, "2 operations x 2 events, counted");
    let reported = publisher.last_error().expect("publisher reports the error");
    assert_eq!(reported, error.to_string());
    assert!(matches!(
        sink.stats().unwrap_err(),
        OutboxError::Unavailable(_)
    ));
}

#[test]
fn missing_directory_is_a_clear_error() {
    let dir = TempDir::new("missing");
    let config = OutboxConfig::sqlite(dir.path("no/such/dir/o.db"));
    assert_unavailable(config, |e| {
        matches!(e, OutboxError::MissingDirectory { dir, .. } if dir.ends_with("no/such/dir"))
            && e.to_string().contains("does not exist")
    });
}

#[test]
fn corrupt_file_is_a_clear_error() {
    let dir = TempDir::new("corrupt");
    let path = dir.path("o.db");
    std::fs::write(&path, vec![0x5a; 64 * 1024]).unwrap();
    assert_unavailable(OutboxConfig::sqlite(&path), |e| {
        matches!(e, OutboxError::Corrupt { .. })
    });

    // A real outbox whose pages were overwritten later.
    let path = dir.path("damaged.db");
    let sink = OutboxSink::open(OutboxConfig::sqlite(&path)).unwrap();
    let node = shop(Publisher::new(sink.clone()));
    for i in 0..200 {
        block_on(node.place(i)).ok();
    }
    drop(node);
    drop(sink);
    let mut bytes = std::fs::read(&path).unwrap();
    let page = 4096;
    for b in &mut bytes[page..] {
        *b = 0xa5;
    }
    std::fs::write(&path, bytes).unwrap();
    let _ = std::fs::remove_file(dir.path("damaged.db-wal"));
    assert_unavailable(OutboxConfig::sqlite(&path), |e| {
        matches!(e, OutboxError::Corrupt { .. })
    });
}

#[test]
fn read_only_file_is_a_clear_error() {
    let dir = TempDir::new("readonly");
    let path = dir.path("o.db");
    drop(OutboxSink::open(OutboxConfig::sqlite(&path)).unwrap());
    // SQLite's read-only open: works as root too, which ignores file modes.
    let uri = format!("file:{}?mode=ro", path.display());
    assert_unavailable(OutboxConfig::sqlite(uri), |e| {
        matches!(e, OutboxError::ReadOnly { .. }) && e.to_string().contains("read-only")
    });
    // Still a valid outbox afterwards.
    let conn = Connection::open_with_flags(&path, OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
    let n: i64 = conn
        .query_row("SELECT count(*) FROM onex_outbox", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 0);
}

/// `flush` on an outbox that could not be opened says how many events it
/// could not keep, and why, once: the next flush reports only later ones.
#[test]
fn flush_reports_events_an_unavailable_outbox_could_not_keep() {
    let dir = TempDir::new("unavailable-flush");
    let config = OutboxConfig::sqlite(dir.path("no/such/dir/o.db"));
    let publisher = Publisher::new(OutboxSink::open_or_unavailable(config));
    let node = shop(publisher.clone());
    assert_results_unchanged(&node);
    match publisher.flush(Duration::from_secs(5)) {
        Err(SinkError::Undelivered { lost, detail }) => {
            assert_eq!(lost, 4, "2 operations x 2 events: {detail}");
            assert!(detail.contains("does not exist"), "{detail}");
        }
        other => panic!("expected Undelivered, got {other:?}"),
    }
    assert!(
        publisher.flush(Duration::from_secs(5)).is_ok(),
        "reported once"
    );
    block_on(node.place(1)).unwrap();
    assert!(matches!(
        publisher.flush(Duration::from_secs(5)),
        Err(SinkError::Undelivered { lost: 2, .. })
    ));
}

#[test]
fn full_disk_is_counted_logged_and_reported_and_never_changes_results() {
    let dir = TempDir::new("full");
    let path = dir.path("o.db");
    // A size limit makes SQLite fail exactly as on a full disk (SQLITE_FULL).
    let sink = OutboxSink::open(OutboxConfig::sqlite(&path).max_size_bytes(256 * 1024)).unwrap();
    let node = shop(Publisher::new(sink.clone()));
    let ops = 1_000u64;
    for i in 0..ops {
        let expected = if i == 13 { None } else { Some(i * 10) };
        assert_eq!(block_on(node.place(i)).ok(), expected);
    }
    let stats = sink.stats().unwrap();
    println!("full disk: {stats} not_committed={}", stats.not_committed);
    assert!(stats.not_committed > 0, "the limit was reached: {stats:?}");
    assert!(stats.committed > 0);
    assert_eq!(
        stats.committed + stats.not_committed,
        2 * ops,
        "every event committed or counted"
    );
    let error = sink.last_error().expect("error kept");
    assert!(matches!(*error, OutboxError::Full { .. }), "{error:?}");
    assert!(error.to_string().contains("full"), "{error}");
    assert_eq!(
        Publisher::new(sink.clone()).last_error(),
        Some(error.to_string())
    );
    let flushed = sink.flush(Duration::from_secs(10));
    assert!(
        matches!(&flushed, Err(SinkError::Undelivered { lost, .. }) if *lost == stats.not_committed),
        "{flushed:?}"
    );
}

#[test]
fn schema_is_versioned_and_debezium_shaped() {
    let dir = TempDir::new("schema");
    let path = dir.path("o.db");
    drop(OutboxSink::open(OutboxConfig::sqlite(&path)).unwrap());
    let conn = Connection::open(&path).unwrap();
    let version: u32 = conn
        .query_row("SELECT max(version) FROM onex_outbox_migrations", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(version, onex_events::outbox::sqlite::schema::VERSION);
    let mut stmt = conn.prepare("PRAGMA table_info(onex_outbox)").unwrap();
    let columns: Vec<String> = stmt
        .query_map([], |r| r.get(1))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    for c in ["id", "aggregatetype", "aggregateid", "type", "payload"] {
        assert!(columns.iter().any(|x| x == c), "missing {c}: {columns:?}");
    }
    drop(stmt);
    // A file from a newer version is refused, not guessed at.
    conn.execute(
        "INSERT INTO onex_outbox_migrations (version, applied_at) VALUES (?1, 0)",
        [version + 1],
    )
    .unwrap();
    drop(conn);
    let err = OutboxSink::open(OutboxConfig::sqlite(&path)).unwrap_err();
    assert!(matches!(err, OutboxError::SchemaTooNew { .. }), "{err:?}");
}

/// The README invites sharing the file with the application's tables: the
/// application's `PRAGMA user_version` is neither read nor changed.
#[test]
fn a_file_with_the_applications_tables_and_user_version_keeps_them() {
    for app_version in [1u32, 7] {
        let dir = TempDir::new("appfile");
        let path = dir.path("app.db");
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch("CREATE TABLE orders (id INTEGER PRIMARY KEY)")
            .unwrap();
        conn.pragma_update(None, "user_version", app_version)
            .unwrap();
        drop(conn);
        for _ in 0..2 {
            let sink = OutboxSink::open(OutboxConfig::sqlite(&path)).unwrap();
            let node = shop(Publisher::new(sink.clone()));
            assert_results_unchanged(&node);
        }
        let conn = Connection::open(&path).unwrap();
        let version: u32 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(version, app_version);
        assert!(!committed_ids(&path).is_empty());
    }
}

/// The `Sink` contract: the outbox says that its `publish` waits for a
/// commit; an in-memory sink says it never waits.
#[test]
fn the_outbox_says_that_publish_waits_for_a_local_commit() {
    let dir = TempDir::new("blocking");
    let sink = OutboxSink::open(OutboxConfig::sqlite(dir.path("o.db"))).unwrap();
    assert_eq!(sink.blocking(), Blocking::LocalCommit);
    assert_eq!(Recorder::new().blocking(), Blocking::Never);
}

/// The number of records on partition 0 of `topic` of the cluster at
/// `bootstrap`.
fn records_on(bootstrap: &str, topic: &str) -> i64 {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .create()
        .unwrap();
    let (low, high) = consumer
        .fetch_watermarks(topic, 0, Duration::from_secs(10))
        .unwrap();
    high - low
}

/// An outbox relaying to an in-process mock cluster, one topic of one
/// partition, relay settings `relay` on top of `batch_size(10)`.
fn relayed_outbox(
    mock: &MockCluster<'static, DefaultProducerContext>,
    topic: &str,
    path: &std::path::Path,
    relay: impl FnOnce(RelayConfig) -> RelayConfig,
    outbox: impl FnOnce(OutboxConfig) -> OutboxConfig,
) -> OutboxSink {
    mock.create_topic(topic, 1, 1).unwrap();
    let kafka =
        KafkaConfig::new(mock.bootstrap_servers()).topics(TopicRouting::single(topic.to_owned()));
    let relay = relay(RelayConfig::new(kafka).batch_size(10));
    OutboxSink::open(outbox(OutboxConfig::sqlite(path)).relay(relay)).unwrap()
}

/// `Duration::MAX` means "as long as it takes", in every setting and in
/// `flush`: nothing panics, and `flush` returns once everything is
/// delivered.
#[test]
fn duration_max_anywhere_never_panics_and_flush_waits_until_delivered() {
    let mock = MockCluster::new(1).unwrap();
    let dir = TempDir::new("duration-max");
    let sink = relayed_outbox(
        &mock,
        "forever",
        &dir.path("o.db"),
        |relay| {
            relay
                .retention(Duration::MAX)
                .backoff(Duration::MAX, Duration::MAX)
                .delivery_timeout(Duration::MAX)
                .idle_poll(Duration::MAX)
        },
        |outbox| outbox.commit_linger(Duration::MAX),
    );
    let publisher = Publisher::new(sink.clone());
    let node = shop(publisher.clone());
    assert_results_unchanged(&node);
    publisher.flush(Duration::MAX).unwrap();
    let stats = sink.stats().unwrap();
    assert_eq!((stats.committed, stats.delivered, stats.pending), (4, 4, 0));
    assert_eq!(records_on(&mock.bootstrap_servers(), "forever"), 4);
}

/// Events the cluster keeps rejecting end in the dead-letter table: the
/// flush of the sink whose relay moved them says how many, once; a sink
/// opened later on the same file does not report them again.
#[test]
fn flush_reports_events_moved_to_dead_letters() {
    let mock = MockCluster::new(1).unwrap();
    mock.create_topic("dead", 1, 1).unwrap();
    let dir = TempDir::new("dead-flush");
    let path = dir.path("o.db");
    let open = || {
        // The events below are larger than the producer accepts.
        let kafka = KafkaConfig::new(mock.bootstrap_servers())
            .topics(TopicRouting::single("dead"))
            .property("message.max.bytes", "1000");
        let relay = RelayConfig::new(kafka)
            .max_attempts(2)
            .backoff(Duration::from_millis(1), Duration::from_millis(5));
        OutboxSink::open(OutboxConfig::sqlite(&path).relay(relay)).unwrap()
    };
    let sink = open();
    let node = shop(Publisher::new(sink.clone()));
    for _ in 0..4 {
        node.ctx.state_changed("a", "b", "x".repeat(2_000));
    }
    match sink.flush(Duration::from_secs(60)) {
        Err(SinkError::Undelivered { lost, detail }) => {
            assert_eq!(lost, 4, "{detail}");
            assert!(
                detail.contains("4 moved to the dead-letter table"),
                "{detail}"
            );
        }
        other => panic!("expected Undelivered, got {other:?}"),
    }
    assert_eq!(sink.stats().unwrap().dead, 4);
    assert!(sink.flush(Duration::from_secs(60)).is_ok(), "reported once");
    drop(node);
    drop(sink);
    let again = open();
    assert!(
        again.flush(Duration::from_secs(60)).is_ok(),
        "not this sink's"
    );
}

/// A relay that cannot mark what the cluster acknowledged (here a trigger
/// refusing the update, as a full disk would) sends nothing new and
/// retries the marking, never sending those rows again; the stats count
/// them as sent but unrecorded meanwhile. Once marking works, each event
/// is on the topic once.
#[test]
fn a_relay_that_cannot_mark_rows_does_not_resend_them() {
    let mock = MockCluster::new(1).unwrap();
    let dir = TempDir::new("unmarked");
    let path = dir.path("o.db");
    drop(OutboxSink::open(OutboxConfig::sqlite(&path)).unwrap());
    let conn = Connection::open(&path).unwrap();
    conn.execute_batch(
        "CREATE TRIGGER refuse_marks BEFORE UPDATE OF status ON onex_outbox
         BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END;",
    )
    .unwrap();
    let sink = relayed_outbox(
        &mock,
        "unmarked",
        &path,
        |relay| relay.backoff(Duration::from_millis(1), Duration::from_millis(20)),
        |outbox| outbox,
    );
    let node = shop(Publisher::new(sink.clone()));
    for order in 0..50 {
        let _ = block_on(node.place(order));
    }
    let waiting = std::time::Instant::now();
    while sink.stats().unwrap().sent_unrecorded == 0 {
        assert!(
            waiting.elapsed() < Duration::from_secs(60),
            "the relay sent nothing"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    // Many rounds of failed marking (retried every few ms).
    std::thread::sleep(Duration::from_millis(500));
    let stuck = sink.stats().unwrap();
    assert_eq!(stuck.delivered, 0, "{stuck}");
    assert!(stuck.sent_unrecorded > 0, "{stuck}");
    assert!(sink.last_error().is_some());
    let sent_while_stuck = records_on(&mock.bootstrap_servers(), "unmarked");
    assert!(
        sent_while_stuck <= 100,
        "{sent_while_stuck} records for 100 events"
    );

    conn.execute_batch("DROP TRIGGER refuse_marks").unwrap();
    sink.flush(Duration::from_secs(60)).unwrap();
    let stats = sink.stats().unwrap();
    assert_eq!((stats.committed, stats.delivered), (100, 100), "{stats}");
    assert_eq!(stats.sent_unrecorded, 0, "{stats}");
    assert_eq!(records_on(&mock.bootstrap_servers(), "unmarked"), 100);
}

/// Processes sharing one outbox file open it at the same moment (here
/// eight connections racing on a new file, as many times): every one gets
/// in, waiting its turn, and commits its events; none fails with
/// "database is locked".
#[test]
fn openers_racing_on_one_new_file_all_get_in_and_commit() {
    for round in 0..10 {
        let dir = TempDir::new("race");
        let path = dir.path("o.db");
        let start = Arc::new(std::sync::Barrier::new(8));
        let openers: Vec<_> = (0..8)
            .map(|_| {
                let (path, start) = (path.clone(), Arc::clone(&start));
                std::thread::spawn(move || {
                    start.wait();
                    let sink = OutboxSink::open(OutboxConfig::sqlite(&path))?;
                    let node = shop(Publisher::new(sink.clone()));
                    assert_results_unchanged(&node);
                    Ok::<_, OutboxError>(sink.not_committed())
                })
            })
            .collect();
        for opener in openers {
            let not_committed = opener.join().unwrap();
            assert!(
                matches!(not_committed, Ok(0)),
                "round {round}: {not_committed:?}"
            );
        }
        assert_eq!(committed_ids(&path).len(), 8 * 4, "round {round}");
    }
}

/// The `event_id`s on partition 0 of `topic` of the cluster at `bootstrap`,
/// in offset order.
fn event_ids_on(bootstrap: &str, topic: &str) -> Vec<String> {
    use onex_events::kafka::rdkafka::{Message, Offset, TopicPartitionList};
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", "event-ids")
        .set("enable.auto.commit", "false")
        .create()
        .unwrap();
    let (low, high) = consumer
        .fetch_watermarks(topic, 0, Duration::from_secs(10))
        .unwrap();
    let mut assignment = TopicPartitionList::new();
    assignment
        .add_partition_offset(topic, 0, Offset::Offset(low))
        .unwrap();
    consumer.assign(&assignment).unwrap();
    let mut ids = Vec::new();
    let mut next = low;
    let reading = std::time::Instant::now();
    while next < high {
        assert!(
            reading.elapsed() < Duration::from_secs(60),
            "read {next} of {high}"
        );
        let Some(message) = consumer.poll(Duration::from_millis(100)) else {
            continue;
        };
        let message = message.unwrap();
        let envelope: serde_json::Value =
            serde_json::from_slice(message.payload().unwrap()).unwrap();
        ids.push(envelope["event_id"].as_str().unwrap().to_owned());
        next = message.offset() + 1;
    }
    ids
}

/// Issue 9, point 13: a row marked delivered must be on the topic. Rows of
/// one key where one record is too large for the producer (dead-lettered
/// after its attempts), with the mock cluster failing produce requests now
/// and then (retriable errors, and a permanent one that fails the good
/// records of its request too): every row the relay marked delivered
/// (`status = 1`) is on the topic, in commit order, the large one is in the
/// dead-letter table, and nothing stays pending.
#[test]
fn rows_marked_delivered_are_on_the_topic_when_a_record_between_them_fails() {
    use onex_events::kafka::rdkafka::types::RDKafkaApiKey;
    use onex_events::kafka::rdkafka::types::RDKafkaRespErr as E;
    use onex_events::{EventType, Payload};

    let mock = MockCluster::new(1).unwrap();
    mock.create_topic("between.dead", 1, 1).unwrap();
    let dir = TempDir::new("between");
    let path = dir.path("o.db");
    let sink = relayed_outbox(
        &mock,
        "between",
        &path,
        |relay| {
            let kafka = relay
                .kafka_config()
                .clone()
                .property("message.max.bytes", "20000");
            RelayConfig::new(kafka)
                .batch_size(4)
                .max_attempts(3)
                .backoff(Duration::from_millis(1), Duration::from_millis(20))
                .retention(Duration::from_secs(3600))
                .dead_letter_topic("between.dead")
        },
        |outbox| outbox,
    );
    let node = shop(Publisher::new(sink.clone()));
    let changed = EventType::parse("shop.state.changed").unwrap();
    // No correlation in scope: every event is keyed by the node id.
    let emit = |reason: String| {
        node.ctx.emit(
            changed,
            None,
            Payload::StateChanged {
                old_state: "a".to_owned(),
                new_state: "b".to_owned(),
                transition_reason: reason,
            },
        )
    };
    let mut large = Vec::new();
    for round in 0..6 {
        mock.request_errors(
            RDKafkaApiKey::Produce,
            &match round % 3 {
                0 => vec![
                    E::RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
                    E::RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT,
                ],
                1 => vec![E::RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS],
                _ => vec![
                    E::RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE,
                    E::RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
                ],
            },
        );
        for i in 0..3 {
            emit(format!("small {round}.{i}"));
        }
        large.push(emit("x".repeat(100_000)).to_string());
        for i in 3..6 {
            emit(format!("small {round}.{i}"));
        }
        std::thread::sleep(Duration::from_millis(30));
    }
    let waiting = std::time::Instant::now();
    loop {
        let stats = sink.stats().unwrap();
        if stats.pending == 0 && stats.committed == 42 {
            break;
        }
        assert!(
            waiting.elapsed() < Duration::from_secs(120),
            "still pending: {stats}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }

    let conn = Connection::open(&path).unwrap();
    let column = |sql: &str| -> Vec<String> {
        let mut stmt = conn.prepare(sql).unwrap();
        let ids = stmt.query_map([], |r| r.get::<_, String>(0)).unwrap();
        ids.map(Result::unwrap).collect()
    };
    let marked = column("SELECT id FROM onex_outbox WHERE status = 1 ORDER BY seq");
    let dead = column("SELECT id FROM onex_outbox_dead ORDER BY seq");
    let on_topic = event_ids_on(&mock.bootstrap_servers(), "between");
    let mut first_copies = on_topic.clone();
    let mut seen = std::collections::HashSet::new();
    first_copies.retain(|id| seen.insert(id.clone()));
    for id in &marked {
        assert!(
            on_topic.contains(id),
            "row {id} is marked delivered and not on the topic ({} marked, {} on the topic)",
            marked.len(),
            on_topic.len()
        );
    }
    assert_eq!(first_copies, marked, "commit order on the topic");
    for id in &large {
        assert!(dead.contains(id), "the large event {id} is dead-lettered");
    }
    assert_eq!(marked.len() + dead.len(), 42);
    let stats = sink.stats().unwrap();
    assert_eq!(stats.delivered as usize, marked.len(), "{stats}");
    assert_eq!(stats.dead as usize, dead.len(), "{stats}");
}

/// A row the cluster refuses for good (here a produce request failed with
/// "message too large") is dead-lettered and reaches the dead-letter topic,
/// although the relay replaces its producer after a batch that failed whole.
#[test]
fn a_dead_lettered_event_reaches_the_dead_letter_topic_when_the_producer_is_replaced() {
    use onex_events::kafka::rdkafka::types::RDKafkaApiKey;
    use onex_events::kafka::rdkafka::types::RDKafkaRespErr as E;

    let mock = MockCluster::new(1).unwrap();
    mock.create_topic("refused.dead", 1, 1).unwrap();
    mock.request_errors(
        RDKafkaApiKey::Produce,
        &[E::RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE],
    );
    let dir = TempDir::new("refused");
    let sink = relayed_outbox(
        &mock,
        "refused",
        &dir.path("o.db"),
        |relay| relay.max_attempts(1).dead_letter_topic("refused.dead"),
        |outbox| outbox,
    );
    let node = shop(Publisher::new(sink.clone()));
    node.ctx.state_changed("a", "b", "refused");
    let waiting = std::time::Instant::now();
    while sink.stats().unwrap().dead == 0 {
        assert!(
            waiting.elapsed() < Duration::from_secs(60),
            "not dead-lettered"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    // A later event, so the relay works on (and may replace its producer).
    node.ctx.state_changed("b", "c", "accepted");
    // The flush reports the dead letter as undelivered (to the main topic).
    let flushed = sink.flush(Duration::from_secs(60));
    assert!(
        matches!(flushed, Err(SinkError::Undelivered { lost: 1, .. })),
        "{flushed:?}"
    );
    let stats = sink.stats().unwrap();
    assert_eq!((stats.delivered, stats.dead), (1, 1), "{stats}");
    let waiting = std::time::Instant::now();
    while records_on(&mock.bootstrap_servers(), "refused.dead") == 0 {
        assert!(
            waiting.elapsed() < Duration::from_secs(10),
            "the dead letter never reached the dead-letter topic"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(records_on(&mock.bootstrap_servers(), "refused"), 1);
}
