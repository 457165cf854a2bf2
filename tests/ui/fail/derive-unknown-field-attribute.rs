use onex_events::{NodeContext, OnexNode};

#[derive(OnexNode)]
struct Node {
    #[onex(ctx)]
    context: NodeContext,
}

fn main() {}
