//! Stopping a running consumer: from a handle, or on SIGINT/SIGTERM.

use super::stats::{ConsumerStats, Counters};
use futures_util::task::AtomicWaker;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::Context;

/// The stop request a consumer's task watches.
#[derive(Debug, Default)]
pub(crate) struct ShutdownSignal {
    requested: AtomicBool,
    waker: AtomicWaker,
}

impl ShutdownSignal {
    /// True once a stop was requested.
    pub fn is_requested(&self) -> bool {
        self.requested.load(Ordering::Acquire)
    }

    /// True once a stop was requested; else wakes the task of `cx` when
    /// one is.
    pub fn poll_requested(&self, cx: &mut Context<'_>) -> bool {
        self.waker.register(cx.waker());
        self.is_requested()
    }

    fn request(&self) {
        self.requested.store(true, Ordering::Release);
        self.waker.wake();
    }
}

/// Stops a running [`EventConsumer`](super::EventConsumer) gracefully, and
/// reads its stats meanwhile. Cheap to clone; usable from any thread.
///
/// On [`shutdown`](ShutdownHandle::shutdown) the consumer stops fetching,
/// lets the handlers in hand finish within its shutdown timeout, commits
/// what is settled and leaves its group; `run` then returns.
#[derive(Debug, Clone)]
pub struct ShutdownHandle {
    pub(crate) signal: Arc<ShutdownSignal>,
    pub(crate) counters: Arc<Counters>,
}

impl ShutdownHandle {
    /// Asks the consumer to stop (again: no effect).
    pub fn shutdown(&self) {
        self.signal.request();
    }

    /// True once a stop was asked for.
    pub fn is_shutdown(&self) -> bool {
        self.signal.is_requested()
    }

    /// The consumer's stats now.
    pub fn stats(&self) -> ConsumerStats {
        self.counters.snapshot()
    }
}

/// Resolves on SIGINT or SIGTERM (on other platforms, Ctrl-C). If the
/// handlers cannot be installed, logs why and never resolves.
pub(crate) async fn termination_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
        ) {
            (Ok(mut interrupt), Ok(mut terminate)) => {
                use futures_util::future::{select, Either};
                let interrupted = std::pin::pin!(interrupt.recv());
                let terminated = std::pin::pin!(terminate.recv());
                match select(interrupted, terminated).await {
                    Either::Left(_) => tracing::info!("SIGINT: shutting down"),
                    Either::Right(_) => tracing::info!("SIGTERM: shutting down"),
                }
            }
            (Err(error), _) | (_, Err(error)) => {
                tracing::error!(%error, "cannot watch SIGINT/SIGTERM; stop the consumer with its handle");
                std::future::pending::<()>().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        match tokio::signal::ctrl_c().await {
            Ok(()) => tracing::info!("Ctrl-C: shutting down"),
            Err(error) => {
                tracing::error!(%error, "cannot watch Ctrl-C; stop the consumer with its handle");
                std::future::pending::<()>().await;
            }
        }
    }
}
