//! The PostgreSQL outbox (feature `outbox-postgres`): commits before the
//! operation returns, transactional use, several relays on one table
//! delivering each event once in per-key order, a relay stopped or killed
//! mid-way, dead letters and retention. Each test is ignored unless asked
//! for (`--include-ignored`, as `scripts/test.sh` does), and then fails
//! when `ONEX_TEST_POSTGRES_URL` (and, for the relay tests,
//! `KAFKA_BOOTSTRAP_SERVERS`; for the TLS test, `ONEX_TEST_POSTGRES_CA`) is
//! not set.
//!
//! ```text
//! url=$(scripts/postgres-dev.sh start 15432) && export "$url"
//! scripts/kafka-dev.sh start 9092
//! KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:9092 cargo test --features outbox-postgres --test outbox_postgres -- --include-ignored --nocapture
//! ```
#![cfg(feature = "outbox-postgres")]

mod kafka_support;
mod outbox_support;

use outbox_support::{block_on, fresh_database, postgres_ca, postgres_url, Worker};

use kafka_support::{bootstrap, consume_ids, create_topic, event, node, unique_topic, Record};
use onex_events::kafka::{KafkaConfig, TopicRouting};
use onex_events::outbox::postgres::postgres::{Client, NoTls};
use onex_events::outbox::postgres::PgOutboxSink;
use onex_events::outbox::{OutboxConfig, RelayConfig};
use onex_events::sink::SinkError;
use onex_events::{NodeContext, Publisher, Sink};
use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};
use uuid::Uuid;

fn client(url: &str) -> Client {
    Client::connect(url, NoTls).unwrap()
}

fn pending_ids(url: &str) -> Vec<String> {
    client(url)
        .query("SELECT id::text FROM onex_outbox ORDER BY seq", &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

#[test]
#[ignore = "needs PostgreSQL: run by scripts/test.sh (the README's test command, and CI), which starts one; or set ONEX_TEST_POSTGRES_URL"]
fn events_are_committed_before_the_operation_returns() {
    let url = postgres_url();
    let url = fresh_database(&url, "commit");
    let sink = PgOutboxSink::open(OutboxConfig::postgres(&url)).unwrap();
    assert_eq!(sink.blocking(), onex_events::sink::Blocking::NetworkCommit);
    let worker = Worker {
        ctx: NodeContext::new::<Worker>(Publisher::new(sink.clone())),
    };
    for i in 0..20 {
        assert_eq!(block_on(worker.work(i)).unwrap(), i + 1);
        // Both events of operation i, visible to any other connection.
        assert_eq!(pending_ids(&url).len() as u64, 2 * (i + 1));
    }
    let types: Vec<String> = client(&url)
        .query("SELECT type FROM onex_outbox ORDER BY seq LIMIT 2", &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(types, ["worker.work.started", "worker.work.completed"]);
    let versions: Vec<i32> = client(&url)
        .query("SELECT version FROM onex_outbox_migrations", &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(versions, [1]);
    // A second process migrates nothing and shares the table.
    let again = PgOutboxSink::open(OutboxConfig::postgres(&url)).unwrap();
    assert_eq!(again.stats().unwrap().pending, 40);
}

#[test]
#[ignore = "needs PostgreSQL: run by scripts/test.sh (the README's test command, and CI), which starts one; or set ONEX_TEST_POSTGRES_URL"]
fn transactional_use_commits_user_rows_and_events_together() {
    let url = postgres_url();
    let url = fresh_database(&url, "tx");
    let sink = PgOutboxSink::open(OutboxConfig::postgres(&url)).unwrap();
    let worker = Worker {
        ctx: NodeContext::new::<Worker>(Publisher::new(sink.clone())),
    };
    let mut conn = client(&url);
    conn.batch_execute("CREATE TABLE orders (id BIGINT PRIMARY KEY)")
        .unwrap();

    // Rolled back: neither the order nor its events.
    let mut tx = conn.transaction().unwrap();
    tx.execute("INSERT INTO orders (id) VALUES (1)", &[])
        .unwrap();
    let r = sink.within(&mut tx, || block_on(worker.work(1))).unwrap();
    assert_eq!(r.unwrap(), 2);
    assert!(
        pending_ids(&url).is_empty(),
        "uncommitted events are invisible"
    );
    tx.rollback().unwrap();
    assert!(pending_ids(&url).is_empty());

    // Committed: both.
    let mut tx = conn.transaction().unwrap();
    tx.execute("INSERT INTO orders (id) VALUES (2)", &[])
        .unwrap();
    sink.within(&mut tx, || block_on(worker.work(2)))
        .unwrap()
        .unwrap();
    sink.insert(&mut tx, &event(&node("hand"), Uuid::new_v4(), 0))
        .unwrap();
    tx.commit().unwrap();
    let orders: i64 = client(&url)
        .query_one("SELECT count(*) FROM orders", &[])
        .unwrap()
        .get(0);
    assert_eq!(orders, 1);
    assert_eq!(pending_ids(&url).len(), 3);
    assert_eq!(sink.stats().unwrap().pending, 3);
}

fn relay_config(bootstrap: &str, topic: &str) -> RelayConfig {
    RelayConfig::new(KafkaConfig::new(bootstrap.to_owned()).topics(TopicRouting::single(topic)))
        .batch_size(200)
        .idle_poll(Duration::from_millis(20))
}

/// The outbox at `url` with a relay of `relay`.
fn relaying(url: &str, relay: RelayConfig) -> PgOutboxSink {
    PgOutboxSink::open(OutboxConfig::postgres(url).relay(relay)).unwrap()
}

/// Event ids in the order each key's events were committed.
fn committed_by_key(url: &str) -> (Vec<String>, HashMap<String, Vec<String>>) {
    let rows = client(url)
        .query(
            "SELECT id::text, aggregateid FROM onex_outbox ORDER BY seq",
            &[],
        )
        .unwrap();
    let mut by_key: HashMap<String, Vec<String>> = HashMap::new();
    let mut ids = Vec::new();
    for r in &rows {
        let (id, key): (String, String) = (r.get(0), r.get(1));
        by_key.entry(key).or_default().push(id.clone());
        ids.push(id);
    }
    (ids, by_key)
}

/// Every committed id arrived; each key's records, deduped by event id,
/// arrived in commit order. Returns the number of duplicates.
fn check_delivery(committed: &HashMap<String, Vec<String>>, records: &[Record]) -> usize {
    let mut arrived: HashMap<String, Vec<String>> = HashMap::new();
    let mut seen = HashSet::new();
    let mut duplicates = 0;
    for r in records {
        let id = r.json["event_id"].as_str().unwrap().to_owned();
        if !seen.insert(id.clone()) {
            duplicates += 1;
            continue;
        }
        arrived
            .entry(r.key.clone().unwrap_or_default())
            .or_default()
            .push(id);
    }
    assert_eq!(
        seen.len(),
        committed.values().map(Vec::len).sum::<usize>(),
        "{} records, {} keys arrived, e.g. {:?}",
        records.len(),
        arrived.len(),
        records.first().map(|r| (&r.key, &r.json["event_id"]))
    );
    for (key, ids) in committed {
        assert_eq!(
            arrived.get(key),
            Some(ids),
            "key {key}: events missing or out of order"
        );
    }
    duplicates
}

fn commit_events(sink: &PgOutboxSink, correlations: &[Uuid], per_key: usize) {
    let n = node("pg");
    for seq in 0..per_key {
        for c in correlations {
            sink.publish(event(&n, *c, seq));
        }
    }
}

fn keys(n: usize) -> Vec<Uuid> {
    (0..n).map(|_| Uuid::new_v4()).collect()
}

fn second_stats(url: &str) -> onex_events::outbox::OutboxStats {
    PgOutboxSink::open(OutboxConfig::postgres(url))
        .unwrap()
        .stats()
        .unwrap()
}

/// Waits until nothing is pending; `timeout` is a deadline only against
/// hanging, not a speed requirement.
fn wait_drained(sink: &PgOutboxSink, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    while sink.stats().unwrap().pending > 0 {
        assert!(
            Instant::now() < deadline,
            "not drained: {} ({:?})",
            sink.stats().unwrap(),
            sink.last_error()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A relay that cannot mark what the cluster acknowledged (a trigger
/// refusing the update stands for a full disk) sends nothing new and
/// retries the marking, never sending those rows again; the stats count
/// them as sent but unrecorded meanwhile.
#[test]
#[ignore = "needs PostgreSQL and a Kafka broker: run by scripts/test.sh (the README's test command, and CI), which starts both; or set ONEX_TEST_POSTGRES_URL and KAFKA_BOOTSTRAP_SERVERS"]
fn a_relay_that_cannot_mark_rows_does_not_resend_them() {
    let bootstrap = bootstrap();
    let url = fresh_database(&postgres_url(), "unmarked");
    let topic = unique_topic("pg-unmarked");
    create_topic(&bootstrap, &topic, 1);
    drop(PgOutboxSink::open(OutboxConfig::postgres(&url)).unwrap());
    let mut admin = client(&url);
    admin
        .batch_execute(
            "CREATE FUNCTION refuse_marks() RETURNS trigger LANGUAGE plpgsql AS
               $$ BEGIN RAISE EXCEPTION 'could not extend file: No space left on device'; END $$;
             CREATE TRIGGER refuse_marks BEFORE UPDATE OF status ON onex_outbox
               FOR EACH ROW EXECUTE FUNCTION refuse_marks();",
        )
        .unwrap();
    let sink = relaying(
        &url,
        relay_config(&bootstrap, &topic)
            .batch_size(10)
            .backoff(Duration::from_millis(1), Duration::from_millis(20)),
    );
    let correlations = keys(5);
    commit_events(&sink, &correlations, 20);
    let deadline = Instant::now() + Duration::from_secs(60);
    while sink.stats().unwrap().sent_unrecorded == 0 {
        assert!(Instant::now() < deadline, "the relay sent nothing");
        std::thread::sleep(Duration::from_millis(10));
    }
    // Many rounds of failed marking (retried every few ms).
    std::thread::sleep(Duration::from_millis(500));
    let stuck = sink.stats().unwrap();
    assert_eq!(stuck.delivered, 0, "{stuck}");
    assert!(stuck.sent_unrecorded > 0, "{stuck}");
    assert!(sink.last_error().is_some());

    admin
        .batch_execute("DROP TRIGGER refuse_marks ON onex_outbox")
        .unwrap();
    wait_drained(&sink, Duration::from_secs(60));
    let stats = sink.stats().unwrap();
    assert_eq!((stats.committed, stats.delivered), (100, 100), "{stats}");
    assert_eq!(stats.sent_unrecorded, 0, "{stats}");
    let (ids, by_key) = committed_by_key(&url);
    let want: HashSet<String> = ids.into_iter().collect();
    let records = consume_ids(&bootstrap, &topic, &want, Duration::from_secs(60));
    let duplicates = check_delivery(&by_key, &records);
    assert_eq!(duplicates, 0);
}

#[test]
#[ignore = "needs PostgreSQL and a Kafka broker: run by scripts/test.sh (the README's test command, and CI), which starts both; or set ONEX_TEST_POSTGRES_URL and KAFKA_BOOTSTRAP_SERVERS"]
fn three_relays_on_one_table_deliver_every_event_once_in_key_order() {
    let (url, bootstrap) = (postgres_url(), bootstrap());
    let url = fresh_database(&url, "relays");
    let topic = unique_topic("outbox-pg-relays");
    create_topic(&bootstrap, &topic, 3);
    let t = Instant::now();
    let relays: Vec<PgOutboxSink> = (0..3)
        .map(|_| relaying(&url, relay_config(&bootstrap, &topic)))
        .collect();
    // Two publishing processes, 4,000 events on 70 keys, while three
    // relays (in those and a third process) share the table.
    std::thread::scope(|s| {
        s.spawn(|| commit_events(&relays[0], &keys(50), 60));
        s.spawn(|| commit_events(&relays[1], &keys(20), 50));
    });
    wait_drained(&relays[2], Duration::from_secs(120));
    let drain = t.elapsed();
    let (ids, by_key_all) = committed_by_key(&url);
    assert_eq!(by_key_all.len(), 70);
    let stats = relays[2].stats().unwrap();
    assert_eq!(stats.delivered, 4000, "{stats}");
    assert_eq!(stats.dead, 0);
    let want: HashSet<String> = ids.iter().cloned().collect();
    let records = consume_ids(&bootstrap, &topic, &want, Duration::from_secs(30));
    let duplicates = check_delivery(&by_key_all, &records);
    // Every relay acknowledged before marking, and no key was sent by two
    // relays at once: nothing is sent twice without a failure.
    assert_eq!(duplicates, 0, "events sent twice");
    drop(relays);
    println!(
        "postgres outbox, 3 relays on one table: delivered/committed = {}/{}; {} records, \
         {duplicates} duplicates; drained in {:.2}s",
        stats.delivered,
        stats.committed,
        records.len(),
        drain.as_secs_f64()
    );
}

#[test]
#[ignore = "needs PostgreSQL and a Kafka broker: run by scripts/test.sh (the README's test command, and CI), which starts both; or set ONEX_TEST_POSTGRES_URL and KAFKA_BOOTSTRAP_SERVERS"]
fn a_relay_stopped_or_killed_mid_way_is_taken_over() {
    let (url, bootstrap) = (postgres_url(), bootstrap());
    let url = fresh_database(&url, "takeover");
    let topic = unique_topic("outbox-pg-takeover");
    create_topic(&bootstrap, &topic, 3);
    let correlations = keys(40);

    // A "killed" relay: holds the claim of every key, then dies without
    // committing.
    let mut dead = client(&url);
    dead.batch_execute("BEGIN").unwrap();
    for c in &correlations {
        let got: bool = dead
            .query_one(
                "SELECT pg_try_advisory_xact_lock($1, hashtext($2))",
                &[&onex_events::outbox::postgres::LOCK_CLASS, &c.to_string()],
            )
            .unwrap()
            .get(0);
        assert!(got);
    }

    // A relay stopped mid-way.
    let first = relaying(&url, relay_config(&bootstrap, &topic));
    commit_events(&first, &correlations, 100);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        first.stats().unwrap().delivered,
        0,
        "keys held by a live relay are not sent"
    );
    drop(dead); // the killed relay's connection closes: its claim is released
    let deadline = Instant::now() + Duration::from_secs(120);
    while first.stats().unwrap().delivered == 0 {
        assert!(Instant::now() < deadline, "nothing delivered");
        std::thread::sleep(Duration::from_millis(5));
    }
    drop(first);
    let after_stop = second_stats(&url);
    println!("postgres outbox: first relay stopped after {after_stop}");
    assert!(after_stop.pending > 0, "stopped mid-way: {after_stop}");
    let second = relaying(&url, relay_config(&bootstrap, &topic));
    wait_drained(&second, Duration::from_secs(120));
    let stats = second.stats().unwrap();
    assert_eq!(stats.delivered, 4000, "{stats}");
    let (ids, by_key) = committed_by_key(&url);
    let want: HashSet<String> = ids.into_iter().collect();
    let records = consume_ids(&bootstrap, &topic, &want, Duration::from_secs(30));
    let duplicates = check_delivery(&by_key, &records);
    println!(
        "postgres outbox, relay stopped mid-way and taken over: delivered/committed = {}/{}; \
         {} records, {duplicates} duplicates",
        stats.delivered,
        stats.committed,
        records.len()
    );
}

/// A `state.changed` event of its own key whose `transition_reason` is
/// `reason` (a long one makes a record too large for a small
/// `message.max.bytes`).
fn event_with_reason(reason: String) -> onex_events::Event {
    let mut e = event(&node("pg-dead"), Uuid::new_v4(), 0);
    if let onex_events::Payload::StateChanged {
        transition_reason, ..
    } = &mut e.payload
    {
        *transition_reason = reason;
    }
    e
}

#[test]
#[ignore = "needs PostgreSQL and a Kafka broker: run by scripts/test.sh (the README's test command, and CI), which starts both; or set ONEX_TEST_POSTGRES_URL and KAFKA_BOOTSTRAP_SERVERS"]
fn an_event_that_keeps_failing_is_dead_lettered_with_its_error() {
    let (url, bootstrap) = (postgres_url(), bootstrap());
    let url = fresh_database(&url, "dead");
    let topic = unique_topic("outbox-pg-dead");
    create_topic(&bootstrap, &topic, 1);
    let sink = relaying(
        &url,
        RelayConfig::new(
            KafkaConfig::new(bootstrap.clone())
                .topics(TopicRouting::single(&topic))
                .property("message.max.bytes", "2000"),
        )
        .idle_poll(Duration::from_millis(20))
        .max_attempts(3)
        .backoff(Duration::from_millis(10), Duration::from_millis(50)),
    );
    let small_1 = event_with_reason("small-1".to_owned());
    let big = event_with_reason("x".repeat(5_000));
    let small_2 = event_with_reason("small-2".to_owned());
    let small_ids: HashSet<String> = [&small_1, &small_2]
        .iter()
        .map(|e| e.event_id.to_string())
        .collect();
    let big_id = big.event_id.to_string();
    sink.publish(small_1);
    sink.publish(big);
    sink.publish(small_2);
    match sink.flush(Duration::from_secs(60)) {
        Err(SinkError::Undelivered { lost: 1, detail }) if detail.contains("dead-letter") => {}
        other => panic!("drain: {other:?}; {:?}", sink.stats()),
    }

    let stats = sink.stats().unwrap();
    assert_eq!(
        (stats.committed, stats.delivered, stats.pending, stats.dead),
        (3, 2, 0, 1),
        "{stats}"
    );
    // Every process sees the same totals.
    assert_eq!(second_stats(&url), stats);
    let dead = client(&url)
        .query(
            "SELECT id::text, attempts, last_error, type FROM onex_outbox_dead",
            &[],
        )
        .unwrap();
    assert_eq!(dead.len(), 1);
    let (id, attempts, error, event_type): (String, i32, Option<String>, String) = (
        dead[0].get(0),
        dead[0].get(1),
        dead[0].get(2),
        dead[0].get(3),
    );
    assert_eq!(id, big_id);
    assert_eq!(attempts, 3);
    assert_eq!(event_type, "orchestrator.state.changed");
    let error = error.expect("the dead letter keeps its error");
    assert!(!error.is_empty());
    // Moved, not copied: the outbox no longer holds it.
    let left: i64 = client(&url)
        .query_one(
            "SELECT count(*) FROM onex_outbox WHERE id = $1::text::uuid",
            &[&big_id],
        )
        .unwrap()
        .get(0);
    assert_eq!(left, 0);
    // The event behind it on the table was not held up by it.
    let records = consume_ids(&bootstrap, &topic, &small_ids, Duration::from_secs(30));
    let arrived: HashSet<String> = records
        .iter()
        .filter_map(|r| r.json["event_id"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(arrived, small_ids);
    println!("postgres outbox: {stats}; dead letter after {attempts} attempts: {error}");
}

#[test]
#[ignore = "needs PostgreSQL and a Kafka broker: run by scripts/test.sh (the README's test command, and CI), which starts both; or set ONEX_TEST_POSTGRES_URL and KAFKA_BOOTSTRAP_SERVERS"]
fn delivered_rows_are_deleted_after_the_retention_period() {
    let (url, bootstrap) = (postgres_url(), bootstrap());
    let url = fresh_database(&url, "retention");
    let topic = unique_topic("outbox-pg-retention");
    create_topic(&bootstrap, &topic, 3);
    let retention = Duration::from_secs(2);
    let sink = relaying(&url, relay_config(&bootstrap, &topic).retention(retention));
    // Every event is delivered after this instant, so no row may be deleted
    // before `retention` has passed from it (10 ms of slack for the
    // clock's resolution). A loaded machine only makes that easier.
    let committing = Instant::now();
    let early = |elapsed: Duration| elapsed + Duration::from_millis(10) < retention;
    commit_events(&sink, &keys(10), 5);
    wait_drained(&sink, Duration::from_secs(120));
    let drained = Instant::now();
    let delivered_rows: i64 = client(&url)
        .query_one("SELECT count(*) FROM onex_outbox WHERE status = 1", &[])
        .unwrap()
        .get(0);
    // Kept, marked delivered, within the retention period.
    if early(committing.elapsed()) {
        assert!(delivered_rows > 0, "deleted before the retention period");
    }
    // A deadline only against hanging.
    let deadline = drained + retention + Duration::from_secs(120);
    loop {
        let rows: i64 = client(&url)
            .query_one("SELECT count(*) FROM onex_outbox", &[])
            .unwrap()
            .get(0);
        if rows == 0 {
            assert!(
                !early(committing.elapsed()),
                "deleted before the retention period"
            );
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{rows} rows left {:?} after draining",
            drained.elapsed()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let gone_after = drained.elapsed();
    // The totals survive the deletes.
    let stats = sink.stats().unwrap();
    assert_eq!(
        (stats.committed, stats.delivered, stats.pending, stats.dead),
        (50, 50, 0, 0),
        "{stats}"
    );
    assert_eq!(second_stats(&url), stats);
    println!(
        "postgres outbox, retention {retention:?}: every delivered row deleted {:.2}s after \
         draining; {stats}",
        gone_after.as_secs_f64()
    );
}

#[test]
#[ignore = "needs PostgreSQL and a Kafka broker: run by scripts/test.sh (the README's test command, and CI), which starts both; or set ONEX_TEST_POSTGRES_URL and KAFKA_BOOTSTRAP_SERVERS"]
fn without_retention_delivered_rows_are_deleted_at_once() {
    let (url, bootstrap) = (postgres_url(), bootstrap());
    let url = fresh_database(&url, "noretention");
    let topic = unique_topic("outbox-pg-noretention");
    create_topic(&bootstrap, &topic, 3);
    let sink = relaying(
        &url,
        relay_config(&bootstrap, &topic).retention(Duration::ZERO),
    );
    commit_events(&sink, &keys(10), 5);
    wait_drained(&sink, Duration::from_secs(120));
    assert!(pending_ids(&url).is_empty(), "delivered rows are not kept");
    let stats = sink.stats().unwrap();
    assert_eq!(
        (stats.committed, stats.delivered, stats.pending, stats.dead),
        (50, 50, 0, 0),
        "{stats}"
    );
}

#[test]
#[ignore = "needs PostgreSQL with TLS: run by scripts/test.sh (the README's test command, and CI), which starts one; or set ONEX_TEST_POSTGRES_URL and ONEX_TEST_POSTGRES_CA"]
fn sslmode_require_connects_over_verified_tls_and_refuses_an_unknown_certificate() {
    let url = postgres_url();
    let ca = postgres_ca();
    let url = fresh_database(&url, "tls");
    let tls_url = format!("{url}?sslmode=require&sslrootcert={ca}");
    let sink = PgOutboxSink::open(OutboxConfig::postgres(&tls_url)).unwrap();
    let worker = Worker {
        ctx: NodeContext::new::<Worker>(Publisher::new(sink.clone())),
    };
    assert_eq!(block_on(worker.work(1)).unwrap(), 2);
    assert_eq!(pending_ids(&url).len(), 2);
    // The sink's connection (its committer's) is encrypted.
    let encrypted: i64 = client(&url)
        .query_one(
            "SELECT count(*) FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid)
             WHERE a.datname = current_database() AND s.ssl",
            &[],
        )
        .unwrap()
        .get(0);
    assert!(encrypted >= 1, "no TLS connection to the outbox database");

    // Verified against the system's roots, which did not sign it: an
    // error, never a plaintext fallback.
    let unverified = format!("{url}?sslmode=require");
    let error = PgOutboxSink::open(OutboxConfig::postgres(&unverified))
        .expect_err("a self-signed certificate does not verify against the system's roots");
    let text = format!("{error}: {:?}", std::error::Error::source(&error));
    assert!(text.contains("certificate"), "{text}");
    // An unreadable CA file is named in the error.
    let missing = format!("{url}?sslmode=require&sslrootcert=/nonexistent/ca.pem");
    let error = PgOutboxSink::open(OutboxConfig::postgres(&missing))
        .expect_err("a missing CA file is an error");
    assert!(error.to_string().contains("/nonexistent/ca.pem"), "{error}");
}
