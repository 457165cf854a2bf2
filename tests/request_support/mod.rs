//! Helpers of the request/response tests and bench: a codegen node that
//! answers `codegen.request.validate`, an orchestrator node that sends it,
//! and both wired to a cluster under a namespace of their own (so the
//! topics, named by namespace and event type, are the test's own).
#![allow(dead_code)]

pub mod scenarios;

use onex_events::consume::kafka::{EventConsumer, ShutdownHandle};
use onex_events::consume::Incoming;
use onex_events::kafka::{KafkaConfig, OffsetReset};
use onex_events::request::kafka::Requester;
use onex_events::{onex_node, KafkaSink, NodeContext, OnexNode, Publisher, Sink};
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

/// What the orchestrator asks to validate.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Code {
    pub source: String,
    /// How long the validation takes, for tests of late replies.
    #[serde(default)]
    pub delay_ms: u64,
}

/// The codegen node's answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Validated {
    pub lines: usize,
    /// The source, echoed: which request this answers.
    pub source: String,
}

/// The codegen node's error.
#[derive(Debug, thiserror::Error)]
#[error("nothing to validate")]
pub struct EmptySource;

#[derive(OnexNode)]
pub struct Codegen {
    pub ctx: NodeContext,
    pub runs: AtomicU64,
}

#[onex_node("codegen")]
impl Codegen {
    /// Counts the lines of the source; an empty one is an error.
    #[onex_handler("codegen.request.validate", attempts = 1)]
    pub async fn validate(&self, request: Incoming<Code>) -> Result<Validated, EmptySource> {
        self.runs.fetch_add(1, Ordering::Relaxed);
        let code = request.payload;
        if code.delay_ms > 0 {
            tokio::time::sleep(Duration::from_millis(code.delay_ms)).await;
        }
        if code.source.is_empty() {
            return Err(EmptySource);
        }
        Ok(Validated {
            lines: code.source.lines().count(),
            source: code.source,
        })
    }
}

#[derive(OnexNode)]
pub struct Orchestrator {
    pub ctx: NodeContext,
}

#[onex_node("orchestrator", requests("codegen.request.validate"))]
impl Orchestrator {
    #[onex_operation("orchestration")]
    pub async fn orchestrate(&self, requester: &Requester, source: &str) -> anyhow::Result<usize> {
        let code = Code {
            source: source.to_owned(),
            delay_ms: 0,
        };
        let validated: Validated = requester
            .request("codegen.request.validate", &code, Duration::from_secs(10))
            .await?;
        Ok(validated.lines)
    }
}

/// A namespace unique to this run.
pub fn unique_namespace(name: &str) -> String {
    format!("t{}.{name}", &Uuid::new_v4().simple().to_string()[..8])
}

/// The topics of `namespace`: request, response, and the codegen node's
/// lifecycle (its `validate` handler's).
pub fn topics(namespace: &str) -> [String; 3] {
    [
        format!("{namespace}.codegen.request.validate.v1"),
        format!("{namespace}.codegen.response.validate.v1"),
        format!("{namespace}.codegen.codegen.validate.v1"),
    ]
}

/// The client configuration: a short fetch wait (how long the broker may
/// hold a fetch that finds no record), short sessions (group joins).
pub fn config(bootstrap: &str) -> KafkaConfig {
    KafkaConfig::new(bootstrap)
        .auto_offset_reset(OffsetReset::Earliest)
        .property("fetch.wait.max.ms", "5")
        .property("session.timeout.ms", "6000")
        .property("heartbeat.interval.ms", "500")
}

/// A codegen node publishing to Kafka, served by a consumer of its
/// requests in group `codegen` of `namespace`.
pub struct Responder {
    pub node: Arc<Codegen>,
    pub handle: ShutdownHandle,
    run: tokio::task::JoinHandle<()>,
}

impl Responder {
    pub fn start(bootstrap: &str, namespace: &str) -> Responder {
        Responder::start_with(config(bootstrap), namespace)
    }

    /// A responder whose consumer has configuration `consumer`; its sink
    /// publishes to the same cluster with the defaults and the consumer's
    /// `socket.nagle.disable`.
    pub fn start_with(consumer: KafkaConfig, namespace: &str) -> Responder {
        let mut producer = KafkaConfig::new(consumer.bootstrap_servers());
        if let Some(nagle) = consumer.get("socket.nagle.disable") {
            producer = producer.property("socket.nagle.disable", nagle);
        }
        let sink = KafkaSink::new(producer).expect("sink");
        let node = Arc::new(Codegen {
            ctx: NodeContext::builder::<Codegen>()
                .node_id("codegen-1")
                .namespace(namespace)
                .publisher(Publisher::new(sink))
                .build()
                .expect("codegen context"),
            runs: AtomicU64::new(0),
        });
        let consumer = EventConsumer::builder(consumer)
            .group(format!("{namespace}.codegen"))
            .source(namespace, "codegen")
            .node(Arc::clone(&node))
            .build()
            .expect("responder consumer");
        let handle = consumer.shutdown_handle();
        let run = tokio::spawn(async move {
            consumer.run().await;
        });
        Responder { node, handle, run }
    }

    pub async fn stop(self) {
        self.handle.shutdown();
        let _ = self.run.await;
        let _ = self.node.ctx.publisher().flush(Duration::from_secs(5));
    }
}

/// An orchestrator instance of `namespace`, with its requester.
pub async fn requester(
    bootstrap: &str,
    namespace: &str,
    sink: impl Sink,
) -> (Orchestrator, Requester) {
    requester_with(config(bootstrap), namespace, sink).await
}

/// [`requester`] with the configuration `kafka`.
pub async fn requester_with(
    kafka: KafkaConfig,
    namespace: &str,
    sink: impl Sink,
) -> (Orchestrator, Requester) {
    let node = Orchestrator {
        ctx: NodeContext::builder::<Orchestrator>()
            .node_id(format!(
                "orchestrator-{}",
                &Uuid::new_v4().simple().to_string()[..4]
            ))
            .namespace(namespace)
            .publisher(Publisher::new(sink))
            .build()
            .expect("orchestrator context"),
    };
    let requester = Requester::builder(kafka, &node.ctx)
        .build()
        .await
        .expect("requester");
    (node, requester)
}

/// Sends requests until the responder answers one (its group joined and
/// it reads the request topic): the first request may wait for that.
pub async fn warm_up(requester: &Requester) {
    let code = Code {
        source: "warm up".to_owned(),
        delay_ms: 0,
    };
    let reply: Validated = requester
        .request("codegen.request.validate", &code, Duration::from_secs(60))
        .await
        .expect("the responder answers");
    assert_eq!(reply.source, "warm up");
}
