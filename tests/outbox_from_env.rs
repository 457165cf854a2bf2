//! `Publisher::from_env` in outbox mode (`USE_OUTBOX_PATTERN=true`): where
//! `ONEX_OUTBOX_URL` puts the outbox. A test binary of its own, because the
//! tests set process environment variables (one test at a time, under a
//! lock). The PostgreSQL test (feature `outbox-postgres`) is ignored unless
//! asked for (`--include-ignored`, as `scripts/test.sh` does), and then
//! fails when `ONEX_TEST_POSTGRES_URL` is not set. No broker is needed: the tests check commits, not
//! deliveries.
//!
//! ```text
//! url=$(scripts/postgres-dev.sh start 15432) && export "$url"
//! cargo test --features outbox-postgres --test outbox_from_env -- --include-ignored --nocapture
//! cargo test --features outbox --test outbox_from_env   # without the PostgreSQL outbox
//! ```
#![cfg(feature = "outbox")]

mod outbox_support;

use outbox_support::{block_on, TempDir, Worker};

use onex_events::{NodeContext, Publisher};
use std::sync::Mutex;

/// Serializes the tests that set environment variables.
static ENV: Mutex<()> = Mutex::new(());

/// `Publisher::from_env()` in outbox mode with `ONEX_OUTBOX_URL=url` (and a
/// SQLite path in `dir`), the variables removed again afterwards. The
/// broker is unreachable: nothing is delivered, everything is committed.
fn from_env_with_url(url: &str, dir: &TempDir) -> Publisher {
    let _lock = ENV.lock().unwrap_or_else(|e| e.into_inner());
    let vars = [
        ("USE_OUTBOX_PATTERN", "true".to_owned()),
        ("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:1".to_owned()),
        ("ONEX_OUTBOX_PATH", dir.0.join("o.db").display().to_string()),
        ("ONEX_OUTBOX_URL", url.to_owned()),
    ];
    for (name, value) in &vars {
        std::env::set_var(name, value);
    }
    let publisher = Publisher::from_env();
    for (name, _) in &vars {
        std::env::remove_var(name);
    }
    publisher
}

/// The operation's result never depends on the outbox.
fn run_operations(publisher: &Publisher, n: u64) {
    let worker = Worker {
        ctx: NodeContext::new::<Worker>(publisher.clone()),
    };
    for i in 0..n {
        assert_eq!(block_on(worker.work(i)).unwrap(), i + 1);
    }
}

#[cfg(feature = "outbox-postgres")]
#[test]
#[ignore = "needs PostgreSQL: run by scripts/test.sh (the README's test command, and CI), which starts one; or set ONEX_TEST_POSTGRES_URL"]
fn a_postgres_outbox_url_commits_every_event_to_postgresql() {
    use onex_events::outbox::postgres::postgres::{Client, NoTls};

    let url = outbox_support::postgres_url();
    let url = outbox_support::fresh_database(&url, "env");

    let dir = TempDir::new("pg");
    let publisher = from_env_with_url(&url, &dir);
    assert_eq!(publisher.sink_name(), "outbox-postgres");
    assert_eq!(publisher.last_error(), None);
    run_operations(&publisher, 5);
    // Committed before each operation returned, to PostgreSQL.
    let types: Vec<String> = Client::connect(&url, NoTls)
        .unwrap()
        .query("SELECT type FROM onex_outbox ORDER BY seq", &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(types.len(), 10, "{types:?}");
    assert_eq!(types[..2], ["worker.work.started", "worker.work.completed"]);
    assert!(
        !dir.0.join("o.db").exists(),
        "ONEX_OUTBOX_PATH is not used when ONEX_OUTBOX_URL is set"
    );
    println!("Publisher::from_env with ONEX_OUTBOX_URL: 10 events committed to PostgreSQL");
}

#[cfg(not(feature = "outbox-postgres"))]
#[test]
fn without_the_postgres_feature_a_postgres_outbox_url_leaves_the_outbox_unavailable() {
    let dir = TempDir::new("nopg");
    let publisher = from_env_with_url("postgres://app:secret@127.0.0.1:1/app", &dir);
    assert_eq!(publisher.sink_name(), "outbox");
    let error = publisher.last_error().expect("the outbox is unavailable");
    assert!(error.contains("outbox-postgres"), "{error}");
    assert!(!error.contains("secret"), "{error}");
    run_operations(&publisher, 3);
    // Not silently sent to the SQLite file instead.
    assert!(!dir.0.join("o.db").exists());
}

#[test]
fn an_outbox_url_that_is_not_postgresql_leaves_the_outbox_unavailable() {
    let dir = TempDir::new("bad");
    let publisher = from_env_with_url("mysql://app:secret@127.0.0.1:1/app", &dir);
    assert_eq!(publisher.sink_name(), "outbox");
    let error = publisher.last_error().expect("the outbox is unavailable");
    assert!(error.contains("ONEX_OUTBOX_URL"), "{error}");
    assert!(!error.contains("secret"), "{error}");
    run_operations(&publisher, 3);
    assert!(!dir.0.join("o.db").exists());
}
