//! The block that declares the node is a trait impl (ONEX's
//! `NodeEffect::execute_intent`), and a generic node has a handler.

use onex_events::consume::{EventHandlers, Incoming};
use onex_events::{onex_node, NodeContext, OnexNode};

trait NodeEffect {
    async fn execute_intent(&self, event: Incoming<serde_json::Value>) -> Result<(), std::io::Error>;
}

#[derive(OnexNode)]
struct Effect {
    ctx: NodeContext,
}

#[onex_node("effect")]
impl NodeEffect for Effect {
    #[onex_handler("reducer.aggregation.completed")]
    async fn execute_intent(&self, event: Incoming<serde_json::Value>) -> Result<(), std::io::Error> {
        let _ = event.payload;
        Ok(())
    }
}

#[derive(OnexNode)]
struct Generic<T> {
    ctx: NodeContext,
    limit: T,
}

#[onex_node("generic")]
impl<T: Copy + Into<u64> + Send + Sync + 'static> Generic<T> {
    #[onex_handler("reducer.aggregation.completed")]
    async fn check(&self, event: Incoming<u64>) -> bool {
        event.payload <= self.limit.into()
    }
}

fn main() {
    assert_eq!(Effect::HANDLERS[0].name, "execute_intent");
    assert_eq!(<Generic<u8> as EventHandlers>::HANDLERS[0].name, "check");
}
