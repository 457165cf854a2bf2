use onex_events::OnexEvent;

#[derive(serde::Serialize, OnexEvent)]
#[onex_event("user.created", kind = "domain", aggregate_type = "user", action = "create")]
struct UserCreated {
    user_id: String,
}

fn main() {}
