//! W3C Trace Context: the trace an event belongs to, sent to Kafka as the
//! `traceparent` record header so that tracing tools join a published event
//! to the span that produced it. The envelope JSON never carries it.
//!
//! Where the trace context comes from: with the feature `opentelemetry`,
//! the span of OpenTelemetry's current [`Context`] when an operation starts
//! (or a hand-written event is emitted); without it, events carry none
//! unless built by hand.
//!
//! [`Context`]: https://docs.rs/opentelemetry/latest/opentelemetry/struct.Context.html

use std::fmt;
use std::str::FromStr;

/// One W3C `traceparent` (version `00`): trace id, parent (span) id and
/// trace flags.
///
/// ```
/// use onex_events::TraceParent;
///
/// let text = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
/// let tp: TraceParent = text.parse()?;
/// assert!(tp.is_sampled());
/// assert_eq!(tp.to_string(), text);
/// # Ok::<(), onex_events::TraceParentError>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct TraceParent {
    trace_id: [u8; 16],
    parent_id: [u8; 8],
    flags: u8,
}

/// Why a `traceparent` text was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TraceParentError {
    /// Not `00-{32 hex}-{16 hex}-{2 hex}` in lowercase.
    #[error(
        "invalid traceparent {0:?}: expected 00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>"
    )]
    Format(String),
    /// An all-zero trace id or parent id, which W3C declares invalid.
    #[error("invalid traceparent {0:?}: all-zero trace id or parent id")]
    ZeroId(String),
}

/// Length of a version-`00` `traceparent`.
const LEN: usize = 55;

impl TraceParent {
    /// A trace parent from its parts; `None` if either id is all zeros.
    pub fn new(trace_id: [u8; 16], parent_id: [u8; 8], flags: u8) -> Option<Self> {
        (trace_id != [0; 16] && parent_id != [0; 8]).then_some(TraceParent {
            trace_id,
            parent_id,
            flags,
        })
    }

    /// The trace id.
    pub fn trace_id(&self) -> [u8; 16] {
        self.trace_id
    }

    /// The id of the span the event was published from.
    pub fn parent_id(&self) -> [u8; 8] {
        self.parent_id
    }

    /// The trace flags (bit 0: sampled).
    pub fn flags(&self) -> u8 {
        self.flags
    }

    /// True when the sampled flag is set.
    pub fn is_sampled(&self) -> bool {
        self.flags & 1 == 1
    }

    /// The trace context in scope: with the feature `opentelemetry`, the
    /// span context of OpenTelemetry's current context, if valid.
    #[inline]
    pub fn current() -> Option<Self> {
        #[cfg(feature = "opentelemetry")]
        {
            use opentelemetry::trace::TraceContextExt;
            opentelemetry::Context::map_current(|cx| {
                let span = cx.span();
                let sc = span.span_context();
                if !sc.is_valid() {
                    return None;
                }
                TraceParent::new(
                    sc.trace_id().to_bytes(),
                    sc.span_id().to_bytes(),
                    sc.trace_flags().to_u8(),
                )
            })
        }
        #[cfg(not(feature = "opentelemetry"))]
        {
            None
        }
    }

    /// The header text, `00-{trace id}-{parent id}-{flags}`, written into
    /// `buf` without allocating.
    pub fn encode<'b>(&self, buf: &'b mut [u8; LEN]) -> &'b str {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut i = 0;
        let mut put = |bytes: &[u8], buf: &mut [u8; LEN]| {
            for b in bytes {
                buf[i] = HEX[usize::from(b >> 4)];
                buf[i + 1] = HEX[usize::from(b & 0xf)];
                i += 2;
            }
            if i < LEN {
                buf[i] = b'-';
                i += 1;
            }
        };
        put(&[0], buf);
        put(&self.trace_id, buf);
        put(&self.parent_id, buf);
        put(&[self.flags], buf);
        // Only ASCII hex digits and '-' were written.
        std::str::from_utf8(buf).unwrap_or_default()
    }
}

impl FromStr for TraceParent {
    type Err = TraceParentError;

    /// Parses a version-`00` `traceparent`, as W3C Trace Context defines it.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let format = || TraceParentError::Format(s.to_owned());
        let b = s.as_bytes();
        if b.len() != LEN || b[2] != b'-' || b[35] != b'-' || b[52] != b'-' {
            return Err(format());
        }
        fn hex<const N: usize>(src: &[u8]) -> Option<[u8; N]> {
            let digit = |c: u8| match c {
                b'0'..=b'9' => Some(c - b'0'),
                b'a'..=b'f' => Some(c - b'a' + 10),
                _ => None,
            };
            let mut out = [0; N];
            for (o, pair) in out.iter_mut().zip(src.chunks_exact(2)) {
                *o = digit(pair[0])? << 4 | digit(pair[1])?;
            }
            Some(out)
        }
        let version: [u8; 1] = hex(&b[0..2]).ok_or_else(format)?;
        if version != [0] {
            return Err(format());
        }
        let trace_id = hex(&b[3..35]).ok_or_else(format)?;
        let parent_id = hex(&b[36..52]).ok_or_else(format)?;
        let [flags] = hex(&b[53..55]).ok_or_else(format)?;
        TraceParent::new(trace_id, parent_id, flags)
            .ok_or_else(|| TraceParentError::ZeroId(s.to_owned()))
    }
}

impl fmt::Display for TraceParent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.encode(&mut [0; LEN]))
    }
}

impl fmt::Debug for TraceParent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TraceParent({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    #[test]
    fn parses_and_formats_the_w3c_example() {
        let tp: TraceParent = TEXT.parse().unwrap();
        assert_eq!(tp.trace_id()[0], 0x4b);
        assert_eq!(tp.parent_id()[7], 0xb7);
        assert!(tp.is_sampled());
        assert_eq!(tp.to_string(), TEXT);
    }

    #[test]
    fn rejects_malformed_and_zero_ids() {
        for bad in [
            "",
            "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1",
            "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01",
        ] {
            assert!(
                matches!(bad.parse::<TraceParent>(), Err(TraceParentError::Format(_))),
                "{bad:?}"
            );
        }
        let zero = "00-00000000000000000000000000000000-00f067aa0ba902b7-01";
        assert!(matches!(
            zero.parse::<TraceParent>(),
            Err(TraceParentError::ZeroId(_))
        ));
        assert_eq!(TraceParent::new([1; 16], [0; 8], 0), None);
    }
}
