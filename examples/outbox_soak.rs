//! A soak of the durable outbox that tests (and people) can drive:
//! annotated operations in outbox mode, relayed to `KAFKA_BOOTSTRAP_SERVERS`.
//!
//! ```text
//! cargo build --release --example outbox_soak --features outbox
//! outbox_soak --db PATH --ops N [--concurrency C]   # N operations (2 events each), then wait until drained
//! outbox_soak --db PATH --drain                     # only relay what PATH still holds
//! outbox_soak --db PATH --stats                     # committed=C delivered=D pending=P dead=X
//! ```
//!
//! The Kafka variables of `KafkaConfig::from_env` apply (`KAFKA_TOPIC` sends
//! every event to one topic). `--ops` and `--drain` exit 0 once nothing is
//! pending, 1 when the drain timed out (`--timeout SECS`, default 600).
//! Logs go to stderr (`RUST_LOG`, default `warn`).

use onex_events::kafka::KafkaConfig;
use onex_events::outbox::{OutboxConfig, OutboxSink};
use onex_events::{onex_node, NodeContext, OnexNode, Publisher, Sink};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(OnexNode)]
struct Soak {
    ctx: NodeContext,
}

#[onex_node(node_type = "soak", service = "soak")]
impl Soak {
    #[onex_operation("work", fields(i))]
    async fn work(&self, i: u64) -> Result<u64, std::io::Error> {
        Ok(i.wrapping_mul(2))
    }
}

enum Mode {
    Ops(u64),
    Drain,
    Stats,
}

struct Args {
    db: PathBuf,
    mode: Mode,
    concurrency: usize,
    timeout: Duration,
}

fn parse_args() -> Result<Args, String> {
    let mut db = None;
    let mut mode = None;
    let mut concurrency = 32;
    let mut timeout = Duration::from_secs(600);
    let mut args = std::env::args().skip(1);
    let number = |flag: &str, v: Option<String>| -> Result<u64, String> {
        v.as_deref()
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| format!("{flag} needs a number"))
    };
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--db" => db = Some(PathBuf::from(args.next().ok_or("--db needs a path")?)),
            "--ops" => mode = Some(Mode::Ops(number("--ops", args.next())?)),
            "--drain" => mode = Some(Mode::Drain),
            "--stats" => mode = Some(Mode::Stats),
            "--concurrency" => {
                concurrency = usize::try_from(number("--concurrency", args.next())?)
                    .unwrap_or(1)
                    .max(1)
            }
            "--timeout" => timeout = Duration::from_secs(number("--timeout", args.next())?),
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(Args {
        db: db.ok_or("--db PATH is required")?,
        mode: mode.ok_or("one of --ops N, --drain, --stats is required")?,
        concurrency,
        timeout,
    })
}

fn main() -> ExitCode {
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
        Ok(a) => a,
        Err(e) => {
            eprintln!("outbox_soak: {e}\nusage: outbox_soak --db PATH (--ops N | --drain | --stats) [--concurrency C] [--timeout SECS]");
            return ExitCode::from(2);
        }
    };
    match run(args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("outbox_soak: {e}");
            ExitCode::from(2)
        }
    }
}

fn run(args: Args) -> Result<ExitCode, Box<dyn std::error::Error>> {
    let config = OutboxConfig::sqlite(&args.db);
    if let Mode::Stats = args.mode {
        println!("{}", OutboxSink::open(config)?.stats()?);
        return Ok(ExitCode::SUCCESS);
    }
    let sink = OutboxSink::open(config.kafka(KafkaConfig::from_env()?))?;
    if let Mode::Ops(n) = args.mode {
        run_ops(&sink, n, args.concurrency)?;
    }
    let started = Instant::now();
    let drained = sink.flush(args.timeout);
    let stats = sink.stats()?;
    eprintln!(
        "outbox_soak: drained in {:.2}s: {stats}",
        started.elapsed().as_secs_f64()
    );
    println!("{stats}");
    Ok(match drained {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("outbox_soak: {e}");
            ExitCode::from(1)
        }
    })
}

/// `n` operations on `concurrency` threads (publishing blocks until the
/// commit, so each thread is one publisher sharing the group commits).
fn run_ops(
    sink: &OutboxSink,
    n: u64,
    concurrency: usize,
) -> Result<(), Box<dyn std::error::Error>> {
    let node = Arc::new(Soak {
        ctx: NodeContext::builder::<Soak>()
            .node_id("soak-1")
            .publisher(Publisher::new(sink.clone()))
            .build()?,
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(concurrency)
        .build()?;
    let next = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    runtime.block_on(async {
        let tasks: Vec<_> = (0..concurrency)
            .map(|_| {
                let node = Arc::clone(&node);
                let next = Arc::clone(&next);
                tokio::spawn(async move {
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= n {
                            break;
                        }
                        let _ = node.work(i).await;
                    }
                })
            })
            .collect();
        for task in tasks {
            let _ = task.await;
        }
    });
    let secs = started.elapsed().as_secs_f64();
    eprintln!(
        "outbox_soak: {n} operations ({} events) committed in {secs:.2}s ({:.0} events/s); {} not committed",
        2 * n,
        2.0 * n as f64 / secs.max(1e-9),
        sink.not_committed()
    );
    Ok(())
}
