use onex_events::{onex_node, NodeContext, OnexNode};

#[derive(OnexNode)]
struct Orchestrator {
    ctx: NodeContext,
}

#[onex_node("orchestrator", requests("codegen.validate"))]
impl Orchestrator {}

fn main() {}
