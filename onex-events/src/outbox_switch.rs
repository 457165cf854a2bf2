//! `USE_OUTBOX_PATTERN`, the seed's switch to the outbox: the values it
//! accepts, read the same with or without the `outbox` feature, so that a
//! misspelled value, or a build that cannot honour the switch, is an error
//! at start rather than the outbox silently off.

/// The switch's name.
pub(crate) const USE_OUTBOX_PATTERN: &str = "USE_OUTBOX_PATTERN";

/// The values the switch accepts (ASCII case and surrounding blanks
/// ignored; empty or unset = off), for messages.
pub(crate) const ACCEPTED: &str = crate::env_switch::ACCEPTED;

/// A `USE_OUTBOX_PATTERN` value that is neither on nor off.
#[derive(Debug, thiserror::Error)]
#[error("USE_OUTBOX_PATTERN={value:?} is not one of {ACCEPTED}")]
pub(crate) struct InvalidSwitch {
    /// The value as given (shown escaped).
    pub value: String,
}

/// Whether `USE_OUTBOX_PATTERN`, as `lookup` gives it, asks for the outbox:
/// on for `true`/`1`/`yes`/`on`, off for `false`/`0`/`no`/`off`, ASCII
/// case and surrounding blanks ignored; off when unset or empty; an error
/// for anything else.
pub(crate) fn outbox_requested(
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<bool, InvalidSwitch> {
    let Some(value) = lookup(USE_OUTBOX_PATTERN) else {
        return Ok(false);
    };
    crate::env_switch::parse(&value).ok_or(InvalidSwitch { value })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn switch(value: &str) -> Result<bool, InvalidSwitch> {
        outbox_requested(|name| (name == USE_OUTBOX_PATTERN).then(|| value.to_owned()))
    }

    #[test]
    fn the_switch_accepts_its_documented_values_and_nothing_else() {
        for on in ["true", " TRUE ", "1", "yes", "On"] {
            assert!(switch(on).unwrap(), "{on}");
        }
        for off in ["false", "0", "", "  ", "NO", "off"] {
            assert!(!switch(off).unwrap(), "{off}");
        }
        assert!(!outbox_requested(|_| None).unwrap());
        for bad in ["ture", "enabled", "y", "2", "true\n\u{1b}[31m!"] {
            let error = switch(bad).unwrap_err();
            assert!(error.to_string().contains(ACCEPTED), "{error}");
            assert!(!error.to_string().contains('\u{1b}'), "escaped: {error}");
        }
    }
}
