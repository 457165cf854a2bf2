//! A received record as handlers read it: its parts as they came, either
//! owned ([`RecordParts`]) or, from Kafka, still in librdkafka's fetch
//! buffer (read in place, never copied).

use super::received::RecordParts;
use super::record_headers::RecordHeaders;
#[cfg(feature = "kafka")]
use crate::kafka::rdkafka::message::{BorrowedHeaders, Headers, Message};

/// A received record: topic, partition, offset, key, value and headers.
///
/// A record a Kafka consumer received stays where librdkafka put it for as
/// long as it is held: its parts are read in place, and its headers are
/// parsed only when read. Keep what you need of it rather than the record
/// itself: a held record keeps its fetch buffer in memory.
pub struct ReceivedRecord(Backing);

enum Backing {
    // Boxed: a record from Kafka is the common case, and a small one.
    Parts(Box<RecordParts>),
    #[cfg(feature = "kafka")]
    Fetched(super::kafka::FetchedMessage),
}

impl From<RecordParts> for ReceivedRecord {
    fn from(parts: RecordParts) -> Self {
        ReceivedRecord(Backing::Parts(Box::new(parts)))
    }
}

impl ReceivedRecord {
    /// A record held in librdkafka's buffer.
    #[cfg(feature = "kafka")]
    pub(crate) fn fetched(message: super::kafka::FetchedMessage) -> Self {
        ReceivedRecord(Backing::Fetched(message))
    }

    /// The topic.
    pub fn topic(&self) -> &str {
        match &self.0 {
            Backing::Parts(p) => &p.topic,
            #[cfg(feature = "kafka")]
            Backing::Fetched(m) => m.get().topic(),
        }
    }

    /// The partition.
    pub fn partition(&self) -> i32 {
        match &self.0 {
            Backing::Parts(p) => p.partition,
            #[cfg(feature = "kafka")]
            Backing::Fetched(m) => m.get().partition(),
        }
    }

    /// The offset in the partition.
    pub fn offset(&self) -> i64 {
        match &self.0 {
            Backing::Parts(p) => p.offset,
            #[cfg(feature = "kafka")]
            Backing::Fetched(m) => m.get().offset(),
        }
    }

    /// The key, if any.
    pub fn key(&self) -> Option<&[u8]> {
        match &self.0 {
            Backing::Parts(p) => p.key.as_deref(),
            #[cfg(feature = "kafka")]
            Backing::Fetched(m) => m.get().key(),
        }
    }

    /// The value (empty if the record has none).
    pub fn value(&self) -> &[u8] {
        match &self.0 {
            Backing::Parts(p) => &p.value,
            #[cfg(feature = "kafka")]
            Backing::Fetched(m) => m.get().payload().unwrap_or_default(),
        }
    }

    /// The headers.
    pub fn headers(&self) -> ReceivedHeaders<'_> {
        match &self.0 {
            Backing::Parts(p) => ReceivedHeaders(HeadersBacking::Parts(&p.headers)),
            #[cfg(feature = "kafka")]
            Backing::Fetched(m) => ReceivedHeaders(HeadersBacking::Fetched(m.get().headers())),
        }
    }

    /// An owned copy of every part.
    pub fn to_parts(&self) -> RecordParts {
        match &self.0 {
            Backing::Parts(p) => RecordParts::clone(p),
            #[cfg(feature = "kafka")]
            Backing::Fetched(_) => RecordParts {
                topic: self.topic().into(),
                partition: self.partition(),
                offset: self.offset(),
                key: self.key().map(<[u8]>::to_vec),
                value: self.value().to_vec(),
                headers: self.headers().to_record_headers(),
            },
        }
    }

    /// Every part, owned (copied if the record is still in librdkafka's
    /// buffer).
    pub fn into_parts(self) -> RecordParts {
        match self.0 {
            Backing::Parts(p) => *p,
            #[cfg(feature = "kafka")]
            Backing::Fetched(_) => self.to_parts(),
        }
    }
}

impl std::fmt::Debug for ReceivedRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReceivedRecord")
            .field("topic", &self.topic())
            .field("partition", &self.partition())
            .field("offset", &self.offset())
            .field("key", &self.key().map(String::from_utf8_lossy))
            .field("headers", &self.headers())
            .finish_non_exhaustive()
    }
}

/// The headers of a [`ReceivedRecord`], in order, as they came (a name may
/// repeat).
#[derive(Clone, Copy)]
pub struct ReceivedHeaders<'a>(HeadersBacking<'a>);

#[derive(Clone, Copy)]
enum HeadersBacking<'a> {
    Parts(&'a RecordHeaders),
    #[cfg(feature = "kafka")]
    Fetched(Option<&'a BorrowedHeaders>),
}

impl<'a> ReceivedHeaders<'a> {
    /// The value of the first header named `name` (`None` if absent or
    /// null).
    pub fn get(self, name: &str) -> Option<&'a [u8]> {
        match self.0 {
            HeadersBacking::Parts(h) => h.get(name),
            #[cfg(feature = "kafka")]
            HeadersBacking::Fetched(h) => h?.iter().find(|h| h.key == name)?.value,
        }
    }

    /// The value of the first header named `name`, as text.
    pub fn get_str(self, name: &str) -> Option<&'a str> {
        self.get(name).and_then(|v| std::str::from_utf8(v).ok())
    }

    /// The number of headers.
    pub fn len(self) -> usize {
        match self.0 {
            HeadersBacking::Parts(h) => h.len(),
            #[cfg(feature = "kafka")]
            HeadersBacking::Fetched(h) => h.map_or(0, Headers::count),
        }
    }

    /// True if there is no header.
    pub fn is_empty(self) -> bool {
        self.len() == 0
    }

    /// Header `index`: name and value (`None`: null).
    fn at(self, index: usize) -> (&'a str, Option<&'a [u8]>) {
        match self.0 {
            HeadersBacking::Parts(h) => h.at(index),
            #[cfg(feature = "kafka")]
            HeadersBacking::Fetched(h) => match h.and_then(|h| h.try_get(index)) {
                Some(header) => (header.key, header.value),
                None => ("", None),
            },
        }
    }

    /// Every header in order: name and value (`None`: null).
    pub fn iter(self) -> impl Iterator<Item = (&'a str, Option<&'a [u8]>)> {
        (0..self.len()).map(move |i| self.at(i))
    }

    /// An owned copy.
    pub fn to_record_headers(self) -> RecordHeaders {
        let mut owned = RecordHeaders::with_capacity(self.len(), 256);
        for (name, value) in self.iter() {
            owned.push(name, value);
        }
        owned
    }
}

impl std::fmt::Debug for ReceivedHeaders<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map()
            .entries(
                self.iter()
                    .map(|(n, v)| (n, v.map(String::from_utf8_lossy))),
            )
            .finish()
    }
}
