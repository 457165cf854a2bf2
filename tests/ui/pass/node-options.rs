//! `node_type = ..`, `service`, `namespace`, both switches off, paths to the
//! attributes, and items that are not operations left as written.

use onex_events::{NodeContext, OnexNode, Publisher, Recorder};

#[derive(OnexNode)]
struct Node {
    #[onex(context)]
    context: NodeContext,
    spare: Option<NodeContext>,
}

#[onex_events::onex_node(
    node_type = "reducer",
    service = "reducer-svc",
    namespace = "dev.onex",
    include_state_events = false,
    include_metric_events = false
)]
impl Node {
    /// Not an operation.
    const LIMIT: usize = 3;

    fn helper(&self) -> usize {
        Self::LIMIT
    }

    /// An operation with docs and other attributes kept.
    #[onex_events::onex_operation("aggregation")]
    #[must_use = "the count matters"]
    pub async fn aggregate(&self) -> usize {
        self.helper()
    }
}

fn main() {
    let catalog = &Node::EVENT_CATALOG;
    assert_eq!(catalog.node_type, "reducer");
    assert_eq!(catalog.service, "reducer-svc");
    assert_eq!(catalog.namespace, "dev.onex");
    assert!(catalog.state_events.is_empty());
    assert!(catalog.metric_events.is_empty());
    assert!(onex_events::catalogs()
        .iter()
        .any(|c| c.service == "reducer-svc"));

    let recorder = Recorder::new();
    let node = Node {
        context: NodeContext::new::<Node>(Publisher::new(recorder.clone())),
        spare: None,
    };
    assert!(node.spare.is_none());
    assert_eq!(block_on(node.aggregate()), 3);
    let json = recorder.json();
    assert_eq!(json[0]["metadata"]["service"], "reducer-svc");
    assert_eq!(json[0]["metadata"]["namespace"], "dev.onex");
}

fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(future)
}
