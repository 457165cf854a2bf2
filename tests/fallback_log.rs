//! The Kafka sink's per-event log lines stay bounded in a flood: against an
//! unreachable cluster, thousands of events produce a bounded number of
//! lines (the first of each outage one by one, then summaries with counts),
//! and the counts add up to every event. Alone in its test binary: it reads
//! every line of the process, whichever thread wrote it.
#![cfg(feature = "kafka")]

mod common;
mod kafka_support;

use common::take_logs;
use kafka_support::*;
use onex_events::kafka::rdkafka::mocking::MockCluster;
use onex_events::kafka::rdkafka::producer::DefaultProducerContext;
use onex_events::kafka::{FallbackLog, KafkaConfig, Outcome, TopicRouting};
use onex_events::{KafkaSink, Sink};
use std::time::{Duration, Instant};
use uuid::Uuid;

/// The number in `field=N` of `line`.
fn field(line: &str, field: &str) -> u64 {
    let start = line
        .find(&format!(" {field}="))
        .unwrap_or_else(|| panic!("no {field} in {line}"))
        + field.len()
        + 2;
    let digits: String = line[start..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().unwrap()
}

/// A sink on a cluster whose broker is down, once the sink knows it.
fn sink_on_a_down_cluster(
    mock: &MockCluster<'static, DefaultProducerContext>,
    mode: FallbackLog,
    reports: &Reports,
) -> KafkaSink {
    mock.create_topic("flood", 1, 1).unwrap();
    mock.broker_down(1).unwrap();
    let config = KafkaConfig::new(mock.bootstrap_servers())
        .topics(TopicRouting::single("flood"))
        .property("queue.buffering.max.messages", "1000")
        .buffer_capacity(1000)
        .fallback_log_mode(mode);
    let sink = KafkaSink::new(reports.attach(config)).unwrap();
    // A deadline only against hanging.
    let deadline = Instant::now() + Duration::from_secs(60);
    while sink.stats().available {
        assert!(
            Instant::now() < deadline,
            "the sink never saw the broker down"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    sink
}

fn publish(sink: &KafkaSink, n: usize) {
    let node = node("flood");
    let correlation = Uuid::new_v4();
    for seq in 0..n {
        sink.publish(event(&node, correlation, seq));
    }
}

#[test]
fn a_flood_against_an_unreachable_cluster_logs_a_bounded_number_of_lines_whose_counts_add_up() {
    const EVENTS: usize = 20_000;
    take_logs();

    // Bounded (the default): the first 100 of the outage one by one.
    let mock = MockCluster::new(1).unwrap();
    let reports = Reports::default();
    let sink = sink_on_a_down_cluster(&mock, FallbackLog::default(), &reports);
    publish(&sink, EVENTS);
    let stats = sink.stats();
    assert_eq!(stats.published, EVENTS as u64);
    assert_eq!(stats.fallback_logged, EVENTS as u64, "{stats:?}");
    assert!(stats.overflowed > 0, "{stats:?}");
    drop(sink);
    let logs = take_logs();
    let lines: Vec<&str> = logs.lines().collect();
    println!("{} log lines for {EVENTS} events", lines.len());

    let fallback_lines = lines
        .iter()
        .filter(|l| l.contains("Kafka unavailable, logging"))
        .count() as u64;
    let fallback_summaries: Vec<&str> = lines
        .iter()
        .copied()
        .filter(|l| l.contains("more events kept for delivery without a line each"))
        .collect();
    assert_eq!(fallback_lines, FallbackLog::BUDGET);
    let summarized: u64 = fallback_summaries.iter().map(|l| field(l, "events")).sum();
    assert_eq!(
        fallback_lines + summarized,
        EVENTS as u64,
        "{fallback_summaries:#?}"
    );

    // Every event ends in one outcome (overflowed, or lost when the sink
    // was dropped), each on a line of its own within the budget or in a
    // summary.
    let all = reports.all();
    assert_eq!(all.len(), EVENTS, "one report per event");
    assert!(all.iter().all(|r| !r.outcome.is_delivered()));
    let overflowed = all
        .iter()
        .filter(|r| r.outcome == Outcome::Overflowed)
        .count() as u64;
    assert_eq!(overflowed, stats.overflowed);
    let loss_lines = lines
        .iter()
        .filter(|l| l.contains("event not delivered to Kafka:"))
        .count() as u64;
    let loss_summaries: Vec<&str> = lines
        .iter()
        .copied()
        .filter(|l| l.contains("events not delivered to Kafka (beyond the first"))
        .collect();
    assert_eq!(loss_lines, 100);
    let summarized: u64 = loss_summaries.iter().map(|l| field(l, "events")).sum();
    assert_eq!(
        loss_lines + summarized,
        EVENTS as u64,
        "{loss_summaries:#?}"
    );
    let summarized_overflows: u64 = loss_summaries.iter().map(|l| field(l, "overflowed")).sum();
    let overflow_lines = lines
        .iter()
        .filter(|l| l.contains("event not delivered to Kafka: retry buffer full"))
        .count() as u64;
    assert_eq!(overflow_lines + summarized_overflows, overflowed);

    // Bounded overall: no line per event. A summary at most every 10 s;
    // more only on a very slow machine.
    assert!(lines.len() < 400, "{} lines", lines.len());

    // `summary`: no line per event; `off`: not even summaries.
    for (mode, expected) in [(FallbackLog::Summary, EVENTS as u64), (FallbackLog::Off, 0)] {
        let mock = MockCluster::new(1).unwrap();
        let reports = Reports::default();
        let sink = sink_on_a_down_cluster(&mock, mode, &reports);
        take_logs();
        publish(&sink, EVENTS);
        assert_eq!(sink.stats().fallback_logged, expected);
        drop(sink);
        let logs = take_logs();
        assert!(!logs.contains("Kafka unavailable, logging"), "{mode}");
        let summarized: u64 = logs
            .lines()
            .filter(|l| l.contains("more events kept for delivery without a line each"))
            .map(|l| field(l, "events"))
            .sum();
        assert_eq!(summarized, expected, "{mode}");
        assert_eq!(reports.all().len(), EVENTS, "{mode}: one report per event");
    }
}
