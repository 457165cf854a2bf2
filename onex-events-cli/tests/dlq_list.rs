//! `onex-events dlq list` against a real broker: the dead-letter topics
//! with their record counts, and one topic's dead letters with the
//! reasons the consumer wrote in their headers.

mod support;

use onex_events::kafka::headers::{
    DEAD_LETTER_ATTEMPTS, DEAD_LETTER_ERROR, DEAD_LETTER_ERROR_TYPE, DEAD_LETTER_GROUP,
    DEAD_LETTER_HANDLER, DEAD_LETTER_OFFSET, DEAD_LETTER_PARTITION, DEAD_LETTER_TOPIC,
};
use support::{create_topics, json_lines, produce, run, unique};

#[test]
#[ignore = "needs a Kafka broker: run by scripts/test.sh (the README's test command, and CI), which starts one; or set KAFKA_BOOTSTRAP_SERVERS"]
fn dead_letter_topics_are_listed_with_counts_and_their_dead_letters_with_reasons() {
    let original = unique("cli.list");
    let dlq = format!("{original}.dlq");
    create_topics(&[&original, &dlq]);
    for (offset, error) in [("4", "boom"), ("5", "no route")] {
        produce(
            &dlq,
            "key",
            "not an envelope",
            &[
                (DEAD_LETTER_ERROR_TYPE, "anyhow::Error"),
                (DEAD_LETTER_ERROR, error),
                (DEAD_LETTER_ATTEMPTS, "3"),
                (DEAD_LETTER_TOPIC, &original),
                (DEAD_LETTER_PARTITION, "0"),
                (DEAD_LETTER_OFFSET, offset),
                (DEAD_LETTER_GROUP, "effects"),
                (DEAD_LETTER_HANDLER, "effect.execute_intent"),
            ],
        );
    }

    let topics = run(&["dlq", "list"]);
    assert!(topics.starts_with("TOPIC "), "{topics}");
    let row = topics
        .lines()
        .find(|l| l.starts_with(&dlq))
        .unwrap_or_else(|| panic!("{dlq} not listed: {topics}"));
    assert_eq!(
        row.split_whitespace().collect::<Vec<_>>(),
        [dlq.as_str(), "2"]
    );
    assert!(!topics.contains(&format!("{original} ")), "{topics}");
    let json = run(&["dlq", "list", "--json"]);
    assert!(
        json_lines(&json).contains(&serde_json::json!({"topic": dlq, "records": 2})),
        "{json}"
    );

    let letters = run(&["dlq", "list", &dlq]);
    let lines: Vec<&str> = letters.lines().collect();
    assert_eq!(
        lines,
        [
            format!(
                "{dlq}/0@0 (not an event) from {original}/0@4 group=effects attempts=3 \
                 handler=effect.execute_intent: anyhow::Error: boom"
            ),
            format!(
                "{dlq}/0@1 (not an event) from {original}/0@5 group=effects attempts=3 \
                 handler=effect.execute_intent: anyhow::Error: no route"
            ),
        ]
    );
    let letters = json_lines(&run(&["dlq", "list", &dlq, "--json"]));
    assert_eq!(letters[1]["headers"][DEAD_LETTER_ERROR], "no route");
}
