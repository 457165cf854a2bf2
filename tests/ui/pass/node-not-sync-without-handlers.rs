//! A node that cannot be shared between threads still compiles when it has
//! no handler (its `EventHandlers` impl applies only to `Send + Sync` nodes).

use onex_events::{onex_node, NodeContext, OnexNode};
use std::cell::Cell;
use std::rc::Rc;

#[derive(OnexNode)]
struct Local {
    ctx: NodeContext,
    count: Rc<Cell<u32>>,
}

#[onex_node("local")]
impl Local {
    #[onex_operation("count")]
    async fn count(&self) -> u32 {
        self.count.set(self.count.get() + 1);
        self.count.get()
    }
}

fn main() {
    assert_eq!(Local::EVENT_CATALOG.operations, ["count"]);
}
