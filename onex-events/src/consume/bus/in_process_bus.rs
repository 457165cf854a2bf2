//! The bus itself: a [`Sink`] that records every event, queues it, and
//! delivers it to the handlers of the nodes subscribed when asked to
//! [`settle`](InProcessBus::settle).

use super::dead_letter::DeadLetter;
use super::record::RecordWriter;
use super::stats::BusStats;
use crate::consume::{
    settle, EventHandlers, HandlerSet, ReceivedEvent, RecordParts, Route, Settled, Undecoded,
};
use crate::envelope::Event;
use crate::publisher::Publisher;
use crate::sink::{Recorder, Sink};
use std::collections::VecDeque;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

/// How many records one [`InProcessBus::settle`] delivers at most before it
/// gives up: only a loop (a handler that publishes what it handles) gets
/// there.
const SETTLE_LIMIT: u64 = 100_000;

/// An in-process event bus for tests: nodes publish to it through
/// [`InProcessBus::publisher`], and [`InProcessBus::settle`] delivers each
/// event to the handlers of the nodes [subscribed](InProcessBus::subscribe),
/// the way a Kafka consumer would, until nothing is left.
///
/// - Every event published is recorded in order, as by a [`Recorder`]
///   ([`InProcessBus::recorder`], [`InProcessBus::event_types`]), for the
///   same exact-sequence assertions.
/// - Delivery goes through the consumer's own path: each event is written
///   as its record (with the `kafka` feature the very record the Kafka sink
///   writes: topic under the routing, key, envelope JSON and CloudEvents
///   headers; without it the event type as topic and no headers), on
///   partition 0 at an offset that counts the records published, read back
///   with [`ReceivedEvent::try_decode`] and run with [`settle`]: retries with
///   backoff, the time limit, panics caught.
/// - An event a handler gives up on (or whose payload does not decode, or
///   a record that is not an envelope) becomes a [`DeadLetter`].
/// - Publishing only queues the event ([`Sink::blocking`] is `Never`), so a
///   handler may publish freely; `settle` delivers those events too, in
///   publish order, one handler at a time (each node that handles an event
///   type gets the event, in subscription order). A handler that waits for
///   another handler's reaction would wait forever: nothing runs beside it.
///
/// `settle` needs a Tokio runtime with its timer (`#[tokio::test]`), for
/// the backoff and time limits. [`Sink::flush`] delivers nothing (it
/// returns at once): `settle` does. Clones share one bus.
///
/// ```
/// use onex_events::consume::{InProcessBus, Incoming};
/// use onex_events::{onex_node, NodeContext, OnexNode};
/// use std::sync::{Arc, Mutex};
///
/// #[derive(OnexNode)]
/// struct Orchestrator {
///     ctx: NodeContext,
/// }
///
/// #[onex_node("orchestrator")]
/// impl Orchestrator {
///     #[onex_operation("orchestration")]
///     async fn orchestrate(&self) -> Result<(), std::io::Error> {
///         Ok(())
///     }
/// }
///
/// #[derive(OnexNode)]
/// struct Effect {
///     ctx: NodeContext,
///     executed: Mutex<u32>,
/// }
///
/// #[onex_node("effect")]
/// impl Effect {
///     #[onex_handler("orchestrator.orchestration.completed")]
///     async fn execute_intent(&self, _event: Incoming<serde_json::Value>) -> Result<(), std::io::Error> {
///         *self.executed.lock().unwrap() += 1;
///         self.ctx.state_changed("idle", "executed", "intent executed");
///         Ok(())
///     }
/// }
///
/// # let rt = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
/// # rt.block_on(async {
/// let bus = InProcessBus::new();
/// let orchestrator = Orchestrator {
///     ctx: NodeContext::builder::<Orchestrator>().node_id("orchestrator-1").publisher(bus.publisher()).build().unwrap(),
/// };
/// let effect = Arc::new(Effect {
///     ctx: NodeContext::builder::<Effect>().node_id("effect-1").publisher(bus.publisher()).build().unwrap(),
///     executed: Mutex::new(0),
/// });
/// bus.subscribe(Arc::clone(&effect));
///
/// orchestrator.orchestrate().await.unwrap();
/// bus.settle().await;
///
/// assert_eq!(
///     bus.event_types(),
///     [
///         "orchestrator.orchestration.started",
///         "orchestrator.orchestration.completed",
///         "effect.execute_intent.started",
///         "effect.state.changed",
///         "effect.execute_intent.completed",
///     ]
/// );
/// assert_eq!(*effect.executed.lock().unwrap(), 1);
/// assert!(bus.dead_letters().is_empty());
/// # });
/// ```
#[derive(Clone)]
pub struct InProcessBus {
    state: Arc<BusState>,
}

struct BusState {
    recorder: Recorder,
    queue: Mutex<Queue>,
    /// One handler set per node subscribed, in order: a snapshot is taken
    /// per record, so a node may subscribe while handlers run.
    nodes: Mutex<Vec<Arc<HandlerSet>>>,
    writer: Mutex<RecordWriter>,
    dead_letters: Mutex<Vec<DeadLetter>>,
    stats: Mutex<BusStats>,
}

#[derive(Default)]
struct Queue {
    records: VecDeque<Queued>,
    /// The offset of the next record published.
    next_offset: i64,
}

enum Queued {
    Event { event: Event, offset: i64 },
    Record(RecordParts),
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Default for InProcessBus {
    fn default() -> Self {
        InProcessBus::new()
    }
}

impl InProcessBus {
    /// An empty bus with no node subscribed; with the `kafka` feature its
    /// records' topics follow the default `kafka::TopicRouting`.
    pub fn new() -> Self {
        #[cfg(feature = "kafka")]
        let writer = RecordWriter::new(crate::kafka::TopicRouting::default());
        #[cfg(not(feature = "kafka"))]
        let writer = RecordWriter::new();
        InProcessBus {
            state: Arc::new(BusState {
                recorder: Recorder::new(),
                queue: Mutex::default(),
                nodes: Mutex::default(),
                writer: Mutex::new(writer),
                dead_letters: Mutex::default(),
                stats: Mutex::default(),
            }),
        }
    }

    /// The bus with its records' topics under `routing`, as a Kafka sink
    /// with that routing would write them.
    #[cfg(feature = "kafka")]
    pub fn with_routing(self, routing: crate::kafka::TopicRouting) -> Self {
        *lock(&self.state.writer) = RecordWriter::new(routing);
        self
    }

    /// A publisher onto this bus, for the nodes' contexts.
    pub fn publisher(&self) -> Publisher {
        Publisher::new(self.clone())
    }

    /// Adds the handlers of `node`: from now on, `settle` gives it every
    /// event one of its handlers takes.
    pub fn subscribe<N: EventHandlers>(&self, node: Arc<N>) -> &Self {
        let mut handlers = HandlerSet::new();
        handlers.add(node);
        lock(&self.state.nodes).push(Arc::new(handlers));
        self
    }

    /// Queues a raw record, e.g. one that is not an OnexEnvelopeV1, as if a
    /// consumer had read it; its partition and offset are the bus's. It is
    /// not recorded (it is no event).
    pub fn publish_record(&self, mut record: RecordParts) {
        let mut queue = lock(&self.state.queue);
        record.partition = 0;
        record.offset = queue.next_offset;
        queue.next_offset += 1;
        queue.records.push_back(Queued::Record(record));
    }

    /// Delivers every queued event to its handlers, and the events they
    /// publish in turn, until none is left. Stops after 100,000 records in
    /// one call, logging an error, as only a loop gets there (a handler
    /// publishing an event it handles, say a catch-all that sees its own
    /// lifecycle events); what is left stays queued.
    pub async fn settle(&self) {
        let mut delivered = 0;
        while let Some(queued) = self.next() {
            delivered += 1;
            if delivered > SETTLE_LIMIT {
                tracing::error!(
                    limit = SETTLE_LIMIT,
                    "the in-process bus delivered {SETTLE_LIMIT} records without running out: a handler publishes events it handles; stopping"
                );
                lock(&self.state.queue).records.push_front(queued);
                return;
            }
            self.deliver(queued).await;
        }
    }

    fn next(&self) -> Option<Queued> {
        lock(&self.state.queue).records.pop_front()
    }

    async fn deliver(&self, queued: Queued) {
        lock(&self.state.stats).delivered += 1;
        let (event, record) = match queued {
            Queued::Event { event, offset } => {
                let written = lock(&self.state.writer).write(&event, offset);
                match written {
                    Ok(record) => (Some(event), record),
                    Err(message) => {
                        let record = RecordParts {
                            offset,
                            ..RecordParts::default()
                        };
                        let error_type = "unserializable_envelope";
                        lock(&self.state.stats).malformed += 1;
                        return self.dead_letter(Some(event), record, None, error_type, message, 0);
                    }
                }
            }
            Queued::Record(record) => (None, record),
        };
        let received = match ReceivedEvent::try_decode(record) {
            Ok(received) => Arc::new(received),
            Err(undecoded) => {
                let Undecoded { reason, record } = *undecoded;
                let message = reason.to_string();
                lock(&self.state.stats).malformed += 1;
                return self.dead_letter(
                    event,
                    record.into_parts(),
                    None,
                    "malformed_event",
                    message,
                    0,
                );
            }
        };
        let nodes = lock(&self.state.nodes).clone();
        let mut routed = false;
        for handlers in &nodes {
            for route in handlers.routes(received.event_type()) {
                routed = true;
                self.run(route, &received, event.as_ref()).await;
            }
        }
        if !routed {
            lock(&self.state.stats).skipped += 1;
            tracing::debug!(
                event_type = received.event_type(),
                "no handler on the in-process bus takes this event; skipped"
            );
        }
    }

    async fn run(&self, route: Route<'_>, received: &Arc<ReceivedEvent>, event: Option<&Event>) {
        let settled = settle(route, received, |attempt, error| {
            lock(&self.state.stats).retried += 1;
            tracing::debug!(
                handler = ?route,
                attempt,
                error = %error.message,
                "handler failed; running it again"
            );
        })
        .await;
        match settled {
            Settled::Acknowledged { .. } => lock(&self.state.stats).handled += 1,
            Settled::Failed { attempts, failure } => {
                lock(&self.state.stats).failed += 1;
                self.dead_letter(
                    event.cloned(),
                    received.record().to_parts(),
                    Some(format!("{}.{}", route.node_type(), route.spec().name)),
                    failure.error_type(),
                    failure.message(),
                    attempts,
                );
            }
        }
    }

    fn dead_letter(
        &self,
        event: Option<Event>,
        record: RecordParts,
        handler: Option<String>,
        error_type: &str,
        message: String,
        attempts: u32,
    ) {
        tracing::warn!(
            handler = handler.as_deref().unwrap_or("none"),
            error_type,
            error = %message,
            attempts,
            topic = %record.topic,
            offset = record.offset,
            "event dead-lettered on the in-process bus"
        );
        lock(&self.state.stats).dead_lettered += 1;
        lock(&self.state.dead_letters).push(DeadLetter {
            event,
            record,
            handler,
            error_type: error_type.to_owned(),
            message,
            attempts,
        });
    }

    /// The record of every event published, in order.
    pub fn recorder(&self) -> &Recorder {
        &self.state.recorder
    }

    /// Every event published so far, in order (handled or not).
    pub fn events(&self) -> Vec<Event> {
        self.state.recorder.events()
    }

    /// The types of the events published so far, in order.
    pub fn event_types(&self) -> Vec<&'static str> {
        self.state.recorder.event_types()
    }

    /// The dead letters so far, in order.
    pub fn dead_letters(&self) -> Vec<DeadLetter> {
        lock(&self.state.dead_letters).clone()
    }

    /// Removes and returns the dead letters so far.
    pub fn take_dead_letters(&self) -> Vec<DeadLetter> {
        std::mem::take(&mut *lock(&self.state.dead_letters))
    }

    /// Records published and not yet delivered.
    pub fn pending(&self) -> usize {
        lock(&self.state.queue).records.len()
    }

    /// What the bus has done so far.
    pub fn stats(&self) -> BusStats {
        *lock(&self.state.stats)
    }
}

impl Sink for InProcessBus {
    /// Records `event` and queues it for [`InProcessBus::settle`].
    fn publish(&self, event: Event) {
        let mut queue = lock(&self.state.queue);
        // Under the queue's lock, so that records and offsets agree.
        self.state.recorder.publish(event.clone());
        let offset = queue.next_offset;
        queue.next_offset += 1;
        queue.records.push_back(Queued::Event { event, offset });
    }

    fn name(&self) -> &'static str {
        "in_process_bus"
    }
}

impl fmt::Debug for InProcessBus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InProcessBus")
            .field("nodes", &*lock(&self.state.nodes))
            .field("pending", &self.pending())
            .field("stats", &self.stats())
            .finish()
    }
}
