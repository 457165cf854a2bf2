//! The transaction capture both backends' `within` share: while a
//! closure runs, the events an outbox receives on this thread are kept
//! aside, to be written into the caller's own transaction instead of being
//! committed on their own.

use super::row::Row;
use std::cell::RefCell;

thread_local! {
    /// Open captures on this thread, innermost last: (outbox id, rows).
    static CAPTURES: RefCell<Vec<(usize, Vec<Row>)>> = const { RefCell::new(Vec::new()) };
}

/// Keeps `row` in the innermost capture of outbox `id` on this thread and
/// returns `None`; returns the row when nothing captures it.
pub(crate) fn capture(id: usize, row: Row) -> Option<Row> {
    CAPTURES.with(|c| match c.try_borrow_mut() {
        Ok(mut captures) => match captures.iter_mut().rev().find(|(i, _)| *i == id) {
            Some((_, rows)) => {
                rows.push(row);
                None
            }
            None => Some(row),
        },
        Err(_) => Some(row),
    })
}

/// Runs `f`, keeping every row outbox `id` receives on this thread
/// meanwhile; returns them, in publish order, with `f`'s value.
pub(crate) fn capturing<R>(id: usize, f: impl FnOnce() -> R) -> (R, Vec<Row>) {
    let depth = CAPTURES.with(|c| {
        let mut captures = c.borrow_mut();
        captures.push((id, Vec::new()));
        captures.len() - 1
    });
    let guard = CaptureGuard { depth };
    let value = f();
    (value, guard.take())
}

/// Ends a capture, also when `f` panics.
struct CaptureGuard {
    depth: usize,
}

impl CaptureGuard {
    fn take(self) -> Vec<Row> {
        let rows = CAPTURES.with(|c| {
            let mut captures = c.borrow_mut();
            captures.truncate(self.depth + 1);
            captures.pop().map(|(_, rows)| rows).unwrap_or_default()
        });
        std::mem::forget(self);
        rows
    }
}

impl Drop for CaptureGuard {
    fn drop(&mut self) {
        CAPTURES.with(|c| c.borrow_mut().truncate(self.depth));
    }
}
