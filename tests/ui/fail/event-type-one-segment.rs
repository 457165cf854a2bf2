use onex_events::OnexEvent;

#[derive(serde::Serialize, OnexEvent)]
#[onex_event("created", kind = "domain", aggregate_type = "user")]
struct UserCreated {
    user_id: String,
}

fn main() {}
