//! The envelope laid out as [`Event::write_json`](crate::Event::write_json)
//! writes it (the contract's keys in its order, no spaces), read by
//! matching that layout: the fast path of [`EnvelopeFields::read`]. Any
//! other layout, or a text field the layout alone does not settle (one
//! with an escape or a raw control character), is left to serde's general
//! reading, which then says what is wrong, if anything.

use super::envelope_fields::{EnvelopeFields, JsonText, PayloadBounds};
use serde::Deserialize;
use serde_json::value::RawValue;
use std::ops::Range;

/// A hyphenated UUID's length.
const UUID_LEN: usize = 36;

/// The envelope in `text` if laid out as this crate writes it, its payload
/// read as `P`; `None` if laid out otherwise or its payload is not a `P`.
pub(super) fn read<'a, P: Deserialize<'a>>(text: &'a str) -> Option<EnvelopeFields<'a, P>> {
    let mut layout = Layout { text, at: 0 };
    layout.literal(b"{\"envelope_version\":\"")?;
    let envelope_version = layout.text()?;
    layout.literal(b",\"event_id\":\"")?;
    let event_id = layout.uuid()?;
    layout.literal(b",\"event_type\":\"")?;
    let event_type = layout.text()?;
    layout.literal(b",\"event_timestamp\":\"")?;
    let event_timestamp = layout.text()?;
    layout.literal(b",\"source_node_id\":\"")?;
    let source_node_id = layout.text()?;
    layout.literal(b",\"correlation_id\":")?;
    let correlation_id = match layout.literal(b"null") {
        Some(()) => None,
        None => {
            layout.literal(b"\"")?;
            Some(layout.uuid()?)
        }
    };
    layout.literal(b",\"")?;
    layout.key(b"payload")?;
    let (payload, payload_at) = layout.value::<P>()?;
    layout.literal(b",\"")?;
    layout.key(b"metadata")?;
    let metadata = layout.last_value()?;
    Some(EnvelopeFields {
        envelope_version: JsonText::At(envelope_version),
        event_id: JsonText::At(event_id),
        event_type: JsonText::At(event_type),
        event_timestamp: JsonText::At(event_timestamp),
        source_node_id: JsonText::At(source_node_id),
        correlation_id: correlation_id.map(JsonText::At),
        payload,
        payload_bounds: PayloadBounds::At(payload_at),
        metadata,
    })
}

/// The envelope's text, read from `at` on.
struct Layout<'a> {
    text: &'a str,
    at: usize,
}

impl<'a> Layout<'a> {
    /// The text as bytes.
    fn bytes(&self) -> &'a [u8] {
        self.text.as_bytes()
    }

    /// Steps over `literal`, if it comes next.
    fn literal(&mut self, literal: &[u8]) -> Option<()> {
        let end = self.at + literal.len();
        (self.bytes().get(self.at..end)? == literal).then(|| self.at = end)
    }

    /// A string's text, its opening quote passed: up to its closing quote,
    /// which is stepped over. `None` at an escape or a raw control
    /// character, which serde's reading judges.
    fn text(&mut self) -> Option<&'a [u8]> {
        let rest = self.bytes().get(self.at..)?;
        let len = string_end(rest)?;
        (rest[len] == b'"').then(|| {
            self.at += len + 1;
            &rest[..len]
        })
    }

    /// A UUID's text, its opening quote passed: its 36 bytes then the
    /// closing quote (their shape is checked later, as any field's).
    fn uuid(&mut self) -> Option<&'a [u8]> {
        let text = self.bytes().get(self.at..self.at + UUID_LEN)?;
        self.at += UUID_LEN;
        self.literal(b"\"")?;
        Some(text)
    }

    /// The key `name`, its opening quote passed, then its colon.
    fn key(&mut self, name: &[u8]) -> Option<()> {
        self.literal(name)?;
        self.literal(b"\":")
    }

    /// A value read as `T`, up to its end, and where it lies; `None` if a
    /// space comes first.
    fn value<T: Deserialize<'a>>(&mut self) -> Option<(T, Range<usize>)> {
        let rest = self.text.get(self.at..)?;
        if rest.starts_with([' ', '\t', '\n', '\r']) {
            return None;
        }
        let mut values = serde_json::Deserializer::from_str(rest).into_iter();
        let value = values.next()?.ok()?;
        let start = self.at;
        self.at += values.byte_offset();
        Some((value, start..self.at))
    }

    /// The envelope's last value: what lies between here and the closing
    /// brace that ends the text. An object of plain strings (as this crate
    /// writes metadata) is checked here, any other value by serde.
    fn last_value(&mut self) -> Option<&'a str> {
        let inner = self.text.get(self.at..)?.strip_suffix('}')?;
        if is_object_of_plain_strings(inner.as_bytes()) {
            return Some(inner);
        }
        serde_json::from_str::<&RawValue>(inner)
            .ok()
            .map(RawValue::get)
    }
}

/// True if `bytes` is a JSON object whose keys and values are all strings
/// without an escape or a raw control character, written without spaces.
fn is_object_of_plain_strings(bytes: &[u8]) -> bool {
    let Some(mut rest) = bytes.strip_prefix(b"{") else {
        return false;
    };
    if rest == b"}" {
        return true;
    }
    loop {
        let Some(value) = plain_string(rest).and_then(|after| after.strip_prefix(b":")) else {
            return false;
        };
        match plain_string(value) {
            Some(b"}") => return true,
            Some([b',', next @ ..]) => rest = next,
            _ => return false,
        }
    }
}

/// What follows the plain string `bytes` starts with (its quotes, no
/// escape, no raw control character); `None` if it starts with none.
fn plain_string(bytes: &[u8]) -> Option<&[u8]> {
    let text = bytes.strip_prefix(b"\"")?;
    let len = string_end(text)?;
    (text[len] == b'"').then(|| &text[len + 1..])
}

/// Where the first `"`, `\\` or raw control character is in `bytes`: eight
/// bytes at a time (a byte at most 0x1f, or equal to one of the two, sets
/// its high bit in `found`; the lowest one set is the first such byte).
fn string_end(bytes: &[u8]) -> Option<usize> {
    const ONES: u64 = u64::MAX / 255;
    let has = |word: u64, byte: u8| {
        let diff = word ^ (ONES * u64::from(byte));
        diff.wrapping_sub(ONES) & !diff
    };
    let mut chunks = bytes.chunks_exact(8);
    let mut at = 0;
    for chunk in &mut chunks {
        let mut word = [0; 8];
        word.copy_from_slice(chunk);
        let word = u64::from_le_bytes(word);
        let control = word.wrapping_sub(ONES * 0x20) & !word;
        let found = (control | has(word, b'"') | has(word, b'\\')) & (ONES << 7);
        if found != 0 {
            return Some(at + found.trailing_zeros() as usize / 8);
        }
        at += 8;
    }
    let tail = chunks.remainder();
    let end = tail
        .iter()
        .position(|&b| matches!(b, b'"' | b'\\' | 0..=0x1f))?;
    Some(at + end)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Event, EventType, NodeIdentity, Payload, Timestamp};
    use std::sync::Arc;
    use uuid::Uuid;

    fn written(correlation_id: Option<Uuid>, node_id: &str) -> String {
        let event = Event {
            event_id: Uuid::new_v4(),
            event_type: EventType::parse("orchestrator.state.changed").unwrap(),
            timestamp: Timestamp::now(),
            correlation_id,
            causation_id: Some(Uuid::new_v4()),
            node: Arc::new(NodeIdentity {
                node_id: node_id.to_owned(),
                node_type: "orchestrator",
                service: "svc".to_owned(),
                namespace: "ns".to_owned(),
                instance_id: Uuid::new_v4(),
            }),
            payload: Payload::StateChanged {
                old_state: "a".to_owned(),
                new_state: "b\n\"c\"".to_owned(),
                transition_reason: "r".to_owned(),
            },
            trace_parent: None,
        };
        let mut out = Vec::new();
        event.write_json(&mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    /// Every field as serde's general reading gives it.
    fn same(fast: &EnvelopeFields<'_, &RawValue>, general: &EnvelopeFields<'_, &RawValue>) {
        let text = |t: &JsonText<'_>| t.bytes().to_vec();
        assert_eq!(
            text(&fast.envelope_version),
            text(&general.envelope_version)
        );
        assert_eq!(text(&fast.event_id), text(&general.event_id));
        assert_eq!(text(&fast.event_type), text(&general.event_type));
        assert_eq!(text(&fast.event_timestamp), text(&general.event_timestamp));
        assert_eq!(text(&fast.source_node_id), text(&general.source_node_id));
        assert_eq!(
            fast.correlation_id.as_ref().map(text),
            general.correlation_id.as_ref().map(text)
        );
        assert_eq!(fast.payload.get(), general.payload.get());
        assert_eq!(fast.metadata, general.metadata);
    }

    #[test]
    fn what_this_crate_writes_is_read_as_serde_reads_it() {
        for value in [
            written(Some(Uuid::new_v4()), "orch-1"),
            written(None, "orch-é"),
        ] {
            let fast = read::<&RawValue>(&value).expect("the written layout");
            let general = EnvelopeFields::<&RawValue>::read_general(&value)
                .unwrap_or_else(|e| panic!("{}", e.error));
            same(&fast, &general);
            let base = value.as_bytes();
            assert_eq!(
                fast.payload_bounds.range(base),
                general.payload_bounds.range(base)
            );
        }
    }

    #[test]
    fn another_layout_is_left_to_serde() {
        let value = written(Some(Uuid::new_v4()), "orch-1");
        for other in [
            value.replacen(':', ": ", 1),
            value.replace("\"payload\":", "\"payload\": "),
            value.replace("\"orch-1\"", "\"orch\\u002d1\""),
            value.replace("\"orch-1\"", "\"orch\t1\""),
            value.replace("\"1.0\"", "\"1\\u002e0\""),
            format!("{value} "),
            value.replace("\"payload\":", "\"payloaf\":"),
            value.replace(",\"metadata\"", ",\"metadatum\""),
            value.replace("}}", "}"),
            value.replace("}}", "}}}"),
        ] {
            assert!(read::<&RawValue>(&other).is_none(), "{other}");
        }
        // A payload that is not the handler's type is left too.
        assert!(read::<u32>(&value).is_none());
    }

    #[test]
    fn metadata_is_checked_here_only_as_an_object_of_plain_strings() {
        for plain in [
            r#"{}"#,
            r#"{"a":""}"#,
            r#"{"node_type":"orchestrator","service":"svc","ünï":"cödé"}"#,
        ] {
            assert!(is_object_of_plain_strings(plain.as_bytes()), "{plain}");
        }
        for other in [
            "",
            "{",
            "}",
            r#"{"a"}"#,
            r#"{"a":}"#,
            r#"{"a":"b","}"#,
            r#"{"a":"b",}"#,
            r#"{"a":"b""#,
            r#"{"a":"b"}x"#,
            r#"{"a":"b"}}"#,
            r#"{"a":1}"#,
            r#"{"a":null}"#,
            r#"{"a":{"b":"c"}}"#,
            "{\"a\":\"b\"\n}",
            r#"{ "a":"b"}"#,
            r#"{"a" :"b"}"#,
            r#"{"a\"b":"c"}"#,
            "{\"a\":\"b\u{1}\"}",
            r#"["a","b"]"#,
        ] {
            assert!(!is_object_of_plain_strings(other.as_bytes()), "{other}");
        }
    }

    #[test]
    fn metadata_of_another_kind_is_checked_by_serde() {
        let value = written(Some(Uuid::new_v4()), "orch-1");
        let at = value.find(r#""metadata":"#).unwrap() + r#""metadata":"#.len();
        for (metadata, valid) in [
            (r#"{"a":1,"b":[true,null],"c":{"d":"e\"f"}}"#, true),
            (r#"{ "a" : "b" }"#, true),
            (r#"{"a":"b","}"#, false),
            (r#"{"a":tru}"#, false),
            ("{\"a\":\"b\u{1}\"}", false),
        ] {
            let envelope = format!("{}{metadata}}}", &value[..at]);
            let fast = read::<&RawValue>(&envelope);
            assert_eq!(fast.is_some(), valid, "{metadata}");
            if let Some(fast) = fast {
                assert_eq!(fast.metadata, metadata.trim());
            }
        }
    }

    #[test]
    fn a_string_ends_at_its_first_quote_backslash_or_control_character() {
        for (text, end) in [
            ("abc\"", Some(3)),
            ("abcdefghijkl\"x", Some(12)),
            ("abcdefgh\\\"", Some(8)),
            ("ab\u{1}cdefghij\"", Some(2)),
            ("é€ñ-ünïcödé-text\"", Some(24)),
            ("\u{7f}\u{ff}abcdefgh\n", Some(11)),
            ("no end at all, no end at all", None),
            ("", None),
        ] {
            assert_eq!(string_end(text.as_bytes()), end, "{text:?}");
        }
    }

    #[test]
    fn a_uuid_cut_short_is_left_to_serde() {
        let value = written(Some(Uuid::new_v4()), "orch-1");
        let at = value.find("\"event_id\":\"").unwrap() + 12;
        let short = format!("{}{}", &value[..at], &value[at + 1..]);
        assert!(read::<&RawValue>(&short).is_none());
    }
}
