//! The broker a bench runs against, chosen by `BENCH_BROKERS`
//! (comma-separated):
//!
//! - `tansu`: the broker at `KAFKA_BOOTSTRAP_SERVERS`
//!   (`scripts/kafka-dev.sh start PORT` starts tansu, which holds a fetch
//!   that finds no record for half of `fetch.wait.max.ms`);
//! - `mock`: librdkafka's mock cluster (one broker), in the bench's own
//!   process and listening on loopback TCP. It answers a fetch as soon as
//!   it has records, and holds one that found none for
//!   `fetch.wait.max.ms` (new records do not cut that short). Its broker
//!   thread shares the process, so the process's CPU time includes it.
//!
//! Default: both when `KAFKA_BOOTSTRAP_SERVERS` is set, none otherwise.
//! The bench declares `kafka_support` (tests/kafka_support) at its root.
#![allow(dead_code)] // each bench uses a part

use onex_events::kafka::rdkafka::admin::{AdminClient, AdminOptions};
use onex_events::kafka::rdkafka::client::DefaultClientContext;
use onex_events::kafka::rdkafka::config::ClientConfig;
use onex_events::kafka::rdkafka::mocking::MockCluster;
use onex_events::kafka::rdkafka::producer::DefaultProducerContext;
use std::time::Duration;

/// Which broker, before it is started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BrokerKind {
    Tansu,
    Mock,
}

impl BrokerKind {
    /// The brokers `BENCH_BROKERS` names (see the module's comment); panics
    /// on a name it does not know, or on `tansu` without
    /// `KAFKA_BOOTSTRAP_SERVERS`.
    pub fn under_test() -> Vec<BrokerKind> {
        let server = std::env::var("KAFKA_BOOTSTRAP_SERVERS").is_ok_and(|s| !s.trim().is_empty());
        let Ok(names) = std::env::var("BENCH_BROKERS") else {
            return match server {
                true => vec![BrokerKind::Tansu, BrokerKind::Mock],
                false => Vec::new(),
            };
        };
        names
            .split(',')
            .map(str::trim)
            .filter(|name| !name.is_empty())
            .map(|name| match name {
                "tansu" if server => BrokerKind::Tansu,
                "tansu" => panic!("BENCH_BROKERS names tansu: set KAFKA_BOOTSTRAP_SERVERS"),
                "mock" => BrokerKind::Mock,
                other => panic!("BENCH_BROKERS: unknown broker {other:?} (tansu, mock)"),
            })
            .collect()
    }

    /// Connects to the server, or starts a mock cluster.
    pub fn start(self) -> Broker {
        match self {
            BrokerKind::Tansu => Broker {
                kind: self,
                bootstrap: std::env::var("KAFKA_BOOTSTRAP_SERVERS")
                    .expect("KAFKA_BOOTSTRAP_SERVERS"),
                mock: None,
            },
            BrokerKind::Mock => {
                let mock = MockCluster::new(1).expect("mock cluster");
                Broker {
                    kind: self,
                    bootstrap: mock.bootstrap_servers(),
                    mock: Some(mock),
                }
            }
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            BrokerKind::Tansu => "tansu",
            BrokerKind::Mock => "mock",
        }
    }
}

/// A broker under test: its address, and the mock cluster it is, if so
/// (dropped with it).
pub struct Broker {
    kind: BrokerKind,
    bootstrap: String,
    mock: Option<MockCluster<'static, DefaultProducerContext>>,
}

impl Broker {
    pub fn name(&self) -> &'static str {
        self.kind.name()
    }

    pub fn bootstrap(&self) -> &str {
        &self.bootstrap
    }

    /// Creates `topic` (an existing one is fine). On the server, from a
    /// thread of its own, so async code may call it too.
    pub fn create_topic(&self, topic: &str, partitions: i32) {
        match &self.mock {
            Some(mock) => mock.create_topic(topic, partitions, 1).expect("mock topic"),
            None => std::thread::scope(|s| {
                let bootstrap = self.bootstrap.as_str();
                s.spawn(|| crate::kafka_support::create_topic(bootstrap, topic, partitions))
                    .join()
                    .expect("topic created")
            }),
        }
    }

    /// Deletes `topic` from the server, errors ignored; the mock cluster
    /// cannot delete (its topics go with it).
    pub fn delete_topic(&self, topic: &str) {
        if self.mock.is_some() {
            return;
        }
        let bootstrap = self.bootstrap.as_str();
        std::thread::scope(|s| {
            s.spawn(|| {
                let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
                    .set("bootstrap.servers", bootstrap)
                    .create()
                    .expect("admin client");
                let opts = AdminOptions::new().operation_timeout(Some(Duration::from_secs(10)));
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("runtime");
                let _ = rt.block_on(admin.delete_topics(&[topic], &opts));
            });
        });
    }
}
