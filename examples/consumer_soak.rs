//! A consumer process the real-broker tests drive (tests/consumer_broker.rs):
//! one node whose handler takes `orchestrator.state.changed` events from
//! one topic, in a consumer group, and prints a line per event it handled.
//!
//! ```text
//! consumer_soak --topic T --group G [--poison] [--idle-exit SECS]
//! ```
//!
//! Each handled event prints `handled <event_id>` on stdout before the
//! handler returns (so before its offset can be committed: a process killed
//! at any point has printed every event whose offset it committed). With
//! `--poison`, an event whose payload has `"poison": true` fails every run
//! (2 runs, 10 ms apart) and goes to the dead-letter topic `T.dlq`; without
//! it, such an event is handled (the cause fixed). Runs until SIGINT/SIGTERM
//! or `--idle-exit SECS` without an event, then prints
//! `handled=H failed=F dead_lettered=D`. Reads `KAFKA_BOOTSTRAP_SERVERS`;
//! joins fast on a test broker (6 s session timeout). Logs go to stderr
//! (`RUST_LOG`, default `warn`).

use onex_events::consume::kafka::EventConsumer;
use onex_events::consume::Incoming;
use onex_events::kafka::{KafkaConfig, OffsetReset};
use onex_events::{onex_node, NodeContext, OnexNode, Publisher};
use serde_json::Value;
use std::io::Write;
use std::process::ExitCode;
use std::time::{Duration, Instant};

#[derive(Debug, thiserror::Error)]
#[error("poison event")]
struct Poisoned;

#[derive(OnexNode)]
struct Soak {
    ctx: NodeContext,
    poison: bool,
}

#[onex_node("soak")]
impl Soak {
    #[onex_handler(
        "orchestrator.state.changed",
        lifecycle = false,
        attempts = 2,
        backoff_ms = 10
    )]
    async fn state_changed(&self, event: Incoming<Value>) -> Result<(), Poisoned> {
        if self.poison && event.payload["poison"] == true {
            return Err(Poisoned);
        }
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "handled {}", event.event_id());
        let _ = out.flush();
        Ok(())
    }
}

struct Args {
    topic: String,
    group: String,
    poison: bool,
    idle_exit: Option<Duration>,
}

fn parse_args() -> Result<Args, String> {
    let (mut topic, mut group, mut poison, mut idle_exit) = (None, None, false, None);
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--topic" => topic = Some(args.next().ok_or("--topic needs a name")?),
            "--group" => group = Some(args.next().ok_or("--group needs a name")?),
            "--poison" => poison = true,
            "--idle-exit" => {
                let secs: u64 = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .ok_or("--idle-exit needs a number of seconds")?;
                idle_exit = Some(Duration::from_secs(secs));
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(Args {
        topic: topic.ok_or("--topic is required")?,
        group: group.ok_or("--group is required")?,
        poison,
        idle_exit,
    })
}

async fn run(args: Args) -> Result<String, Box<dyn std::error::Error>> {
    let servers = std::env::var("KAFKA_BOOTSTRAP_SERVERS")
        .map_err(|_| "KAFKA_BOOTSTRAP_SERVERS is not set: this consumer needs a broker")?;
    let kafka = KafkaConfig::new(servers)
        .auto_offset_reset(OffsetReset::Earliest)
        .property("session.timeout.ms", "6000")
        .property("heartbeat.interval.ms", "500")
        .property("reconnect.backoff.max.ms", "500");
    let node = std::sync::Arc::new(Soak {
        ctx: NodeContext::builder::<Soak>()
            .node_id(format!("soak-{}", std::process::id()))
            .publisher(Publisher::log())
            .build()?,
        poison: args.poison,
    });
    let consumer = EventConsumer::builder(kafka)
        .group(args.group)
        .topic(args.topic)
        .node(node)
        .stats_interval(Duration::from_secs(1))
        .build()?;
    let handle = consumer.shutdown_handle();
    if let Some(idle) = args.idle_exit {
        tokio::spawn(async move {
            let (mut seen, mut since) = (0, Instant::now());
            loop {
                tokio::time::sleep(Duration::from_millis(100)).await;
                let s = handle.stats();
                let now = s.handled + s.failed + s.malformed + s.skipped;
                if now != seen {
                    (seen, since) = (now, Instant::now());
                } else if since.elapsed() >= idle {
                    handle.shutdown();
                    return;
                }
            }
        });
    }
    let stats = consumer.run_until_signal().await;
    Ok(format!(
        "handled={} failed={} dead_lettered={}",
        stats.handled, stats.failed, stats.dead_lettered
    ))
}

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
    let args = match parse_args() {
        Ok(args) => args,
        Err(e) => {
            eprintln!("consumer_soak: {e}");
            return ExitCode::from(2);
        }
    };
    match run(args).await {
        Ok(summary) => {
            println!("{summary}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("consumer_soak: {e}");
            ExitCode::FAILURE
        }
    }
}
