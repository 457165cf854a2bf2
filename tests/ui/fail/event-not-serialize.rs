use onex_events::OnexEvent;

#[derive(OnexEvent)]
#[onex_event("user.created", kind = "domain", aggregate_type = "user")]
struct UserCreated {
    user_id: String,
}

fn main() {}
