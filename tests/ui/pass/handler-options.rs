//! Several handlers on one node, a handler of several event types, a
//! catch-all, every option, and the node served through `EventHandlers`.

use onex_events::consume::{EventHandlers, Incoming, RetryPolicy};
use onex_events::{onex_node, NodeContext, OnexNode};
use std::time::Duration;

#[derive(OnexNode)]
struct Effect {
    ctx: NodeContext,
}

#[derive(serde::Deserialize, serde::Serialize)]
struct Completed {
    operation: String,
}

#[onex_node("effect")]
impl Effect {
    #[onex_handler(
        "orchestrator.orchestration.completed",
        "orchestrator.orchestration.failed",
        name = "execute_intent",
        attempts = 5,
        backoff_ms = 20,
        max_backoff_ms = 200,
        timeout_ms = 1500,
        payload
    )]
    async fn execute(&self, event: Incoming<Completed>) -> anyhow::Result<()> {
        anyhow::ensure!(!event.payload.operation.is_empty(), "no operation");
        Ok(())
    }

    #[onex_handler("orchestrator.metric.recorded", lifecycle = false)]
    async fn count(&self, _event: Incoming<serde_json::Value>) {}

    #[onex_handler(any)]
    async fn log(&self, event: Incoming<serde_json::Value>) -> Option<String> {
        Some(event.event_type().to_owned())
    }
}

fn main() {
    let names: Vec<&str> = Effect::HANDLERS.iter().map(|h| h.name).collect();
    assert_eq!(names, ["execute_intent", "count", "log"]);
    assert_eq!(
        Effect::HANDLERS[0].retry,
        RetryPolicy::new(5, Duration::from_millis(20), Duration::from_millis(200))
    );
    assert_eq!(Effect::HANDLERS[0].timeout, Some(Duration::from_millis(1500)));
    assert!(!Effect::HANDLERS[1].lifecycle);
    assert!(Effect::HANDLERS[2].is_catch_all());
    assert_eq!(
        Effect::EVENT_CATALOG.consumed_events,
        [
            "orchestrator.orchestration.completed",
            "orchestrator.orchestration.failed",
            "orchestrator.metric.recorded",
        ]
    );
    assert!(Effect::EVENT_CATALOG.consumes_any);
    assert_eq!(Effect::EVENT_CATALOG.operations, ["execute_intent", "log"]);
}
