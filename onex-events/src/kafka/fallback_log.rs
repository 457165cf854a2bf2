//! [`FallbackLog`]: how much the Kafka sink logs per event while Kafka is
//! unavailable (the seed's "Kafka unavailable, logging … event" fallback),
//! from code ([`KafkaConfig::fallback_log_mode`](super::KafkaConfig::fallback_log_mode))
//! or the variable `ONEX_FALLBACK_LOG` ([`env::FALLBACK_LOG`](super::env::FALLBACK_LOG)).

use std::fmt;
use std::str::FromStr;

/// How the Kafka sink logs the events published while Kafka is
/// unavailable. Whatever the mode, each such event is kept for delivery
/// and ends in exactly one outcome counted in
/// [`KafkaStats`](crate::sink::kafka::KafkaStats); the mode only decides
/// the log lines.
///
/// ```
/// use onex_events::kafka::{FallbackLog, KafkaConfig};
///
/// let config = KafkaConfig::new("127.0.0.1:9092").fallback_log_mode(FallbackLog::Summary);
/// assert_eq!("off".parse::<FallbackLog>(), Ok(FallbackLog::Off));
/// # let _ = config;
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum FallbackLog {
    /// The first [`FallbackLog::BUDGET`] events of each outage are logged
    /// one by one with their envelope (`INFO`, target
    /// `onex_events::event`), then a summary with counts at most every 10
    /// seconds, and one when Kafka returns. The default (`bounded`).
    #[default]
    Bounded,
    /// Every event logged one by one with its envelope, however many: the
    /// seed's behaviour, for logs that must hold every event (`full`).
    Full,
    /// Only the summaries with counts (`summary`).
    Summary,
    /// No line per event and no summary; the warning that Kafka is
    /// unavailable, and each event's outcome, still are (`off`).
    Off,
}

impl FallbackLog {
    /// Events logged one by one per outage in [`FallbackLog::Bounded`] mode.
    pub const BUDGET: u64 = 100;

    /// The variable's value for this mode: `bounded`, `full`, `summary` or
    /// `off`.
    pub fn as_str(self) -> &'static str {
        match self {
            FallbackLog::Bounded => "bounded",
            FallbackLog::Full => "full",
            FallbackLog::Summary => "summary",
            FallbackLog::Off => "off",
        }
    }

    /// Events logged one by one per outage.
    pub(crate) fn budget(self) -> u64 {
        match self {
            FallbackLog::Bounded => Self::BUDGET,
            FallbackLog::Full => u64::MAX,
            FallbackLog::Summary | FallbackLog::Off => 0,
        }
    }
}

impl FromStr for FallbackLog {
    type Err = ();

    /// `bounded`, `full`, `summary` or `off`, in any case.
    fn from_str(s: &str) -> Result<Self, ()> {
        [
            FallbackLog::Bounded,
            FallbackLog::Full,
            FallbackLog::Summary,
            FallbackLog::Off,
        ]
        .into_iter()
        .find(|mode| s.eq_ignore_ascii_case(mode.as_str()))
        .ok_or(())
    }
}

impl fmt::Display for FallbackLog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
