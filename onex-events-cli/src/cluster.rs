//! The cluster as the commands see it: its topics, their record counts,
//! and a [`Reader`] that reads chosen topics from their start or their end,
//! up to the end or on and on. Clients are configured by the library's
//! Kafka layer ([`KafkaConfig::reader_client_config`]).

use onex_events::kafka::rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use onex_events::kafka::rdkafka::error::KafkaError;
use onex_events::kafka::rdkafka::message::Message;
use onex_events::kafka::rdkafka::{ClientConfig, Offset, TopicPartitionList};
use onex_events::kafka::{KafkaConfig, TracingContext};
use std::collections::{BTreeSet, HashMap};
use std::error::Error;
use std::time::{Duration, Instant};

use crate::record::TopicRecord;

/// How many watermark requests a reader has in flight at once.
const WATERMARK_REQUESTS: usize = 16;

/// How long a group member may wait for its partitions beyond the
/// reader's timeout (a join takes seconds on tansu).
const GROUP_JOIN: Duration = Duration::from_secs(30);

/// The group name of a reader outside any group: librdkafka wants one, and
/// nothing is ever committed under it.
const NO_GROUP: &str = "onex-events-cli";

/// The cluster of `KAFKA_BOOTSTRAP_SERVERS` (and the other variables the
/// library reads), with how long to wait for it.
pub struct Cluster {
    config: KafkaConfig,
    timeout: Duration,
}

/// A topic of the cluster.
#[derive(Debug, Clone)]
pub struct Topic {
    /// Its name.
    pub name: String,
    /// Its partitions.
    pub partitions: Vec<i32>,
}

/// Where a reader starts in each partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    /// The oldest record.
    Beginning,
    /// After the newest record.
    End,
}

impl Cluster {
    /// The cluster the environment names; waits at most `timeout` for any
    /// answer of it.
    pub fn from_env(timeout: Duration) -> Result<Self, Box<dyn Error>> {
        let config = KafkaConfig::from_env()?;
        config.validate()?;
        Ok(Cluster { config, timeout })
    }

    /// The library's configuration, read from the environment.
    pub fn config(&self) -> &KafkaConfig {
        &self.config
    }

    fn consumer(&self, group: &str) -> Result<BaseConsumer<TracingContext>, Box<dyn Error>> {
        Ok(self
            .reader_config(group)
            .create_with_context(TracingContext)?)
    }

    /// The library's reader configuration, fetching with a short wait
    /// unless `fetch.wait.max.ms` is set: some brokers (tansu) answer a
    /// fetch at the end of a partition only after this wait, which a
    /// command reading to the end pays per partition.
    fn reader_config(&self, group: &str) -> ClientConfig {
        let mut config = self.config.reader_client_config(group);
        if self.config.get("fetch.wait.max.ms").is_none() {
            config.set("fetch.wait.max.ms", "100");
        }
        config
    }

    /// The cluster did not answer: an error naming it and the wait.
    fn unreachable(&self, error: KafkaError) -> Box<dyn Error> {
        format!(
            "the Kafka cluster at {} did not answer within {:?}: {error}",
            self.config.bootstrap_servers(),
            self.timeout
        )
        .into()
    }

    /// The topics named, or with none every topic of the cluster but its
    /// internal ones (`__consumer_offsets`, ..), sorted by name. A named
    /// topic the cluster does not have is an error.
    pub fn topics(&self, names: &[String]) -> Result<Vec<Topic>, Box<dyn Error>> {
        let consumer = self.consumer(NO_GROUP)?;
        let metadata = consumer
            .fetch_metadata(None, self.timeout)
            .map_err(|e| self.unreachable(e))?;
        let mut all: Vec<Topic> = metadata
            .topics()
            .iter()
            .filter(|t| t.error().is_none() && !t.name().starts_with("__"))
            .map(|t| Topic {
                name: t.name().to_owned(),
                partitions: t.partitions().iter().map(|p| p.id()).collect(),
            })
            .collect();
        all.sort_by(|a, b| a.name.cmp(&b.name));
        if names.is_empty() {
            return Ok(all);
        }
        names
            .iter()
            .map(|name| {
                all.iter()
                    .find(|t| &t.name == name)
                    .cloned()
                    .ok_or_else(|| format!("topic {name:?} does not exist").into())
            })
            .collect()
    }

    /// How many records `topic` holds (the sum over its partitions of the
    /// high watermark less the low one).
    pub fn record_count(&self, topic: &Topic) -> Result<u64, Box<dyn Error>> {
        let consumer = self.consumer(NO_GROUP)?;
        let mut count = 0;
        for &p in &topic.partitions {
            let (low, high) = consumer
                .fetch_watermarks(&topic.name, p, self.timeout)
                .map_err(|e| self.unreachable(e))?;
            count += (high - low).max(0) as u64;
        }
        Ok(count)
    }
}

/// Reads topics: every partition assigned to it, or those its consumer
/// group gives it; up to the end they had, or on until stopped.
pub struct Reader {
    consumer: BaseConsumer<TracingContext>,
    /// Stop once every partition read reached its end.
    stop_at_end: bool,
    /// Partitions that reached their end since their last record.
    at_end: BTreeSet<(String, i32)>,
    /// Low and high watermarks of assigned partitions, as first read.
    bounds: HashMap<(String, i32), (i64, i64)>,
    in_group: bool,
    start: Start,
    timeout: Duration,
    last_heard: Instant,
}

impl Reader {
    /// Reads every partition of `topics`, in no consumer group (nothing is
    /// committed), from `start`.
    pub fn assigned(
        cluster: &Cluster,
        topics: &[Topic],
        start: Start,
        stop_at_end: bool,
    ) -> Result<Self, Box<dyn Error>> {
        let consumer = cluster.consumer(NO_GROUP)?;
        let offset = match start {
            Start::Beginning => Offset::Beginning,
            Start::End => Offset::End,
        };
        let mut assignment = TopicPartitionList::new();
        for topic in topics {
            for &p in &topic.partitions {
                assignment.add_partition_offset(&topic.name, p, offset)?;
            }
        }
        consumer.assign(&assignment)?;
        Ok(Reader::new(consumer, cluster, start, stop_at_end, false))
    }

    /// Reads `topics` as a member of consumer group `group`: from the
    /// group's committed offsets, else from `start`; commits what it read.
    pub fn in_group(
        cluster: &Cluster,
        group: &str,
        topics: &[Topic],
        start: Start,
        stop_at_end: bool,
    ) -> Result<Self, Box<dyn Error>> {
        let mut config = cluster.reader_config(group);
        config
            .set("enable.auto.commit", "true")
            .set("enable.auto.offset.store", "true")
            .set(
                "auto.offset.reset",
                match start {
                    Start::Beginning => "earliest",
                    Start::End => "latest",
                },
            );
        let consumer: BaseConsumer<TracingContext> = config.create_with_context(TracingContext)?;
        let names: Vec<&str> = topics.iter().map(|t| t.name.as_str()).collect();
        consumer.subscribe(&names)?;
        Ok(Reader::new(consumer, cluster, start, stop_at_end, true))
    }

    fn new(
        consumer: BaseConsumer<TracingContext>,
        cluster: &Cluster,
        start: Start,
        stop_at_end: bool,
        in_group: bool,
    ) -> Self {
        Reader {
            consumer,
            stop_at_end,
            at_end: BTreeSet::new(),
            bounds: HashMap::new(),
            in_group,
            start,
            timeout: cluster.timeout,
            // A group member hears nothing until the group gives it its
            // partitions.
            last_heard: Instant::now() + if in_group { GROUP_JOIN } else { Duration::ZERO },
        }
    }

    /// The next record; `None` once every partition reached its end (with
    /// `stop_at_end`). Without `stop_at_end` it waits for records for as
    /// long as it takes. An error if, reading to the end, the cluster says
    /// nothing for the reader's timeout.
    pub fn next_record(&mut self) -> Result<Option<TopicRecord>, Box<dyn Error>> {
        loop {
            if self.stop_at_end && self.all_at_end() {
                return Ok(None);
            }
            let Some(polled) = self.consumer.poll(Duration::from_millis(100)) else {
                if self.stop_at_end && self.last_heard.elapsed() > self.timeout {
                    return Err(format!(
                        "no record and no end of partition from the cluster within {:?}",
                        self.timeout
                    )
                    .into());
                }
                continue;
            };
            self.last_heard = Instant::now();
            match polled {
                Ok(message) => {
                    let key = (message.topic().to_owned(), message.partition());
                    self.at_end.remove(&key);
                    return Ok(Some(TopicRecord::from_message(&message)));
                }
                Err(KafkaError::PartitionEOF(partition)) => self.reached_end(partition),
                Err(error) => tracing::warn!(%error, "reading"),
            }
        }
    }

    /// Marks the partition numbered `partition` that reached its end.
    /// librdkafka's end-of-partition event names the partition number
    /// only: of the assigned partitions with that number not at their end
    /// yet, a lone one is it; among several, those at the end the topic had
    /// when they were first looked at (their position there, or nothing to
    /// read: empty, or a reader that starts at the end or at its group's
    /// offsets).
    fn reached_end(&mut self, partition: i32) {
        let (Ok(assignment), Ok(positions)) =
            (self.consumer.assignment(), self.consumer.position())
        else {
            return;
        };
        let candidates: Vec<(String, i64)> = assignment
            .elements()
            .iter()
            .filter(|e| e.partition() == partition)
            .filter(|e| !self.at_end.contains(&(e.topic().to_owned(), partition)))
            .map(|e| {
                let position = positions
                    .find_partition(e.topic(), partition)
                    .and_then(|p| p.offset().to_raw())
                    .unwrap_or(-1);
                (e.topic().to_owned(), position)
            })
            .collect();
        if let [(topic, _)] = candidates.as_slice() {
            self.at_end.insert((topic.clone(), partition));
            return;
        }
        for (topic, position) in candidates {
            let key = (topic, partition);
            let Some((low, high)) = self.bounds(&key) else {
                continue;
            };
            let at_end = if position >= 0 {
                position >= high
            } else {
                low == high || self.start == Start::End || self.in_group
            };
            if at_end {
                self.at_end.insert(key);
            }
        }
    }

    /// The low and high watermarks of an assigned partition when first
    /// asked for. The first time one is missing, those of every assigned
    /// partition not known yet are asked for at once, a few at a time (one
    /// by one, on tansu, 80 partitions took seconds).
    fn bounds(&mut self, key: &(String, i32)) -> Option<(i64, i64)> {
        if !self.bounds.contains_key(key) {
            let missing: Vec<(String, i32)> = match self.consumer.assignment() {
                Ok(assignment) => assignment
                    .elements()
                    .iter()
                    .map(|e| (e.topic().to_owned(), e.partition()))
                    .filter(|k| !self.bounds.contains_key(k))
                    .collect(),
                Err(_) => vec![key.clone()],
            };
            let (consumer, timeout) = (&self.consumer, self.timeout);
            for chunk in missing.chunks(WATERMARK_REQUESTS) {
                let read = std::thread::scope(|scope| {
                    let handles: Vec<_> = chunk
                        .iter()
                        .map(|k| scope.spawn(move || consumer.fetch_watermarks(&k.0, k.1, timeout)))
                        .collect();
                    handles.into_iter().map(|h| h.join()).collect::<Vec<_>>()
                });
                for (k, bounds) in chunk.iter().zip(read) {
                    if let Ok(Ok(bounds)) = bounds {
                        self.bounds.insert(k.clone(), bounds);
                    }
                }
            }
        }
        self.bounds.get(key).copied()
    }

    /// True once every partition of the assignment reached its end (and
    /// a group member has its assignment).
    fn all_at_end(&self) -> bool {
        match self.consumer.assignment() {
            Ok(assignment) if assignment.count() > 0 => assignment
                .elements()
                .iter()
                .all(|e| self.at_end.contains(&(e.topic().to_owned(), e.partition()))),
            Ok(_) => !self.in_group,
            Err(_) => false,
        }
    }

    /// Commits what a group member read (nothing otherwise).
    pub fn finish(self) {
        if self.in_group {
            if let Err(error) = self.consumer.commit_consumer_state(CommitMode::Sync) {
                tracing::warn!(%error, "committing the group's offsets");
            }
        }
    }
}
