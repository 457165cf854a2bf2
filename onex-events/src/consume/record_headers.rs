//! The headers of a received record, held in one buffer.

/// A record's headers, in order, as they came (a name may repeat).
///
/// ```
/// use onex_events::consume::RecordHeaders;
///
/// let mut headers = RecordHeaders::default();
/// headers.push("ce_type", Some(b"orchestrator.state.changed"));
/// headers.push("empty", None);
/// assert_eq!(headers.get("ce_type"), Some(&b"orchestrator.state.changed"[..]));
/// assert_eq!(headers.get("empty"), None);
/// assert_eq!(headers.iter().count(), 2);
/// ```
#[derive(Clone, Default, PartialEq, Eq)]
pub struct RecordHeaders {
    bytes: Vec<u8>,
    /// Per header: where its name ends, and its value's end (`None`: null).
    entries: Vec<(usize, usize, Option<usize>)>,
}

impl RecordHeaders {
    /// Room for `n` headers of `bytes` bytes in all.
    pub fn with_capacity(n: usize, bytes: usize) -> Self {
        RecordHeaders {
            bytes: Vec::with_capacity(bytes),
            entries: Vec::with_capacity(n),
        }
    }

    /// Adds a header; `None` is a null value.
    pub fn push(&mut self, name: &str, value: Option<&[u8]>) {
        let start = self.bytes.len();
        self.bytes.extend_from_slice(name.as_bytes());
        let name_end = self.bytes.len();
        let value_end = value.map(|v| {
            self.bytes.extend_from_slice(v);
            self.bytes.len()
        });
        self.entries.push((start, name_end, value_end));
    }

    /// The value of the first header named `name` (`None` if absent or null).
    pub fn get(&self, name: &str) -> Option<&[u8]> {
        let name = name.as_bytes();
        let &(_, name_end, value_end) = self
            .entries
            .iter()
            .find(|&&(start, name_end, _)| &self.bytes[start..name_end] == name)?;
        value_end.map(|end| &self.bytes[name_end..end])
    }

    /// The value of the first header named `name`, as text.
    pub fn get_str(&self, name: &str) -> Option<&str> {
        self.get(name).and_then(|v| std::str::from_utf8(v).ok())
    }

    /// Every header in order: name and value (`None`: null).
    pub fn iter(&self) -> impl Iterator<Item = (&str, Option<&[u8]>)> {
        (0..self.entries.len()).map(|i| self.at(i))
    }

    /// Header `index` (`("", None)` past the end).
    pub(crate) fn at(&self, index: usize) -> (&str, Option<&[u8]>) {
        let Some(&(start, name_end, value_end)) = self.entries.get(index) else {
            return ("", None);
        };
        // Names were pushed as `&str`, so each range is UTF-8.
        let name = std::str::from_utf8(&self.bytes[start..name_end]).unwrap_or_default();
        (name, value_end.map(|end| &self.bytes[name_end..end]))
    }

    /// The number of headers.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True if there is no header.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

impl std::fmt::Debug for RecordHeaders {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map()
            .entries(
                self.iter()
                    .map(|(n, v)| (n, v.map(String::from_utf8_lossy))),
            )
            .finish()
    }
}
