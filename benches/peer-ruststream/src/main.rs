//! The peer of the consume bench (`benches/consume.rs`): ruststream-rdkafka
//! consuming the bench's records with `#[subscriber]` and
//! `Commit::Tracked`, its handler decoding the envelope's typed payload and
//! acknowledging.
//!
//! ```text
//! peer-ruststream BOOTSTRAP TOPIC GROUP EXPECTED [K=V,K=V]
//! ```
//!
//! The optional last argument: librdkafka properties of the consumer.
//! Prints one JSON line: `handled` (events), `seconds` and `rate` from the
//! first event handled to the `EXPECTED`th, `cpu_us` (user + system
//! time of the process over that span, by `getrusage`) and `switches` (its
//! context switches over that span).

#[path = "../../support/usage.rs"]
mod usage;

use ruststream_rdkafka::prelude::*;
use serde::Deserialize;
use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};
use usage::Usage;

/// The payload of `orchestrator.state.changed`, the struct every variant
/// of the bench decodes into (its fields read only by `black_box`).
#[derive(Debug, Deserialize)]
#[allow(dead_code)]
struct StateChange {
    old_state: String,
    new_state: String,
    transition_reason: String,
}

/// The envelope, as far as the handler reads it: its payload.
#[derive(Debug, Deserialize)]
struct Envelope {
    payload: StateChange,
}

struct Args {
    bootstrap: String,
    topic: String,
    group: String,
    expected: u64,
    properties: Vec<(String, String)>,
}

static ARGS: OnceLock<Args> = OnceLock::new();
static HANDLED: AtomicU64 = AtomicU64::new(0);
/// Wall clock and process usage at the first event handled.
static FIRST: OnceLock<(Instant, Usage)> = OnceLock::new();
/// The same at the last expected event.
static LAST: Mutex<Option<(Instant, Usage)>> = Mutex::new(None);
static DONE: tokio::sync::Notify = tokio::sync::Notify::const_new();

fn args() -> &'static Args {
    ARGS.get().expect("arguments read before the app starts")
}

#[subscriber(
    KafkaTopic::new(args().topic.clone())
        .group(args().group.clone())
        .commit(Commit::Tracked)
        .start(StartOffset::Earliest)
        .config("session.timeout.ms", "6000")
        .config("heartbeat.interval.ms", "500")
)]
async fn on_state_change(event: &Envelope) -> HandlerOutcome {
    black_box(&event.payload);
    let n = HANDLED.fetch_add(1, Ordering::Relaxed) + 1;
    if n == 1 {
        // `BENCH_PREFETCH_MS` (the consume bench's): librdkafka fetches
        // ahead while the first handler waits, before the clock starts.
        let prefetch = std::env::var("BENCH_PREFETCH_MS")
            .ok()
            .and_then(|ms| ms.parse().ok())
            .unwrap_or(0);
        if prefetch > 0 {
            std::thread::sleep(Duration::from_millis(prefetch));
        }
        let _ = FIRST.set((Instant::now(), Usage::now()));
    }
    if n == args().expected {
        *LAST.lock().unwrap_or_else(|e| e.into_inner()) = Some((Instant::now(), Usage::now()));
        DONE.notify_one();
    }
    HandlerOutcome::ack()
}

fn app() -> RustStream {
    // The extra properties, on every client of the broker (here: the one
    // consumer).
    let broker = args().properties.iter().fold(
        KafkaBroker::new([args().bootstrap.as_str()]),
        |b, (k, v)| b.config(k.clone(), v.clone()),
    );
    RustStream::new(AppInfo::new("peer-ruststream", "0.1.0")).with_broker(broker, |b| {
        b.include(on_state_change);
    })
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut argv = std::env::args().skip(1);
    let mut next = |name: &str| argv.next().ok_or(format!("missing argument {name}"));
    let parsed = Args {
        bootstrap: next("BOOTSTRAP")?,
        topic: next("TOPIC")?,
        group: next("GROUP")?,
        expected: next("EXPECTED")?.parse()?,
        properties: next("K=V,K=V")
            .unwrap_or_default()
            .split(',')
            .filter_map(|kv| kv.split_once('='))
            .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
            .collect(),
    };
    if parsed.expected == 0 {
        return Err("EXPECTED must be at least 1".into());
    }
    let _ = ARGS.set(parsed);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(app().run_until(DONE.notified()))?;
    let first = FIRST.get().ok_or("no event handled")?;
    let last = LAST
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .ok_or("stopped before the last event")?;
    let seconds = (last.0 - first.0).as_secs_f64();
    // The first event's own handling is not in the span: count the others.
    let handled = args().expected - 1;
    println!(
        "{{\"handled\":{},\"seconds\":{seconds:.6},\"rate\":{:.1},\"cpu_us\":{},\"switches\":{}}}",
        args().expected,
        handled as f64 / seconds.max(1e-9),
        (last.1.cpu - first.1.cpu).as_micros(),
        last.1.switches - first.1.switches
    );
    Ok(())
}
