//! The stored CloudEvents headers of a row (a JSON object of strings) back
//! into Kafka record headers, in their stored order.

use crate::kafka::headers::DEAD_LETTER_ERROR;
use crate::kafka::rdkafka::message::{Header, OwnedHeaders};
use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use std::borrow::Cow;
use std::fmt;

/// The stored CloudEvents headers (a JSON object of strings), in their
/// stored order, plus the dead-letter error when given.
pub(super) fn headers_from_json(json: &str, dead_letter_error: Option<&str>) -> OwnedHeaders {
    let pairs = serde_json::from_str::<HeaderPairs<'_>>(json).unwrap_or_else(|error| {
        tracing::warn!(target: "onex_events::outbox", %error, headers = json, "stored headers are not a JSON object of strings; sending the record without them");
        HeaderPairs(Vec::new())
    });
    let error = dead_letter_error.map(|e| (DEAD_LETTER_ERROR, e));
    let pairs = pairs.0.iter().map(|(k, v)| (k.as_str(), v.as_str()));
    pairs.chain(error).fold(
        OwnedHeaders::new_with_capacity(10),
        |headers, (key, value)| {
            headers.insert(Header {
                key,
                value: Some(value.as_bytes()),
            })
        },
    )
}

/// A JSON object of strings as its pairs, in order, borrowed from the
/// input (no allocation per string) unless a string has escapes.
struct HeaderPairs<'de>(Vec<(Text<'de>, Text<'de>)>);

/// A string borrowed from the JSON input, or unescaped into its own.
struct Text<'de>(Cow<'de, str>);

impl Text<'_> {
    fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for HeaderPairs<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = HeaderPairs<'de>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object of strings")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut pairs = Vec::with_capacity(map.size_hint().unwrap_or(10));
                while let Some(pair) = map.next_entry()? {
                    pairs.push(pair);
                }
                Ok(HeaderPairs(pairs))
            }
        }
        d.deserialize_map(V)
    }
}

impl<'de> Deserialize<'de> for Text<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Text<'de>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }

            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Text(Cow::Borrowed(v)))
            }

            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Text(Cow::Owned(v.to_owned())))
            }

            fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
                Ok(Text(Cow::Owned(v)))
            }
        }
        d.deserialize_str(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(h: &OwnedHeaders) -> Vec<(String, String)> {
        use crate::kafka::rdkafka::message::Headers;
        h.iter()
            .map(|h| {
                let v = String::from_utf8_lossy(h.value.unwrap_or_default());
                (h.key.to_owned(), v.into_owned())
            })
            .collect()
    }

    #[test]
    fn stored_headers_keep_their_order_and_escapes() {
        let h = headers_from_json(r#"{"ce_type":"a.b","ce_id":"1","x":"q\"uote\u00e9"}"#, None);
        let expected = [("ce_type", "a.b"), ("ce_id", "1"), ("x", "q\"uote\u{e9}")];
        let expected: Vec<(String, String)> = expected
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        assert_eq!(pairs(&h), expected);
        let dead = headers_from_json(r#"{"ce_id":"1"}"#, Some("too large"));
        assert_eq!(
            pairs(&dead)[1],
            (DEAD_LETTER_ERROR.to_owned(), "too large".to_owned())
        );
        assert!(pairs(&headers_from_json("[1]", None)).is_empty());
    }
}
