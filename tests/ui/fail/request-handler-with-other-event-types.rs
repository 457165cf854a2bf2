use onex_events::consume::Incoming;
use onex_events::{onex_node, NodeContext, OnexNode};

#[derive(OnexNode)]
struct Codegen {
    ctx: NodeContext,
}

#[onex_node("codegen")]
impl Codegen {
    #[onex_handler("codegen.request.validate", "orchestrator.orchestration.completed")]
    async fn validate(&self, request: Incoming<String>) -> usize {
        request.payload.len()
    }
}

fn main() {}
