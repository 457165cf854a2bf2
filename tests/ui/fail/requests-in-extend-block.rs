use onex_events::{onex_node, NodeContext, OnexNode};

#[derive(OnexNode)]
struct Orchestrator {
    ctx: NodeContext,
}

#[onex_node("orchestrator")]
impl Orchestrator {}

trait Validate {
    async fn validate(&self) -> bool;
}

#[onex_node(extend, requests("codegen.request.validate"))]
impl Validate for Orchestrator {
    #[onex_operation("validation")]
    async fn validate(&self) -> bool {
        true
    }
}

fn main() {}
