//! Error classification: which librdkafka errors a retry can fix, for the
//! sink and the outbox relays alike.

use rdkafka::error::{KafkaError, RDKafkaErrorCode};

/// An error naming the record itself (too large, invalid topic, not
/// authorized…): sending the same record again will not succeed.
#[inline]
pub fn is_permanent(code: Option<RDKafkaErrorCode>) -> bool {
    use RDKafkaErrorCode as C;
    matches!(
        code,
        Some(
            C::MessageSizeTooLarge
                | C::InvalidMessageSize
                | C::InvalidMessage
                | C::InvalidTopic
                | C::UnknownTopic
                | C::TopicAuthorizationFailed
                | C::ClusterAuthorizationFailed
                | C::InvalidRecord
                | C::InvalidArgument
        )
    )
}

/// The broker refused the record batch that held the record: for the
/// record itself, or for a neighbour in the same batch (tansu's schema
/// validation refuses a whole batch with `INVALID_RECORD`; a broker that
/// names the invalid records has librdkafka fail the others with
/// `_INVALID_DIFFERENT_RECORD`). Sent again in a batch of its own, a
/// valid record is taken and an invalid one refused for good.
#[inline]
pub fn is_batch_refused(code: Option<RDKafkaErrorCode>) -> bool {
    matches!(
        code,
        Some(RDKafkaErrorCode::InvalidRecord | RDKafkaErrorCode::InvalidDifferentRecord)
    )
}

/// A client error that names why the cluster cannot be used with this
/// configuration — authentication, TLS, an unsupported SASL mechanism —
/// rather than an outage: worth an ERROR for the operator.
#[inline]
pub fn is_configuration_failure(code: Option<RDKafkaErrorCode>) -> bool {
    use RDKafkaErrorCode as C;
    matches!(
        code,
        Some(
            C::Authentication
                | C::SSL
                | C::SaslAuthenticationFailed
                | C::UnsupportedSASLMechanism
                | C::IllegalSASLState
        )
    )
}

/// The producer's queue is full: the record was not taken, and may be sent
/// again once the queue drains.
#[inline]
pub fn is_queue_full(error: &KafkaError) -> bool {
    matches!(
        error,
        KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull)
    )
}

/// The record was purged from a producer's queue or in-flight requests
/// (the producer is being replaced or dropped); it was never acknowledged.
#[inline]
pub fn is_purged(code: Option<RDKafkaErrorCode>) -> bool {
    matches!(
        code,
        Some(RDKafkaErrorCode::PurgeQueue | RDKafkaErrorCode::PurgeInflight)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_errors_are_permanent_and_cluster_errors_are_not() {
        assert!(is_permanent(Some(RDKafkaErrorCode::MessageSizeTooLarge)));
        assert!(is_permanent(Some(
            RDKafkaErrorCode::TopicAuthorizationFailed
        )));
        assert!(!is_permanent(Some(RDKafkaErrorCode::AllBrokersDown)));
        assert!(!is_permanent(Some(RDKafkaErrorCode::MessageTimedOut)));
        assert!(!is_permanent(None));
        assert!(is_queue_full(&KafkaError::MessageProduction(
            RDKafkaErrorCode::QueueFull
        )));
        assert!(!is_queue_full(&KafkaError::MessageProduction(
            RDKafkaErrorCode::MessageSizeTooLarge
        )));
        assert!(is_purged(Some(RDKafkaErrorCode::PurgeInflight)));
        assert!(is_configuration_failure(Some(
            RDKafkaErrorCode::Authentication
        )));
        assert!(is_configuration_failure(Some(RDKafkaErrorCode::SSL)));
        assert!(!is_configuration_failure(Some(
            RDKafkaErrorCode::AllBrokersDown
        )));
        assert!(!is_configuration_failure(Some(
            RDKafkaErrorCode::BrokerTransportFailure
        )));
        assert!(!is_purged(Some(RDKafkaErrorCode::MessageTimedOut)));
        assert!(is_batch_refused(Some(RDKafkaErrorCode::InvalidRecord)));
        assert!(is_batch_refused(Some(
            RDKafkaErrorCode::InvalidDifferentRecord
        )));
        assert!(!is_batch_refused(Some(
            RDKafkaErrorCode::MessageSizeTooLarge
        )));
    }
}
