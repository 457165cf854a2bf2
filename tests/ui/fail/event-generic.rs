use onex_events::OnexEvent;

#[derive(serde::Serialize, OnexEvent)]
#[onex_event("user.created", kind = "domain", aggregate_type = "user")]
struct UserCreated<T: serde::Serialize> {
    user_id: T,
}

fn main() {}
