use onex_events::consume::Incoming;
use onex_events::{onex_node, NodeContext, OnexNode};

#[derive(OnexNode)]
struct Node {
    ctx: NodeContext,
}

#[onex_node("effect")]
impl Node {
    #[onex_handler("orchestrator.orchestration.completed")]
    async fn execute<T: serde::de::DeserializeOwned + Send + 'static>(&self, event: Incoming<T>) {
        let _ = event;
    }
}

fn main() {}
