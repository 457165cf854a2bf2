//! The command without a broker: `--help` for every subcommand, and clear
//! errors, within the time given, when the cluster is not configured or
//! does not answer.

use assert_cmd::Command;

fn onex_events() -> Command {
    Command::cargo_bin("onex-events").expect("the onex-events binary")
}

#[test]
fn every_subcommand_has_help() {
    for args in [
        &["--help"][..],
        &["tail", "--help"],
        &["publish", "--help"],
        &["trace", "--help"],
        &["dlq", "--help"],
        &["dlq", "list", "--help"],
        &["dlq", "reprocess", "--help"],
    ] {
        let output = onex_events().args(args).output().expect("run onex-events");
        assert!(output.status.success(), "{args:?}");
        assert!(
            String::from_utf8_lossy(&output.stdout).contains("Usage"),
            "{args:?}"
        );
    }
}

#[test]
fn a_missing_bootstrap_list_is_a_clear_error() {
    for args in [
        &["dlq", "reprocess", "some.topic.dlq", "--dry-run"][..],
        &["dlq", "list"],
        &["tail"],
        &["publish", "--type", "a.b.started"],
        &["trace", "00000000-0000-0000-0000-000000000000"],
    ] {
        let output = onex_events()
            .env_remove("KAFKA_BOOTSTRAP_SERVERS")
            .args(args)
            .output()
            .expect("run onex-events");
        assert!(!output.status.success(), "{args:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains("KAFKA_BOOTSTRAP_SERVERS"),
            "{args:?}: {stderr}"
        );
    }
}

#[test]
fn a_broker_that_does_not_answer_is_a_clear_error_after_the_timeout() {
    // Port 9 (discard) on loopback: nothing listens there.
    for args in [
        &["dlq", "list", "--timeout", "1"][..],
        &["dlq", "list", "t.dlq", "--timeout", "1"],
        &["tail", "--timeout", "1"],
        &["publish", "--type", "a.b.started", "--timeout", "1"],
        &[
            "trace",
            "00000000-0000-0000-0000-000000000000",
            "--timeout",
            "1",
        ],
    ] {
        let output = onex_events()
            .env("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9")
            .args(args)
            .timeout(std::time::Duration::from_secs(60))
            .output()
            .expect("run onex-events");
        assert!(!output.status.success(), "{args:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains("the Kafka cluster at 127.0.0.1:9 did not answer within 1s"),
            "{args:?}: {stderr}"
        );
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
}

#[test]
fn a_bad_payload_or_event_type_is_an_error_before_anything_is_sent() {
    for (args, says) in [
        (
            &["publish", "--type", "a.b.started", "--payload", "{x"][..],
            "not JSON",
        ),
        (&["publish", "--type", "nodots"], "event type `nodots`"),
    ] {
        let output = onex_events()
            .env("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9")
            .args(args)
            .output()
            .expect("run onex-events");
        assert!(!output.status.success(), "{args:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(says), "{args:?}: {stderr}");
    }
}
