//! Per-call cost of an `#[onex_operation]` method, measured in one run
//! against the same method unannotated and against the same two events
//! built and published by hand (the seed's pattern), each with a no-op sink
//! and with a sink that serializes every envelope to JSON bytes (no I/O);
//! then the same with the argument and the result opted in (`fields(job),
//! ret`), which adds their capture to both.
//!
//! ```text
//! cargo bench --bench operation              # 15 rounds x 200k calls per case
//! cargo bench --bench operation -- --quick   # smoke run (or ONEX_BENCH_QUICK=1)
//! ```
//!
//! No bench framework: every case runs in a plain loop, its future polled
//! once with a no-op waker (the bodies never wait), so neither a runtime nor
//! a harness is part of what is measured. Cases are interleaved round by
//! round so that drift in the machine's speed hits them alike; each case
//! reports the median and the minimum ns per call over the rounds.

use futures::task::noop_waker_ref;
use onex_events::{
    onex_node, ArgSpec, Captured, Correlation, ErrorInfo, Event, EventType, Input, NodeContext,
    OnexNode, Payload, Publisher, Recorder, ResultSummary, Sink,
};
use serde_json::Value;
use std::any::type_name;
use std::cell::RefCell;
use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::task::{Context, Poll};
use std::time::Instant;
use uuid::Uuid;

type OpResult = Result<u32, std::io::Error>;

// ---------------------------------------------------------------- sinks --

/// Takes each event and drops it.
struct NoopSink;

impl Sink for NoopSink {
    fn publish(&self, event: Event) {
        black_box(&event);
    }

    fn name(&self) -> &'static str {
        "noop"
    }
}

thread_local! {
    static JSON: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Serializes each envelope into a reused thread-local buffer; no I/O.
struct JsonSink;

impl Sink for JsonSink {
    fn publish(&self, event: Event) {
        JSON.with(|buf| {
            let mut buf = buf.borrow_mut();
            buf.clear();
            if event.write_json(&mut buf).is_ok() {
                black_box(buf.as_slice());
            }
        });
    }

    fn name(&self) -> &'static str {
        "json"
    }
}

// ----------------------------------------------------------------- node --

#[derive(OnexNode)]
struct Bench {
    ctx: NodeContext,
    hand: HandTypes,
    hand_opted_in: HandTypes,
}

#[onex_node("orchestrator")]
impl Bench {
    /// (c) The operation, annotated.
    #[onex_operation("orchestration")]
    async fn annotated(&self, job: u32) -> OpResult {
        Ok(black_box(job).wrapping_mul(2))
    }

    /// (e) The operation, annotated, with its argument and result opted in.
    #[onex_operation("opted_in", fields(job), ret)]
    async fn annotated_opted_in(&self, job: u32) -> OpResult {
        Ok(black_box(job).wrapping_mul(2))
    }
}

/// The operation's event types, parsed once like hand-written code would;
/// they are equal to the ones `#[onex_node]` builds at compile time.
struct HandTypes {
    started: EventType,
    completed: EventType,
    failed: EventType,
}

impl HandTypes {
    fn new([started, completed, failed]: [&'static str; 3]) -> Self {
        let parse = |name| EventType::parse(name).expect("valid event type");
        HandTypes {
            started: parse(started),
            completed: parse(completed),
            failed: parse(failed),
        }
    }
}

const OPERATION: &str = "orchestration";
const OPERATION_OPTED_IN: &str = "opted_in";

/// The argument summary `#[onex_operation]` generates for `job: u32`.
static ARGS: &[ArgSpec] = &[ArgSpec {
    name: "job",
    ty: "u32",
}];

impl Bench {
    fn new(publisher: Publisher) -> Self {
        Bench {
            ctx: NodeContext::builder::<Bench>()
                .node_id("orchestrator-bench")
                .publisher(publisher)
                .build()
                .expect("valid node context"),
            hand: HandTypes::new([
                "orchestrator.orchestration.started",
                "orchestrator.orchestration.completed",
                "orchestrator.orchestration.failed",
            ]),
            hand_opted_in: HandTypes::new([
                "orchestrator.opted_in.started",
                "orchestrator.opted_in.completed",
                "orchestrator.opted_in.failed",
            ]),
        }
    }

    /// (a) The same body, unannotated.
    async fn unannotated(&self, job: u32) -> OpResult {
        Ok(black_box(job).wrapping_mul(2))
    }

    /// (b) The seed's pattern by hand: a fresh correlation id, `started`,
    /// the body, then `completed` (or `failed`) with the execution time,
    /// caused by `started`.
    async fn hand_written(&self, job: u32) -> OpResult {
        let ctx = &self.ctx;
        let start = Instant::now();
        let correlation_id = Uuid::new_v4();
        let started_id = ctx.emit(
            self.hand.started,
            Some(Correlation::new(correlation_id)),
            Payload::Started {
                operation: OPERATION,
                input: Input::summary(ARGS),
            },
        );
        let result: OpResult = async { Ok(black_box(job).wrapping_mul(2)) }.await;
        let execution_time_ms = start.elapsed().as_secs_f64() * 1000.0;
        let end = Some(Correlation {
            correlation_id,
            causation_id: Some(started_id),
        });
        match &result {
            Ok(_) => ctx.emit(
                self.hand.completed,
                end,
                Payload::Completed {
                    operation: OPERATION,
                    execution_time_ms,
                    result: ResultSummary {
                        ty: type_name::<u32>(),
                        value: None,
                    },
                },
            ),
            Err(e) => ctx.emit(
                self.hand.failed,
                end,
                Payload::Failed {
                    operation: OPERATION,
                    execution_time_ms,
                    error: ErrorInfo::from_error(type_name::<std::io::Error>(), e),
                },
            ),
        };
        result
    }

    /// (d) The same by hand with the argument and the result captured,
    /// written out in full as (b) is.
    async fn hand_written_opted_in(&self, job: u32) -> OpResult {
        let ctx = &self.ctx;
        let hand = &self.hand_opted_in;
        let start = Instant::now();
        let correlation_id = Uuid::new_v4();
        let started_id = ctx.emit(
            hand.started,
            Some(Correlation::new(correlation_id)),
            Payload::Started {
                operation: OPERATION_OPTED_IN,
                input: Input::summary(ARGS).value("job", Captured::of(&job)),
            },
        );
        let result: OpResult = async { Ok(black_box(job).wrapping_mul(2)) }.await;
        let execution_time_ms = start.elapsed().as_secs_f64() * 1000.0;
        let end = Some(Correlation {
            correlation_id,
            causation_id: Some(started_id),
        });
        match &result {
            Ok(value) => ctx.emit(
                hand.completed,
                end,
                Payload::Completed {
                    operation: OPERATION_OPTED_IN,
                    execution_time_ms,
                    result: ResultSummary {
                        ty: type_name::<u32>(),
                        value: Some(Captured::of(value)),
                    },
                },
            ),
            Err(e) => ctx.emit(
                hand.failed,
                end,
                Payload::Failed {
                    operation: OPERATION_OPTED_IN,
                    execution_time_ms,
                    error: ErrorInfo::from_error(type_name::<std::io::Error>(), e),
                },
            ),
        };
        result
    }
}

// ------------------------------------------------------------- executor --

/// Polls `fut` once; every bench body is ready on its first poll.
fn run_ready<F: Future>(fut: F) -> F::Output {
    let mut fut = pin!(fut);
    let mut cx = Context::from_waker(noop_waker_ref());
    match fut.as_mut().poll(&mut cx) {
        Poll::Ready(out) => out,
        Poll::Pending => panic!("a bench body waited"),
    }
}

// ---------------------------------------------------------------- cases --

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Unannotated,
    HandWritten,
    Macro,
    HandWrittenOptedIn,
    MacroOptedIn,
}

impl Kind {
    const ALL: [Kind; 5] = [
        Kind::Unannotated,
        Kind::HandWritten,
        Kind::Macro,
        Kind::HandWrittenOptedIn,
        Kind::MacroOptedIn,
    ];

    fn label(self) -> &'static str {
        match self {
            Kind::Unannotated => "unannotated",
            Kind::HandWritten => "hand-written",
            Kind::Macro => "#[onex_operation]",
            Kind::HandWrittenOptedIn => "hand-written+values",
            Kind::MacroOptedIn => "macro+values",
        }
    }
}

/// `iters` calls in a monomorphized loop; ns per call.
fn time_loop<F: Future<Output = OpResult>>(iters: u32, mut call: impl FnMut(u32) -> F) -> f64 {
    let start = Instant::now();
    for i in 0..iters {
        let out = run_ready(call(black_box(i)));
        black_box(&out);
    }
    start.elapsed().as_nanos() as f64 / f64::from(iters)
}

fn run_case(node: &Bench, kind: Kind, iters: u32) -> f64 {
    match kind {
        Kind::Unannotated => time_loop(iters, |i| node.unannotated(i)),
        Kind::HandWritten => time_loop(iters, |i| node.hand_written(i)),
        Kind::Macro => time_loop(iters, |i| node.annotated(i)),
        Kind::HandWrittenOptedIn => time_loop(iters, |i| node.hand_written_opted_in(i)),
        Kind::MacroOptedIn => time_loop(iters, |i| node.annotated_opted_in(i)),
    }
}

struct Case {
    sink: &'static str,
    kind: Kind,
    node_index: usize,
    samples: Vec<f64>,
}

impl Case {
    fn sorted(&self) -> Vec<f64> {
        let mut s = self.samples.clone();
        s.sort_by(f64::total_cmp);
        s
    }

    fn median(&self) -> f64 {
        let s = self.sorted();
        let n = s.len();
        if n % 2 == 1 {
            s[n / 2]
        } else {
            (s[n / 2 - 1] + s[n / 2]) / 2.0
        }
    }

    fn min(&self) -> f64 {
        self.sorted()[0]
    }
}

// ---------------------------------------------------------- equivalence --

/// The envelope with everything that differs between two runs blanked.
fn normalized(mut v: Value) -> Value {
    for key in ["event_id", "correlation_id", "event_timestamp"] {
        v[key] = Value::Null;
    }
    if v["metadata"].get("causation_id").is_some() {
        v["metadata"]["causation_id"] = Value::Null;
    }
    if v["payload"].get("execution_time_ms").is_some() {
        v["payload"]["execution_time_ms"] = Value::Null;
    }
    v
}

/// Checks that each hand-written version publishes the same envelopes as
/// its macro version (up to ids, timestamps and times) with the same
/// correlation and causation links; returns the JSON bytes of one
/// operation of each pair.
fn check_equivalence() -> [usize; 2] {
    let recorder = Recorder::new();
    let node = Bench::new(Publisher::new(recorder.clone()));
    [
        check_pair(&recorder, node.hand_written(21), node.annotated(21)),
        check_pair(
            &recorder,
            node.hand_written_opted_in(21),
            node.annotated_opted_in(21),
        ),
    ]
}

fn check_pair(
    recorder: &Recorder,
    hand_written: impl Future<Output = OpResult>,
    annotated: impl Future<Output = OpResult>,
) -> usize {
    assert_eq!(run_ready(hand_written).unwrap(), 42);
    let hand = recorder.take();
    assert_eq!(run_ready(annotated).unwrap(), 42);
    let annotated = recorder.take();
    assert_eq!(hand.len(), 2);
    assert_eq!(annotated.len(), 2);
    for events in [&hand, &annotated] {
        assert_eq!(events[0].correlation_id, events[1].correlation_id);
        assert_eq!(events[1].causation_id, Some(events[0].event_id));
        assert_eq!(events[0].causation_id, None);
    }
    for (h, a) in hand.iter().zip(&annotated) {
        assert_eq!(
            normalized(h.to_json()),
            normalized(a.to_json()),
            "hand-written and annotated envelopes differ"
        );
    }
    annotated
        .iter()
        .map(|e| e.to_json_string().unwrap().len())
        .sum()
}

// ----------------------------------------------------------------- main --

fn main() {
    let quick = std::env::args().any(|a| a == "--quick")
        || std::env::var_os("ONEX_BENCH_QUICK").is_some_and(|v| !v.is_empty() && v != "0");
    let (rounds, iters) = if quick { (3, 20_000) } else { (15, 200_000) };

    let [json_bytes, json_bytes_opted_in] = check_equivalence();

    let nodes = [
        Bench::new(Publisher::new(NoopSink)),
        Bench::new(Publisher::new(JsonSink)),
    ];
    let mut cases: Vec<Case> = [("noop", 0), ("json", 1)]
        .into_iter()
        .flat_map(|(sink, node_index)| {
            Kind::ALL.map(|kind| Case {
                sink,
                kind,
                node_index,
                samples: Vec::with_capacity(rounds),
            })
        })
        .collect();
    // `ONEX_BENCH_ONLY=json` (or `noop/hand`, …): only the matching cases,
    // e.g. under a profiler.
    if let Ok(only) = std::env::var("ONEX_BENCH_ONLY") {
        cases.retain(|c| format!("{}/{}", c.sink, c.kind.label()).contains(only.as_str()));
    }

    // Warm-up, one round not recorded: caches, branch predictors, the
    // allocator, the CPU's clock.
    for case in &cases {
        run_case(&nodes[case.node_index], case.kind, iters);
    }

    let total = Instant::now();
    for _ in 0..rounds {
        for case in &mut cases {
            let ns = run_case(&nodes[case.node_index], case.kind, iters);
            case.samples.push(ns);
        }
    }
    let total = total.elapsed();

    println!(
        "onex-events operation bench: {rounds} rounds x {iters} calls per case{} ({:.1} s)",
        if quick { " (--quick)" } else { "" },
        total.as_secs_f64()
    );
    println!(
        "one operation = 2 events (started + completed); {json_bytes} bytes of JSON, \
         {json_bytes_opted_in} with values\n"
    );
    println!(
        "{:<6} {:<19} {:>14} {:>11}",
        "sink", "case", "median ns/op", "min ns/op"
    );
    for case in &cases {
        println!(
            "{:<6} {:<19} {:>14.1} {:>11.1}",
            case.sink,
            case.kind.label(),
            case.median(),
            case.min()
        );
    }

    let stat = |sink: &str, kind: Kind| {
        cases
            .iter()
            .find(|c| c.sink == sink && c.kind == kind)
            .map(|c| (c.median(), c.min()))
    };
    if cases.len() < 2 * Kind::ALL.len() {
        return; // a filtered run: no ratios
    }
    let stat = |sink, kind| stat(sink, kind).unwrap_or((f64::NAN, f64::NAN));
    println!();
    let mut ok = true;
    for sink in ["noop", "json"] {
        let (base, base_min) = stat(sink, Kind::Unannotated);
        for (values, hand, mac) in [
            ("", Kind::HandWritten, Kind::Macro),
            ("+values", Kind::HandWrittenOptedIn, Kind::MacroOptedIn),
        ] {
            let (hand, hand_min) = stat(sink, hand);
            let (mac, mac_min) = stat(sink, mac);
            let ratio = mac / hand;
            let within = ratio <= 1.05;
            // The target is the plain pair's; with values, for information.
            if values.is_empty() {
                ok &= within;
            }
            println!(
                "{sink:<4}: macro/hand-written{values} {ratio:.3}x ({}; of mins {:.3}x), \
                 macro/unannotated {:.0}x ({:.0}x), macro overhead {:+.1} ns/call",
                match (values.is_empty(), within) {
                    (false, _) => "no target",
                    (true, true) => "<= 1.05x",
                    (true, false) => "ABOVE 1.05x",
                },
                mac_min / hand_min,
                mac / base,
                mac_min / base_min,
                mac - hand,
            );
        }
    }
    let (us, us_min) = stat("json", Kind::Macro);
    let (us, us_min) = (us / 1000.0, us_min / 1000.0);
    let within = us <= 2.0;
    ok &= within;
    println!(
        "json: macro {us:.3} µs per operation, 2 events built + serialized (min {us_min:.3}): {}",
        if within { "<= 2 µs" } else { "ABOVE 2 µs" }
    );
    println!(
        "targets (macro <= 1.05x hand-written, <= 2 µs/op with serialization): {}",
        if ok { "met" } else { "NOT met" }
    );
}
