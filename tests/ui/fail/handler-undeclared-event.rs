use onex_events::consume::Incoming;
use onex_events::{onex_node, NodeContext, OnexNode};

/// A payload type nobody declared with `#[derive(OnexEvent)]`: no event
/// type names it, so no subscription can be made for it.
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
    #[onex_handler(UserDeleted)]
    async fn farewell(&self, event: Incoming<UserDeleted>) {
        let _ = &event.payload.user_id;
    }
}

fn main() {}
