//! The consumer's librdkafka context: its log to `tracing`, what is settled
//! stored and committed before partitions are revoked, and the lag of each
//! partition from librdkafka's statistics.

use super::offsets::Offsets;
use super::stats::Counters;
use crate::kafka::forward_librdkafka_log;
use crate::kafka::rdkafka::client::ClientContext;
use crate::kafka::rdkafka::config::RDKafkaLogLevel;
use crate::kafka::rdkafka::consumer::{
    BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance,
};
use crate::kafka::rdkafka::error::{KafkaError, KafkaResult, RDKafkaErrorCode};
use crate::kafka::rdkafka::statistics::Statistics;
use crate::kafka::rdkafka::{Offset, TopicPartitionList};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

/// The context of an [`EventConsumer`](super::EventConsumer)'s client.
pub(crate) struct GroupContext {
    pub offsets: Arc<Mutex<Offsets>>,
    pub counters: Arc<Counters>,
}

impl GroupContext {
    /// The offsets, even if a panic poisoned their lock (their state is
    /// updated in single steps that leave it consistent).
    pub fn offsets(&self) -> MutexGuard<'_, Offsets> {
        lock(&self.offsets)
    }
}

/// `mutex`'s guard, poisoned or not.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Stores the settled offset of every partition whose settled offset
/// moved, for the next commit: one call for them all.
pub(crate) fn store_settled<C: ConsumerContext>(
    consumer: &impl Consumer<C>,
    offsets: &mut Offsets,
) {
    let mut settled = TopicPartitionList::new();
    offsets.store_settled(|topic, partition, offset| {
        // The offset to store is that of the next record to read.
        if let Err(error) = settled.add_partition_offset(topic, partition, Offset::Offset(offset)) {
            tracing::debug!(topic, partition, offset, %error, "offset not stored");
        }
    });
    if settled.count() == 0 {
        return;
    }
    if let Err(error) = consumer.store_offsets(&settled) {
        // A partition was revoked meanwhile: its next owner reads its
        // records from the last commit again.
        tracing::debug!(%error, ?settled, "offsets not all stored");
    }
}

impl ClientContext for GroupContext {
    fn log(&self, level: RDKafkaLogLevel, fac: &str, message: &str) {
        forward_librdkafka_log(level, fac, message);
    }

    fn error(&self, error: KafkaError, reason: &str) {
        tracing::warn!(target: "librdkafka", %error, reason, "Kafka client error");
    }

    fn stats(&self, statistics: Statistics) {
        let mut lag = BTreeMap::new();
        for (name, topic) in &statistics.topics {
            for (&partition, p) in &topic.partitions {
                if partition < 0 || !p.desired {
                    continue;
                }
                let behind = if p.consumer_lag_stored >= 0 {
                    p.consumer_lag_stored
                } else {
                    p.consumer_lag
                };
                if behind >= 0 {
                    lag.insert((name.clone(), partition), behind);
                }
            }
        }
        self.counters.set_lag(lag);
    }
}

impl ConsumerContext for GroupContext {
    fn pre_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        match rebalance {
            Rebalance::Revoke(partitions) => self.revoke(consumer, partitions),
            Rebalance::Assign(partitions) => {
                tracing::info!(partitions = partitions.count(), "partitions assigned");
            }
            Rebalance::Error(error) => tracing::warn!(%error, "rebalance failed"),
        }
    }

    fn commit_callback(&self, result: KafkaResult<()>, _offsets: &TopicPartitionList) {
        match result {
            Ok(()) | Err(KafkaError::ConsumerCommit(RDKafkaErrorCode::NoOffset)) => {}
            Err(error) => tracing::warn!(%error, "offset commit failed; retried with the next"),
        }
    }
}

impl GroupContext {
    /// Before `partitions` are taken away: stores what is settled, commits
    /// it, and forgets the records in hand of those partitions (their next
    /// owner reads them again).
    fn revoke(&self, consumer: &BaseConsumer<Self>, partitions: &TopicPartitionList) {
        let mut offsets = self.offsets();
        store_settled(consumer, &mut offsets);
        if !consumer.assignment_lost() {
            match consumer.commit_consumer_state(CommitMode::Sync) {
                Ok(()) | Err(KafkaError::ConsumerCommit(RDKafkaErrorCode::NoOffset)) => {}
                Err(error) => tracing::warn!(%error, "commit before revocation failed"),
            }
        }
        for p in partitions.elements() {
            offsets.revoke(p.topic(), p.partition());
        }
        tracing::info!(partitions = partitions.count(), "partitions revoked");
    }
}
