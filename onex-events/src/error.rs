//! Errors of configuration: what a user can get wrong at run time.

/// A node or publisher was configured wrongly.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A required identity field is empty.
    #[error("{field} must not be empty")]
    Empty {
        /// The field, e.g. `node_id`.
        field: &'static str,
    },
    /// An identity field holds characters that break routing or logs.
    #[error("{field} `{value}` contains whitespace or control characters")]
    InvalidCharacters {
        /// The field.
        field: &'static str,
        /// The value given.
        value: String,
    },
    /// A service or namespace holds characters Kafka topic names cannot:
    /// the default routings would replace them by `_`, so two different
    /// names (`a/b`, `a_b`) would share their topics unnoticed.
    #[error(
        "{field} {value:?} may hold only ASCII letters, digits, `.`, `_` and `-` (it names Kafka topics)"
    )]
    NotATopicName {
        /// The field: `service` or `namespace`.
        field: &'static str,
        /// The value given.
        value: String,
    },
}
