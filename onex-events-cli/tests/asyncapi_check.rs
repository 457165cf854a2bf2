//! `onex-events asyncapi check` over the documents of three services: a
//! producer, a consumer that agrees with it, and one with a planted
//! mismatch (another payload for `user.account.created`) and an event type nobody
//! publishes.

use assert_cmd::Command;
use onex_events::asyncapi::{document_of, to_yaml, DocumentOptions};
use onex_events::consume::Incoming;
use onex_events::{onex_node, NodeContext, OnexEvent, OnexNode};
use std::path::PathBuf;

/// What the producer publishes.
#[derive(serde::Serialize, serde::Deserialize, schemars::JsonSchema, OnexEvent)]
#[onex_event("user.account.created", kind = "domain", aggregate_type = "user")]
struct UserCreated {
    #[onex_event(id)]
    user_id: String,
    email: String,
}

/// What the mismatched consumer expects instead: `email` is a number.
#[derive(serde::Deserialize, schemars::JsonSchema)]
#[allow(dead_code)]
struct UserView {
    user_id: String,
    email: u64,
}

#[derive(OnexNode)]
struct Accounts {
    ctx: NodeContext,
}

#[onex_node("accounts", events(UserCreated))]
impl Accounts {
    #[onex_operation("signup")]
    async fn signup(&self) {}
}

/// Agrees with the producer: the standard payload of `completed`.
#[derive(OnexNode)]
struct Audit {
    ctx: NodeContext,
}

#[onex_node("audit")]
impl Audit {
    #[onex_handler("accounts.signup.completed")]
    async fn on_signup(&self, _event: Incoming<serde_json::Value>) {}
}

/// The planted mismatch, and an event type no service publishes.
#[derive(OnexNode)]
struct Mailer {
    ctx: NodeContext,
}

#[onex_node("mailer")]
impl Mailer {
    #[onex_handler("user.account.created")]
    async fn welcome(&self, _event: Incoming<UserView>) {}

    #[onex_handler("billing.charge.completed")]
    async fn receipt(&self, _event: Incoming<serde_json::Value>) {}
}

/// The documents of the three services, in a fresh directory.
fn documents() -> (PathBuf, [PathBuf; 3]) {
    let dir = std::env::temp_dir().join(format!("onex-asyncapi-check-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let write = |name: &str, catalog: &onex_events::Catalog, yaml: bool| {
        let doc = document_of(&[catalog], &DocumentOptions::new(name, "1.0.0"));
        let path = dir.join(format!("{name}.{}", if yaml { "yaml" } else { "json" }));
        let text = match yaml {
            true => to_yaml(&doc).unwrap(),
            false => serde_json::to_string_pretty(&doc).unwrap(),
        };
        std::fs::write(&path, text).unwrap();
        path
    };
    let files = [
        write("accounts", &Accounts::EVENT_CATALOG, false),
        write("audit", &Audit::EVENT_CATALOG, true),
        write("mailer", &Mailer::EVENT_CATALOG, false),
    ];
    (dir, files)
}

fn check(files: &[&PathBuf]) -> assert_cmd::assert::Assert {
    Command::cargo_bin("onex-events")
        .unwrap()
        .args(["asyncapi", "check"])
        .args(files)
        .assert()
}

#[test]
fn services_that_agree_pass_the_check() {
    let (dir, [accounts, audit, _]) = documents();
    let out = check(&[&accounts, &audit]).success();
    let stdout = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    assert!(stdout.starts_with("ok:"), "{stdout}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn planted_mismatch_and_unpublished_event_type_fail_the_check() {
    let (dir, [accounts, audit, mailer]) = documents();
    let out = check(&[&accounts, &audit, &mailer]).failure().code(1);
    let stdout = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(
        stdout.contains(
            "unpublished: billing.charge.completed is handled by mailer and published by no service"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains("payload mismatch: user.account.created published by accounts is not what mailer expects"),
        "{stdout}"
    );
    assert_eq!(stdout.matches("payload mismatch").count(), 1, "{stdout}");
    assert!(
        stderr.contains("1 event type(s) published by no service, 1 payload mismatch(es)"),
        "{stderr}"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn an_unreadable_document_is_an_error() {
    let dir = std::env::temp_dir().join(format!("onex-asyncapi-bad-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad.yaml");
    std::fs::write(&bad, "asyncapi: [unclosed").unwrap();
    let out = check(&[&bad]).failure();
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(stderr.contains("not a JSON or YAML document"), "{stderr}");
    std::fs::remove_dir_all(dir).unwrap();
}
