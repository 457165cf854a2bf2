//! UTC event timestamps, serialized as RFC 3339 with microseconds and `Z`.

use chrono::{DateTime, Datelike, Timelike, Utc};
use std::fmt;

/// The UTC time an event was created, e.g. `2026-11-22T21:56:33.123456Z`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(DateTime<Utc>);

impl Timestamp {
    /// The current UTC time.
    pub fn now() -> Self {
        Timestamp(Utc::now())
    }

    /// The wrapped `chrono` value.
    pub fn as_datetime(&self) -> DateTime<Utc> {
        self.0
    }

    /// Formats into a fixed-size buffer: `YYYY-MM-DDTHH:MM:SS.ffffffZ`.
    pub(crate) fn format(&self) -> [u8; 27] {
        fn put(buf: &mut [u8], mut v: u32) {
            for b in buf.iter_mut().rev() {
                *b = b'0' + (v % 10) as u8;
                v /= 10;
            }
        }
        // The naive UTC value: each accessor of `DateTime<Utc>` would
        // re-apply the (zero) offset first.
        let d = self.0.naive_utc();
        let mut b = *b"0000-00-00T00:00:00.000000Z";
        put(&mut b[0..4], d.year().clamp(0, 9999) as u32);
        put(&mut b[5..7], d.month());
        put(&mut b[8..10], d.day());
        put(&mut b[11..13], d.hour());
        put(&mut b[14..16], d.minute());
        // A leap second is reported by chrono as nanosecond >= 1e9.
        put(&mut b[17..19], d.second());
        put(&mut b[20..26], (d.nanosecond() % 1_000_000_000) / 1_000);
        b
    }
}

impl From<DateTime<Utc>> for Timestamp {
    fn from(d: DateTime<Utc>) -> Self {
        Timestamp(d)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.format();
        // The buffer holds ASCII digits and separators only.
        f.write_str(std::str::from_utf8(&b).map_err(|_| fmt::Error)?)
    }
}

impl serde::Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let b = self.format();
        match std::str::from_utf8(&b) {
            Ok(text) => s.serialize_str(text),
            Err(e) => Err(serde::ser::Error::custom(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn formats_rfc3339_utc_with_micros() {
        let t = Timestamp(Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap());
        assert_eq!(t.to_string(), "2026-01-02T03:04:05.000000Z");
        assert_eq!(
            t.to_string(),
            t.0.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
        );
        let now = Timestamp::now();
        assert_eq!(
            now.to_string(),
            now.0.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
        );
    }
}
