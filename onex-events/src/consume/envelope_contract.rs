//! The shapes `contracts/onex-envelope-v1.schema.json` gives the envelope's
//! text fields, checked on bytes: what a consumer holds every received
//! event to, beyond its JSON types.

use uuid::Uuid;

/// The rule an `event_id` or `correlation_id` breaks.
pub(super) const UUID_RULE: &str =
    "is not a UUID in lowercase hyphenated form (8-4-4-4-12 hex digits)";
/// The rule an `event_type` breaks.
pub(super) const EVENT_TYPE_RULE: &str =
    "is not two or more dot-separated names, each a lowercase letter then lowercase letters, digits or '_'";
/// The rule an `event_timestamp` breaks.
pub(super) const TIMESTAMP_RULE: &str =
    "is not an RFC 3339 date-time in UTC (YYYY-MM-DDTHH:MM:SS[.fraction] then Z or +00:00)";
/// The rule a `source_node_id` breaks.
pub(super) const SOURCE_NODE_RULE: &str = "is empty";
/// The rule a `payload` or `metadata` breaks.
pub(super) const OBJECT_RULE: &str = "is not a JSON object";

/// The UUID `text` holds, if in the contract's form:
/// `^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`.
pub(super) fn uuid(text: &[u8]) -> Option<Uuid> {
    /// Where each byte's two hex digits start.
    const PAIRS: [usize; 16] = [0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34];
    let text: &[u8; 36] = text.try_into().ok()?;
    if [text[8], text[13], text[18], text[23]] != [b'-'; 4] {
        return None;
    }
    let mut bytes = [0u8; 16];
    // Any byte not a lowercase hex digit sets a high bit here.
    let mut invalid = 0u8;
    for (byte, at) in bytes.iter_mut().zip(PAIRS) {
        let (high, low) = (HEX[usize::from(text[at])], HEX[usize::from(text[at + 1])]);
        invalid |= high | low;
        *byte = (high << 4) | (low & 0x0f);
    }
    (invalid & 0xf0 == 0).then(|| Uuid::from_bytes(bytes))
}

/// A lowercase hex digit's value; `0xff` for any other byte.
static HEX: [u8; 256] = {
    let mut table = [0xff; 256];
    let mut digit = 0;
    while digit < 16 {
        table[b"0123456789abcdef"[digit] as usize] = digit as u8;
        digit += 1;
    }
    table
};

/// `^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$`.
pub(super) fn is_event_type(text: &[u8]) -> bool {
    let (mut names, mut name_starts) = (1, true);
    for &b in text {
        match b {
            b'.' if !name_starts => (names, name_starts) = (names + 1, true),
            b'a'..=b'z' => name_starts = false,
            b'0'..=b'9' | b'_' if !name_starts => {}
            _ => return false,
        }
    }
    !name_starts && names >= 2
}

/// `^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|\+00:00)$` naming a real
/// instant (RFC 3339's `date-time`: month, day of that month, hour, minute,
/// second up to a leap second 60).
pub(super) fn is_utc_timestamp(text: &[u8]) -> bool {
    let Some((date_time, rest)) = text.split_at_checked(19) else {
        return false;
    };
    let [y0, y1, y2, y3, b'-', m0, m1, b'-', d0, d1, b'T', h0, h1, b':', i0, i1, b':', s0, s1] =
        *date_time
    else {
        return false;
    };
    let fraction = match rest {
        [fraction @ .., b'Z'] | [fraction @ .., b'+', b'0', b'0', b':', b'0', b'0'] => fraction,
        _ => return false,
    };
    let fraction_ok = match fraction {
        [] => true,
        [b'.', digits @ ..] => !digits.is_empty() && digits.iter().all(u8::is_ascii_digit),
        _ => false,
    };
    let digits = [y0, y1, y2, y3, m0, m1, d0, d1, h0, h1, i0, i1, s0, s1];
    if !fraction_ok || !digits.iter().all(u8::is_ascii_digit) {
        return false;
    }
    let number = |digits: &[u8]| digits.iter().fold(0, |n, &b| n * 10 + u32::from(b - b'0'));
    let (year, month, day) = (
        number(&digits[..4]),
        number(&digits[4..6]),
        number(&digits[6..8]),
    );
    let (hour, minute, second) = (
        number(&digits[8..10]),
        number(&digits[10..12]),
        number(&digits[12..]),
    );
    (1..=12).contains(&month)
        && (1..=days_in(year, month)).contains(&day)
        && hour < 24
        && minute < 60
        && second <= 60
}

fn days_in(year: u32, month: u32) -> u32 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids_are_lowercase_and_hyphenated() {
        assert!(uuid(b"6f1f2c3e-8d7a-4b8e-9a0b-1c2d3e4f5a6b").is_some());
        for bad in [
            "6F1F2C3E-8D7A-4B8E-9A0B-1C2D3E4F5A6B",
            "6f1f2c3e8d7a4b8e9a0b1c2d3e4f5a6b",
            "{6f1f2c3e-8d7a-4b8e-9a0b-1c2d3e4f5a6b}",
            "urn:uuid:6f1f2c3e-8d7a-4b8e-9a0b-1c2d3e4f5a6b",
            "6f1f2c3e-8d7a-4b8e-9a0b-1c2d3e4f5a6",
            "6f1f2c3e-8d7a-4b8e-9a0b_1c2d3e4f5a6b",
            "6f1f2c3e-8d7a-4b8e-9a0g-1c2d3e4f5a6b",
            "",
        ] {
            assert!(uuid(bad.as_bytes()).is_none(), "{bad}");
        }
    }

    #[test]
    fn uuids_read_as_the_uuid_crate_reads_them() {
        for _ in 0..1000 {
            let id = Uuid::new_v4();
            assert_eq!(uuid(id.hyphenated().to_string().as_bytes()), Some(id));
        }
        let max = "ffffffff-ffff-ffff-ffff-ffffffffffff";
        assert_eq!(uuid(max.as_bytes()), Some(Uuid::max()));
        assert_eq!(uuid(Uuid::nil().to_string().as_bytes()), Some(Uuid::nil()));
    }

    #[test]
    fn event_types_are_two_or_more_lowercase_names() {
        for good in ["a.b", "orchestrator.orchestration.completed", "x1_.y_2.z"] {
            assert!(is_event_type(good.as_bytes()), "{good}");
        }
        for bad in [
            "", "a", "a.", ".a", "a..b", "A.b", "a.B", "1a.b", "a._b", "a.b-c", "a b.c", "a.b ",
            "é.b",
        ] {
            assert!(!is_event_type(bad.as_bytes()), "{bad}");
        }
    }

    #[test]
    fn timestamps_are_rfc3339_instants_in_utc() {
        for good in [
            "2026-11-30T12:00:00Z",
            "2026-11-30T12:00:00.000000Z",
            "2026-11-30T23:59:60.5+00:00",
            "2024-02-29T00:00:00Z",
            "2000-02-29T00:00:00Z",
        ] {
            assert!(is_utc_timestamp(good.as_bytes()), "{good}");
        }
        for bad in [
            "",
            "2026-11-30",
            "2026-11-30T12:00:00",
            "2026-11-30 12:00:00Z",
            "2026-11-30t12:00:00Z",
            "2026-11-30T12:00:00z",
            "2026-11-30T12:00:00+01:00",
            "2026-11-30T12:00:00-00:00",
            "2026-11-30T12:00:00.Z",
            "2026-11-30T12:00:00.1x2Z",
            "2026-11-30T12:00:00Z ",
            "2026-13-01T00:00:00Z",
            "2026-00-01T00:00:00Z",
            "2026-04-31T00:00:00Z",
            "2025-02-29T00:00:00Z",
            "1900-02-29T00:00:00Z",
            "2026-11-00T00:00:00Z",
            "2026-11-30T24:00:00Z",
            "2026-11-30T12:60:00Z",
            "2026-11-30T12:00:61Z",
            "+026-11-30T12:00:00Z",
            "2026-11-30T12:00:00+00:00Z",
        ] {
            assert!(!is_utc_timestamp(bad.as_bytes()), "{bad}");
        }
    }
}
