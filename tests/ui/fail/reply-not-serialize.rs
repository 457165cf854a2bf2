use onex_events::consume::Incoming;
use onex_events::{onex_node, NodeContext, OnexNode};

struct Verdict {
    valid: bool,
}

#[derive(OnexNode)]
struct Codegen {
    ctx: NodeContext,
}

#[onex_node("codegen")]
impl Codegen {
    #[onex_handler("codegen.request.validate")]
    async fn validate(&self, request: Incoming<String>) -> Result<Verdict, std::io::Error> {
        Ok(Verdict {
            valid: !request.payload.is_empty(),
        })
    }
}

fn main() {}
