//! [`lock`]: a mutex lock that survives a panicked holder.

use std::sync::{Mutex, MutexGuard};

/// Locks a mutex, also after a holder panicked (the data stays usable:
/// every critical section of the outbox leaves it consistent).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
