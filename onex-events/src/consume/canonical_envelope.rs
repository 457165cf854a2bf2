//! The envelope laid out as [`Event::write_json`](crate::Event::write_json)
//! writes it (the contract's keys in its order, no spaces), read by
//! matching that layout and held to the contract as it is read: the fast
//! path of a consumer. Any other layout, a text field the layout alone
//! does not settle (one with an escape or a raw control character), or a
//! field that breaks the contract is left to serde's general reading
//! ([`EnvelopeFields::read`](super::envelope_fields::EnvelopeFields::read)
//! then [`fields_of`](super::located_fields::fields_of)), which then says
//! what is wrong, if anything.

use super::envelope_contract::{is_event_type, is_utc_timestamp, uuid as contract_uuid};
use super::located_fields::{Fields, Text};
use crate::envelope::ENVELOPE_VERSION;
use serde::Deserialize;
use serde_json::value::RawValue;
use std::ops::Range;
use uuid::Uuid;

/// A hyphenated UUID's length.
const UUID_LEN: usize = 36;

/// The envelope in `text`, located, its payload read as `P`, if laid out
/// as this crate writes it and held to the contract; `None` if laid out
/// otherwise, if its payload is not a `P`, or if a field breaks the
/// contract.
pub(super) fn located<'a, P: Deserialize<'a>>(text: &'a str) -> Option<(Fields, P)> {
    let mut layout = Layout { text, at: 0 };
    layout.literal(b"{\"envelope_version\":\"")?;
    layout.literal(ENVELOPE_VERSION.as_bytes())?;
    layout.literal(b"\",\"event_id\":\"")?;
    let event_id = layout.uuid()?;
    layout.literal(b",\"event_type\":\"")?;
    let event_type = layout.text_where(is_event_type)?;
    layout.literal(b",\"event_timestamp\":\"")?;
    let timestamp = layout.text_where(is_utc_timestamp)?;
    layout.literal(b",\"source_node_id\":\"")?;
    let source_node_id = layout.text_where(|text| !text.is_empty())?;
    layout.literal(b",\"correlation_id\":")?;
    let correlation_id = match layout.literal(b"null") {
        Some(()) => None,
        None => {
            layout.literal(b"\"")?;
            Some(layout.uuid()?)
        }
    };
    layout.literal(b",\"payload\":")?;
    let (payload, payload_at) = layout.object::<P>()?;
    layout.literal(b",\"metadata\":")?;
    let metadata = layout.last_object()?;
    let fields = Fields {
        event_id,
        correlation_id,
        event_type: Text::At(event_type),
        timestamp: Text::At(timestamp),
        source_node_id: Text::At(source_node_id),
        payload: payload_at,
        metadata,
    };
    Some((fields, payload))
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

    /// Where a string's text lies, its opening quote passed: up to its
    /// closing quote, which is stepped over; `None` at an escape or a raw
    /// control character, which serde's reading judges, or if the text is
    /// not `valid`.
    fn text_where(&mut self, valid: impl Fn(&[u8]) -> bool) -> Option<Range<usize>> {
        let rest = self.bytes().get(self.at..)?;
        let len = string_end(rest)?;
        if rest[len] != b'"' || !valid(&rest[..len]) {
            return None;
        }
        let start = self.at;
        self.at += len + 1;
        Some(start..start + len)
    }

    /// A UUID in the contract's form, its opening quote passed, then the
    /// closing quote.
    fn uuid(&mut self) -> Option<Uuid> {
        let id = contract_uuid(self.bytes().get(self.at..self.at + UUID_LEN)?)?;
        self.at += UUID_LEN;
        self.literal(b"\"")?;
        Some(id)
    }

    /// An object read as `T`, up to its end, and where it lies.
    fn object<T: Deserialize<'a>>(&mut self) -> Option<(T, Range<usize>)> {
        let rest = self.text.get(self.at..)?;
        if !rest.starts_with('{') {
            return None;
        }
        let mut values = serde_json::Deserializer::from_str(rest).into_iter();
        let value = values.next()?.ok()?;
        let start = self.at;
        self.at += values.byte_offset();
        Some((value, start..self.at))
    }

    /// Where the envelope's last value lies, an object: between here and
    /// the closing brace that ends the text. An object of plain strings
    /// (as this crate writes metadata) is checked here, any other by serde.
    fn last_object(&mut self) -> Option<Range<usize>> {
        let inner = self.text.get(self.at..)?.strip_suffix('}')?;
        if !inner.starts_with('{') {
            return None;
        }
        let len = match is_object_of_plain_strings(inner.as_bytes()) {
            true => inner.len(),
            // Without the spaces that may follow it.
            false => serde_json::from_str::<&RawValue>(inner).ok()?.get().len(),
        };
        Some(self.at..self.at + len)
    }
}

/// `0x01` in every byte.
const ONES: u64 = u64::MAX / 255;
/// Every byte's high bit.
const HIGHS: u64 = ONES << 7;

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
        let found = (control | has(word, b'"') | has(word, b'\\')) & HIGHS;
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
    use crate::consume::envelope_fields::EnvelopeFields;
    use crate::consume::located_fields::fields_of;
    use crate::{Event, EventType, NodeIdentity, Payload, Timestamp};
    use std::collections::BTreeMap;
    use std::sync::Arc;

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

    /// What serde's general reading makes of `value`: its fields located
    /// and its payload, or why it is not an envelope.
    fn general(value: &str) -> Result<(Fields, &RawValue), String> {
        let envelope = EnvelopeFields::<&RawValue>::read(value).map_err(|e| e.error.to_string())?;
        let base = value.as_bytes();
        let payload = envelope
            .payload_bounds
            .range(base)
            .ok_or("no payload range")?;
        fields_of(envelope, payload, base).map_err(|reason| reason.to_string())
    }

    #[test]
    fn what_this_crate_writes_is_located_as_serde_locates_it() {
        for value in [
            written(Some(Uuid::new_v4()), "orch-1"),
            written(None, "orch-é"),
        ] {
            let (fast, payload) = located::<&RawValue>(&value).expect("the written layout");
            let (general, general_payload) = general(&value).unwrap();
            // Its metadata checked here, not left to serde.
            assert!(is_object_of_plain_strings(
                value[fast.metadata.clone()].as_bytes()
            ));
            assert_eq!(fast, general);
            assert_eq!(payload.get(), general_payload.get());
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
            assert!(located::<&RawValue>(&other).is_none(), "{other}");
        }
        // A payload that is not the handler's type is left too.
        assert!(located::<u32>(&value).is_none());
    }

    #[test]
    fn a_field_that_breaks_the_contract_is_left_to_serde_which_says_why() {
        let value = written(Some(Uuid::new_v4()), "orch-1");
        let timestamp = value.find("\"event_timestamp\":\"").unwrap() + 19;
        let mut bad_timestamp = value.clone();
        bad_timestamp.replace_range(timestamp + 4..timestamp + 5, "/");
        let metadata = value.find("\"metadata\":").unwrap() + 11;
        for (breach, field) in [
            (value.replace("\"1.0\"", "\"2.0\""), "envelope_version"),
            (value.replacen("-4", "-G", 1), "event_id"),
            (
                value.replace("orchestrator.state.changed", "Orchestrator.state"),
                "event_type",
            ),
            (bad_timestamp, "event_timestamp"),
            (value.replace("\"orch-1\"", "\"\""), "source_node_id"),
            (
                value
                    .replace("\"payload\":{", "\"payload\":[{")
                    .replace("},\"metadata\"", "}],\"metadata\""),
                "payload",
            ),
            (format!("{}[]}}", &value[..metadata]), "metadata"),
        ] {
            assert!(located::<&RawValue>(&breach).is_none(), "{breach}");
            let reason = general(&breach).expect_err(&breach);
            assert!(
                reason.contains(field) || field == "envelope_version",
                "{reason}: {breach}"
            );
        }
    }

    #[test]
    fn metadata_of_another_kind_is_checked_by_serde() {
        let value = written(Some(Uuid::new_v4()), "orch-1");
        let at = value.find(r#""metadata":"#).unwrap() + r#""metadata":"#.len();
        for (metadata, valid) in [
            (r#"{"a":1,"b":[true,null],"c":{"d":"e\"f"}}"#, true),
            (r#"{ "a" : "b" } "#, true),
            (r#"{"a":"b","}"#, false),
            (r#"{"a":tru}"#, false),
            ("{\"a\":\"b\u{1}\"}", false),
        ] {
            let envelope = format!("{}{metadata}}}", &value[..at]);
            let fast = located::<&RawValue>(&envelope);
            assert_eq!(fast.is_some(), valid, "{metadata}");
            if let Some((fields, _)) = fast {
                assert_eq!(&envelope[fields.metadata], metadata.trim());
            }
        }
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
    fn an_object_of_plain_strings_is_one_serde_reads_as_such() {
        // Every text of up to six of these bytes, after a first pair whose
        // key is 0-8 bytes long (so that quotes fall anywhere in a word),
        // closed by a brace: accepted only if serde reads an object of
        // strings in it with no escape, no control character and no space
        // outside its strings.
        let alphabet = [b'}', b'"', b':', b',', b'a', b'\\', b' '];
        let mut level: Vec<Vec<u8>> = vec![Vec::new()];
        let mut texts = level.clone();
        for _ in 0..6 {
            level = level
                .iter()
                .flat_map(|text| alphabet.iter().map(move |&b| [&text[..], &[b]].concat()))
                .collect();
            texts.extend(level.iter().cloned());
        }
        let mut accepted = 0;
        for key in 0..=8 {
            let first = format!("{{\"{}\":\"\"", "k".repeat(key));
            for text in &texts {
                let object = [first.as_bytes(), text, b"}"].concat();
                let strings = serde_json::from_slice::<BTreeMap<String, String>>(&object).is_ok();
                let unescaped = !object.iter().any(|b| matches!(b, b'\\' | 0..=0x1f));
                // With no escape, every quote opens or closes a string.
                let mut in_string = false;
                let spaced = object.iter().any(|&b| {
                    in_string ^= b == b'"';
                    b == b' ' && !in_string
                });
                let plain = strings && unescaped && !spaced;
                assert_eq!(
                    is_object_of_plain_strings(&object),
                    plain,
                    "{}",
                    String::from_utf8_lossy(&object)
                );
                accepted += usize::from(plain);
            }
        }
        assert!(accepted >= 18, "{accepted}");
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
        assert!(located::<&RawValue>(&short).is_none());
    }
}
