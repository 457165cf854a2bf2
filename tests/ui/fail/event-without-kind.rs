use onex_events::OnexEvent;

#[derive(serde::Serialize, OnexEvent)]
#[onex_event("user.created")]
struct UserCreated {
    user_id: String,
}

fn main() {}
