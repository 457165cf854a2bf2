//! `onex-events trace` against a real broker: a node's nested operations,
//! one of them failing, published to Kafka by the library, read back as
//! one causation tree with each operation's outcome and execution time.

mod support;

use onex_events::{
    onex_node, CorrelationExt, KafkaConfig, KafkaSink, NodeContext, OnexNode, Publisher,
};
use std::time::Duration;
use support::{bootstrap, json_lines, run, unique};

#[derive(OnexNode)]
struct Orchestrator {
    ctx: NodeContext,
}

#[derive(Debug)]
struct NoRoute(String);

impl std::fmt::Display for NoRoute {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "no service for `{}`", self.0)
    }
}

impl std::error::Error for NoRoute {}

#[onex_node("orchestrator")]
impl Orchestrator {
    #[onex_operation("orchestration")]
    async fn orchestrate(&self, steps: Vec<&'static str>) -> Result<usize, NoRoute> {
        self.ctx
            .state_changed("idle", "processing", "workflow received");
        let mut routed = 0;
        for step in steps {
            self.route(step).await?;
            routed += 1;
        }
        Ok(routed)
    }

    #[onex_operation("routing")]
    async fn route(&self, step: &str) -> Result<(), NoRoute> {
        match step {
            "validate" | "generate" => Ok(()),
            other => Err(NoRoute(other.to_owned())),
        }
    }
}

/// Runs a workflow of three steps whose last one cannot be routed, with
/// its events published to Kafka under `namespace`: its correlation id.
fn run_failing_workflow(namespace: &str) -> uuid::Uuid {
    let sink = KafkaSink::new(KafkaConfig::new(bootstrap())).expect("sink");
    let node = Orchestrator {
        ctx: NodeContext::builder::<Orchestrator>()
            .node_id("orchestrator-1")
            .namespace(namespace)
            .publisher(Publisher::new(sink))
            .build()
            .expect("context"),
    };
    let correlation = uuid::Uuid::new_v4();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let result = rt.block_on(
        node.orchestrate(vec!["validate", "generate", "stamp"])
            .with_correlation_id(correlation),
    );
    assert!(result.is_err());
    node.ctx
        .publisher()
        .flush(Duration::from_secs(30))
        .expect("every event delivered");
    correlation
}

#[test]
#[ignore = "needs a Kafka broker: run by scripts/test.sh (the README's test command, and CI), which starts one; or set KAFKA_BOOTSTRAP_SERVERS"]
fn a_request_s_operations_are_one_tree_with_outcomes_and_execution_times() {
    let namespace = unique("trace").replace('.', "_");
    let correlation = run_failing_workflow(&namespace).to_string();

    let out = run(&["trace", &correlation, "--json"]);
    let trace = &json_lines(&out)[0];
    assert_eq!(trace["correlation_id"], correlation.as_str());
    assert_eq!(trace["events"], 9, "{out}");
    let spans = trace["spans"].as_array().expect("spans");
    assert_eq!(spans.len(), 1, "one root: {out}");
    let root = &spans[0];
    assert_eq!(root["name"], "orchestrator.orchestration");
    assert_eq!(root["outcome"], "failed");
    assert_eq!(root["error"], "no service for `stamp`");
    assert!(root["duration_ms"].as_f64().is_some(), "{root}");
    let children: Vec<(&str, &str)> = root["children"]
        .as_array()
        .expect("children")
        .iter()
        .map(|c| (c["name"].as_str().unwrap(), c["outcome"].as_str().unwrap()))
        .collect();
    assert_eq!(
        children,
        [
            ("orchestrator.state.changed", "event"),
            ("orchestrator.routing", "completed"),
            ("orchestrator.routing", "completed"),
            ("orchestrator.routing", "failed"),
        ]
    );

    // The waterfall: one line per span, children indented, bars on one
    // timeline; only the topics of this node, named.
    let topics: Vec<String> = ["orchestration", "routing", "state"]
        .iter()
        .map(|family| format!("{namespace}.orchestrator.orchestrator.{family}.v1"))
        .collect();
    let mut args = vec!["trace", correlation.as_str()];
    for topic in &topics {
        args.extend(["--topic", topic.as_str()]);
    }
    let waterfall = run(&args);
    let lines: Vec<&str> = waterfall.lines().collect();
    assert_eq!(lines.len(), 6, "{waterfall}");
    assert!(
        lines[0].starts_with(&format!(
            "correlation {correlation}: 9 events, 4 operations, "
        )),
        "{waterfall}"
    );
    assert!(lines[1].starts_with("orchestrator.orchestration (orchestrator-1) "));
    assert!(lines[1].contains(" failed "));
    assert!(
        lines[1].ends_with("| no service for `stamp`"),
        "{waterfall}"
    );
    assert!(lines[2].starts_with("  orchestrator.state.changed (orchestrator-1) "));
    assert!(lines[5].starts_with("  orchestrator.routing (orchestrator-1) "));
    assert!(
        lines[1..].iter().all(|l| l.matches('|').count() >= 2),
        "{waterfall}"
    );
}

#[test]
#[ignore = "needs a Kafka broker: run by scripts/test.sh (the README's test command, and CI), which starts one; or set KAFKA_BOOTSTRAP_SERVERS"]
fn an_unknown_correlation_id_is_an_error() {
    let topic = unique("cli.trace");
    support::create_topics(&[&topic]);
    let output = support::onex_events()
        .args([
            "trace",
            &uuid::Uuid::new_v4().to_string(),
            "--topic",
            &topic,
        ])
        .output()
        .expect("run onex-events");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("no event with correlation id"), "{stderr}");
}
