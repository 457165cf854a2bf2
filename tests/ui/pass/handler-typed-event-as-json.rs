//! A handler subscribed to a declared event by its type may take its
//! payload as JSON.

use onex_events::consume::Incoming;
use onex_events::{onex_node, NodeContext, OnexEvent, OnexNode};

#[derive(serde::Serialize, serde::Deserialize, OnexEvent)]
#[onex_event("user.created", kind = "domain", aggregate_type = "user")]
struct UserCreated {
    user_id: String,
}

#[derive(OnexNode)]
struct Mailer {
    ctx: NodeContext,
}

#[onex_node("mailer")]
impl Mailer {
    #[onex_handler(UserCreated)]
    async fn welcome(&self, event: Incoming<serde_json::Value>) {
        let _ = event.payload.get("user_id");
    }
}

fn main() {
    assert!(Mailer::EVENT_CATALOG.consumes("user.created"));
}
