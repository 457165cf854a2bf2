//! Reprocessing: the records of a dead-letter topic moved back to their
//! original topic (or another), with their key, value and original headers.

use crate::kafka::headers::{DEAD_LETTER_PREFIX, DEAD_LETTER_TOPIC};
use crate::kafka::rdkafka::client::ClientContext;
use crate::kafka::rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use crate::kafka::rdkafka::error::KafkaError;
use crate::kafka::rdkafka::message::{
    BorrowedMessage, DeliveryResult, Header, Headers, Message, OwnedHeaders,
};
use crate::kafka::rdkafka::producer::{BaseProducer, BaseRecord, Producer, ProducerContext};
use crate::kafka::rdkafka::{Offset, TopicPartitionList};
use crate::kafka::{
    check_topic, forward_librdkafka_log, is_queue_full, KafkaConfig, KafkaConfigError,
    TracingContext,
};
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// What to reprocess, and how.
///
/// ```
/// use onex_events::consume::kafka::ReprocessOptions;
///
/// let mut options = ReprocessOptions::new("onex.svc.orchestrator.orchestration.v1.dlq");
/// options.limit = Some(100);
/// options.dry_run = true;
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ReprocessOptions {
    /// The dead-letter topic to read.
    pub dead_letter_topic: String,
    /// Where to move the records; default: each one's original topic (its
    /// `onex_dead_letter_topic` header).
    pub to: Option<String>,
    /// Move at most this many records.
    pub limit: Option<u64>,
    /// Count what would move, and move nothing.
    pub dry_run: bool,
    /// The consumer group whose committed offsets say where the previous
    /// run stopped; default `<dead_letter_topic>.reprocess`.
    pub group: Option<String>,
    /// The longest wait for the cluster (metadata, the next record, the
    /// acknowledgements) before giving up; default 30 s.
    pub timeout: Duration,
}

impl ReprocessOptions {
    /// Every record of `dead_letter_topic` back to its original topic.
    pub fn new(dead_letter_topic: impl Into<String>) -> Self {
        ReprocessOptions {
            dead_letter_topic: dead_letter_topic.into(),
            to: None,
            limit: None,
            dry_run: false,
            group: None,
            timeout: Duration::from_secs(30),
        }
    }

    fn group(&self) -> String {
        self.group
            .clone()
            .unwrap_or_else(|| format!("{}.reprocess", self.dead_letter_topic))
    }
}

/// What a reprocessing run moved.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReprocessReport {
    /// Records moved (with `dry_run`: that would move).
    pub moved: u64,
    /// Records moved, per target topic.
    pub per_target: BTreeMap<String, u64>,
    /// Records left where they are, per reason (e.g. no original-topic
    /// header). They are not read again by the next run.
    pub skipped: BTreeMap<&'static str, u64>,
    /// Records the target topic did not acknowledge: the next run reads
    /// them (and those after them) again.
    pub failed: u64,
    /// True if nothing was moved on purpose.
    pub dry_run: bool,
}

/// Reprocessing could not run to the end.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReprocessError {
    /// The configuration, or a topic name of the options, cannot be used.
    #[error(transparent)]
    Config(#[from] KafkaConfigError),
    /// The dead-letter topic does not exist.
    #[error("topic {0:?} does not exist")]
    NoSuchTopic(String),
    /// A Kafka client call failed.
    #[error("Kafka: {0}")]
    Kafka(#[from] KafkaError),
    /// The cluster did not answer within the timeout; what was moved
    /// before is committed.
    #[error("the cluster did not answer within {timeout:?}; moved so far: {}", report.moved)]
    Timeout {
        /// The timeout.
        timeout: Duration,
        /// What was moved before.
        report: ReprocessReport,
    },
}

/// Moves the records of a dead-letter topic back to their original topic
/// (or to `options.to`): each with its key, its value (the event, with its
/// `event_id`) and its headers, without the `onex_dead_letter_*` ones. It
/// reads from where the previous run of its group stopped to the end the
/// topic had when it started, and commits after the moved records were
/// acknowledged, so a second run does not move them again.
///
/// Blocking: in async code, call it from `tokio::task::spawn_blocking`.
///
/// ```no_run
/// use onex_events::consume::kafka::{reprocess, ReprocessOptions};
/// use onex_events::KafkaConfig;
///
/// let config = KafkaConfig::new("127.0.0.1:9092");
/// let mut options = ReprocessOptions::new("onex.svc.orchestrator.orchestration.v1.dlq");
/// options.dry_run = true;
/// let would = reprocess(&config, &options)?;
/// println!("would move {} records: {:?}", would.moved, would.per_target);
/// options.dry_run = false;
/// let moved = reprocess(&config, &options)?;
/// println!("moved {}", moved.moved);
/// # Ok::<(), onex_events::consume::kafka::ReprocessError>(())
/// ```
pub fn reprocess(
    config: &KafkaConfig,
    options: &ReprocessOptions,
) -> Result<ReprocessReport, ReprocessError> {
    reprocess_with_progress(config, options, |_| {})
}

/// How far a reprocessing run got: records read of the dead-letter
/// topic, out of those it had to read when the run started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReprocessProgress {
    /// Records read so far (moved or skipped).
    pub read: u64,
    /// Records to read: from where the previous run stopped to the end.
    pub total: u64,
}

/// [`reprocess`], calling `on_progress` once the partitions are known and
/// after each record read: for a progress bar.
pub fn reprocess_with_progress(
    config: &KafkaConfig,
    options: &ReprocessOptions,
    mut on_progress: impl FnMut(ReprocessProgress),
) -> Result<ReprocessReport, ReprocessError> {
    config.validate()?;
    for topic in std::iter::once(&options.dead_letter_topic).chain(&options.to) {
        check_topic(topic).map_err(|reason| KafkaConfigError::InvalidTopic {
            topic: topic.clone(),
            reason,
        })?;
    }
    let dlq = options.dead_letter_topic.as_str();
    let consumer: BaseConsumer<TracingContext> = config
        .reader_client_config(&options.group())
        .create_with_context(TracingContext)?;
    let mut positions = Positions::read(&consumer, dlq, options.timeout)?;
    let mut progress = ReprocessProgress {
        read: 0,
        total: positions.to_read(),
    };
    on_progress(progress);
    let producer: Option<BaseProducer<Tally>> = if options.dry_run {
        None
    } else {
        Some(
            config
                .producer_client_config()
                .create_with_context(Tally::default())?,
        )
    };
    let mut report = ReprocessReport {
        dry_run: options.dry_run,
        ..ReprocessReport::default()
    };
    let mut sent: Vec<(i32, i64, String)> = Vec::new();
    let mut last_record = Instant::now();
    let mut timed_out = false;
    while !positions.done() && options.limit.is_none_or(|limit| report.moved < limit) {
        let Some(polled) = consumer.poll(Duration::from_millis(100)) else {
            if last_record.elapsed() > options.timeout {
                timed_out = true;
                break;
            }
            continue;
        };
        last_record = Instant::now();
        let message = match polled {
            Ok(message) => message,
            Err(KafkaError::PartitionEOF(partition)) => {
                // The end of what the partition holds now: done, if it is
                // past the end it had at the start.
                if let Ok(position) = consumer.position() {
                    if let Some(Offset::Offset(next)) =
                        position.find_partition(dlq, partition).map(|e| e.offset())
                    {
                        positions.reached(partition, next);
                    }
                }
                continue;
            }
            Err(error) => {
                tracing::warn!(%error, "reading the dead-letter topic");
                continue;
            }
        };
        if !positions.take(message.partition(), message.offset()) {
            continue;
        }
        progress.read += 1;
        on_progress(progress);
        let target = match target(&message, options) {
            Ok(target) => target,
            Err(reason) => {
                *report.skipped.entry(reason).or_default() += 1;
                continue;
            }
        };
        report.moved += 1;
        *report.per_target.entry(target.clone()).or_default() += 1;
        if let Some(producer) = &producer {
            send(producer, &message, &target, sent.len())?;
            sent.push((message.partition(), message.offset(), target));
        }
    }
    if let Some(producer) = &producer {
        if let Err(error) = producer.flush(options.timeout) {
            tracing::warn!(%error, "not every moved record was acknowledged in time");
        }
        let failures = producer.context().failures();
        for (index, error) in &failures {
            let (partition, offset, target) = &sent[*index];
            tracing::error!(partition, offset, %target, %error, "record not moved");
            positions.failed(*partition, *offset);
        }
        // Unacknowledged records count as failed too.
        let acknowledged = producer.context().count();
        let failed = sent.len() - acknowledged + failures.len();
        report.failed = failed as u64;
        report.moved -= report.failed;
        for &(index, _) in &failures {
            if let Some(n) = report.per_target.get_mut(&sent[index].2) {
                *n -= 1;
            }
        }
        if acknowledged == sent.len() {
            positions.commit(&consumer)?;
        } else {
            tracing::error!("some moved records were not acknowledged: nothing committed, the next run moves them again");
        }
    }
    if timed_out {
        return Err(ReprocessError::Timeout {
            timeout: options.timeout,
            report,
        });
    }
    tracing::info!(
        dead_letter_topic = dlq,
        moved = report.moved,
        skipped = report.skipped.values().sum::<u64>(),
        failed = report.failed,
        dry_run = report.dry_run,
        "dead letters reprocessed"
    );
    Ok(report)
}

/// Where a dead letter goes, or why it stays.
fn target(
    message: &BorrowedMessage<'_>,
    options: &ReprocessOptions,
) -> Result<String, &'static str> {
    let target = match &options.to {
        Some(to) => to.clone(),
        None => message
            .headers()
            .and_then(|h| h.iter().find(|h| h.key == DEAD_LETTER_TOPIC))
            .and_then(|h| h.value)
            .and_then(|v| std::str::from_utf8(v).ok())
            .ok_or("no original topic header")?
            .to_owned(),
    };
    if target == options.dead_letter_topic {
        return Err("the target is the dead-letter topic");
    }
    check_topic(&target).map_err(|_| "the original topic is not a valid name")?;
    Ok(target)
}

/// Sends `message` to `target` without its dead-letter headers.
fn send(
    producer: &BaseProducer<Tally>,
    message: &BorrowedMessage<'_>,
    target: &str,
    index: usize,
) -> Result<(), KafkaError> {
    let mut headers = OwnedHeaders::new();
    if let Some(original) = message.headers() {
        for h in original.iter() {
            if !h.key.starts_with(DEAD_LETTER_PREFIX) {
                headers = headers.insert(Header {
                    key: h.key,
                    value: h.value,
                });
            }
        }
    }
    let payload = message.payload().unwrap_or_default();
    let mut record = BaseRecord::<[u8], [u8], usize>::with_opaque_to(target, index)
        .payload(payload)
        .headers(headers);
    if let Some(key) = message.key() {
        record = record.key(key);
    }
    loop {
        match producer.send(record) {
            Ok(()) => {
                producer.poll(Duration::ZERO);
                return Ok(());
            }
            Err((error, back)) if is_queue_full(&error) => {
                producer.poll(Duration::from_millis(100));
                record = back;
            }
            Err((error, _)) => return Err(error),
        }
    }
}

/// Per partition of the dead-letter topic: where reading started, where it
/// How far reprocessing got in each partition of the dead-letter topic.
///
/// A partition is done when librdkafka reports its end at a position at or
/// past the end it had at the start (its high watermark), or at once if it
/// had nothing past the group's offset. Records are taken until its end is
/// reported, not only up to the watermark: tansu 0.6 reports a watermark
/// too low right after a batch of several records.
struct Positions {
    topic: String,
    /// Per partition: the next offset to read, the end at the start, and
    /// whether it is done.
    partitions: BTreeMap<i32, (i64, i64, bool)>,
}

impl Positions {
    /// Reads the partitions, their ends and the group's committed offsets,
    /// and assigns the partitions left to read from where the last run stopped.
    fn read(
        consumer: &BaseConsumer<TracingContext>,
        topic: &str,
        timeout: Duration,
    ) -> Result<Self, ReprocessError> {
        let metadata = consumer.fetch_metadata(Some(topic), timeout)?;
        let count = metadata
            .topics()
            .iter()
            .find(|t| t.name() == topic && t.error().is_none())
            .map(|t| t.partitions().len())
            .filter(|n| *n > 0)
            .ok_or_else(|| ReprocessError::NoSuchTopic(topic.to_owned()))?;
        let mut all = TopicPartitionList::new();
        for p in 0..count {
            all.add_partition(topic, p as i32);
        }
        let committed = consumer.committed_offsets(all, timeout)?;
        let mut partitions = BTreeMap::new();
        let mut assignment = TopicPartitionList::new();
        for p in 0..count as i32 {
            let (low, high) = consumer.fetch_watermarks(topic, p, timeout)?;
            let start = match committed.find_partition(topic, p).map(|e| e.offset()) {
                Some(Offset::Offset(o)) => o.max(low),
                _ => low,
            };
            if start < high {
                assignment.add_partition_offset(topic, p, Offset::Offset(start))?;
            }
            partitions.insert(p, (start, high, start >= high));
        }
        consumer.assign(&assignment)?;
        Ok(Positions {
            topic: topic.to_owned(),
            partitions,
        })
    }

    /// How many records there are to read, from the start to the end.
    fn to_read(&self) -> u64 {
        let left = |&(next, end, _): &(i64, i64, bool)| (end - next).max(0) as u64;
        self.partitions.values().map(left).sum()
    }

    /// True once every partition is done.
    fn done(&self) -> bool {
        self.partitions.values().all(|&(_, _, done)| done)
    }

    /// A record was read: true if its partition is not done yet.
    fn take(&mut self, partition: i32, offset: i64) -> bool {
        match self.partitions.get_mut(&partition) {
            Some((next, _, false)) => {
                *next = offset + 1;
                true
            }
            _ => false,
        }
    }

    /// librdkafka reports the end of `partition`, at `position`.
    fn reached(&mut self, partition: i32, position: i64) {
        if let Some((next, end, done)) = self.partitions.get_mut(&partition) {
            *next = (*next).max(position);
            *done = *next >= *end;
        }
    }

    /// The record at `offset` was not moved: the commit stops before it.
    fn failed(&mut self, partition: i32, offset: i64) {
        if let Some((next, _, _)) = self.partitions.get_mut(&partition) {
            *next = (*next).min(offset);
        }
    }

    /// Commits how far each partition got.
    fn commit(&self, consumer: &BaseConsumer<TracingContext>) -> Result<(), KafkaError> {
        let mut offsets = TopicPartitionList::new();
        for (&p, &(next, _, _)) in &self.partitions {
            offsets.add_partition_offset(&self.topic, p, Offset::Offset(next))?;
        }
        if offsets.count() > 0 {
            consumer.commit(&offsets, CommitMode::Sync)?;
        }
        Ok(())
    }
}

/// Counts the acknowledgements of moved records, and keeps the failures.
#[derive(Default)]
struct Tally {
    acknowledged: Mutex<(usize, Vec<(usize, String)>)>,
}

impl Tally {
    /// Records acknowledged or failed.
    fn count(&self) -> usize {
        self.acknowledged.lock().map(|a| a.0).unwrap_or_default()
    }

    /// The records that failed, by index, with the error.
    fn failures(&self) -> Vec<(usize, String)> {
        self.acknowledged
            .lock()
            .map(|a| a.1.clone())
            .unwrap_or_default()
    }
}

impl ClientContext for Tally {
    fn log(&self, level: crate::kafka::rdkafka::config::RDKafkaLogLevel, fac: &str, message: &str) {
        forward_librdkafka_log(level, fac, message);
    }
}

impl ProducerContext for Tally {
    type DeliveryOpaque = usize;

    fn delivery(&self, result: &DeliveryResult<'_>, index: usize) {
        if let Ok(mut tally) = self.acknowledged.lock() {
            tally.0 += 1;
            if let Err((error, _)) = result {
                tally.1.push((index, error.to_string()));
            }
        }
    }
}
