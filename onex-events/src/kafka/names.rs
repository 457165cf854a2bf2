//! Kafka's rules for the names a configuration holds — topic names and
//! bootstrap addresses — checked when a configuration is read or a client
//! built, so a name Kafka would reject is a configuration error at start,
//! not an event lost later.

/// The longest topic name Kafka accepts.
pub(crate) const MAX_TOPIC_LEN: usize = 249;

/// Whether Kafka allows byte `b` in a topic name: `[A-Za-z0-9._-]`.
pub(crate) fn is_legal_topic_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-')
}

/// Checks `topic` against Kafka's rules: not empty, at most 249
/// characters, only `[A-Za-z0-9._-]`, neither `.` nor `..`. The error says
/// which rule it breaks.
pub(crate) fn check_topic(topic: &str) -> Result<(), &'static str> {
    if topic.is_empty() {
        Err("a topic name cannot be empty")
    } else if topic.len() > MAX_TOPIC_LEN {
        Err("a topic name has at most 249 characters")
    } else if !topic.bytes().all(is_legal_topic_byte) {
        Err("a topic name holds only ASCII letters, digits, `.`, `_` and `-`")
    } else if topic == "." || topic == ".." {
        Err("a topic name cannot be `.` or `..`")
    } else {
        Ok(())
    }
}

/// Checks a comma-separated bootstrap list: every entry `host:port` (an
/// IPv6 address in brackets, `[::1]:9092`; librdkafka's `scheme://` in
/// front is allowed), a host name of `[A-Za-z0-9._-]`, a port from 1 to
/// 65535, no empty entry. Spaces around an entry are ignored.
pub(crate) fn check_bootstrap_servers(servers: &str) -> Result<(), &'static str> {
    servers.split(',').try_for_each(check_bootstrap_entry)
}

fn check_bootstrap_entry(entry: &str) -> Result<(), &'static str> {
    let entry = entry.trim();
    if entry.is_empty() {
        return Err("an entry of the list is empty");
    }
    let address = match entry.split_once("://") {
        Some((scheme, rest)) if !scheme.is_empty() && scheme.bytes().all(is_scheme_byte) => rest,
        _ => entry,
    };
    let (host, port) = if let Some(bracketed) = address.strip_prefix('[') {
        let (ip, rest) = bracketed
            .split_once(']')
            .ok_or("an IPv6 address has no closing `]`")?;
        if ip.is_empty()
            || !ip
                .bytes()
                .all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.')
        {
            return Err("an IPv6 address in brackets holds only hex digits, `:` and `.`");
        }
        let port = rest
            .strip_prefix(':')
            .ok_or("an entry has no port (expected `host:port`)")?;
        (ip, port)
    } else {
        address
            .rsplit_once(':')
            .ok_or("an entry has no port (expected `host:port`)")?
    };
    if host.is_empty() {
        return Err("an entry has no host (expected `host:port`)");
    }
    if !address.starts_with('[') && !host.bytes().all(is_legal_topic_byte) {
        return Err("a host holds only ASCII letters, digits, `.`, `_` and `-`");
    }
    match port.parse::<u16>() {
        Ok(1..) if port.bytes().all(|b| b.is_ascii_digit()) => Ok(()),
        _ => Err("a port is a number from 1 to 65535"),
    }
}

fn is_scheme_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_names_follow_kafkas_rules() {
        for good in ["a", "onex.svc.orchestrator.routing.v1", "A-b_c.9", "..."] {
            assert_eq!(check_topic(good), Ok(()), "{good}");
        }
        let longest = "x".repeat(MAX_TOPIC_LEN);
        assert_eq!(check_topic(&longest), Ok(()));
        for bad in ["", ".", "..", "bad topic!", "näme", "a/b", &"x".repeat(250)] {
            assert!(check_topic(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn bootstrap_entries_are_host_and_port() {
        for good in [
            "127.0.0.1:9092",
            "b1:9092,b2:9093",
            " b1:9092 , b2:9093 ",
            "kafka-0.kafka.svc.cluster.local:9092",
            "[::1]:9092",
            "PLAINTEXT://b1:9092",
            "b:1",
            "b:65535",
        ] {
            assert_eq!(check_bootstrap_servers(good), Ok(()), "{good}");
        }
        for bad in [
            ",,",
            "b1:9092,",
            "not a host",
            "not a host:9092",
            "b1",
            ":9092",
            "b1:",
            "b1:0",
            "127.0.0.1:99999",
            "b1:+9092",
            "b1:port",
            "[::1]",
            "[::1:9092",
            "[]:9092",
        ] {
            assert!(check_bootstrap_servers(bad).is_err(), "{bad}");
        }
    }
}
