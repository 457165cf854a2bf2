use onex_events::OnexEvent;

#[derive(serde::Serialize, OnexEvent)]
#[onex_event("user.created", kind = "domain", aggregate_type = "user")]
struct UserCreated {
    #[onex_event(id)]
    user_ids: Vec<String>,
}

fn main() {}
