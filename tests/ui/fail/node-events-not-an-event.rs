use onex_events::{onex_node, NodeContext, OnexNode};

#[derive(OnexNode)]
struct Users {
    ctx: NodeContext,
}

#[onex_node("users", events(String))]
impl Users {}

fn main() {}
