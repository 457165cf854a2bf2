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
