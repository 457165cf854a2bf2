//! The example nodes print only contract-valid envelopes and reproduce the
//! seed catalogs exactly.

mod common;

use serde_json::Value;
use std::path::PathBuf;
use std::process::Command;

/// `cargo test` builds the examples next to the test binaries.
fn example(name: &str) -> Command {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().and_then(|deps| deps.parent()).unwrap();
    let path: PathBuf = dir.join("examples").join(name);
    assert!(
        path.exists(),
        "{} not built; run `cargo test`",
        path.display()
    );
    let mut cmd = Command::new(path);
    cmd.env_remove("KAFKA_BOOTSTRAP_SERVERS");
    cmd
}

fn run(name: &str, args: &[&str]) -> String {
    let out = example(name).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{name} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn envelopes(name: &str) -> Vec<Value> {
    let stdout = run(name, &[]);
    let events: Vec<Value> = stdout
        .lines()
        .map(|line| serde_json::from_str(line).expect("every stdout line is one JSON envelope"))
        .collect();
    for e in &events {
        common::assert_contract_valid(e);
    }
    events
}

fn types(events: &[Value]) -> Vec<&str> {
    events
        .iter()
        .map(|e| e["event_type"].as_str().unwrap())
        .collect()
}

#[test]
fn orchestrator_example_prints_only_valid_envelopes() {
    let events = envelopes("orchestrator");
    let t = types(&events);
    assert_eq!(t.len(), 21);
    assert_eq!(t.iter().filter(|t| t.ends_with(".failed")).count(), 2);
    assert!(t.contains(&"orchestrator.metric.recorded"));
    assert!(t.contains(&"orchestrator.state.changed"));
    let text = serde_json::to_string(&events).unwrap();
    assert!(!text.contains("sk-example"), "the API key leaked");
}

#[test]
fn reducer_example_prints_only_valid_envelopes() {
    let events = envelopes("reducer");
    assert_eq!(
        types(&events),
        [
            "reducer.aggregation.started",
            "reducer.metric.recorded",
            "reducer.aggregation.completed",
            "reducer.aggregation.started",
            "reducer.state.changed",
            "reducer.metric.recorded",
            "reducer.aggregation.completed",
            "reducer.aggregation.started",
            "reducer.aggregation.failed",
            "reducer.state_snapshot.started",
            "reducer.state_snapshot.completed",
        ]
    );
}

#[test]
fn catalog_mode_prints_the_seed_catalogs() {
    for (name, contract) in [
        ("orchestrator", onex_events_suite::ORCHESTRATOR_CATALOG),
        ("reducer", onex_events_suite::REDUCER_CATALOG),
    ] {
        let printed: Value = serde_json::from_str(&run(name, &["--catalog"])).unwrap();
        let expected: Value = serde_json::from_str(contract).unwrap();
        assert_eq!(printed, expected, "{name}");
    }
}

/// Without a broker, the effect node handles the stand-in orchestrator's
/// two orchestration ends on the in-process bus.
#[test]
fn effect_consumer_example_executes_the_intents_of_both_orchestration_ends() {
    let stdout = run("effect_consumer", &[]);
    let mut lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.pop(), Some("handled=2 failed=0 dead_lettered=0"));
    let events: Vec<Value> = lines
        .iter()
        .map(|line| serde_json::from_str(line).expect("every line but the last is an envelope"))
        .collect();
    for e in &events {
        common::assert_contract_valid(e);
    }
    let handling = |end: &Value| -> Vec<&str> {
        let correlation = &end["correlation_id"];
        events
            .iter()
            .filter(|e| e["correlation_id"] == *correlation)
            .map(|e| e["event_type"].as_str().unwrap())
            .filter(|t| t.starts_with("effect."))
            .collect()
    };
    let find = |event_type: &str| {
        events
            .iter()
            .find(|e| e["event_type"] == event_type)
            .unwrap()
    };
    let completed = find("orchestrator.orchestration.completed");
    let failed = find("orchestrator.orchestration.failed");
    // Persisting the completed workflow published its domain event, in the
    // handling's correlation, keyed by the workflow id.
    let persisted = find("workflow.persisted");
    assert_eq!(persisted["correlation_id"], completed["correlation_id"]);
    assert_eq!(persisted["metadata"]["aggregate_type"], "workflow");
    assert_eq!(
        persisted["metadata"]["aggregate_id"],
        persisted["payload"]["workflow_id"]
    );
    assert_eq!(
        events
            .iter()
            .filter(|e| e["event_type"] == "workflow.persisted")
            .count(),
        1
    );
    let execution = [
        "effect.intent_execution.started",
        "effect.intent_execution.completed",
    ];
    let mut expected = vec![
        "effect.orchestration_outcome.started",
        "effect.state.changed",
    ];
    for _ in 0..3 {
        expected.extend(execution); // PERSIST, NOTIFY, EXTERNAL_API
    }
    expected.extend([
        "effect.state.changed",
        "effect.orchestration_outcome.completed",
    ]);
    assert_eq!(handling(completed), expected);
    let mut expected = vec![
        "effect.orchestration_outcome.started",
        "effect.state.changed",
    ];
    expected.extend(execution); // NOTIFY
    expected.extend([
        "effect.state.changed",
        "effect.orchestration_outcome.completed",
    ]);
    assert_eq!(handling(failed), expected);
    for end in [completed, failed] {
        let started = events
            .iter()
            .find(|e| {
                e["event_type"] == "effect.orchestration_outcome.started"
                    && e["correlation_id"] == end["correlation_id"]
            })
            .unwrap();
        assert_eq!(started["metadata"]["causation_id"], end["event_id"]);
    }
}

#[test]
fn request_reply_example_without_a_broker_answers_both_requests_on_the_bus() {
    let stdout = run("request_reply", &[]);
    let mut lines: Vec<&str> = stdout.lines().collect();
    let summary = lines.pop().unwrap();
    assert!(summary.starts_with("responses=2 (no broker"), "{summary}");
    let events: Vec<Value> = lines
        .iter()
        .map(|line| serde_json::from_str(line).expect("every line but the last is an envelope"))
        .collect();
    for e in &events {
        common::assert_contract_valid(e);
    }
    let of = |event_type: &str| -> Vec<&Value> {
        events
            .iter()
            .filter(|e| e["event_type"] == event_type)
            .collect()
    };
    let (requests, responses) = (
        of("codegen.request.validate"),
        of("codegen.response.validate"),
    );
    assert_eq!((requests.len(), responses.len()), (2, 2));
    for (request, response) in requests.iter().zip(&responses) {
        assert_eq!(response["metadata"]["causation_id"], request["event_id"]);
        assert_eq!(response["correlation_id"], request["correlation_id"]);
    }
    assert_eq!(responses[0]["payload"]["status"], "ok");
    assert_eq!(responses[1]["payload"]["status"], "error");
    assert_eq!(of("codegen.validate.completed").len(), 1);
    assert_eq!(of("codegen.validate.failed").len(), 1);
}
