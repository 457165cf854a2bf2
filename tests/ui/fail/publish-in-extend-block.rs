use onex_events::{onex_node, NodeContext, OnexEvent, OnexNode};

#[derive(serde::Serialize, OnexEvent)]
#[onex_event("user.created", kind = "domain", aggregate_type = "user")]
struct UserCreated {
    user_id: String,
}

impl From<&String> for UserCreated {
    fn from(user_id: &String) -> Self {
        UserCreated { user_id: user_id.clone() }
    }
}

#[derive(OnexNode)]
struct Users {
    ctx: NodeContext,
}

#[onex_node("users")]
impl Users {
    #[onex_operation("read_user")]
    async fn read_user(&self) {}
}

trait Create {
    async fn create_user(&self, user_id: String) -> String;
}

#[onex_node(extend)]
impl Create for Users {
    #[onex_operation("create_user", publish_on_success(UserCreated, id = user_id))]
    async fn create_user(&self, user_id: String) -> String {
        user_id
    }
}

fn main() {}
