use onex_events::consume::Incoming;
use onex_events::{onex_node, NodeContext, OnexEvent, OnexNode};

#[derive(serde::Serialize, serde::Deserialize, OnexEvent)]
#[onex_event("user.created", kind = "domain", aggregate_type = "user")]
struct UserCreated {
    user_id: String,
}

#[derive(serde::Deserialize)]
struct UserDeleted {
    user_id: String,
}

#[derive(OnexNode)]
struct Mailer {
    ctx: NodeContext,
}

#[onex_node("mailer")]
impl Mailer {
    /// Subscribed to `UserCreated` by its type, but decodes another.
    #[onex_handler(UserCreated)]
    async fn welcome(&self, event: Incoming<UserDeleted>) {
        let _ = &event.payload.user_id;
    }
}

fn main() {}
