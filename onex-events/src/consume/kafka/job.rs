//! One record's work: its handlers run until they settle, or the record
//! goes to the dead-letter topic.

use super::dead_letter::{Cause, DeadLetters};
use super::lanes::Lane;
use super::offsets::PartitionRef;
use super::stats::Counters;
use crate::consume::{
    first_run, settle_after, FirstRun, HandlerSet, MalformedEvent, ReceivedEvent, ReceivedRecord,
    Route, Settled,
};
use std::sync::Arc;
use std::task::Context;

/// What to do with an event no handler takes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Unhandled {
    /// Skip it: its offset is committed like a handled one's (the default).
    #[default]
    Skip,
    /// Send it to the dead-letter topic.
    DeadLetter,
}

/// A record in hand.
#[derive(Debug)]
pub(crate) struct Job {
    /// Its partition, as assigned when it came.
    pub partition: PartitionRef,
    /// Its offset.
    pub offset: i64,
    /// The lane of its key, once it has one: set by the consumer's loop
    /// when the record waits behind its key or runs on past one poll
    /// (a record handled at once needs none).
    pub lane: Option<Lane>,
    /// What to do with it.
    pub work: Work,
}

impl Job {
    /// The lane of the record's key; `None` for a record without a key (no
    /// order to keep).
    pub fn key_lane(&self) -> Option<Lane> {
        let key = self.work.record().key()?;
        Some(Lane::of(self.partition.index, key))
    }
}

/// What to do with a record.
#[derive(Debug)]
pub(crate) enum Work {
    /// Run the handlers of its event type (none: skip or dead-letter it).
    Handle(Arc<ReceivedEvent>),
    /// Dead-letter it: it is not an envelope.
    Malformed(ReceivedRecord, MalformedEvent),
}

impl Work {
    /// The record.
    pub fn record(&self) -> &ReceivedRecord {
        match self {
            Work::Handle(event) => event.record(),
            Work::Malformed(record, _) => record,
        }
    }
}

/// What runs jobs: the handlers, the dead-letter producer, the counters.
pub(crate) struct Worker<'a> {
    pub handlers: &'a HandlerSet,
    pub dead_letters: &'a DeadLetters,
    pub counters: &'a Counters,
    pub unhandled: Unhandled,
}

impl Worker<'_> {
    /// The fast path: starts `route`, the only handler of `event`, and
    /// polls it once. `None`: it acknowledged, the record is handled; else
    /// [`Worker::run`] takes it on from there.
    pub fn first_run(
        &self,
        route: Route<'_>,
        event: &Arc<ReceivedEvent>,
        cx: &mut Context<'_>,
    ) -> Option<FirstRun> {
        let first = first_run(route, event, cx);
        if first.is_none() {
            self.counters.handled(route);
        }
        first
    }

    /// Does `job`'s work to the end — every handler settled, every dead
    /// letter acknowledged — and gives the job back.
    /// Its first handler's first run is taken on from `first`.
    pub async fn run(&self, job: Job, first: FirstRun) -> Job {
        match &job.work {
            Work::Handle(event) => self.handle(event, first).await,
            Work::Malformed(record, reason) => {
                self.dead_letter(record, Cause::Malformed(reason)).await
            }
        }
        job
    }

    async fn handle(&self, event: &Arc<ReceivedEvent>, mut first: FirstRun) {
        let mut routes = self.handlers.routes(event.event_type()).peekable();
        if routes.peek().is_none() {
            match self.unhandled {
                Unhandled::Skip => self.counters.skipped(),
                Unhandled::DeadLetter => {
                    let cause = Cause::Unhandled(event.event_type());
                    self.dead_letter(event.record(), cause).await;
                }
            }
            return;
        }
        for route in routes {
            let first = std::mem::replace(&mut first, FirstRun::NotStarted);
            let settled = settle_after(route, event, first, |attempt, error| {
                self.counters.retried(route);
                tracing::debug!(
                    handler = ?route,
                    event_id = %event.event_id(),
                    attempt,
                    error_type = %error.error_type,
                    error = %error.message,
                    "handler failed; running it again"
                );
            })
            .await;
            match settled {
                Settled::Acknowledged { .. } => self.counters.handled(route),
                Settled::Failed { attempts, failure } => {
                    self.counters.failed(route);
                    let handler = format!("{}.{}", route.node_type(), route.spec().name);
                    let cause = Cause::Handler {
                        handler,
                        attempts,
                        failure: &failure,
                    };
                    self.dead_letter(event.record(), cause).await;
                }
            }
        }
    }

    async fn dead_letter(&self, record: &ReceivedRecord, cause: Cause<'_>) {
        let reason = cause.reason();
        self.dead_letters.send(record, cause).await;
        self.counters.dead_lettered(reason);
    }
}
