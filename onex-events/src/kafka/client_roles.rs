//! The librdkafka configuration of each kind of client beside the
//! producer of the sink: a consumer in a group, a reader that reads a topic
//! to its end once, a requester's reader of responses, and a producer next
//! to a consumer. Each starts from
//! [`KafkaConfig::client_config`] and drops the properties of the other
//! kind (librdkafka would warn about each).

use super::config::KafkaConfig;

/// librdkafka's pause before fetching again once its fetch queue is full.
const FETCH_QUEUE_BACKOFF: &str = "fetch.queue.backoff.ms";
const FETCH_QUEUE_BACKOFF_MS: u64 = 10;

impl KafkaConfig {
    /// The librdkafka configuration of a consumer in group `group`: the
    /// connection properties of [`client_config`](Self::client_config)
    /// without the producer-only ones, set up for at-least-once delivery —
    /// offsets committed in the background twice a second
    /// (`enable.auto.commit=true`, `auto.commit.interval.ms=500` unless
    /// set), but only those the application stored after handling their
    /// records (`enable.auto.offset.store=false`) — with
    /// [`offset_reset`](Self::offset_reset) as `auto.offset.reset`,
    /// librdkafka's statistics every `stats_interval_ms` (0: none), and
    /// fetching resumed 10 ms after the fetch queue was full
    /// (`fetch.queue.backoff.ms`, librdkafka's default 1000 ms left a
    /// consumer that drained the queue sooner waiting for the rest).
    pub(crate) fn consumer_client_config(
        &self,
        group: &str,
        stats_interval_ms: u64,
    ) -> rdkafka::ClientConfig {
        let mut cc = self.client_config();
        for key in PRODUCER_ONLY {
            cc.remove(key);
        }
        cc.set("group.id", group)
            .set("enable.auto.commit", "true")
            .set("enable.auto.offset.store", "false")
            .set("enable.partition.eof", "false")
            .set("statistics.interval.ms", stats_interval_ms.to_string());
        if self.get("auto.commit.interval.ms").is_none() {
            // The committed lag stays under a second.
            cc.set("auto.commit.interval.ms", "500");
        }
        // A subscription by pattern sees a new topic at the next metadata
        // refresh: every 10 s rather than librdkafka's 5 minutes.
        if self.get("topic.metadata.refresh.interval.ms").is_none() {
            cc.set("topic.metadata.refresh.interval.ms", "10000");
        }
        // librdkafka's 45 s session makes a member that died hold its
        // partitions for 45 s, and group joins on some brokers (tansu) wait
        // about half of it; 10 s was Kafka's default before 3.0.
        if self.get("session.timeout.ms").is_none() {
            cc.set("session.timeout.ms", "10000");
            if self.get("heartbeat.interval.ms").is_none() {
                cc.set("heartbeat.interval.ms", "3000");
            }
        }
        // librdkafka waits fetch.queue.backoff.ms (1000 ms) before fetching
        // again once its fetch queue is full: a consumer that drains the
        // queue sooner then sits idle for the rest.
        if self.get(FETCH_QUEUE_BACKOFF).is_none() {
            cc.set(FETCH_QUEUE_BACKOFF, FETCH_QUEUE_BACKOFF_MS.to_string());
        }
        if let Some(reset) = self.offset_reset() {
            cc.set("auto.offset.reset", reset.as_str());
        }
        cc
    }
}

impl KafkaConfig {
    /// The librdkafka configuration of a reader in group `group` that
    /// commits itself, synchronously (`enable.auto.commit=false`), and is
    /// told when it reached the end of a partition
    /// (`enable.partition.eof=true`): for tools that read a topic to its
    /// end once, such as reprocessing a dead-letter topic or the
    /// `onex-events` command's readers.
    pub fn reader_client_config(&self, group: &str) -> rdkafka::ClientConfig {
        let mut cc = self.consumer_client_config(group, 0);
        cc.set("enable.auto.commit", "false")
            .set("enable.partition.eof", "true")
            .set("auto.offset.reset", "earliest");
        cc
    }
}

const NAGLE: &str = "socket.nagle.disable";

/// How long a requester's reader of responses lets the broker hold a fetch
/// that has no record yet, unless `fetch.wait.max.ms` is set: some brokers
/// (tansu, librdkafka's mock cluster) hold such a fetch for part or all of
/// this wait even when a record comes meanwhile, so there it bounds the
/// latency of a response; on Kafka, which answers when a record comes, it
/// is how often an idle reader fetches.
pub const REPLY_FETCH_WAIT_MS: u32 = 5;

impl KafkaConfig {
    /// The librdkafka configuration of a requester's reader of responses:
    /// a consumer that is assigned its partitions (it never joins group
    /// `group`, which librdkafka asks for) and commits nothing, fetching
    /// with a short wait ([`REPLY_FETCH_WAIT_MS`]), Nagle's algorithm off
    /// (unless set).
    pub(crate) fn reply_reader_client_config(&self, group: &str) -> rdkafka::ClientConfig {
        let mut cc = self.consumer_client_config(group, 0);
        cc.set("enable.auto.commit", "false");
        if self.get("fetch.wait.max.ms").is_none() {
            cc.set("fetch.wait.max.ms", REPLY_FETCH_WAIT_MS.to_string());
        }
        self.nagle_off(&mut cc);
        cc
    }

    /// The librdkafka configuration of a requester's producer: a producer
    /// beside a consumer, Nagle's algorithm off (unless set).
    pub(crate) fn request_producer_client_config(&self) -> rdkafka::ClientConfig {
        let mut cc = self.producer_client_config();
        self.nagle_off(&mut cc);
        cc
    }

    /// `socket.nagle.disable=true` unless set: a request or response is a
    /// small write that waits for its answer, which Nagle's algorithm
    /// holds back until the previous write is acknowledged (up to the
    /// peer's delayed ACK, tens of milliseconds).
    fn nagle_off(&self, cc: &mut rdkafka::ClientConfig) {
        if self.get(NAGLE).is_none() {
            cc.set(NAGLE, "true");
        }
    }
}

impl KafkaConfig {
    /// The librdkafka configuration of a producer beside a consumer (its
    /// dead letters, reprocessing): this configuration's properties
    /// without the consumer-only properties a consumer's configuration may
    /// hold (librdkafka would warn about each); for tools that write
    /// records of their own, such as the `onex-events` command.
    pub fn producer_client_config(&self) -> rdkafka::ClientConfig {
        let mut cc = self.client_config();
        for key in CONSUMER_ONLY {
            cc.remove(key);
        }
        cc
    }
}

/// Consumer properties a producer does not take.
const CONSUMER_ONLY: &[&str] = &[
    "group.id",
    "group.instance.id",
    "group.protocol",
    "group.remote.assignor",
    "partition.assignment.strategy",
    "session.timeout.ms",
    "heartbeat.interval.ms",
    "max.poll.interval.ms",
    "enable.auto.commit",
    "auto.commit.interval.ms",
    "enable.auto.offset.store",
    "auto.offset.reset",
    "queued.min.messages",
    "queued.max.messages.kbytes",
    "fetch.wait.max.ms",
    "fetch.queue.backoff.ms",
    "fetch.message.max.bytes",
    "fetch.max.bytes",
    "fetch.min.bytes",
    "fetch.error.backoff.ms",
    "enable.partition.eof",
    "check.crcs",
    "isolation.level",
];

/// Producer properties a consumer does not take (librdkafka would warn
/// about each): the defaults of [`KafkaConfig::new`] and their kin.
const PRODUCER_ONLY: &[&str] = &[
    "enable.idempotence",
    "acks",
    "request.required.acks",
    "linger.ms",
    "queue.buffering.max.ms",
    "queue.buffering.max.messages",
    "queue.buffering.max.kbytes",
    "message.timeout.ms",
    "delivery.timeout.ms",
    "compression.type",
    "compression.codec",
    "batch.num.messages",
    "batch.size",
    "retries",
    "message.send.max.retries",
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kafka::OffsetReset;

    #[test]
    fn a_consumer_stores_offsets_itself_and_takes_no_producer_property() {
        let config = KafkaConfig::new("b:9092")
            .auto_offset_reset(OffsetReset::Earliest)
            .property("session.timeout.ms", "6000");
        let cc = config.consumer_client_config("billing", 5000);
        assert_eq!(cc.get("group.id"), Some("billing"));
        assert_eq!(cc.get("enable.auto.commit"), Some("true"));
        assert_eq!(cc.get("enable.auto.offset.store"), Some("false"));
        assert_eq!(cc.get("auto.commit.interval.ms"), Some("500"));
        assert_eq!(cc.get("auto.offset.reset"), Some("earliest"));
        assert_eq!(cc.get("session.timeout.ms"), Some("6000"));
        assert_eq!(cc.get("statistics.interval.ms"), Some("5000"));
        assert_eq!(cc.get("enable.idempotence"), None);
        assert_eq!(cc.get("acks"), None);
        assert_eq!(cc.get("linger.ms"), None);
        let producer = config.producer_client_config();
        assert_eq!(producer.get("session.timeout.ms"), None);
        assert_eq!(producer.get("enable.idempotence"), Some("true"));
        let own = config.property("auto.commit.interval.ms", "200");
        assert_eq!(
            own.consumer_client_config("g", 0)
                .get("auto.commit.interval.ms"),
            Some("200")
        );
    }

    #[test]
    fn a_consumer_has_a_short_session_and_metadata_refresh_unless_told() {
        let cc = KafkaConfig::new("b:9092").consumer_client_config("g", 0);
        assert_eq!(cc.get("session.timeout.ms"), Some("10000"));
        assert_eq!(cc.get("heartbeat.interval.ms"), Some("3000"));
        assert_eq!(cc.get("topic.metadata.refresh.interval.ms"), Some("10000"));
        let own = KafkaConfig::new("b:9092")
            .property("session.timeout.ms", "60000")
            .property("topic.metadata.refresh.interval.ms", "1000")
            .consumer_client_config("g", 0);
        assert_eq!(own.get("session.timeout.ms"), Some("60000"));
        assert_eq!(
            own.get("heartbeat.interval.ms"),
            None,
            "librdkafka's, for a session of the user's"
        );
        assert_eq!(own.get("topic.metadata.refresh.interval.ms"), Some("1000"));
    }

    #[test]
    fn a_requester_fetches_with_a_short_wait_and_sends_without_nagle_unless_told() {
        let config = KafkaConfig::new("b:9092");
        let reader = config.reply_reader_client_config("g");
        assert_eq!(reader.get("fetch.wait.max.ms"), Some("5"));
        assert_eq!(reader.get("enable.auto.commit"), Some("false"));
        assert_eq!(reader.get("socket.nagle.disable"), Some("true"));
        let producer = config.request_producer_client_config();
        assert_eq!(producer.get("socket.nagle.disable"), Some("true"));
        let own = KafkaConfig::new("b:9092")
            .property("fetch.wait.max.ms", "100")
            .property("socket.nagle.disable", "false");
        assert_eq!(
            own.reply_reader_client_config("g").get("fetch.wait.max.ms"),
            Some("100")
        );
        assert_eq!(
            own.request_producer_client_config()
                .get("socket.nagle.disable"),
            Some("false")
        );
    }

    #[test]
    fn a_consumer_fetches_again_soon_after_its_queue_was_full_unless_told() {
        let cc = KafkaConfig::new("b:9092").consumer_client_config("g", 0);
        assert_eq!(cc.get("fetch.queue.backoff.ms"), Some("10"));
        let own = KafkaConfig::new("b:9092")
            .property("fetch.queue.backoff.ms", "500")
            .consumer_client_config("g", 0);
        assert_eq!(own.get("fetch.queue.backoff.ms"), Some("500"));
    }
}
