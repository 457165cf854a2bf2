//! The consumer's task: records in (none while the in-flight limit is
//! reached or a Kafka sink is backlogged), their handlers driven side by
//! side in this one task (one key at a time per partition), offsets stored
//! as records settle, and a graceful end.

use super::backpressure::Backpressure;
use super::context::{lock, store_settled};
use super::dead_letter::DeadLetters;
use super::fetched::{FetchedMessage, SharedConsumer};
use super::job::{Job, Unhandled, Work, Worker};
use super::lanes::Lanes;
use super::offsets::Offsets;
use super::shutdown::ShutdownSignal;
use super::stats::Counters;
use crate::consume::{
    FirstRun, HandlerSet, ReceivedEvent, ReceivedRecord, RecordHeaders, RecordParts,
};
use crate::kafka::rdkafka::consumer::{CommitMode, Consumer};
use crate::kafka::rdkafka::error::{KafkaError, RDKafkaErrorCode};
use crate::kafka::rdkafka::message::{BorrowedMessage, Headers, Message};
use futures_util::stream::{FuturesUnordered, StreamExt};
use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

/// How the task behaves.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub max_in_flight: usize,
    pub unhandled: Unhandled,
    pub shutdown_timeout: Duration,
    pub stats_interval: Duration,
    /// Hold while a Kafka sink is backlogged.
    pub sink_backpressure: bool,
}

/// Settled records between two stores of their offsets while records keep
/// coming (when none comes, offsets are stored at once).
const STORE_EVERY: u32 = 256;

/// How long the task runs at most without giving the runtime's thread back
/// (it gives it back whenever no record is ready), so that other tasks of
/// the runtime run meanwhile. Not more often: a yield also wakes an idle
/// worker of a multi-threaded runtime, which often takes the task over to
/// its own core, and yielding every 128 records cost more CPU per record
/// than the framework's own work (`benches/README.md`).
const RUN_BEFORE_YIELD: Duration = Duration::from_millis(10);

/// Steps between two looks at the clock.
const STEPS_BETWEEN_CLOCK_READS: u32 = 128;

/// What woke the task.
enum Step {
    /// A record (or a consumer error) came.
    Received(Result<ReceivedRecord, KafkaError>),
    /// A record's work is done.
    Done(Job),
    /// Time to log the stats.
    Tick,
    /// Nothing to do: store the settled offsets.
    Idle,
    /// Stop.
    Shutdown,
}

/// Runs until `shutdown` is requested, then ends gracefully: handlers in
/// hand get `settings.shutdown_timeout` to finish, what is settled is
/// stored and committed.
pub(crate) async fn run(
    consumer: &SharedConsumer,
    handlers: &HandlerSet,
    dead_letters: &DeadLetters,
    counters: &Counters,
    settings: &Settings,
    shutdown: &ShutdownSignal,
) {
    let offsets: &Mutex<Offsets> = &consumer.context().offsets;
    let worker = Worker {
        handlers,
        dead_letters,
        counters,
        unhandled: settings.unhandled,
    };
    let mut in_flight = FuturesUnordered::new();
    let mut lanes: Lanes<Job> = Lanes::default();
    // Records in hand: being handled, or waiting behind their key.
    let mut held = 0usize;
    let mut unstored = 0u32;
    let mut steps = 0u32;
    // Since when the task has run without giving the thread back; whether
    // it gave it back (waiting for a record) since the last look.
    let mut running_since = Instant::now();
    let mut waited = false;
    let mut stream = consumer.stream();
    let mut backpressure = Backpressure::default();
    let mut ticker = tokio::time::interval_at(
        tokio::time::Instant::now() + settings.stats_interval,
        settings.stats_interval,
    );
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);

    loop {
        if unstored >= STORE_EVERY {
            store(consumer, offsets, &mut unstored);
        }
        steps += 1;
        if steps >= STEPS_BETWEEN_CLOCK_READS {
            steps = 0;
            let now = Instant::now();
            if std::mem::take(&mut waited) {
                running_since = now;
            } else if now - running_since >= RUN_BEFORE_YIELD {
                YieldNow(false).await;
                running_since = Instant::now();
            }
        }
        let step = poll_fn(|cx| {
            if shutdown.is_requested() {
                return Poll::Ready(Step::Shutdown);
            }
            // Polled only when it holds a run: polling it registers the
            // waker, every time.
            if !in_flight.is_empty() {
                if let Poll::Ready(Some(job)) = in_flight.poll_next_unpin(cx) {
                    return Poll::Ready(Step::Done(job));
                }
            }
            if held < settings.max_in_flight
                && !(settings.sink_backpressure && backpressure.holds(cx))
            {
                // A record already fetched is held where librdkafka put
                // it; one that comes while this task waits is copied (it
                // borrows from the wait, not from a shared consumer).
                if let Some(received) = FetchedMessage::ready(consumer) {
                    return Poll::Ready(Step::Received(received.map(ReceivedRecord::fetched)));
                }
                if let Poll::Ready(Some(received)) = stream.poll_next_unpin(cx) {
                    return Poll::Ready(Step::Received(received.map(|m| copy(&m))));
                }
            }
            if ticker.poll_tick(cx).is_ready() {
                return Poll::Ready(Step::Tick);
            }
            if unstored > 0 {
                return Poll::Ready(Step::Idle);
            }
            if shutdown.poll_requested(cx) {
                return Poll::Ready(Step::Shutdown);
            }
            waited = true;
            Poll::Pending
        })
        .await;
        match step {
            Step::Received(Ok(record)) => {
                let decoded = ReceivedEvent::try_decode_as(record, handlers.payload_decoder());
                let (work, mut first) = match decoded {
                    Ok(event) => {
                        let routes = {
                            let mut routes = handlers.routes(event.event_type());
                            (routes.next(), routes.next())
                        };
                        match routes {
                            (None, _) if settings.unhandled == Unhandled::Skip => {
                                counters.skipped();
                                let mut offsets = lock(offsets);
                                held -= drop_revoked(&mut offsets, &mut lanes);
                                settle_at_once(&mut offsets, event.record());
                                unstored += 1;
                                continue;
                            }
                            // A lone handler with no record of its key
                            // before it (no lane busy) runs once at once;
                            // if it acknowledges, the record is settled as
                            // it is taken in hand.
                            (Some(route), None) if lanes.is_empty() => {
                                let event = Arc::new(event);
                                let first =
                                    poll_fn(|cx| Poll::Ready(worker.first_run(route, &event, cx)))
                                        .await;
                                let Some(first) = first else {
                                    let mut offsets = lock(offsets);
                                    held -= drop_revoked(&mut offsets, &mut lanes);
                                    settle_at_once(&mut offsets, event.record());
                                    unstored += 1;
                                    continue;
                                };
                                (Work::Handle(event), Some(first))
                            }
                            _ => (Work::Handle(Arc::new(event)), None),
                        }
                    }
                    Err(undecoded) => {
                        counters.malformed();
                        let undecoded = *undecoded;
                        (Work::Malformed(undecoded.record, undecoded.reason), None)
                    }
                };
                let mut job = {
                    let mut offsets = lock(offsets);
                    held -= drop_revoked(&mut offsets, &mut lanes);
                    take_in_hand(work, &mut offsets)
                };
                held += 1;
                // No lane is busy most of the time: the key is not hashed then.
                let busy = match lanes.is_empty() {
                    true => None,
                    false => job.key_lane().filter(|&lane| lanes.is_busy(lane)),
                };
                match busy {
                    Some(lane) => {
                        job.lane = Some(lane);
                        lanes.enqueue(lane, job);
                    }
                    None => {
                        let first = first.take().unwrap_or(FirstRun::NotStarted);
                        job.lane = job.key_lane();
                        let lane = job.lane;
                        // Polled once here: a handler that does not wait
                        // settles without a lane or a slot in `in_flight`.
                        let mut run = Box::pin(worker.run(job, first));
                        match poll_fn(|cx| Poll::Ready(run.as_mut().poll(cx))).await {
                            Poll::Ready(job) => {
                                held -= 1;
                                if lock(offsets).settle(job.partition, job.offset) {
                                    unstored += 1;
                                }
                            }
                            Poll::Pending => {
                                if let Some(lane) = lane {
                                    lanes.open(lane);
                                }
                                in_flight.push(run);
                            }
                        }
                    }
                }
            }
            Step::Received(Err(error)) => {
                tracing::warn!(%error, "Kafka consumer error");
            }
            Step::Done(job) => {
                held -= 1;
                if lock(offsets).settle(job.partition, job.offset) {
                    unstored += 1;
                }
                if let Some(next) = job.lane.and_then(|lane| lanes.finish(lane)) {
                    in_flight.push(Box::pin(worker.run(next, FirstRun::NotStarted)));
                }
            }
            Step::Idle => store(consumer, offsets, &mut unstored),
            Step::Tick => {
                store(consumer, offsets, &mut unstored);
                tracing::info!(in_hand = held, "consumer stats: {}", counters.snapshot());
            }
            Step::Shutdown => break,
        }
    }

    drop(stream);
    let running = in_flight.len();
    tracing::info!(
        running,
        waiting = lanes.waiting(),
        "consumer stopping: fetching stopped, letting running handlers finish"
    );
    let finish = async {
        while let Some(job) = in_flight.next().await {
            lock(offsets).settle(job.partition, job.offset);
        }
    };
    if tokio::time::timeout(settings.shutdown_timeout, finish)
        .await
        .is_err()
    {
        tracing::warn!(
            abandoned = in_flight.len(),
            timeout = ?settings.shutdown_timeout,
            "handlers still running at the shutdown timeout are dropped; their events will be delivered again"
        );
    }
    drop(in_flight);
    store(consumer, offsets, &mut unstored);
    match consumer.commit_consumer_state(CommitMode::Sync) {
        Ok(()) | Err(KafkaError::ConsumerCommit(RDKafkaErrorCode::NoOffset)) => {}
        Err(error) => tracing::warn!(%error, "final commit failed"),
    }
    tracing::info!("consumer stopped: {}", counters.snapshot());
}

/// Stores the settled offsets.
fn store(consumer: &SharedConsumer, offsets: &Mutex<Offsets>, unstored: &mut u32) {
    *unstored = 0;
    let mut offsets = lock(offsets);
    if offsets.has_settled() {
        store_settled(&**consumer, &mut offsets);
    }
}

/// Takes a record in hand: in `offsets` until settled.
fn take_in_hand(work: Work, offsets: &mut Offsets) -> Job {
    let record = work.record();
    let offset = record.offset();
    let partition = offsets.receive(record.topic(), record.partition(), offset);
    Job {
        partition,
        offset,
        lane: None,
        work,
    }
}

/// Takes `record` in hand and settles it: skipped, or handled at once.
fn settle_at_once(offsets: &mut Offsets, record: &ReceivedRecord) {
    let offset = record.offset();
    let partition = offsets.receive(record.topic(), record.partition(), offset);
    offsets.settle(partition, offset);
}

/// Forgets the records waiting behind their key in partitions revoked
/// since the last call; returns how many.
fn drop_revoked(offsets: &mut Offsets, lanes: &mut Lanes<Job>) -> usize {
    if !offsets.was_revoked() {
        return 0;
    }
    offsets
        .take_revoked()
        .into_iter()
        .map(|slot| lanes.drop_waiting(slot))
        .sum()
}

/// An owned copy of `message`.
fn copy(message: &BorrowedMessage<'_>) -> ReceivedRecord {
    let mut headers = RecordHeaders::default();
    if let Some(all) = message.headers() {
        headers = RecordHeaders::with_capacity(all.count(), 256);
        for h in all.iter() {
            headers.push(h.key, h.value);
        }
    }
    ReceivedRecord::from(RecordParts {
        topic: Arc::from(message.topic()),
        partition: message.partition(),
        offset: message.offset(),
        key: message.key().map(<[u8]>::to_vec),
        value: message.payload().map(<[u8]>::to_vec).unwrap_or_default(),
        headers,
    })
}

/// Gives the thread back to the runtime once.
struct YieldNow(bool);

impl Future for YieldNow {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            Poll::Ready(())
        } else {
            self.0 = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
}
