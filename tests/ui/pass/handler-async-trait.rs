//! A handler in a trait impl under `#[async_trait]`, with `#[onex_node]`
//! above it (so it sees the `async fn`), served as any other.

use async_trait::async_trait;
use onex_events::consume::{EventHandlers, Incoming};
use onex_events::{onex_node, NodeContext, OnexNode};

#[async_trait]
trait NodeEffect {
    async fn execute_intent(&self, event: Incoming<serde_json::Value>) -> Result<(), std::io::Error>;
}

#[derive(OnexNode)]
struct Effect {
    ctx: NodeContext,
}

#[onex_node("effect")]
#[async_trait]
impl NodeEffect for Effect {
    #[onex_handler("reducer.aggregation.completed", attempts = 2)]
    async fn execute_intent(&self, event: Incoming<serde_json::Value>) -> Result<(), std::io::Error> {
        let _ = event.payload;
        Ok(())
    }
}

fn main() {
    assert_eq!(Effect::HANDLERS[0].retry.attempts, 2);
    assert_eq!(Effect::EVENT_CATALOG.operations, ["execute_intent"]);
}
