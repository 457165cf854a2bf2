//! Declared events: a node lists them in `events(..)`, publishes one in a
//! call, an operation publishes one on success with the id of a field of
//! the returned value and one on error with the id of an argument, another
//! an audit event with `audit_event(..)`, and a handler takes one by naming
//! its type.

use onex_events::consume::Incoming;
use onex_events::{onex_node, NodeContext, OnexEvent, OnexNode, Publisher, Recorder};

#[derive(serde::Serialize, serde::Deserialize, Clone, OnexEvent)]
#[onex_event("user.created", kind = "domain", aggregate_type = "user")]
struct UserCreated {
    user_id: String,
}

#[derive(serde::Serialize, OnexEvent)]
#[onex_event("audit.user_refused", kind = "audit", action = "create_user", resource_type = "user")]
struct UserRefused {
    reason: String,
}

#[derive(serde::Serialize, OnexEvent)]
#[onex_event("ops.user_count", kind = "notification", recipient_type = "operator")]
struct UserCount {
    #[onex_event(id)]
    service: &'static str,
    count: u32,
}

struct Account {
    user: UserCreated,
}

impl From<&Account> for UserCreated {
    fn from(account: &Account) -> Self {
        account.user.clone()
    }
}

impl From<&std::io::Error> for UserRefused {
    fn from(error: &std::io::Error) -> Self {
        UserRefused {
            reason: error.to_string(),
        }
    }
}

#[derive(OnexNode)]
struct Users {
    ctx: NodeContext,
}

#[onex_node("users", events(UserCount))]
impl Users {
    #[onex_operation("refuse_user", audit_event(UserRefused, id = name))]
    async fn refuse_user(&self, name: String) -> std::io::Error {
        std::io::Error::other(format!("{name} refused"))
    }

    #[onex_operation(
        "create_user",
        publish_on_success(UserCreated, id = ret.user.user_id),
        publish_on_error(UserRefused, id = name)
    )]
    async fn create_user(&self, name: String) -> std::io::Result<Account> {
        if name.is_empty() {
            return Err(std::io::Error::other("no name"));
        }
        Ok(Account {
            user: UserCreated { user_id: format!("u-{name}") },
        })
    }

    #[onex_handler(UserCreated, lifecycle = false)]
    async fn created(&self, event: Incoming<UserCreated>) {
        self.ctx.publish(&UserCount {
            service: "users",
            count: event.payload.user_id.len() as u32,
        });
    }
}

fn main() {
    let recorder = Recorder::new();
    let users = Users {
        ctx: NodeContext::new::<Users>(Publisher::new(recorder.clone())),
    };
    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    runtime.block_on(async {
        users.create_user("ada".into()).await.unwrap();
        assert!(users.create_user(String::new()).await.is_err());
    });
    users.ctx.publish(&UserCount { service: "users", count: 1 });
    let json = recorder.json();
    assert_eq!(json[1]["event_type"], "user.created");
    assert_eq!(json[1]["metadata"]["aggregate_id"], "u-ada");
    assert_eq!(json[4]["event_type"], "audit.user_refused");
    assert_eq!(json[4]["metadata"]["resource_id"], "");
    assert_eq!(json[6]["metadata"]["recipient_type"], "operator");
    assert_eq!(json[6]["metadata"]["key"], "users");
    assert_eq!(Users::EVENT_CATALOG.consumed_events, ["user.created"]);
    assert_eq!(Users::EVENT_CATALOG.declared_events.len(), 3);
    recorder.clear();
    runtime.block_on(users.refuse_user("bob".into()));
    let json = recorder.json();
    assert_eq!(json[1]["event_type"], "audit.user_refused");
    assert_eq!(json[1]["metadata"]["resource_id"], "bob");
    assert_eq!(json[1]["payload"]["reason"], "bob refused");
}
