//! Producer replacement: an idempotent producer whose cluster lost its
//! producer id retries forever, one with a fatal error fails every record,
//! and tansu fences one whose batch it refused; the delivery thread
//! replaces any of them with a new producer, moving the old one's records
//! to the new one in publish order.

use super::callbacks::ProducerCallbacks;
use super::dispatcher::Dispatcher;
use super::retry_buffer::Pending;
use super::stats::Counters;
use rdkafka::producer::{BaseProducer, Producer, PurgeConfig};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

impl Dispatcher {
    /// True when the producer hit a fatal error or had a batch refused, or
    /// its deliveries have failed for `recycle_after` with no success.
    pub(super) fn stuck(&self) -> bool {
        let state = &*self.state;
        if state.fatal.load(Ordering::Acquire) || state.batch_refused.load(Ordering::Acquire) {
            return true;
        }
        let since = state.failing_since.load(Ordering::Acquire);
        since != 0
            && Duration::from_nanos((state.now() as u64).saturating_sub(since)) > self.recycle_after
    }

    /// Replaces a stuck producer: an idempotent producer whose cluster lost
    /// its producer id (a broker that restarted empty) retries forever, one
    /// with a fatal error fails every record, and one that had a batch
    /// refused is fenced by tansu once it bumps its epoch. The old producer's records
    /// are purged into the retry buffer and sent again by the new one (a
    /// record purged in flight may have been written: consumers dedupe by
    /// event id). Events keep their publish order per key: those published
    /// meanwhile wait in the retry buffer behind the purged ones.
    pub(super) fn recycle(&self) {
        let state = &*self.state;
        let callbacks = ProducerCallbacks {
            state: Arc::clone(&self.state),
            single: false,
        };
        let new: BaseProducer<ProducerCallbacks> = match self
            .client_config
            .create_with_context(callbacks)
        {
            Ok(p) => p,
            Err(error) => {
                tracing::error!(target: "onex_events::kafka", %error, "cannot recreate the Kafka producer");
                state
                    .failing_since
                    .store(state.now() as u64, Ordering::Release);
                return;
            }
        };
        if state.batch_refused.swap(false, Ordering::AcqRel) {
            tracing::info!(
                target: "onex_events::kafka",
                "the broker refused a batch; replacing the producer, whose epoch it fences"
            );
        } else {
            tracing::warn!(
                target: "onex_events::kafka",
                after = ?self.recycle_after,
                "Kafka deliveries keep failing; replacing the producer"
            );
        }
        state.fatal.store(false, Ordering::Release);
        state.failing_since.store(0, Ordering::Release);
        let old = self.begin_replacement(new);
        self.finish_replacement(&old);
    }

    /// Swaps in `new`; from now on, new events go to the retry buffer.
    pub(super) fn begin_replacement(
        &self,
        new: BaseProducer<ProducerCallbacks>,
    ) -> Arc<BaseProducer<ProducerCallbacks>> {
        let state = &*self.state;
        state.replacing.store(true, Ordering::Release);
        state.retrying_add(1);
        // The hold is no event: not in the metric of the buffer either.
        Counters::unbuffered(1);
        let mut guard = self.producer.write().unwrap_or_else(|e| e.into_inner());
        std::mem::replace(&mut *guard, Arc::new(new))
    }

    /// Purges `old` and puts its records in the retry buffer, in front of
    /// the events published since `begin_replacement`, all in publish order.
    pub(super) fn finish_replacement(&self, old: &BaseProducer<ProducerCallbacks>) {
        let state = &*self.state;
        old.purge(PurgeConfig::default().queue().inflight());
        // Runs the purged records' callbacks, which collect them in `purged`.
        let _ = old.flush(Duration::from_secs(1));
        let purged = std::mem::take(&mut *state.purged.lock().unwrap_or_else(|e| e.into_inner()));
        {
            let mut q = state.lock_retry();
            let n = purged.len();
            let mut all: Vec<Pending> = purged.into_iter().chain(q.items.drain(..)).collect();
            // Stable: equal times keep the purged (older) records first.
            all.sort_by_key(|p| p.published_at);
            q.bytes += all.iter().take(n).map(Pending::size).sum::<usize>();
            q.items = all.into();
            state.retrying_add(n);
            state
                .counters
                .retried
                .fetch_add(n as u64, Ordering::Relaxed);
        }
        // Records still held by `old` (not purged within the flush) reach
        // the retry buffer's back when it is dropped.
        state.replacing.store(false, Ordering::Release);
        state.retrying_sub(1);
        Counters::buffered(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kafka::{test_event, DeliveryReport, KafkaConfig, TopicRouting};
    use crate::sink::kafka::KafkaSink;
    use crate::sink::{Sink, SinkError};
    use crate::EventType;
    use std::sync::Mutex;
    use std::time::Instant;
    use uuid::Uuid;

    /// Events of one key published before, during and after a producer
    /// replacement reach the cluster in publish order: the old producer's
    /// purged records go back in front of those published meanwhile.
    #[test]
    fn replacing_the_producer_keeps_the_order_of_one_key() {
        use rdkafka::mocking::MockCluster;
        use rdkafka::producer::DefaultProducerContext;

        let mock: MockCluster<'static, DefaultProducerContext> = MockCluster::new(1).unwrap();
        mock.create_topic("replaced", 1, 1).unwrap();
        let delivered = Arc::new(Mutex::new(Vec::new()));
        let config = {
            let delivered = Arc::clone(&delivered);
            KafkaConfig::new(mock.bootstrap_servers())
                .topics(TopicRouting::single("replaced"))
                .on_delivery(move |r: &DeliveryReport| {
                    assert!(r.outcome.is_delivered(), "{r:?}");
                    delivered.lock().unwrap().push(r.event_id);
                })
        };
        let sink = KafkaSink::new(config).unwrap();
        let event_type = EventType::parse("orchestrator.state.changed").unwrap();
        let correlation = Some(Uuid::new_v4());
        let mut ids = Vec::new();
        let mut publish = |n: usize| {
            for _ in 0..n {
                let mut event = test_event(event_type);
                event.correlation_id = correlation;
                ids.push(event.event_id);
                sink.publish(event);
            }
        };
        publish(5);
        sink.flush(Duration::from_secs(10)).unwrap();
        // Queued in the old producer: the broker is down.
        mock.broker_down(1).unwrap();
        publish(20);
        let dispatcher = &*sink.dispatcher;
        let callbacks = ProducerCallbacks {
            state: Arc::clone(&dispatcher.state),
            single: false,
        };
        let old = dispatcher.begin_replacement(
            dispatcher
                .client_config
                .create_with_context(callbacks)
                .unwrap(),
        );
        publish(20);
        dispatcher.finish_replacement(&old);
        drop(old);
        publish(20);
        mock.broker_up(1).unwrap();
        sink.flush(Duration::from_secs(30)).unwrap();
        let stats = sink.stats();
        assert_eq!(stats.delivered, 65, "{stats:?}");
        assert!(
            stats.retried >= 20,
            "the old producer's records were purged: {stats:?}"
        );
        assert_eq!(*delivered.lock().unwrap(), ids);
    }

    /// The window of `Dispatcher::recycle` between swapping the producer and
    /// purging the old one: the events are in neither the retry buffer nor
    /// the current producer, and `flush` must still wait for them.
    #[test]
    fn flush_waits_for_events_held_by_a_replaced_producer() {
        let reports = Arc::new(Mutex::new(Vec::new()));
        let config = {
            let reports = Arc::clone(&reports);
            // Nothing listens on port 1: the records stay queued.
            KafkaConfig::new("127.0.0.1:1").on_delivery(move |r: &DeliveryReport| {
                reports.lock().unwrap().push(r.event_id);
            })
        };
        let sink = KafkaSink::new(config).unwrap();
        let event_type = EventType::parse("orchestrator.state.changed").unwrap();
        for _ in 0..10 {
            sink.publish(test_event(event_type));
        }
        // All in the producer's queue (events published once the cluster
        // was known unreachable go there through the retry buffer).
        let deadline = Instant::now() + Duration::from_secs(5);
        while sink.stats().buffered > 0 {
            assert!(Instant::now() < deadline, "{:?}", sink.stats());
            std::thread::sleep(Duration::from_millis(5));
        }
        let dispatcher = &*sink.dispatcher;
        let callbacks = ProducerCallbacks {
            state: Arc::clone(&dispatcher.state),
            single: false,
        };
        let new = dispatcher
            .client_config
            .create_with_context(callbacks)
            .unwrap();
        let old = std::mem::replace(&mut *dispatcher.producer.write().unwrap(), Arc::new(new));
        assert_eq!(dispatcher.state.retrying.load(Ordering::Acquire), 0);

        let flushed = sink.flush(Duration::from_millis(300));
        assert!(
            matches!(flushed, Err(SinkError::Timeout { pending: 10, .. })),
            "{flushed:?}"
        );
        assert!(reports.lock().unwrap().is_empty());
        assert_eq!(sink.stats().pending(), 10);

        // Purged, the old producer's records go back to the retry buffer
        // and on to the new producer, still without an outcome.
        drop(old);
        assert_eq!(sink.stats().pending(), 10);
        assert!(sink.flush(Duration::from_millis(100)).is_err());
        assert!(reports.lock().unwrap().is_empty());
        drop(sink);
        assert_eq!(reports.lock().unwrap().len(), 10);
    }
}
