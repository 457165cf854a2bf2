//! [`off_runtime`]: blocking database work kept off the caller's thread.

/// Runs `f` on a short-lived thread of its own: a synchronous database
/// client may drive a runtime of its own (the `postgres` client does), and
/// that panics on a thread already driving an async runtime, which is
/// where annotated operations publish.
pub(crate) fn off_runtime<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|s| s.spawn(f).join()).unwrap_or_else(|p| std::panic::resume_unwind(p))
}
