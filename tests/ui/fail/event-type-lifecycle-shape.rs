use onex_events::OnexEvent;

#[derive(serde::Serialize, OnexEvent)]
#[onex_event("users.create_user.completed", kind = "audit", action = "create", resource_type = "user")]
struct UserCreated {
    user_id: String,
}

fn main() {}
