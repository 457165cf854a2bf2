use onex_events::{onex_node, NodeContext, OnexEvent, OnexNode};

#[derive(serde::Serialize, OnexEvent)]
#[onex_event("audit.user_created", kind = "audit", action = "create_user", resource_type = "user")]
struct UserCreatedAudit {
    user_id: String,
}

impl From<&String> for UserCreatedAudit {
    fn from(user_id: &String) -> Self {
        UserCreatedAudit { user_id: user_id.clone() }
    }
}

#[derive(OnexNode)]
struct Users {
    ctx: NodeContext,
}

#[onex_node("users")]
impl Users {
    // `domain_event(..)` names an audit event.
    #[onex_operation("create_user", domain_event(UserCreatedAudit, id = user_id))]
    async fn create_user(&self, user_id: String) -> String {
        user_id
    }
}

fn main() {}
