//! `&mut self` operations.

use onex_events::{onex_node, NodeContext, OnexNode, Publisher, Recorder};

#[derive(OnexNode)]
struct Node {
    ctx: NodeContext,
    handled: Vec<u32>,
}

#[onex_node("reducer")]
impl Node {
    #[onex_operation("aggregation", fields(job))]
    async fn aggregate(&mut self, job: u32) -> usize {
        self.handled.push(job);
        self.handled.len()
    }

    #[onex_operation("state_snapshot", ret)]
    async fn snapshot(&mut self) -> Vec<u32> {
        std::mem::take(&mut self.handled)
    }
}

fn main() {
    let recorder = Recorder::new();
    let mut node = Node {
        ctx: NodeContext::new::<Node>(Publisher::new(recorder.clone())),
        handled: Vec::new(),
    };
    block_on(async {
        assert_eq!(node.aggregate(1).await, 1);
        assert_eq!(node.aggregate(2).await, 2);
        assert_eq!(node.snapshot().await, [1, 2]);
    });
    assert!(node.handled.is_empty());
    assert_eq!(
        recorder.event_types(),
        [
            "reducer.aggregation.started",
            "reducer.aggregation.completed",
            "reducer.aggregation.started",
            "reducer.aggregation.completed",
            "reducer.state_snapshot.started",
            "reducer.state_snapshot.completed",
        ]
    );
    assert_eq!(
        recorder.json()[5]["payload"]["result"]["value"],
        serde_json::json!([1, 2])
    );
}

fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(future)
}
