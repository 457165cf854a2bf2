use onex_events::{onex_node, NodeContext, OnexEvent, OnexNode};

#[derive(serde::Serialize, OnexEvent)]
#[onex_event("user.created", kind = "domain", aggregate_type = "user")]
struct UserCreated {
    user_id: String,
}

#[derive(OnexNode)]
struct Users {
    ctx: NodeContext,
}

#[onex_node("users")]
impl Users {
    // No `From<&u64> for UserCreated`: the event cannot be built from the
    // returned value.
    #[onex_operation("create_user", publish_on_success(UserCreated))]
    async fn create_user(&self, user_id: String) -> u64 {
        user_id.len() as u64
    }
}

fn main() {}
