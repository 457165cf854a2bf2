//! The seed's orchestrator node (`NodeBridgeOrchestrator`): operations
//! `orchestration`, `routing` and `intelligence_query`, state transitions,
//! a metric, and one workflow that fails.
//!
//! ```text
//! cargo run --example orchestrator              # every envelope, one JSON line each, on stdout
//! cargo run --example orchestrator -- --catalog # the compiled event catalog as JSON
//! cargo run --example orchestrator -- asyncapi  # its AsyncAPI 3.0 document (`--yaml`, `-o FILE`; `catalog` too)
//! ```
//!
//! Human-readable logs go to stderr (`RUST_LOG=debug` for more).

use onex_events::{onex_node, NodeContext, OnexNode, Publisher};
use serde::Serialize;
use std::process::ExitCode;
use std::sync::Mutex;
use std::time::{Duration, Instant};

// `JsonSchema` (opt-in): the AsyncAPI document (`-- asyncapi`) gives the
// recorded `request` and result values their schemas.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
struct WorkflowRequest {
    workflow_id: String,
    steps: Vec<String>,
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
struct WorkflowResult {
    workflow_id: String,
    routed: Vec<String>,
    quality: f64,
}

#[derive(Debug, thiserror::Error)]
enum OrchestrationError {
    #[error("workflow step `{step}` could not be routed")]
    Routing {
        step: String,
        #[source]
        source: RoutingError,
    },
    #[error("intelligence query failed")]
    Intelligence(#[source] anyhow::Error),
}

#[derive(Debug, thiserror::Error)]
#[error("no service registered for `{0}`")]
struct RoutingError(String);

#[derive(OnexNode)]
struct NodeBridgeOrchestrator {
    ctx: NodeContext,
    current_state: Mutex<String>,
    api_key: String,
}

#[onex_node(
    node_type = "orchestrator",
    service = "orchestrator",
    namespace = "omninode.bridge"
)]
impl NodeBridgeOrchestrator {
    /// Runs a workflow: routes each step and asks the intelligence service
    /// how good the plan is.
    #[onex_operation("orchestration", fields(request), ret)]
    async fn orchestrate(
        &self,
        request: WorkflowRequest,
    ) -> Result<WorkflowResult, OrchestrationError> {
        let started = Instant::now();
        self.transition("processing", "workflow received");
        let mut routed = Vec::new();
        for step in &request.steps {
            match self.route(step).await {
                Ok(service) => routed.push(service),
                Err(source) => {
                    self.transition("failed", "a step could not be routed");
                    return Err(OrchestrationError::Routing {
                        step: step.clone(),
                        source,
                    });
                }
            }
        }
        let quality = self
            .intelligence_query(routed.join(","), &self.api_key)
            .await
            .map_err(OrchestrationError::Intelligence)?;
        self.ctx.metric_recorded(
            "workflow_duration",
            started.elapsed().as_secs_f64() * 1000.0,
            "ms",
        );
        self.transition("idle", "workflow completed");
        Ok(WorkflowResult {
            workflow_id: request.workflow_id,
            routed,
            quality,
        })
    }

    /// Picks the service that handles a workflow step.
    #[onex_operation("routing", fields(step), ret)]
    async fn route(&self, step: &str) -> Result<String, RoutingError> {
        tokio::time::sleep(Duration::from_millis(2)).await;
        match step {
            "validate" | "generate" | "stamp" => Ok(format!("omninode.{step}")),
            other => Err(RoutingError(other.to_owned())),
        }
    }

    /// Asks the intelligence service for a quality score. The API key is
    /// skipped: it never appears in an event.
    #[onex_operation("intelligence_query", skip(api_key), ret)]
    async fn intelligence_query(&self, plan: String, api_key: &str) -> anyhow::Result<f64> {
        tokio::time::sleep(Duration::from_millis(3)).await;
        anyhow::ensure!(!api_key.is_empty(), "missing API key");
        Ok(0.5 + (plan.len() % 50) as f64 / 100.0)
    }

    /// The seed's `_transition_state`: updates the state and publishes
    /// `orchestrator.state.changed`.
    fn transition(&self, new_state: &str, reason: &str) {
        let old_state = match self.current_state.lock() {
            Ok(mut state) => std::mem::replace(&mut *state, new_state.to_owned()),
            Err(poisoned) => std::mem::replace(&mut *poisoned.into_inner(), new_state.to_owned()),
        };
        self.ctx.state_changed(old_state, new_state, reason);
    }
}

fn print_catalog() -> Result<(), serde_json::Error> {
    println!(
        "{}",
        serde_json::to_string_pretty(&NodeBridgeOrchestrator::EVENT_CATALOG)?
    );
    Ok(())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<ExitCode, Box<dyn std::error::Error>> {
    if let Some(code) = onex_events::asyncapi::Subcommands::new(env!("CARGO_PKG_VERSION")).run() {
        return Ok(code);
    }
    if std::env::args().any(|a| a == "--catalog") {
        print_catalog()?;
        return Ok(ExitCode::SUCCESS);
    }
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();

    let publisher = Publisher::from_env();
    let node = NodeBridgeOrchestrator {
        ctx: NodeContext::builder::<NodeBridgeOrchestrator>()
            .node_id("orchestrator-example-1")
            .publisher(publisher.clone())
            .build()?,
        current_state: Mutex::new("idle".to_owned()),
        api_key: "sk-example-never-published".to_owned(),
    };
    tracing::info!(sink = publisher.sink_name(), "orchestrator node started");

    let ok = node
        .orchestrate(WorkflowRequest {
            workflow_id: "wf-1".into(),
            steps: vec!["validate".into(), "generate".into(), "stamp".into()],
        })
        .await;
    tracing::info!(result = ?ok.as_ref().map(|r| &r.routed), "workflow wf-1 finished");

    let failed = node
        .orchestrate(WorkflowRequest {
            workflow_id: "wf-2".into(),
            steps: vec!["validate".into(), "teleport".into()],
        })
        .await;
    if let Err(e) = &failed {
        tracing::info!(error = %e, "workflow wf-2 failed, as this example intends");
    }

    if let Err(e) = publisher.flush(Duration::from_secs(3)) {
        tracing::warn!(error = %e, "not every event was delivered");
    }
    Ok(ExitCode::SUCCESS)
}
