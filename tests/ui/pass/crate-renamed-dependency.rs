//! `crate = path` for a user who renamed the dependency
//! (`renamed_onex = { package = "onex-events", .. }`, here with
//! `extern crate`, as Cargo refuses one package under two names in one
//! crate): the derive, the declaring block and an `extend` block all reach
//! the runtime through it, and `::onex_events` names another crate.

extern crate onex_events as renamed_onex;
extern crate std as onex_events;

use renamed_onex::{onex_node, NodeContext, OnexNode, Publisher, Recorder};

#[derive(OnexNode)]
#[onex(crate = renamed_onex)]
struct Node {
    ctx: NodeContext,
}

#[onex_node("orchestrator", crate = renamed_onex)]
impl Node {
    #[onex_operation("orchestration", ret)]
    async fn orchestrate(&self) -> Result<u32, std::io::Error> {
        Ok(1)
    }
}

trait Route {
    async fn route(&self) -> u32;
}

#[onex_node(extend, crate = "renamed_onex")]
impl Route for Node {
    #[onex_operation("routing")]
    async fn route(&self) -> u32 {
        2
    }
}

fn main() {
    let recorder = Recorder::new();
    let node = Node {
        ctx: NodeContext::new::<Node>(Publisher::new(recorder.clone())),
    };
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    rt.block_on(async {
        assert_eq!(node.orchestrate().await.unwrap() + node.route().await, 3);
    });
    assert_eq!(recorder.events().len(), 4);
    assert_eq!(Node::EVENT_CATALOG.operations, ["orchestration", "routing"]);
}
