//! A node's operations in several inherent impl blocks: one declares the
//! node, the others extend it; one catalog, one registry entry.

use onex_events::{onex_node, NodeContext, OnexNode, Publisher, Recorder};

#[derive(OnexNode)]
struct Node {
    ctx: NodeContext,
}

#[onex_node("reducer", include_metric_events = false)]
impl Node {
    #[onex_operation("aggregation")]
    async fn aggregate(&self) -> u32 {
        1
    }
}

#[onex_node(extend)]
impl Node {
    #[onex_operation("state_snapshot")]
    async fn snapshot(&self) -> u32 {
        2
    }
}

mod more {
    use super::Node;

    #[onex_events::onex_node(extend)]
    impl Node {
        #[onex_operation("compaction")]
        pub async fn compact(&mut self) -> u32 {
            3
        }
    }
}

fn main() {
    let recorder = Recorder::new();
    let mut node = Node {
        ctx: NodeContext::new::<Node>(Publisher::new(recorder.clone())),
    };
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    rt.block_on(async {
        assert_eq!(node.aggregate().await + node.snapshot().await + node.compact().await, 6);
    });
    assert_eq!(recorder.events().len(), 6);
    assert_eq!(
        Node::EVENT_CATALOG.operations,
        ["aggregation", "state_snapshot", "compaction"]
    );
    assert_eq!(Node::EVENT_CATALOG.len(), 3 * 3 + 1);
    assert_eq!(onex_events::catalogs().len(), 1);
}
