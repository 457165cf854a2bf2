//! A responder without lifecycle events answering with a plain value, and a
//! caller declaring two requests: both sides' catalogs.
use onex_events::consume::Incoming;
use onex_events::{onex_node, NodeContext, OnexNode};

#[derive(OnexNode)]
struct Codegen {
    ctx: NodeContext,
}

#[onex_node("codegen")]
impl Codegen {
    #[onex_handler("codegen.request.validate", lifecycle = false)]
    async fn validate(&self, request: Incoming<String>) -> usize {
        request.payload.len()
    }

    #[onex_handler("codegen.request.generate")]
    async fn generate(&self, request: Incoming<serde_json::Value>) -> anyhow::Result<String> {
        Ok(request.payload.to_string())
    }
}

#[derive(OnexNode)]
struct Orchestrator {
    ctx: NodeContext,
}

#[onex_node(
    "orchestrator",
    requests("codegen.request.validate", "codegen.request.generate")
)]
impl Orchestrator {}

fn main() {
    assert_eq!(
        Codegen::EVENT_CATALOG.responses,
        ["codegen.response.validate", "codegen.response.generate"]
    );
    assert_eq!(Codegen::EVENT_CATALOG.operations, ["generate"]);
    assert_eq!(
        Orchestrator::EVENT_CATALOG.requests,
        ["codegen.request.validate", "codegen.request.generate"]
    );
    assert_eq!(
        Orchestrator::EVENT_CATALOG.consumed_events,
        ["codegen.response.validate", "codegen.response.generate"]
    );
}
