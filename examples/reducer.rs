//! The seed's reducer node: operations `aggregation` and `state_snapshot`.
//! The reduction itself is a pure function (seed 002, "Intent Emission
//! Pattern"): it returns the new state and the intents for side effects,
//! which an effect node would execute; the node wraps it so every
//! aggregation publishes its lifecycle events.
//!
//! ```text
//! cargo run --example reducer              # every envelope, one JSON line each, on stdout
//! cargo run --example reducer -- --catalog # the compiled event catalog as JSON
//! ```

use onex_events::{onex_node, NodeContext, OnexNode, Publisher};
use serde::Serialize;
use std::process::ExitCode;
use std::sync::Mutex;
use std::time::Duration;

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
struct State {
    value: i64,
    actions_applied: u64,
}

#[derive(Debug, Clone, Serialize)]
struct Action {
    kind: String,
    delta: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
struct Intent {
    intent_type: &'static str,
    payload: serde_json::Value,
}

#[derive(Debug, thiserror::Error)]
enum ReduceError {
    #[error("unknown action kind `{0}`")]
    UnknownAction(String),
    #[error("value would overflow")]
    Overflow,
}

/// The pure FSM: no I/O, no events; side effects become intents.
fn reduce(state: &State, action: &Action) -> Result<(State, Vec<Intent>), ReduceError> {
    match action.kind.as_str() {
        "add" => {
            let value = state
                .value
                .checked_add(action.delta)
                .ok_or(ReduceError::Overflow)?;
            let new_state = State {
                value,
                actions_applied: state.actions_applied + 1,
            };
            let mut intents = vec![Intent {
                intent_type: "NOTIFY",
                payload: serde_json::json!({ "change": action.delta }),
            }];
            if value >= 100 {
                intents.push(Intent {
                    intent_type: "PERSIST",
                    payload: serde_json::json!({ "value": value }),
                });
            }
            Ok((new_state, intents))
        }
        other => Err(ReduceError::UnknownAction(other.to_owned())),
    }
}

#[derive(OnexNode)]
struct NodeBridgeReducer {
    ctx: NodeContext,
    state: Mutex<State>,
}

#[onex_node(
    node_type = "reducer",
    service = "reducer",
    namespace = "omninode.bridge"
)]
impl NodeBridgeReducer {
    /// Applies one action and returns the intents it emits.
    #[onex_operation("aggregation", fields(action), ret)]
    async fn aggregate(&self, action: Action) -> Result<Vec<Intent>, ReduceError> {
        let mut guard = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let (new_state, intents) = reduce(&guard, &action)?;
        let old = std::mem::replace(&mut *guard, new_state);
        drop(guard);
        if old.value < 100 && intents.iter().any(|i| i.intent_type == "PERSIST") {
            self.ctx
                .state_changed("accumulating", "threshold_reached", "value reached 100");
        }
        self.ctx
            .metric_recorded("intents_emitted", intents.len() as f64, "count");
        Ok(intents)
    }

    /// A copy of the current state.
    #[onex_operation("state_snapshot", ret)]
    async fn snapshot(&self) -> State {
        self.state.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<ExitCode, Box<dyn std::error::Error>> {
    if let Some(code) = onex_events::asyncapi::Subcommands::new(env!("CARGO_PKG_VERSION")).run() {
        return Ok(code);
    }
    if std::env::args().any(|a| a == "--catalog") {
        println!(
            "{}",
            serde_json::to_string_pretty(&NodeBridgeReducer::EVENT_CATALOG)?
        );
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
    let node = NodeBridgeReducer {
        ctx: NodeContext::builder::<NodeBridgeReducer>()
            .node_id("reducer-example-1")
            .publisher(publisher.clone())
            .build()?,
        state: Mutex::new(State::default()),
    };
    for (kind, delta) in [("add", 40), ("add", 70), ("multiply", 2)] {
        let action = Action {
            kind: kind.to_owned(),
            delta,
        };
        match node.aggregate(action).await {
            Ok(intents) => tracing::info!(?intents, "action reduced"),
            Err(e) => tracing::info!(error = %e, "action rejected, as this example intends"),
        }
    }
    let state = node.snapshot().await;
    tracing::info!(?state, "final state");
    if let Err(e) = publisher.flush(Duration::from_secs(3)) {
        tracing::warn!(error = %e, "not every event was delivered");
    }
    Ok(ExitCode::SUCCESS)
}
