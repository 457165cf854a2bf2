use onex_events::{onex_node, NodeContext, OnexNode};

#[derive(OnexNode)]
struct Orchestrator {
    ctx: NodeContext,
}

#[onex_node(
    "orchestrator",
    requests("codegen.request.validate", "codegen.request.validate")
)]
impl Orchestrator {}

fn main() {}
