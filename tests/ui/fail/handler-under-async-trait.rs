use async_trait::async_trait;
use onex_events::consume::Incoming;
use onex_events::{onex_node, NodeContext, OnexNode};

#[async_trait]
trait NodeEffect {
    async fn execute_intent(&self, event: Incoming<u32>);
}

#[derive(OnexNode)]
struct Effect {
    ctx: NodeContext,
}

#[async_trait]
#[onex_node("effect")]
impl NodeEffect for Effect {
    #[onex_handler("reducer.aggregation.completed")]
    async fn execute_intent(&self, event: Incoming<u32>) {
        let _ = event;
    }
}

fn main() {}
