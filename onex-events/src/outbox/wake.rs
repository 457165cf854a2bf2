//! [`Wake`]: how committers and users tell a relay that rows may be waiting.

use super::lock::lock;
use std::sync::{Condvar, Mutex};
use std::time::Duration;

/// A flag and condition variable: "there may be new rows".
#[derive(Default)]
pub(crate) struct Wake {
    dirty: Mutex<bool>,
    cv: Condvar,
}

impl Wake {
    pub fn notify(&self) {
        *lock(&self.dirty) = true;
        self.cv.notify_one();
    }

    /// Waits until notified or `timeout`; clears the flag.
    pub fn wait(&self, timeout: Duration) {
        let dirty = lock(&self.dirty);
        let (mut dirty, _) = self
            .cv
            .wait_timeout_while(dirty, timeout, |d| !*d)
            .unwrap_or_else(|e| e.into_inner());
        *dirty = false;
    }
}
