//! `onex-events publish` and `onex-events tail` against a real broker:
//! events published from flags and from stdin, read back with their
//! envelope, key and headers, and the filters and limits of `tail`.

mod support;

use support::{create_topics, json_lines, produce, run, run_with_stdin, tail_all, unique};

#[test]
#[ignore = "needs a Kafka broker: run by scripts/test.sh (the README's test command, and CI), which starts one; or set KAFKA_BOOTSTRAP_SERVERS"]
fn an_event_published_from_flags_is_tailed_back_with_its_envelope_key_and_headers() {
    let topic = unique("cli.tail");
    create_topics(&[&topic]);
    let correlation = uuid::Uuid::new_v4().to_string();
    let delivered = run(&[
        "publish",
        "--type",
        "orchestrator.orchestration.started",
        "--payload",
        r#"{"job":7}"#,
        "--correlation",
        &correlation,
        "--key",
        "job-7",
        "-H",
        "x-test=yes",
        "--topic",
        &topic,
    ]);
    assert!(
        delivered.starts_with("delivered orchestrator.orchestration.started "),
        "{delivered}"
    );
    assert!(
        delivered.contains(&format!("to {topic}/0@0")),
        "{delivered}"
    );

    let out = tail_all(&topic, &["--json"]);
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 1, "{out}");
    let record = &lines[0];
    assert_eq!(record["topic"], topic.as_str());
    assert_eq!(
        (record["partition"].as_i64(), record["offset"].as_i64()),
        (Some(0), Some(0))
    );
    assert_eq!(record["key"], "job-7");
    assert_eq!(record["headers"]["x-test"], "yes");
    assert_eq!(
        record["headers"]["ce_type"],
        "orchestrator.orchestration.started"
    );
    assert_eq!(record["headers"]["ce_correlationid"], correlation.as_str());
    let envelope = &record["envelope"];
    assert_eq!(envelope["envelope_version"], "1.0");
    assert_eq!(envelope["event_type"], "orchestrator.orchestration.started");
    assert_eq!(envelope["correlation_id"], correlation.as_str());
    assert_eq!(envelope["payload"], serde_json::json!({"job": 7}));
    assert_eq!(envelope["metadata"]["operation"], "orchestration");
    assert_eq!(envelope["source_node_id"], "onex-events-cli");
}

#[test]
#[ignore = "needs a Kafka broker: run by scripts/test.sh (the README's test command, and CI), which starts one; or set KAFKA_BOOTSTRAP_SERVERS"]
fn without_a_topic_an_event_goes_where_the_library_routes_its_type() {
    let namespace = unique("t").replace('.', "_");
    let out = run(&[
        "publish",
        "--type",
        "orchestrator.routing.completed",
        "--namespace",
        &namespace,
    ]);
    assert!(
        out.contains(&format!(
            " to {namespace}.orchestrator.orchestrator.routing.v1/"
        )),
        "{out}"
    );
}

#[test]
#[ignore = "needs a Kafka broker: run by scripts/test.sh (the README's test command, and CI), which starts one; or set KAFKA_BOOTSTRAP_SERVERS"]
fn events_from_stdin_are_filtered_by_type_and_limited_by_max() {
    let topic = unique("cli.stdin");
    create_topics(&[&topic]);
    let lines = [
        r#"{"type": "user.created", "payload": {"name": "ada"}}"#,
        r#"{"type": "orchestrator.state.changed", "payload": {}}"#,
        r#"{"event_type": "user.deleted", "payload": {"name": "bob"}, "key": "bob"}"#,
    ];
    let out = run_with_stdin(&["publish", "--topic", &topic], &lines.join("\n"));
    assert_eq!(out.lines().count(), 3, "{out}");

    let users = tail_all(&topic, &["--type", "user.*"]);
    let types: Vec<&str> = users
        .lines()
        .map(|l| l.split(' ').nth(1).unwrap_or_default())
        .collect();
    assert_eq!(types, ["user.created", "user.deleted"], "{users}");
    assert!(users.contains(r#"{"name":"ada"}"#), "{users}");

    let first = run(&["tail", &topic, "--from-beginning", "--max", "1"]);
    assert_eq!(first.lines().count(), 1, "{first}");
    assert!(first.contains(" user.created "), "{first}");
}

#[test]
#[ignore = "needs a Kafka broker: run by scripts/test.sh (the README's test command, and CI), which starts one; or set KAFKA_BOOTSTRAP_SERVERS"]
fn without_a_topic_tail_reads_every_topic_and_filters_by_correlation() {
    let (a, b) = (unique("cli.all"), unique("cli.all"));
    create_topics(&[&a, &b]);
    let correlation = uuid::Uuid::new_v4().to_string();
    for topic in [&a, &b] {
        run(&[
            "publish",
            "--type",
            "x.y.started",
            "--correlation",
            &correlation,
            "--topic",
            topic,
        ]);
    }
    run(&["publish", "--type", "x.y.started", "--topic", &a]);

    let out = run(&[
        "tail",
        "--from-beginning",
        "--exit-at-end",
        "--json",
        "--correlation",
        &correlation,
    ]);
    let mut topics: Vec<String> = json_lines(&out)
        .iter()
        .map(|r| r["topic"].as_str().unwrap_or_default().to_owned())
        .collect();
    topics.sort();
    let mut expected = vec![a, b];
    expected.sort();
    assert_eq!(topics, expected, "{out}");
}

#[test]
#[ignore = "needs a Kafka broker: run by scripts/test.sh (the README's test command, and CI), which starts one; or set KAFKA_BOOTSTRAP_SERVERS"]
fn a_record_that_is_not_an_event_is_shown_not_a_crash() {
    let topic = unique("cli.raw");
    create_topics(&[&topic]);
    produce(&topic, "k", "plain text", &[]);
    let out = tail_all(&topic, &["--json"]);
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 1, "{out}");
    assert_eq!(lines[0]["envelope"], serde_json::Value::Null);
    assert_eq!(lines[0]["value"], "plain text");
    let readable = tail_all(&topic, &[]);
    assert!(readable.contains("(not an event: "), "{readable}");
    assert!(readable.contains("value=plain text"), "{readable}");
}

#[test]
#[ignore = "needs a Kafka broker: run by scripts/test.sh (the README's test command, and CI), which starts one; or set KAFKA_BOOTSTRAP_SERVERS"]
fn a_group_member_does_not_read_again_what_its_group_committed() {
    let topic = unique("cli.group");
    let group = unique("cli.group");
    create_topics(&[&topic]);
    run(&["publish", "--type", "x.y.started", "--topic", &topic]);
    let tail = || {
        run(&[
            "tail",
            &topic,
            "--group",
            &group,
            "--from-beginning",
            "--exit-at-end",
            "--timeout",
            "30",
        ])
    };
    assert_eq!(tail().lines().count(), 1);
    assert_eq!(tail().lines().count(), 0);
}

#[test]
#[ignore = "needs a Kafka broker: run by scripts/test.sh (the README's test command, and CI), which starts one; or set KAFKA_BOOTSTRAP_SERVERS"]
fn a_failed_delivery_is_named_and_a_non_zero_exit() {
    let output = support::onex_events()
        .args([
            "publish",
            "--type",
            "a.b.started",
            "--topic",
            "not a topic!",
        ])
        .output()
        .expect("run onex-events");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("not delivered: a.b.started "), "{stderr}");
    assert!(
        stderr.contains("1 of 1 events were not delivered"),
        "{stderr}"
    );
}
