//! Helpers of the outbox tests: a worker node, a temporary directory, and
//! the PostgreSQL server the tests need, a clear failure when it is not
//! configured (the broker's is in `kafka_support`).
#![allow(dead_code)]

use onex_events::outbox::sqlite::rusqlite::Connection;
use onex_events::{onex_node, NodeContext, OnexNode};
use std::path::{Path, PathBuf};

#[derive(OnexNode)]
pub struct Worker {
    pub ctx: NodeContext,
}

#[onex_node(node_type = "worker", service = "worker")]
impl Worker {
    #[onex_operation("work", fields(i))]
    pub async fn work(&self, i: u64) -> Result<u64, std::io::Error> {
        Ok(i + 1)
    }
}

pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(f)
}

/// A fresh directory, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!(
            "onex-outbox-{name}-{}",
            &uuid::Uuid::new_v4().simple().to_string()[..8]
        ));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    pub fn path(&self, file: &str) -> PathBuf {
        self.0.join(file)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Every event id committed to the SQLite outbox at `path` and still
/// there (rows are kept for the retention period, an hour by default), in
/// commit order.
pub fn committed_ids(path: &Path) -> Vec<String> {
    let conn = Connection::open(path).unwrap();
    let mut stmt = conn
        .prepare("SELECT id FROM onex_outbox ORDER BY seq")
        .unwrap();
    let ids = stmt
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<Vec<String>, _>>()
        .unwrap();
    ids
}

/// `ONEX_TEST_POSTGRES_URL`. Panics with what to do when it is not set:
/// the tests that need PostgreSQL are `#[ignore]`d with that reason, and
/// run only when asked to (`--include-ignored`, as `scripts/test.sh` does).
pub fn postgres_url() -> String {
    required_var(
        "ONEX_TEST_POSTGRES_URL",
        "start a server with `url=$(scripts/postgres-dev.sh start PORT) && export \"$url\"`",
    )
}

/// `ONEX_TEST_POSTGRES_CA`, the certificate of the server's TLS; panics
/// like [`postgres_url`] when it is not set.
pub fn postgres_ca() -> String {
    required_var(
        "ONEX_TEST_POSTGRES_CA",
        "export ONEX_TEST_POSTGRES_CA=\"$(scripts/postgres-dev.sh ca PORT)\"",
    )
}

fn required_var(name: &str, how: &str) -> String {
    match std::env::var(name) {
        Ok(s) if !s.trim().is_empty() => s,
        _ => panic!(
            "this test needs PostgreSQL and {name} is not set: run `scripts/test.sh`, or {how}"
        ),
    }
}

/// The URL of a fresh database on the server of `url` (the outbox tables
/// are per database).
#[cfg(feature = "outbox-postgres")]
pub fn fresh_database(url: &str, name: &str) -> String {
    use onex_events::outbox::postgres::postgres::{Client, NoTls};
    let db = format!(
        "onex_test_{name}_{}",
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    );
    Client::connect(url, NoTls)
        .expect("connect to ONEX_TEST_POSTGRES_URL")
        .batch_execute(&format!("CREATE DATABASE {db}"))
        .expect("create database");
    let (base, _) = url.rsplit_once('/').expect("a URL ending in /DATABASE");
    format!("{base}/{db}")
}
