//! `include_state_events = false` drops `state.changed` from the catalog.

use onex_events::{onex_node, NodeContext, OnexNode, Publisher, Recorder};

#[derive(OnexNode)]
struct Node {
    ctx: NodeContext,
}

#[onex_node("reducer", include_state_events = false)]
impl Node {
    #[onex_operation("aggregation")]
    async fn aggregate(&self, items: Vec<u32>) -> u32 {
        self.ctx.state_changed("idle", "busy", "work arrived");
        self.ctx
            .metric_recorded("items", items.len() as f64, "count");
        items.iter().sum()
    }
}

fn main() {
    let catalog: &onex_events::Catalog = &Node::EVENT_CATALOG;
    assert!(catalog.state_events.is_empty());
    assert_eq!(catalog.metric_events, ["reducer.metric.recorded"]);
    assert_eq!(
        catalog.operation_lifecycle,
        [
            "reducer.aggregation.started",
            "reducer.aggregation.completed",
            "reducer.aggregation.failed",
        ]
    );

    let recorder = Recorder::new();
    let node = Node {
        ctx: NodeContext::new::<Node>(Publisher::new(recorder.clone())),
    };
    assert_eq!(block_on(node.aggregate(vec![1, 2])), 3);
    assert_eq!(
        recorder.event_types(),
        [
            "reducer.aggregation.started",
            "reducer.metric.recorded",
            "reducer.aggregation.completed",
        ]
    );
}

fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(future)
}
