//! What a bench process has used so far, by `getrusage`: shared by the
//! consume bench and its peer (`benches/peer-ruststream`), so that both
//! count alike.

use std::time::Duration;

/// What this process has used so far, all its threads together.
#[derive(Debug, Clone, Copy)]
pub struct Usage {
    /// User + system CPU time.
    pub cpu: Duration,
    /// Context switches, voluntary or not.
    pub switches: u64,
}

impl Usage {
    /// The process's usage now.
    pub fn now() -> Self {
        // SAFETY: getrusage writes into the struct it is given.
        let usage = unsafe {
            let mut usage: libc::rusage = std::mem::zeroed();
            libc::getrusage(libc::RUSAGE_SELF, &mut usage);
            usage
        };
        let time = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
        Usage {
            cpu: time(usage.ru_utime) + time(usage.ru_stime),
            switches: (usage.ru_nvcsw + usage.ru_nivcsw) as u64,
        }
    }
}
