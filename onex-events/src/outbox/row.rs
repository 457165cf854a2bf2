//! One event as an outbox row, whichever the backend: everything the relay
//! needs to send it again, in any later process, exactly as the Kafka sink
//! would have.

use crate::envelope::Event;
use crate::kafka::headers::cloudevents_headers;
use crate::kafka::rdkafka::message::Headers;
use crate::kafka::{record_key, TopicRouting, KEY_BUFFER_LEN};

/// An encoded event, ready to insert.
#[derive(Debug, Clone)]
pub(crate) struct Row {
    pub id: String,
    pub aggregatetype: &'static str,
    pub aggregateid: String,
    pub event_type: String,
    pub payload: String,
    pub topic: String,
    pub headers: String,
    pub created_at: i64,
}

impl Row {
    /// Serializes `event` and routes it with `routing`.
    pub fn encode(event: &Event, routing: &TopicRouting) -> Result<Row, serde_json::Error> {
        let mut payload = Vec::with_capacity(640);
        event.write_json(&mut payload)?;
        // `write_json` writes UTF-8 JSON; the lossy conversion never replaces.
        let payload = String::from_utf8(payload)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
        let mut key = [0; KEY_BUFFER_LEN];
        let aggregateid = String::from_utf8_lossy(record_key(event, &mut key)).into_owned();
        let mut headers = Vec::with_capacity(384);
        headers.push(b'{');
        for (i, h) in cloudevents_headers(event).iter().enumerate() {
            if i > 0 {
                headers.push(b',');
            }
            let value = String::from_utf8_lossy(h.value.unwrap_or_default());
            serde_json::to_writer(&mut headers, h.key)?;
            headers.push(b':');
            serde_json::to_writer(&mut headers, &value)?;
        }
        headers.push(b'}');
        Ok(Row {
            id: event.event_id.hyphenated().to_string(),
            // Debezium's outbox columns: a domain event's aggregate.
            aggregatetype: event
                .payload
                .declared()
                .and_then(|d| d.descriptor.attribute("aggregate_type"))
                .unwrap_or(event.node.node_type),
            aggregateid,
            event_type: event.event_type.as_str().to_owned(),
            payload,
            topic: routing.topic(event),
            headers: String::from_utf8_lossy(&headers).into_owned(),
            created_at: event.timestamp.as_datetime().timestamp_millis(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kafka::test_event;
    use crate::EventType;

    /// The relay sends the stored headers as they are: the same
    /// CloudEvents headers as the Kafka sink, `traceparent` included.
    #[test]
    fn stored_headers_are_the_sinks_headers_with_the_trace_context() {
        let text = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        let mut event = test_event(EventType::parse("orchestrator.state.changed").unwrap());
        event.trace_parent = Some(text.parse().unwrap());
        let row = Row::encode(&event, &TopicRouting::default()).unwrap();
        let stored: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(&row.headers).unwrap();
        assert_eq!(stored["traceparent"], text);
        assert_eq!(stored["ce_id"], event.event_id.to_string());
        assert_eq!(stored.len(), cloudevents_headers(&event).count());
    }
}
