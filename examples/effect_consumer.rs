//! The seed's effect node (seed 002, "Intent Execution"): it handles the
//! orchestrator's `orchestrator.orchestration.completed` and `.failed`
//! events, turns each into intents (`PERSIST`, `NOTIFY`, `EXTERNAL_API`)
//! and executes them, publishing its own events as it goes: the handler's
//! `effect.orchestration_outcome.started`/`completed`, one
//! `effect.intent_execution` operation per intent, and its state changes.
//!
//! ```text
//! # The whole loop on a real broker: the effect node consumes what the orchestrator publishes.
//! KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:9092 cargo run --example effect_consumer -- --idle-exit 20 &
//! KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:9092 cargo run --example orchestrator
//!
//! # Without KAFKA_BOOTSTRAP_SERVERS: the same nodes wired on the in-process bus
//! cargo run --example effect_consumer
//! ```
//!
//! With a broker it runs until SIGINT/SIGTERM, or `--idle-exit SECS` after
//! the last event it saw, in consumer group `KAFKA_CONSUMER_GROUP`
//! (default `effect`), reading from the earliest offset unless
//! `KAFKA_AUTO_OFFSET_RESET` says otherwise; every variable of
//! `KafkaConfig::from_env` applies (`KAFKA_TOPIC` when the orchestrator
//! writes every event to one topic). Its own events go to Kafka too.
//!
//! Without a broker it runs a stand-in orchestrator (one workflow that
//! completes, one that fails) on an `InProcessBus`, prints every envelope
//! published, one JSON line each, and exits.
//!
//! Persisting a workflow publishes the domain event `workflow.persisted`
//! (a typed event, `#[derive(OnexEvent)]`), keyed by the workflow id.
//!
//! Either way the last line on stdout is `handled=H failed=F
//! dead_lettered=D`. Logs go to stderr (`RUST_LOG`, default `info`).

use onex_events::consume::kafka::EventConsumer;
use onex_events::consume::{InProcessBus, Incoming};
use onex_events::{onex_node, NodeContext, OnexEvent, OnexNode, Publisher};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The end of an orchestration, as its `completed` or `failed` event
/// carries it.
#[derive(Debug, Deserialize)]
struct OrchestrationOutcome {
    /// `completed`: the workflow's result (its value, when the orchestrator
    /// records it).
    #[serde(default)]
    result: Option<Recorded<WorkflowResult>>,
    /// `failed`: what went wrong.
    #[serde(default)]
    error: Option<OrchestrationError>,
}

#[derive(Debug, Deserialize)]
struct Recorded<T> {
    value: Option<T>,
}

#[derive(Debug, Serialize, Deserialize)]
struct WorkflowResult {
    workflow_id: String,
    routed: Vec<String>,
    quality: f64,
}

#[derive(Debug, Deserialize)]
struct OrchestrationError {
    error_type: String,
    message: String,
}

/// A side effect to carry out (seed 002's `ModelIntent`).
#[derive(Debug, Clone, Serialize)]
struct Intent {
    intent_type: IntentType,
    payload: Value,
}

#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
enum IntentType {
    Notify,
    Persist,
    ExternalApi,
}

/// The intents an orchestration's end calls for: a completed workflow is
/// persisted and announced, and one of low quality sent for review; a
/// failed one raises an alert.
fn intents(outcome: &OrchestrationOutcome) -> Vec<Intent> {
    let intent = |intent_type, payload| Intent {
        intent_type,
        payload,
    };
    if let Some(error) = &outcome.error {
        return vec![intent(
            IntentType::Notify,
            json!({ "alert": "orchestration failed", "error_type": error.error_type, "message": error.message }),
        )];
    }
    match outcome.result.as_ref().and_then(|r| r.value.as_ref()) {
        Some(result) => {
            let mut intents = vec![
                intent(IntentType::Persist, json!(result)),
                intent(
                    IntentType::Notify,
                    json!({ "workflow_id": result.workflow_id, "status": "completed" }),
                ),
            ];
            if result.quality < 0.9 {
                intents.push(intent(
                    IntentType::ExternalApi,
                    json!({ "review": result.workflow_id, "quality": result.quality }),
                ));
            }
            intents
        }
        None => vec![intent(
            IntentType::Notify,
            json!({ "status": "completed", "result": "not recorded" }),
        )],
    }
}

/// A workflow's result was stored: a domain event of the `workflow`
/// aggregate, keyed by its id so one workflow's events stay in order.
#[derive(Debug, Serialize, Deserialize, OnexEvent)]
#[onex_event("workflow.persisted", kind = "domain", aggregate_type = "workflow")]
struct WorkflowPersisted {
    #[onex_event(id)]
    workflow_id: String,
    quality: f64,
}

#[derive(Debug, thiserror::Error)]
enum EffectError {
    #[error("the review service refused workflow `{0}`")]
    ReviewRefused(String),
}

#[derive(OnexNode)]
struct NodeBridgeEffect {
    ctx: NodeContext,
    current_state: Mutex<String>,
    persisted: Mutex<Vec<Value>>,
}

#[onex_node(
    node_type = "effect",
    service = "effect",
    namespace = "omninode.bridge",
    events(WorkflowPersisted)
)]
impl NodeBridgeEffect {
    /// Executes the intents an orchestration's end calls for.
    #[onex_handler(
        "orchestrator.orchestration.completed",
        "orchestrator.orchestration.failed",
        name = "orchestration_outcome"
    )]
    async fn on_orchestration(
        &self,
        event: Incoming<OrchestrationOutcome>,
    ) -> Result<(), EffectError> {
        self.transition("executing", event.event_type());
        for intent in intents(&event.payload) {
            if let Err(e) = self.execute_intent(intent).await {
                self.transition("idle", "an intent failed");
                return Err(e);
            }
        }
        self.transition("idle", "intents executed");
        Ok(())
    }

    /// Seed 002's `execute_intent`: one side effect per intent type.
    #[onex_operation("intent_execution", fields(intent))]
    async fn execute_intent(&self, intent: Intent) -> Result<(), EffectError> {
        match intent.intent_type {
            IntentType::Notify => {
                tracing::info!(notification = %intent.payload, "notification sent");
                Ok(())
            }
            IntentType::Persist => {
                let persisted = WorkflowPersisted {
                    workflow_id: intent.payload["workflow_id"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                    quality: intent.payload["quality"].as_f64().unwrap_or_default(),
                };
                lock(&self.persisted).push(intent.payload);
                self.ctx.publish(&persisted);
                Ok(())
            }
            IntentType::ExternalApi => {
                // The review service's call, simulated: it takes a quality in 0..=1.
                tokio::time::sleep(Duration::from_millis(2)).await;
                match intent.payload["quality"].as_f64() {
                    Some(q) if (0.0..=1.0).contains(&q) => Ok(()),
                    _ => Err(EffectError::ReviewRefused(
                        intent.payload["review"].to_string(),
                    )),
                }
            }
        }
    }

    fn transition(&self, new_state: &str, reason: &str) {
        let old_state = std::mem::replace(&mut *lock(&self.current_state), new_state.to_owned());
        self.ctx.state_changed(old_state, new_state, reason);
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn effect_node(publisher: Publisher) -> Result<Arc<NodeBridgeEffect>, onex_events::ConfigError> {
    Ok(Arc::new(NodeBridgeEffect {
        ctx: NodeContext::builder::<NodeBridgeEffect>()
            .node_id("effect-example-1")
            .publisher(publisher)
            .build()?,
        current_state: Mutex::new("idle".to_owned()),
        persisted: Mutex::default(),
    }))
}

/// Consumes from Kafka until a signal, or `idle_exit` without an event.
async fn consume_from_kafka(
    idle_exit: Option<Duration>,
) -> Result<String, Box<dyn std::error::Error>> {
    let publisher = Publisher::from_env();
    let node = effect_node(publisher.clone())?;
    let consumer = EventConsumer::from_lookup(|name| {
        std::env::var(name).ok().or_else(|| match name {
            "KAFKA_CONSUMER_GROUP" => Some("effect".to_owned()),
            "KAFKA_AUTO_OFFSET_RESET" => Some("earliest".to_owned()),
            _ => None,
        })
    })?
    .source("omninode.bridge", "orchestrator")
    .node(node)
    .build()?;
    tracing::info!(subscription = ?consumer.subscription(), sink = publisher.sink_name(), "effect node consuming");
    let handle = consumer.shutdown_handle();
    let idle_watch = idle_exit.map(|idle| {
        tokio::spawn(async move {
            let mut seen = 0;
            let mut since = Instant::now();
            loop {
                tokio::time::sleep(Duration::from_millis(200)).await;
                let s = handle.stats();
                let now = s.handled + s.failed + s.malformed + s.skipped;
                if now != seen {
                    (seen, since) = (now, Instant::now());
                } else if since.elapsed() >= idle {
                    tracing::info!(?idle, "no event for a while: shutting down");
                    handle.shutdown();
                    return;
                }
            }
        })
    });
    let stats = consumer.run_until_signal().await;
    if let Some(watch) = idle_watch {
        watch.abort();
    }
    if let Err(e) = publisher.flush(Duration::from_secs(10)) {
        tracing::warn!(error = %e, "not every event of the effect node was delivered");
    }
    Ok(format!(
        "handled={} failed={} dead_lettered={}",
        stats.handled, stats.failed, stats.dead_lettered
    ))
}

/// A stand-in for the orchestrator example: the same node type, service
/// and namespace, one workflow that completes and one that fails.
#[derive(OnexNode)]
struct Orchestrator {
    ctx: NodeContext,
}

#[derive(Debug, thiserror::Error)]
#[error("workflow step `{0}` could not be routed")]
struct RoutingError(String);

#[onex_node(
    node_type = "orchestrator",
    service = "orchestrator",
    namespace = "omninode.bridge"
)]
impl Orchestrator {
    #[onex_operation("orchestration", fields(workflow_id), ret)]
    async fn orchestrate(
        &self,
        workflow_id: &str,
        steps: &[&str],
    ) -> Result<WorkflowResult, RoutingError> {
        let routed = steps
            .iter()
            .map(|step| match *step {
                "validate" | "generate" | "stamp" => Ok(format!("omninode.{step}")),
                other => Err(RoutingError(other.to_owned())),
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(WorkflowResult {
            workflow_id: workflow_id.to_owned(),
            quality: 0.5 + routed.len() as f64 / 10.0,
            routed,
        })
    }
}

/// Both nodes on the in-process bus; prints every envelope published.
async fn run_in_process() -> Result<String, Box<dyn std::error::Error>> {
    let bus = InProcessBus::new();
    let effect = effect_node(bus.publisher())?;
    bus.subscribe(effect);
    let orchestrator = Orchestrator {
        ctx: NodeContext::builder::<Orchestrator>()
            .node_id("orchestrator-example-1")
            .publisher(bus.publisher())
            .build()?,
    };
    let _ = orchestrator
        .orchestrate("wf-1", &["validate", "generate", "stamp"])
        .await;
    let _ = orchestrator
        .orchestrate("wf-2", &["validate", "teleport"])
        .await;
    bus.settle().await;
    for envelope in bus.recorder().json() {
        println!("{envelope}");
    }
    let stats = bus.stats();
    Ok(format!(
        "handled={} failed={} dead_lettered={}",
        stats.handled, stats.failed, stats.dead_lettered
    ))
}

fn idle_exit() -> Result<Option<Duration>, String> {
    let mut args = std::env::args().skip(1);
    let mut idle = None;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--idle-exit" => {
                let secs: f64 = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .filter(|s: &f64| s.is_finite() && *s >= 0.0)
                    .ok_or("--idle-exit needs a number of seconds")?;
                idle = Some(Duration::from_secs_f64(secs));
            }
            other => {
                return Err(format!(
                    "unknown argument {other}; usage: effect_consumer [--idle-exit SECS]"
                ))
            }
        }
    }
    Ok(idle)
}

#[tokio::main]
async fn main() -> ExitCode {
    if let Some(code) = onex_events::asyncapi::Subcommands::new(env!("CARGO_PKG_VERSION")).run() {
        return code;
    }
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let idle = match idle_exit() {
        Ok(idle) => idle,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let broker = std::env::var("KAFKA_BOOTSTRAP_SERVERS").is_ok_and(|s| !s.trim().is_empty());
    let summary = if broker {
        consume_from_kafka(idle).await
    } else {
        tracing::info!("KAFKA_BOOTSTRAP_SERVERS is not set: running the orchestrator and the effect node on the in-process bus");
        run_in_process().await
    };
    match summary {
        Ok(summary) => {
            println!("{summary}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("effect_consumer: {e}");
            ExitCode::FAILURE
        }
    }
}
