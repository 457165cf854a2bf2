//! [`ReportedLosses`]: the losses a sink's `flush` has reported so far, so
//! that each loss is reported by one flush ([`SinkError::Undelivered`]).

use super::SinkError;
use std::sync::atomic::{AtomicU64, Ordering};

/// Per kind of loss (e.g. rejected, overflowed), the total a flush has
/// reported so far.
#[derive(Debug)]
pub(crate) struct ReportedLosses<const K: usize>([AtomicU64; K]);

impl<const K: usize> Default for ReportedLosses<K> {
    fn default() -> Self {
        ReportedLosses(std::array::from_fn(|_| AtomicU64::new(0)))
    }
}

impl<const K: usize> ReportedLosses<K> {
    /// `Ok(())` when `totals` (per kind, since the sink was built) holds no
    /// loss a flush has not reported yet; otherwise
    /// [`SinkError::Undelivered`] for those, described by `detail` from
    /// their counts per kind. Concurrent flushes each report a loss once.
    pub(crate) fn report(
        &self,
        totals: [u64; K],
        detail: impl FnOnce(&[u64; K]) -> String,
    ) -> Result<(), SinkError> {
        let new: [u64; K] = std::array::from_fn(|k| {
            let before = self.0[k].fetch_max(totals[k], Ordering::AcqRel);
            totals[k].saturating_sub(before)
        });
        let lost: u64 = new.iter().sum();
        if lost == 0 {
            return Ok(());
        }
        Err(SinkError::Undelivered {
            lost,
            detail: detail(&new),
        })
    }
}

/// `"{n} {what}"` for each kind with a count, joined with `, `.
pub(crate) fn describe(parts: &[(u64, &dyn Fn() -> String)]) -> String {
    parts
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, what)| format!("{n} {}", what()))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_loss_is_reported_by_one_flush() {
        let reported = ReportedLosses::<2>::default();
        assert!(reported.report([0, 0], |_| unreachable!()).is_ok());
        let err = reported.report([2, 1], |n| format!("{n:?}")).unwrap_err();
        assert!(
            matches!(&err, SinkError::Undelivered { lost: 3, detail } if detail == "[2, 1]"),
            "{err:?}"
        );
        assert!(reported.report([2, 1], |_| unreachable!()).is_ok());
        let err = reported.report([2, 4], |n| format!("{n:?}")).unwrap_err();
        assert!(
            matches!(&err, SinkError::Undelivered { lost: 3, detail } if detail == "[0, 3]"),
            "{err:?}"
        );
    }
}
