//! On/off switches read from the environment once per process:
//! `ENABLE_EVENT_TRACING` and, with the feature `metrics`,
//! `ENABLE_EVENT_METRICS`. The words they accept are those of
//! `USE_OUTBOX_PATTERN`.

use std::sync::OnceLock;

/// The values a switch accepts (ASCII case and surrounding blanks
/// ignored), for messages.
pub(crate) const ACCEPTED: &str = "true, false, 1, 0, yes, no, on, off (or empty)";

/// `Some(true)` for `true`/`1`/`yes`/`on`, `Some(false)` for
/// `false`/`0`/`no`/`off` or empty (ASCII case and surrounding blanks
/// ignored), `None` for anything else.
pub(crate) fn parse(value: &str) -> Option<bool> {
    match value.trim().to_ascii_lowercase().as_str() {
        "" | "false" | "0" | "no" | "off" => Some(false),
        "true" | "1" | "yes" | "on" => Some(true),
        _ => None,
    }
}

/// A switch read from the process environment the first time it is asked,
/// then kept: unset means `default`; a value [`parse`] does not accept is
/// logged at `WARN` and means `default` too (a switch of diagnostics never
/// stops the program).
pub(crate) struct EnvSwitch {
    name: &'static str,
    default: bool,
    value: OnceLock<bool>,
}

impl EnvSwitch {
    /// The switch `name`, `default` when unset.
    pub const fn new(name: &'static str, default: bool) -> Self {
        EnvSwitch {
            name,
            default,
            value: OnceLock::new(),
        }
    }

    /// Whether the switch is on: one atomic load once it was read.
    #[inline]
    pub fn is_on(&self) -> bool {
        match self.value.get() {
            Some(on) => *on,
            None => self.read(),
        }
    }

    #[cold]
    fn read(&self) -> bool {
        *self
            .value
            .get_or_init(|| self.decide(std::env::var_os(self.name)))
    }

    /// The switch's state for the variable's value `raw`.
    fn decide(&self, raw: Option<std::ffi::OsString>) -> bool {
        let Some(raw) = raw else {
            return self.default;
        };
        match raw.to_str().and_then(parse) {
            Some(on) => on,
            None => {
                tracing::warn!(
                    variable = self.name,
                    value = ?raw,
                    accepted = ACCEPTED,
                    default = self.default,
                    "unknown value of an on/off variable; using its default"
                );
                self.default
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_switch_accepts_its_documented_values() {
        for on in ["true", " TRUE ", "1", "yes", "On"] {
            assert_eq!(parse(on), Some(true), "{on}");
        }
        for off in ["false", "0", "", "  ", "NO", "off"] {
            assert_eq!(parse(off), Some(false), "{off}");
        }
        for bad in ["ture", "enabled", "y", "2"] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn an_unset_or_unknown_value_is_the_default() {
        let on = EnvSwitch::new("ONEX_TEST_SWITCH", true);
        assert!(on.decide(None));
        assert!(on.decide(Some("ture".into())));
        assert!(!on.decide(Some("off".into())));
        let off = EnvSwitch::new("ONEX_TEST_SWITCH", false);
        assert!(!off.decide(None));
        assert!(!off.decide(Some("enabled".into())));
        assert!(off.decide(Some(" 1 ".into())));
    }
}
