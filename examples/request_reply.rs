//! Request/response over topics (seed 004): an orchestrator asks a codegen
//! node to validate code, `codegen.request.validate`, and waits for its
//! `codegen.response.validate`, N times, then prints the round trip's
//! p50 and p99.
//!
//! ```text
//! # Over a broker (scripts/kafka-dev.sh start 9092): both nodes in this process,
//! # talking through omninode.codegen.request.validate.v1 and
//! # omninode.codegen.response.validate.v1 (created if missing).
//! KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:9092 cargo run --release --example request_reply -- --requests 1000
//!
//! # Without KAFKA_BOOTSTRAP_SERVERS: two requests and their responses on the
//! # in-process bus, every envelope printed as a JSON line.
//! cargo run --example request_reply
//! ```
//!
//! Over a broker the last line on stdout is
//! `requests=N errors=E p50_ms=.. p99_ms=..`; without one it is
//! `responses=R (no broker: ..)`. Logs go to stderr (`RUST_LOG`, default
//! `warn`).

use onex_events::consume::kafka::EventConsumer;
use onex_events::consume::{InProcessBus, Incoming};
use onex_events::kafka::rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use onex_events::kafka::rdkafka::client::DefaultClientContext;
use onex_events::kafka::{KafkaConfig, OffsetReset};
use onex_events::request::kafka::{RequestError, Requester};
use onex_events::{
    onex_node, Correlation, EventType, KafkaSink, NodeContext, OnexNode, Payload, Publisher,
};
use serde::{Deserialize, Serialize};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The code to validate.
// `JsonSchema` (opt-in) gives the request, and below the reply, its schema
// in the AsyncAPI document (`-- asyncapi`).
#[derive(Debug, Serialize, Deserialize, schemars::JsonSchema)]
struct ValidateCode {
    language: String,
    source: String,
}

/// The codegen node's verdict.
#[derive(Debug, Serialize, Deserialize, schemars::JsonSchema)]
struct Validation {
    valid: bool,
    lines: usize,
}

#[derive(Debug, thiserror::Error)]
#[error("unsupported language `{0}`")]
struct Unsupported(String);

/// The codegen node: answers `codegen.request.validate`.
#[derive(OnexNode)]
struct Codegen {
    ctx: NodeContext,
}

#[onex_node("codegen", namespace = "omninode")]
impl Codegen {
    /// Its return value is the reply; an `Err` is an error reply.
    #[onex_handler("codegen.request.validate", attempts = 1)]
    async fn validate(&self, request: Incoming<ValidateCode>) -> Result<Validation, Unsupported> {
        let code = request.payload;
        if code.language != "rust" {
            return Err(Unsupported(code.language));
        }
        let balanced = code.source.matches('{').count() == code.source.matches('}').count();
        Ok(Validation {
            valid: balanced,
            lines: code.source.lines().count(),
        })
    }
}

/// The orchestrator: declares the request it sends.
#[derive(OnexNode)]
struct Orchestrator {
    ctx: NodeContext,
}

#[onex_node(
    "orchestrator",
    namespace = "omninode",
    requests("codegen.request.validate")
)]
impl Orchestrator {
    #[onex_operation("code_validation")]
    async fn validate(&self, requester: &Requester, source: &str) -> Result<bool, RequestError> {
        let code = ValidateCode {
            language: "rust".to_owned(),
            source: source.to_owned(),
        };
        let verdict: Validation = requester
            .request("codegen.request.validate", &code, Duration::from_secs(10))
            .await?;
        Ok(verdict.valid)
    }
}

const SOURCE: &str = "fn main() {\n    println!(\"hello\");\n}\n";

#[tokio::main]
async fn main() -> ExitCode {
    if let Some(code) = onex_events::asyncapi::Subcommands::new(env!("CARGO_PKG_VERSION")).run() {
        return code;
    }
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .init();
    let requests = match requests() {
        Ok(n) => n,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let bootstrap = std::env::var("KAFKA_BOOTSTRAP_SERVERS").unwrap_or_default();
    let summary = if bootstrap.trim().is_empty() {
        in_process().await
    } else {
        over_kafka(&bootstrap, requests).await
    };
    match summary {
        Ok(summary) => {
            println!("{summary}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("request_reply: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `--requests N` (default 1000).
fn requests() -> Result<usize, String> {
    let mut args = std::env::args().skip(1);
    let mut n = 1000;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--requests" => {
                n = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .filter(|n| *n > 0)
                    .ok_or("--requests needs a positive number")?;
            }
            other => {
                return Err(format!(
                    "unknown argument `{other}`; usage: request_reply [--requests N]"
                ))
            }
        }
    }
    Ok(n)
}

/// Both nodes on a broker: the codegen node served by a consumer of its
/// requests, the orchestrator asking `requests` times, one at a time.
async fn over_kafka(
    bootstrap: &str,
    requests: usize,
) -> Result<String, Box<dyn std::error::Error>> {
    // Small writes waiting for their answer: Nagle's algorithm off. tansu
    // answers a fetch only after `fetch.wait.max.ms`: keep it short.
    let producer = KafkaConfig::new(bootstrap).property("socket.nagle.disable", "true");
    let config = producer
        .clone()
        .auto_offset_reset(OffsetReset::Earliest)
        .property("fetch.wait.max.ms", "1");
    create_topics(bootstrap).await?;

    let codegen = Arc::new(Codegen {
        ctx: NodeContext::builder::<Codegen>()
            .node_id("codegen-1")
            .publisher(Publisher::new(KafkaSink::new(producer.clone())?))
            .build()?,
    });
    let consumer = EventConsumer::builder(config.clone())
        .group("omninode.codegen")
        .source("omninode", "codegen")
        .node(Arc::clone(&codegen))
        .build()?;
    let shutdown = consumer.shutdown_handle();
    let serving = tokio::spawn(consumer.run());

    let orchestrator = Orchestrator {
        ctx: NodeContext::builder::<Orchestrator>()
            .node_id("orchestrator-1")
            .publisher(Publisher::new(KafkaSink::new(producer)?))
            .build()?,
    };
    let requester = Requester::builder(config, &orchestrator.ctx)
        .build()
        .await?;
    // The first request waits for the codegen node's group to form.
    let code = ValidateCode {
        language: "rust".to_owned(),
        source: SOURCE.to_owned(),
    };
    let _: Validation = requester
        .request("codegen.request.validate", &code, Duration::from_secs(60))
        .await?;

    let mut round_trips = Vec::with_capacity(requests);
    let mut errors = 0;
    for _ in 0..requests {
        let start = Instant::now();
        match orchestrator.validate(&requester, SOURCE).await {
            Ok(_) => round_trips.push(start.elapsed()),
            Err(e) => {
                errors += 1;
                tracing::warn!(error = %e, "request failed");
            }
        }
    }
    // An error reply comes back as an error, not a timeout.
    let unsupported = ValidateCode {
        language: "cobol".to_owned(),
        source: SOURCE.to_owned(),
    };
    let error = requester
        .request::<_, Validation>(
            "codegen.request.validate",
            &unsupported,
            Duration::from_secs(10),
        )
        .await;
    eprintln!("a request the codegen node rejects: {error:?}");

    shutdown.shutdown();
    let _ = serving.await;
    let _ = codegen.ctx.publisher().flush(Duration::from_secs(5));
    let _ = orchestrator.ctx.publisher().flush(Duration::from_secs(5));
    round_trips.sort();
    let at = |q: f64| {
        let i =
            ((round_trips.len() as f64 * q).ceil() as usize).clamp(1, round_trips.len().max(1)) - 1;
        round_trips
            .get(i)
            .map_or(f64::NAN, |d| d.as_secs_f64() * 1000.0)
    };
    Ok(format!(
        "requests={requests} errors={errors} p50_ms={:.2} p99_ms={:.2}",
        at(0.50),
        at(0.99)
    ))
}

/// The request and response topics, 3 partitions each (existing ones are
/// kept).
async fn create_topics(bootstrap: &str) -> Result<(), Box<dyn std::error::Error>> {
    let admin: AdminClient<DefaultClientContext> = onex_events::kafka::rdkafka::ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .create()?;
    let topics = [
        "omninode.codegen.request.validate.v1",
        "omninode.codegen.response.validate.v1",
    ]
    .map(|t| NewTopic::new(t, 3, TopicReplication::Fixed(1)));
    let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(10)));
    for result in admin.create_topics(&topics, &options).await? {
        match result {
            Ok(_) => {}
            Err((_, onex_events::kafka::rdkafka::types::RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((topic, code)) => return Err(format!("creating {topic}: {code}").into()),
        }
    }
    Ok(())
}

/// Without a broker: the orchestrator publishes two requests on the
/// in-process bus (one the codegen node rejects), the codegen node answers
/// both, and every envelope is printed.
async fn in_process() -> Result<String, Box<dyn std::error::Error>> {
    let bus = InProcessBus::new();
    let codegen = Arc::new(Codegen {
        ctx: NodeContext::builder::<Codegen>()
            .node_id("codegen-1")
            .publisher(bus.publisher())
            .build()?,
    });
    bus.subscribe(codegen);
    let orchestrator = NodeContext::builder::<Orchestrator>()
        .node_id("orchestrator-1")
        .publisher(bus.publisher())
        .build()?;
    let request = EventType::parse("codegen.request.validate")?;
    for language in ["rust", "cobol"] {
        let code = ValidateCode {
            language: language.to_owned(),
            source: SOURCE.to_owned(),
        };
        orchestrator.emit(
            request,
            Some(Correlation::fresh()),
            Payload::Request(serde_json::value::to_raw_value(&code)?),
        );
    }
    bus.settle().await;
    for envelope in bus.recorder().json() {
        println!("{envelope}");
    }
    let responses = bus
        .event_types()
        .iter()
        .filter(|t| **t == "codegen.response.validate")
        .count();
    Ok(format!(
        "responses={responses} (no broker: set KAFKA_BOOTSTRAP_SERVERS to send requests over Kafka and measure the round trip)"
    ))
}
