use onex_events::{NodeContext, OnexNode};

#[derive(OnexNode)]
enum Node {
    Running(NodeContext),
}

fn main() {}
