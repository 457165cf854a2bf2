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
    let text: &[u8; 36] = text.try_into().ok()?;
    if [text[8], text[13], text[18], text[23]] != [b'-'; 4] {
        return None;
    }
    // The 32 digits, eight to a word, each word spelling four bytes.
    let word = |at: usize| u64::from_le_bytes(bytes_at(text, at));
    let halves = |low: usize, high: usize| {
        u64::from(u32::from_le_bytes(bytes_at(text, low)))
            | u64::from(u32::from_le_bytes(bytes_at(text, high))) << 32
    };
    let words = [word(0), halves(9, 14), halves(19, 24), word(28)];
    let mut bytes = [0u8; 16];
    for (word, out) in words.into_iter().zip(bytes.chunks_exact_mut(4)) {
        out.copy_from_slice(&hex_word(word)?.to_le_bytes());
    }
    Some(Uuid::from_bytes(bytes))
}

/// The `N` bytes of `text` from `at` (`at + N` at most 36).
fn bytes_at<const N: usize>(text: &[u8; 36], at: usize) -> [u8; N] {
    let mut bytes = [0; N];
    bytes.copy_from_slice(&text[at..at + N]);
    bytes
}

/// `0x01` in every byte.
const ONES: u64 = u64::MAX / 255;
/// Every byte's high bit.
const HIGHS: u64 = ONES << 7;

/// The four bytes that eight lowercase hex digits spell, the first digit
/// in `word`'s lowest byte; `None` if a byte is not such a digit. Eight
/// digits at a time: a byte below 0x80 plus `0x80 - lo` sets its high bit
/// if and only if it is at least `lo`, and carries nothing into the next.
fn hex_word(word: u64) -> Option<u32> {
    let at_least = |lo: u8| word.wrapping_add(ONES * u64::from(0x80 - lo));
    let digit = at_least(b'0') & !at_least(b'9' + 1);
    let letter = at_least(b'a') & !at_least(b'f' + 1);
    if word & HIGHS != 0 || (digit | letter) & HIGHS != HIGHS {
        return None;
    }
    // Each digit's value: its low four bits, plus 9 for a letter (bit 6).
    let values = (word & (ONES * 0x0f)) + ((word >> 6) & ONES) * 9;
    // Two values to a byte, in every other byte; then those four together.
    let pairs = ((values << 4) | (values >> 8)) & 0x00ff_00ff_00ff_00ff;
    let pairs = (pairs | (pairs >> 8)) & 0x0000_ffff_0000_ffff;
    Some((pairs | (pairs >> 16)) as u32)
}

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
    fn a_uuid_digit_is_a_lowercase_hex_digit_and_nothing_else() {
        let id = *b"6f1f2c3e-8d7a-4b8e-9a0b-1c2d3e4f5a6b";
        for at in (0..36).filter(|at| ![8, 13, 18, 23].contains(at)) {
            for byte in 0..=255u8 {
                let mut text = id;
                text[at] = byte;
                let valid = matches!(byte, b'0'..=b'9' | b'a'..=b'f');
                let read = uuid(&text);
                assert_eq!(read.is_some(), valid, "byte {byte:#x} at {at}");
                if valid {
                    let text = std::str::from_utf8(&text).unwrap();
                    assert_eq!(read, Uuid::parse_str(text).ok(), "{text}");
                }
            }
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
